from rest_framework import serializers

from queues.models import BalanceEntry, Boost, BoostKind


class WaitEstimateSerializer(serializers.Serializer):
    enough_data = serializers.BooleanField()
    low_minutes = serializers.IntegerField(allow_null=True)
    high_minutes = serializers.IntegerField(allow_null=True)
    takes_per_hour = serializers.FloatField(allow_null=True, help_text="The line's measured pace.")
    window_hours = serializers.IntegerField(allow_null=True, help_text="The window the pace was measured over.")


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


class TakeNextSerializer(serializers.Serializer):
    line = serializers.CharField(required=False, help_text="Only this line (code); default: all the agent's lines.")


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
