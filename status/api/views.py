"""The status in the API: reads for anyone (the chat bot, scripts), writes for the provider's
monitoring (a MonitoringToken of the endpoint's scope) and for support staff."""

from django.db.models import Count, Prefetch, QuerySet
from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiTokenAuthentication
from accounts.permissions import can_enter
from status import selectors, services
from status.api import serializers as s
from status.api.auth import MonitoringTokenAuthentication
from status.models import ACTIVE_STATES, Incident, IncidentUpdate, Maintenance, MonitoringToken
from status.tasks import start_answering
from tickets.api.serializers import ApiErrorSerializer
from tickets.api.views import validated

TAG = "status"
ERROR = OpenApiResponse(ApiErrorSerializer)
WRITE_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR}
AUTHENTICATION = [MonitoringTokenAuthentication, SessionAuthentication, ApiTokenAuthentication]


class ReadOrStatusWriter(permissions.BasePermission):
    """Anyone reads; a monitoring token (its scope is the services' to check) or support staff write."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if isinstance(request.auth, MonitoringToken):
            return True
        return can_enter(request.user, "desk")


def _writer(request) -> dict:
    """Who writes, as the services take it."""
    if isinstance(request.auth, MonitoringToken):
        return {"actor": None, "token": request.auth}
    return {"actor": request.user, "token": None}


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary="Incidents, newest first",
        parameters=[OpenApiParameter("active", bool, description="Only the incidents not yet resolved.")],
    ),
    retrieve=extend_schema(tags=[TAG], responses={200: s.IncidentSerializer, 404: ERROR}),
    create=extend_schema(
        tags=[TAG],
        summary="Open an incident (monitoring token of scope `incidents`, or staff)",
        request=s.IncidentOpenSerializer,
        responses={201: s.IncidentSerializer, 200: s.IncidentSerializer, **WRITE_ERRORS},
    ),
)
class IncidentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.IncidentSerializer
    authentication_classes = AUTHENTICATION
    permission_classes = [ReadOrStatusWriter]
    queryset = Incident.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[Incident]:
        incidents = (
            Incident.objects.prefetch_related(
                "components", Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created_at", "-id"))
            )
            .annotate(linked_count=Count("ticket_links"))
            .order_by("-started_at", "-id")
        )
        if self.request.query_params.get("active") in ("1", "true", "True"):
            incidents = incidents.filter(state__in=ACTIVE_STATES)
        return incidents

    def create(self, request, *args, **kwargs):
        data = validated(s.IncidentOpenSerializer, request.data, request)
        incident, created = services.incident_open(**data, **_writer(request))
        return Response(
            s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        tags=[TAG],
        summary="Post a public update (monitoring token of scope `incidents`, or staff)",
        request=s.IncidentPostSerializer,
        responses={201: s.IncidentSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def updates(self, request, pk=None):
        incident = self.get_object()
        data = validated(s.IncidentPostSerializer, request.data, request)
        services.incident_update(incident=incident, **data, **_writer(request))
        return Response(s.IncidentSerializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG],
        summary="Resolve: publish the resolution and deal with the linked tickets",
        request=s.IncidentResolveSerializer,
        responses={200: s.IncidentSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        incident = self.get_object()
        data = validated(s.IncidentResolveSerializer, request.data, request)
        services.incident_resolve(incident=incident, body=data["body"], reply=data.get("reply", ""), **_writer(request))
        start_answering(incident.id)
        return Response(s.IncidentSerializer(self.get_object()).data)


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Maintenance windows, newest first"),
    retrieve=extend_schema(tags=[TAG], responses={200: s.MaintenanceSerializer, 404: ERROR}),
    create=extend_schema(
        tags=[TAG],
        summary="Plan maintenance (monitoring token of scope `maintenance`, or staff)",
        responses={201: s.MaintenanceSerializer, **WRITE_ERRORS},
    ),
)
class MaintenanceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.MaintenanceSerializer
    authentication_classes = AUTHENTICATION
    permission_classes = [ReadOrStatusWriter]
    queryset = Maintenance.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[Maintenance]:
        return Maintenance.objects.prefetch_related("components").order_by("-starts_at", "-id")

    def create(self, request, *args, **kwargs):
        data = validated(s.MaintenanceSerializer, request.data, request)
        window = services.maintenance_plan(**data, **_writer(request))
        return Response(s.MaintenanceSerializer(window).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG], summary="Cancel a window", request=None, responses={200: s.MaintenanceSerializer, **WRITE_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        window = services.maintenance_cancel(maintenance=self.get_object(), **_writer(request))
        return Response(s.MaintenanceSerializer(window).data)


class StatusSummaryView(APIView):
    """The status page as data: each service's state and uptime, active incidents, maintenance."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=[TAG], operation_id="status_summary", responses={200: dict})
    def get(self, request):
        return Response(selectors.status_summary(language=get_language()))
