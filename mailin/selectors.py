"""What staff read about inbound mail: messages kept without a ticket, a ticket's e-mails, and
the addresses not mailed any more because mail to them bounced."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from mailin.models import FAILED_OUTCOMES, AutoReply, InboundMessage
from notifications.models import BouncedAddress, Notification
from tickets.models import Ticket
from tickets.selectors import member_line_ids

KEPT_SHOWN = 100


def kept_without_ticket(*, user: User) -> QuerySet[InboundMessage]:
    """Messages kept but not filed (too large, unreadable, could not be filed) that nobody has
    looked at yet: management sees all, agents those of their lines' mailboxes and those whose
    mailbox is unknown (an unreadable message names none)."""
    messages = InboundMessage.objects.filter(outcome__in=FAILED_OUTCOMES, dismissed_at__isnull=True)
    if not user.is_management:
        messages = messages.filter(
            Q(mailbox__isnull=True) | Q(mailbox__line__isnull=True) | Q(mailbox__line_id__in=member_line_ids(user))
        )
    return messages.select_related("mailbox").order_by("-received_at", "-id")


def suppressed_addresses() -> QuerySet[BouncedAddress]:
    """Addresses not mailed any more until staff clear them."""
    return BouncedAddress.objects.filter(suppressed_at__isnull=False).order_by("-suppressed_at", "-id")


@dataclass
class TicketMail:
    """A ticket's e-mail side, for its page in the workspace."""

    inbound: list[InboundMessage] = field(default_factory=list)
    bounced: list[Notification] = field(default_factory=list)
    auto_replies: list[AutoReply] = field(default_factory=list)
    customer_address: BouncedAddress | None = None

    def __bool__(self) -> bool:
        return bool(self.inbound or self.bounced or self.auto_replies or self.customer_address)

    @property
    def warnings(self) -> bool:
        return bool(
            self.bounced
            or (self.customer_address is not None and self.customer_address.suppressed)
            or any(item.text_damaged or item.authentication == "fail" for item in self.inbound)
        )


def ticket_mail(*, ticket: Ticket) -> TicketMail:
    """The e-mails the ticket came in by, our e-mails about it that bounced, the automatic
    answers, and whether the customer's address is still mailed."""
    inbound = list(
        InboundMessage.objects.filter(ticket=ticket)
        .exclude(outcome="duplicate")
        .only(
            "id",
            "ticket_id",
            "from_address",
            "received_at",
            "sent_at",
            "outcome",
            "authentication",
            "authentication_detail",
            "text_damaged",
            "access_data_moved",
            "outcome_detail",
        )
        .order_by("received_at", "id")
    )
    bounced = list(Notification.objects.filter(ticket=ticket, bounced_at__isnull=False).order_by("-bounced_at"))
    answers = list(AutoReply.objects.filter(ticket=ticket).order_by("created_at", "id"))
    email = ticket.customer.email
    address = None
    if email:
        address = (
            BouncedAddress.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower=email.lower())
            .filter(Q(suppressed_at__isnull=False) | Q(hard_bounces__gt=0))
            .first()
        )
    return TicketMail(inbound=inbound, bounced=bounced, auto_replies=answers, customer_address=address)
