"""The manager's reports in the API: the same figures as the pages, as JSON."""

from __future__ import annotations

import math

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsManagement
from helpdesk.errors import DomainError
from reports import cube
from reports import views as pages
from reports.api import serializers as s
from reports.forms import FilterForm, ForecastForm
from tickets.api.serializers import ApiErrorSerializer

TAG = "reports"
ERROR = OpenApiResponse(ApiErrorSerializer)


def _plain(value):
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class ReportView(APIView):
    permission_classes = [IsManagement]
    default_days = 30

    def dispatch(self, request, *args, **kwargs):
        # The figures of one answer add the same today's part, read once (reports.cube.one_snapshot).
        with cube.one_snapshot():
            return super().dispatch(request, *args, **kwargs)

    def filters(self, request):
        form = FilterForm(request.query_params, days=self.default_days)
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise DomainError(str(errors[0]), code="invalid", field=None if field == "__all__" else field)
        return form.filters()

    def respond(self, filters, built: dict, summary: dict) -> Response:
        return Response(
            {
                "period": {"start": filters.start, "end": filters.end},
                "summary": _plain(summary),
                "tables": {table.name: _plain(table.as_json()) for table in built["tables"]},
            }
        )


def _schema(summary: str, query=s.ReportQuerySerializer):
    return extend_schema(
        tags=[TAG], summary=summary, parameters=[query], responses={200: s.ReportSerializer, 400: ERROR, 403: ERROR}
    )


class SlaReportView(ReportView):
    @_schema("SLA dashboard: targets met, breaches, first reaction, handling, backlog, line clocks")
    def get(self, request):
        filters = self.filters(request)
        built = pages.build_dashboard(request.user, filters)
        return self.respond(filters, built, built["summary"])


class LoadReportView(ReportView):
    default_days = 365

    @_schema("Load: weekday x hour, months, channels, first level, transfers, categories")
    def get(self, request):
        filters = self.filters(request)
        built = pages.build_load(request.user, filters)
        return self.respond(filters, built, {"first_level": built["level"], "requests": built["heat"]["total"]})


class FairnessReportView(ReportView):
    @_schema("Queue fairness: overtaking against the bound, oldest waiting per class, boosts")
    def get(self, request):
        filters = self.filters(request)
        built = pages.build_fairness(request.user, filters)
        return self.respond(filters, built, {"bound_minutes": built["data"]["bound_minutes"]})


class ForecastReportView(ReportView):
    default_days = 28

    @_schema("Staffing forecast: agents needed by Erlang C against agents on duty", s.ForecastQuerySerializer)
    def get(self, request):
        filters = self.filters(request)
        target = ForecastForm(request.query_params).target()
        built = pages.build_forecast(request.user, filters, target)
        summary = {
            "target_share": target.share,
            "target_seconds": target.seconds,
            "shrinkage": target.shrinkage,
            "max_occupancy": target.max_occupancy,
            "week_start": built["data"]["week_start"],
        }
        return self.respond(filters, built, summary)
