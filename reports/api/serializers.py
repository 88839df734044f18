from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tickets.models import Category, Channel, Urgency


class ReportQuerySerializer(serializers.Serializer):
    """The filters of every report (all optional; the period defaults to the page's)."""

    start = serializers.DateField(required=False, help_text=_("First local day of the period."))
    end = serializers.DateField(required=False, help_text=_("Last local day of the period (default: today)."))
    line = serializers.CharField(required=False, help_text=_("A line's code."))
    plan = serializers.CharField(required=False, help_text=_("A plan's code (the customer's support plan)."))
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    agent = serializers.CharField(required=False, help_text=_("An agent's username: their tickets only."))


class ForecastQuerySerializer(ReportQuerySerializer):
    share = serializers.IntegerField(required=False, min_value=1, max_value=99, help_text=_("Target share, %."))
    minutes = serializers.IntegerField(required=False, min_value=1, help_text=_("Target time to take a ticket."))
    shrinkage = serializers.IntegerField(required=False, min_value=0, max_value=90, help_text=_("Shrinkage, %."))


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class ReportSerializer(serializers.Serializer):
    """A report: its period, its headline figures and its tables (the rows of the page's tables)."""

    period = PeriodSerializer()
    summary = serializers.DictField(help_text=_("Headline figures; see docs/reports.md."))
    tables = serializers.DictField(
        child=serializers.ListField(child=serializers.DictField()),
        help_text=_("Each table's rows by name, as in the page's CSV exports."),
    )
