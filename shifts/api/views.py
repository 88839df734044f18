"""Shift schedules in the API: the roster (read by staff, written by managers) and a line's staffing."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsSupportStaff
from helpdesk.errors import NotFound
from queues.models import Line
from shifts import policy, selectors, services
from shifts.api import serializers as s
from shifts.models import RosterEvent, Shift, ShiftException
from tickets.api.serializers import ApiErrorSerializer
from tickets.api.views import validated

TAG = "shifts"
ERROR = OpenApiResponse(ApiErrorSerializer)
WRITE_ERRORS = {400: ERROR, 403: ERROR, 404: ERROR}


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Weekly shifts"),
    retrieve=extend_schema(tags=[TAG], responses={200: s.ShiftSerializer, 404: ERROR}),
    create=extend_schema(tags=[TAG], responses={201: s.ShiftSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(
        tags=[TAG], request=s.ShiftUpdateSerializer, responses={200: s.ShiftSerializer, **WRITE_ERRORS}
    ),
    destroy=extend_schema(tags=[TAG], responses={204: None, 403: ERROR, 404: ERROR}),
)
class ShiftViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.ShiftSerializer
    permission_classes = [IsSupportStaff]
    queryset = Shift.objects.none()  # for the schema; requests read get_queryset, scoped by the user
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Shift]:
        line = self.request.query_params.get("line")
        shifts = selectors.shift_list(user=self.request.user)
        return shifts.filter(line__code=line) if line else shifts

    def create(self, request, *args, **kwargs):
        data = validated(s.ShiftSerializer, request.data, request)
        shift = services.shift_create(actor=request.user, **data)
        return Response(s.ShiftSerializer(shift).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        shift = self.get_object()
        data = validated(s.ShiftUpdateSerializer, request.data, request)
        shift = services.shift_update(actor=request.user, shift=shift, **data)
        return Response(s.ShiftSerializer(shift).data)

    def destroy(self, request, *args, **kwargs):
        services.shift_delete(actor=request.user, shift=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Absences and extra shifts"),
    retrieve=extend_schema(tags=[TAG], responses={200: s.ShiftExceptionSerializer, 404: ERROR}),
    create=extend_schema(tags=[TAG], responses={201: s.ShiftExceptionSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(tags=[TAG], responses={204: None, 403: ERROR, 404: ERROR}),
)
class ShiftExceptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.ShiftExceptionSerializer
    permission_classes = [IsSupportStaff]
    queryset = ShiftException.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[ShiftException]:
        return selectors.exception_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        data = validated(s.ShiftExceptionSerializer, request.data, request)
        exception = services.exception_create(actor=request.user, **data)
        return Response(s.ShiftExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.exception_delete(actor=request.user, exception=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(list=extend_schema(tags=[TAG], summary="Who changed the schedules"))
class RosterEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.RosterEventSerializer
    permission_classes = [IsSupportStaff]
    queryset = RosterEvent.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[RosterEvent]:
        return selectors.roster_events(user=self.request.user)


class LineStaffingView(GenericAPIView):
    """How many agents are on duty on a line over a period, and when it next opens."""

    permission_classes = [IsSupportStaff]
    serializer_class = s.StaffingSerializer

    @extend_schema(
        tags=[TAG],
        parameters=[s.StaffingQuerySerializer],
        responses={200: s.StaffingSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request, code):
        line = Line.objects.filter(code=code).first()
        if line is None:
            raise NotFound("No such line.")
        query = validated(s.StaffingQuerySerializer, request.query_params, request)
        steps = selectors.line_staffing(line_id=line.pk, start=query["start"], end=query["end"])
        body = {
            "line": line.code,
            "steps": [{"start": a, "end": b, "agents": n} for (a, b), n in steps],
            "agent_hours": round(policy.agent_hours(steps, query["start"], query["end"]), 2),
            "next_opening": policy.next_opening(steps, query["start"]),
        }
        return Response(s.StaffingSerializer(body).data)
