"""The manager's report pages: the SLA dashboard (the management home), load, fairness, forecast.

Every page reads the same GET filters, shows its tables (readable without JavaScript, each
exportable with `?export=<table>` as CSV) and hands its charts' data to the page through
`json_script`; `reports/static/reports/reports.js` draws them with the vendored Chart.js.
"""

from __future__ import annotations

import datetime as dt
from abc import ABCMeta, abstractmethod

from django.http import Http404
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.permissions import AreaRequiredMixin
from queues.selectors import CUSTOMER_CLASSES
from reports import cube, selectors, tables
from reports.forms import FilterForm, ForecastForm


def weekday_names() -> list[str]:
    return [str(WEEKDAYS[i]) for i in range(7)]


def class_labels() -> dict[str, str]:
    labels = {
        "vip": _("VIP"),
        "problematic": _("problematic"),
        "enterprise": _("Enterprise"),
        "business": _("Business"),
        "standard": _("Standard"),
        "self_service": _("Self-service"),
    }
    return {name: labels.get(name, name) for name, _lookups in CUSTOMER_CLASSES}


def _chart(kind: str, labels: list, datasets: list[dict], **options) -> dict:
    return {"type": kind, "labels": labels, "datasets": datasets, **options}


class ReportPage(AreaRequiredMixin, TemplateView, metaclass=ABCMeta):
    area = "manage"
    page = ""
    default_days = 30

    def get(self, request, *args, **kwargs):
        self.form = FilterForm(request.GET or None, days=self.default_days)
        self.filters = self.form.filters()
        with cube.one_snapshot():
            built = self.build()
        export = request.GET.get("export")
        if export:
            for table in built["tables"]:
                if table.name == export:
                    return tables.csv_response(table, self.page)
            raise Http404("No such table.")
        context = self.get_context_data(**kwargs, **built, t={table.name: table for table in built["tables"]})
        return self.render_to_response(context)

    @abstractmethod
    def build(self) -> dict:
        """The page's figures: {"tables": [...], ...}, computed for `self.filters`."""

    def get_context_data(self, **kwargs):
        query = self.request.GET.copy()
        query.pop("export", None)
        return super().get_context_data(
            form=self.form,
            filters=self.filters,
            page=self.page,
            query=query.urlencode(),
            **kwargs,
        )


class Dashboard(ReportPage):
    """The SLA dashboard: the management area's home page."""

    template_name = "reports/dashboard.html"
    page = "dashboard"

    def build(self) -> dict:
        return build_dashboard(self.request.user, self.filters)


def build_dashboard(user, f) -> dict:
    summary = selectors.sla_summary(user=user, filters=f)
    series = selectors.sla_series(user=user, filters=f)
    now = selectors.breaching(user=user, filters=f)
    clocks = selectors.line_clocks(user=user, filters=f)
    series_table = tables.series_table(series)
    labels = [row["period"].isoformat() for row in series["rows"]]
    charts = {
        "breaches": _chart(
            "bar",
            labels,
            [
                {"label": _("First response breaches"), "data": [r["fr_breaches"] for r in series["rows"]]},
                {"label": _("Next response breaches"), "data": [r["nr_breaches"] for r in series["rows"]]},
                {"label": _("Resolution breaches"), "data": [r["res_breaches"] for r in series["rows"]]},
                {
                    "label": _("Warnings"),
                    "type": "line",
                    "data": [r["fr_warnings"] + r["nr_warnings"] + r["res_warnings"] for r in series["rows"]],
                },
            ],  # fmt: skip
            stacked=True,
            unit=series["unit"],
        ),
        "backlog": _chart(
            "line",
            labels,
            [
                {"label": _("Open at the end"), "data": [r["backlog"] for r in series["rows"]]},
                {"label": _("Opened"), "data": [r["opened"] for r in series["rows"]]},
                {"label": _("Resolved or closed"), "data": [r["closed_out"] for r in series["rows"]]},
            ],
            unit=series["unit"],
        ),
    }
    return {
        "summary": summary,
        "charts": charts,
        "lines": selectors.line_overview_now(),
        "tables": [
            tables.targets_table(summary),
            series_table,
            tables.breaching_table("breaching_now", _("Breaching now"), now["now"]),
            tables.breaching_table("breaching_soon", _("About to breach (within the hour)"), now["soon"]),
            tables.line_clocks_table(clocks),
        ],
    }


