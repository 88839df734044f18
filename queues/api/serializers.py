from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.utils import html

from queues.models import BalanceEntry, Boost, BoostKind


class WaitEstimateSerializer(serializers.Serializer):
    enough_data = serializers.BooleanField(help_text=_("Whether a range could be estimated."))
    low_minutes = serializers.IntegerField(allow_null=True)
    high_minutes = serializers.IntegerField(allow_null=True)
    probability = serializers.FloatField(
        allow_null=True, help_text=_("The model's chance that the wait falls within the range (0 to 1); not a promise.")
    )
    closed = serializers.BooleanField(
        help_text=_("Nobody is on duty before the ticket is likely reached: see opens_at, not a wait in minutes.")
    )
    opens_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the line opens again, if it is closed or closes before the ticket's turn.")
    )
    closes_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the line closes, if it is open now and closes before the ticket's turn.")
    )
    likely_from = serializers.DateTimeField(allow_null=True, help_text=_("The range as moments: its start."))
    likely_until = serializers.DateTimeField(allow_null=True, help_text=_("The range as moments: its end."))
    basis = serializers.CharField(
        allow_null=True,
        help_text=_("roster: the agents on duty by the shift schedules; pace: the line's measured pace (no roster)."),
    )
    agents_on_duty = serializers.IntegerField(allow_null=True, help_text=_("Agents on duty in the line now (roster)."))
    handling_minutes = serializers.FloatField(
        allow_null=True, help_text=_("The line's measured handling time per agent, in minutes (roster).")
    )
    takes_per_hour = serializers.FloatField(allow_null=True, help_text=_("Requests the line can take an hour now."))
    window_hours = serializers.IntegerField(
        allow_null=True, help_text=_("The window the pace was measured over (pace).")
    )


class QueueStandingSerializer(serializers.Serializer):
    line = serializers.CharField(source="line.code")
    line_name = serializers.CharField(source="line.name")
    position = serializers.IntegerField(allow_null=True, help_text="1 is next; null when not waiting.")
    estimate = WaitEstimateSerializer()
    credit_minutes = serializers.IntegerField(help_text="Head start in the queue, in minutes.")
    weight_parts = serializers.DictField(child=serializers.IntegerField(), help_text="What made the head start.")


class BoostQuoteQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BoostKind.choices)


class BoostQuoteSerializer(serializers.Serializer):
    kind = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    position_now = serializers.IntegerField()
    position_after = serializers.IntegerField()
    credit_minutes = serializers.IntegerField()
    capped = serializers.BooleanField(help_text="True when tickets waiting longer than the bound stay ahead.")
    max_credit_minutes = serializers.IntegerField()
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)


class BoostBuySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BoostKind.choices)
    idempotency_key = serializers.CharField(max_length=100, help_text="The same key never charges twice.")


class BoostSerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="ticket.number")

    class Meta:
        model = Boost
        fields = ["id", "ticket", "kind", "price", "credit_minutes", "idempotency_key", "created_at"]


class GivenCharField(serializers.CharField):
    """An optional text that, once given, must not be empty, in a form as in JSON.

    DRF reads an empty optional form field as a field not sent; `line=` would then mean "every
    line", the opposite of what was asked for.
    """

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class TakeNextSerializer(serializers.Serializer):
    line = GivenCharField(required=False, help_text="Only this line (code); default: all the agent's lines.")


class BalanceEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = BalanceEntry
        fields = ["id", "kind", "amount", "currency", "description", "reference", "created_at"]


class QueueLineSerializer(serializers.Serializer):
    line = serializers.CharField(source="line.code")
    line_name = serializers.CharField(source="line.name")
    waiting = serializers.IntegerField()
    oldest_wait_minutes = serializers.SerializerMethodField()
    classes = serializers.DictField(child=serializers.IntegerField())
    boosts_today = serializers.IntegerField()
    boost_revenue_today = serializers.DecimalField(max_digits=12, decimal_places=2)
    max_credit_minutes = serializers.IntegerField(help_text="The starvation bound.")

    def get_oldest_wait_minutes(self, row) -> int | None:
        return int(row["oldest_wait"].total_seconds() // 60) if row["oldest_wait"] else None
