from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User
from queues.models import Line
from shifts.models import RosterEvent, Shift, ShiftException
from shifts.policy import WeeklyShift


class ShiftSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    line = serializers.SlugRelatedField(slug_field="code", queryset=Line.objects.all())
    hours = serializers.SerializerMethodField(help_text=_("How long each instance of the shift lasts."))

    class Meta:
        model = Shift
        fields = [
            "id",
            "agent",
            "line",
            "weekday",
            "starts_at",
            "ends_at",
            "time_zone",
            "valid_from",
            "valid_until",
            "hours",
        ]
        read_only_fields = ["id", "hours"]

    def get_hours(self, shift) -> float:
        record = WeeklyShift(shift.agent_id, shift.line_id, shift.weekday, shift.starts_at, shift.ends_at)
        return record.length.total_seconds() / 3600


class ShiftUpdateSerializer(ShiftSerializer):
    """A change of some of a shift's fields; those left out stay as they are."""

    agent = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(), required=False)
    line = serializers.SlugRelatedField(slug_field="code", queryset=Line.objects.all(), required=False)

    class Meta(ShiftSerializer.Meta):
        extra_kwargs = {name: {"required": False} for name in ShiftSerializer.Meta.fields}


class ShiftExceptionSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    line = serializers.SlugRelatedField(slug_field="code", queryset=Line.objects.all(), required=False, allow_null=True)

    class Meta:
        model = ShiftException
        fields = ["id", "agent", "line", "kind", "starts_at", "ends_at", "note"]
        read_only_fields = ["id"]


class RosterEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    agent = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RosterEvent
        fields = ["id", "action", "actor", "agent", "data", "created_at"]


class StaffingQuerySerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text=_("Beginning of the period (ISO 8601)."))
    end = serializers.DateTimeField(help_text=_("End of the period, at most 31 days after the beginning."))

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": _("The end must come after the beginning.")})
        if (attrs["end"] - attrs["start"]).days > 31:
            raise serializers.ValidationError({"end": _("At most 31 days at a time.")})
        return attrs


class StaffingStepSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    agents = serializers.IntegerField(help_text=_("Agents on duty on the line during the step."))


class StaffingSerializer(serializers.Serializer):
    line = serializers.CharField()
    steps = StaffingStepSerializer(many=True)
    agent_hours = serializers.FloatField()
    next_opening = serializers.DateTimeField(
        allow_null=True,
        help_text=_("When someone is next on duty (the start if someone is then); null: not within 14 days."),
    )
