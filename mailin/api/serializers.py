from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from mailin.models import InboundMessage, Outcome


class InboundOutcomeSerializer(serializers.ModelSerializer):
    """What became of a received e-mail."""

    outcome = serializers.ChoiceField(choices=Outcome.choices, help_text=_("What became of the message."))
    detail = serializers.CharField(source="outcome_detail", help_text=_("Why, for people."))
    ticket = serializers.SerializerMethodField(help_text=_("Number of the ticket it opened or answered."))
    message = serializers.IntegerField(
        source="ticket_message_id", allow_null=True, help_text=_("Id of the message it added to the ticket.")
    )
    stored = serializers.BooleanField(default=True, read_only=True, help_text=_("The raw message is kept."))

    class Meta:
        model = InboundMessage
        fields = [
            "id",
            "outcome",
            "detail",
            "ticket",
            "message",
            "message_id",
            "from_address",
            "subject",
            "size",
            "sha256",
            "sender_matched",
            "duplicate_of",
            "attachments_kept",
            "attachments_refused",
            "received_at",
            "sent_at",
            "authentication",
            "text_damaged",
            "access_data_moved",
            "stored",
        ]
        read_only_fields = fields

    def get_ticket(self, obj) -> int | None:
        return obj.ticket.number if obj.ticket_id else None


class InboundListQuerySerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, help_text=_("Only this outcome."))
    unmatched = serializers.BooleanField(required=False, default=False, help_text=_("Only senders without an account."))
    ticket = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text=_("Only e-mails of this ticket (its number).")
    )


class LinkSenderSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text=_("The customer's username or e-mail address."))
