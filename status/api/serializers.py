from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from status.models import (
    ACTIVE_STATE_CHOICES,
    ACTIVE_STATES,
    Component,
    Incident,
    IncidentUpdate,
    Maintenance,
    Severity,
)


class IncidentUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentUpdate
        fields = ["id", "state", "body", "created_at"]


class IncidentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    components = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    updates = IncidentUpdateSerializer(many=True, read_only=True)
    linked_tickets = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "title",
            "severity",
            "state",
            "components",
            "started_at",
            "resolved_at",
            "updated_at",
            "external_id",
            "updates",
            "linked_tickets",
            "reply_state",
            "reply_total",
            "reply_done",
        ]

    def get_linked_tickets(self, incident) -> int:
        counted = getattr(incident, "linked_count", None)  # annotated by the list
        return counted if counted is not None else incident.ticket_links.count()


class IncidentOpenSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MAJOR)
    state = serializers.ChoiceField(choices=ACTIVE_STATE_CHOICES, default=ACTIVE_STATES[0])
    components = serializers.SlugRelatedField(
        slug_field="slug", queryset=Component.objects.all(), many=True, help_text=_("Codes of the affected components.")
    )
    body = serializers.CharField(max_length=5000, help_text=_("The first public update."))
    started_at = serializers.DateTimeField(required=False)
    external_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=_("The monitoring's id of the alert: sent again, it finds the incident it opened."),
    )


class IncidentPostSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ACTIVE_STATE_CHOICES)
    body = serializers.CharField(max_length=5000)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    components = serializers.SlugRelatedField(
        slug_field="slug", queryset=Component.objects.all(), many=True, required=False
    )


class IncidentResolveSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000, help_text=_("The resolution, published on the status page."))
    reply = serializers.CharField(
        max_length=50000,
        required=False,
        allow_blank=True,
        help_text=_("Staff only: a reply posted to every linked ticket, which is then resolved."),
    )


class MaintenanceSerializer(serializers.ModelSerializer):
    components = serializers.SlugRelatedField(slug_field="slug", queryset=Component.objects.all(), many=True)

    class Meta:
        model = Maintenance
        fields = ["id", "title", "description", "components", "starts_at", "ends_at", "cancelled_at"]
        read_only_fields = ["id", "cancelled_at"]