class Load(ReportPage):
    template_name = "reports/load.html"
    page = "load"
    default_days = 365

    def build(self) -> dict:
        return build_load(self.request.user, self.filters)


def build_load(user, f) -> dict:
    heat = selectors.heatmap(user=user, filters=f)
    months = selectors.monthly(user=user, filters=f)
    channels = selectors.by_dimension(user=user, filters=f, dimension="channel")
    categories = selectors.by_dimension(user=user, filters=f, dimension="category")
    flows = selectors.transfer_flows(user=user, filters=f)
    level = selectors.first_level(user=user, filters=f)
    heat_table = tables.heatmap_table(heat, weekday_names())
    channel_table = tables.dimension_table("channels", _("Channel mix"), channels, "channel")
    category_table = tables.dimension_table("categories", _("Top categories"), categories, "category")
    charts = {
        "months": _chart(
            "bar",
            [row["month"].isoformat() for row in months],
            [
                {"label": _("Requests"), "data": [row["created"] for row in months], "yAxisID": "y"},
                {
                    "label": _("Median first response (min)"),
                    "type": "line",
                    "yAxisID": "y1",
                    "data": [row["first_response_median_minutes"] for row in months],
                },
            ],  # fmt: skip
            unit="month",
            dual=True,
        ),
        "hours": _chart(
            "line",
            [f"{h:02d}" for h in range(24)],
            [{"label": name, "data": heat["grid"][i]} for i, name in enumerate(weekday_names())],
        ),
        "channels": _chart(
            "doughnut",
            [row["label"] for row in channel_table.rows],
            [{"label": _("Requests"), "data": [row["created"] for row in channel_table.rows]}],
        ),
    }
    return {
        "heat": heat,
        "heat_rows": _shaded(heat),
        "level": level,
        "charts": charts,
        "tables": [
            heat_table,
            tables.monthly_table(months),
            channel_table,
            category_table,
            tables.flows_table(flows),
        ],
    }


def _shaded(heat: dict) -> list[dict]:
    """The heatmap's rows with a shade class 0-9 per cell (CSS classes, not style attributes)."""
    peak = heat["peak"] or 1
    rows = []
    for name, counts in zip(weekday_names(), heat["grid"], strict=True):
        rows.append({"name": name, "cells": [(count, min(9, round(9 * count / peak))) for count in counts]})
    return rows


class Fairness(ReportPage):
    template_name = "reports/fairness.html"
    page = "fairness"

    def build(self) -> dict:
        return build_fairness(self.request.user, self.filters)


def build_fairness(user, f) -> dict:
    data = selectors.fairness(user=user, filters=f)
    labels = class_labels()
    return {"data": data, "class_labels": labels, "tables": [tables.fairness_table(data, labels)]}


class Forecast(ReportPage):
    template_name = "reports/forecast.html"
    page = "forecast"
    default_days = 28

    def build(self) -> dict:
        target_form = ForecastForm(self.request.GET or None)
        return {**build_forecast(self.request.user, self.filters, target_form.target()), "target_form": target_form}


def build_forecast(user, f, target) -> dict:
    data = selectors.forecast(user=user, filters=f, target=target)
    days = weekday_names()
    charts = {}
    for line in data["lines"]:
        needed = [cell["scheduled"] or 0 for row in line["cells"] for cell in row]
        duty = [round(cell["on_duty"], 2) for row in line["cells"] for cell in row]
        labels = [f"{days[d][:2]} {h:02d}" for d in range(7) for h in range(24)]
        line["rows"] = list(zip(days, line["cells"], strict=True))
        charts[f"chart-forecast-{line['line'].code}"] = _chart(
            "line",
            labels,
            [{"label": _("Agents to schedule"), "data": needed, "stepped": True},
             {"label": _("Agents on duty"), "data": duty, "stepped": True}],
        )  # fmt: skip
    return {
        "data": data,
        "target": target,
        "weekdays": days,
        "hours": [f"{h:02d}" for h in range(24)],
        "charts": charts,
        "week_end": data["week_start"] + dt.timedelta(days=6),
        "tables": [tables.forecast_table(data, days)],
    }
