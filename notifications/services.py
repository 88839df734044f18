"""Who hears about a ticket event, and the e-mail they get.

The outbox drain (`tasks.drain_outbox`) calls `notifications_for_event` for each ticket event
the change left in `tickets.EventOutbox`; it decides the recipients and writes one
`Notification` per address. `send_notification` calls
`deliver` for each. Templates get plain values picked here, never the ticket itself, so no
template can reach the ticket's access data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import STAFF_ROLES, User
from helpdesk.errors import PermissionDenied
from notifications.models import AgentNotificationPreference, Notification
from tickets.markdown import render_markdown
from tickets.models import Category, EventKind, Message, Status, Ticket, TicketEvent, Urgency

Kind = Notification.Kind

# The local part of the Reply-To address; the ticket number follows the "+".
REPLY_TO_LOCAL_PART = "support"
SUBJECT_MAX = 255

# Preference flag per kind of agent e-mail.
AGENT_FLAGS = {
    Kind.NEW_IN_LINE: "on_new_in_line",
    Kind.TRANSFER_TO_LINE: "on_transfer_to_my_line",
    Kind.TRANSFER_TO_ME: "on_transfer_to_me",
}


# --- preferences -----------------------------------------------------------------------


def preference_for(user: User) -> AgentNotificationPreference:
    """The agent's preferences; the defaults (everything on) when never saved."""
    preference = AgentNotificationPreference.objects.filter(user=user).first()
    return preference if preference is not None else AgentNotificationPreference(user=user)


@transaction.atomic
def preference_update(
    *, user: User, on_new_in_line: bool, on_transfer_to_me: bool, on_transfer_to_my_line: bool
) -> AgentNotificationPreference:
    if not user.is_support_staff:
        raise PermissionDenied(_("Only support staff have notification preferences."))
    preference, _created = AgentNotificationPreference.objects.update_or_create(
        user=user,
        defaults={
            "on_new_in_line": bool(on_new_in_line),
            "on_transfer_to_me": bool(on_transfer_to_me),
            "on_transfer_to_my_line": bool(on_transfer_to_my_line),
        },
    )
    return preference


# --- recipients ------------------------------------------------------------------------


def _can_receive(user: User | None) -> bool:
    return user is not None and user.is_active and bool(user.email)


def _staff_reply_in_same_transaction(event: TicketEvent) -> bool:
    """An agent's reply moves the ticket on (in progress, waiting for the customer) in the same
    transaction; the reply's own e-mail tells the customer, so the status change adds nothing.

    Rows written by one transaction share PostgreSQL's `xmin` (a service called inside a larger
    transaction runs in a savepoint, which has its own), exact where timestamps are not; history
    rows are never updated (a trigger refuses it), so their `xmin` stays.
    """
    return (
        TicketEvent.objects.filter(
            ticket_id=event.ticket_id,
            kind=EventKind.MESSAGE,
            id__lt=event.id,
            data__message_kind=Message.Kind.PUBLIC,
            actor__role__in=STAFF_ROLES,
        )
        .annotate(
            same_transaction=RawSQL(
                "tickets_ticketevent.xmin = (SELECT e.xmin FROM tickets_ticketevent e WHERE e.id = %s)",
                [event.id],
                output_field=BooleanField(),
            )
        )
        .filter(same_transaction=True)
        .exists()
    )


def _customer_kind(event: TicketEvent) -> str | None:
    """What the ticket's customer is told about this event, if anything."""
    if event.kind == EventKind.MESSAGE:
        if event.data.get("message_kind") == Message.Kind.SYSTEM and event.data.get("to_customer"):
            return Kind.REMINDER  # the helpdesk asking a silent customer for an answer
        if event.data.get("message_kind") != Message.Kind.PUBLIC:
            return None  # internal notes and the helpdesk's own system lines
        message = Message.objects.select_related("author").filter(id=event.data.get("message_id")).first()
        if message is None or message.author is None or not message.author.is_support_staff:
            return None  # the customer's own words
        return Kind.REPLY
    if event.kind == EventKind.STATUS:
        old, new = event.data.get("old"), event.data.get("new")
        if old == new or new not in Status.values:
            return None
        actor = event.actor
        if actor is not None and actor.is_customer and new != Status.CLOSED:
            return None  # the customer did it (replied, reopened); closing is confirmed by mail
        if actor is not None and actor.is_support_staff and _staff_reply_in_same_transaction(event):
            return None
        return Kind.STATUS
    if event.kind == EventKind.PROMISE:
        return Kind.PROMISE
    return None


def _line_agents(line_code: str, flag: str, *, exclude: int | None):
    agents = (
        User.objects.filter(line_memberships__line__code=line_code, is_active=True, role__in=STAFF_ROLES)
        .exclude(email="")
        .exclude(**{f"notification_preference__{flag}": False})
        .order_by("id")
    )
    if exclude is not None:
        agents = agents.exclude(id=exclude)
    return list(agents)


def recipients_for(event: TicketEvent) -> list[tuple[User, str]]:
    """(user, kind) for everyone who gets an e-mail about this event."""
    ticket = event.ticket
    recipients: list[tuple[User, str]] = []
    kind = _customer_kind(event)
    if kind is not None and _can_receive(ticket.customer):
        recipients.append((ticket.customer, kind))
    if event.kind == EventKind.CREATED:
        line_code = event.data.get("line") or ticket.line.code
        for agent in _line_agents(line_code, AGENT_FLAGS[Kind.NEW_IN_LINE], exclude=event.actor_id):
            recipients.append((agent, Kind.NEW_IN_LINE))
    elif event.kind == EventKind.TRANSFER and event.data.get("new"):
        for agent in _line_agents(event.data["new"], AGENT_FLAGS[Kind.TRANSFER_TO_LINE], exclude=event.actor_id):
            recipients.append((agent, Kind.TRANSFER_TO_LINE))
    elif event.kind == EventKind.ASSIGN and event.data.get("new"):
        # Handed over by someone else; taking a ticket oneself needs no e-mail.
        agent = User.objects.filter(username=event.data["new"], role__in=STAFF_ROLES).first()
        if (
            _can_receive(agent)
            and event.actor_id is not None
            and event.actor_id != agent.id
            and getattr(preference_for(agent), AGENT_FLAGS[Kind.TRANSFER_TO_ME])
        ):
            recipients.append((agent, Kind.TRANSFER_TO_ME))
    return recipients


@transaction.atomic
def notifications_for_event(*, event_id: int) -> list[int]:
    """Write the notifications an event calls for; returns the ids still waiting to be sent.

    Safe to run again for the same event: the rows made the first time are found, not doubled.
    """
    event = TicketEvent.objects.select_related("ticket__customer", "ticket__line", "actor").filter(id=event_id).first()
    if event is None:
        return []
    waiting = []
    for user, kind in recipients_for(event):
        notification, _created = Notification.objects.get_or_create(
            event=event,
            email=user.email,
            defaults={"recipient": user, "ticket": event.ticket, "kind": kind},
        )
        if notification.status == Notification.Status.QUEUED:
            waiting.append(notification.id)
    return waiting


# --- the e-mail ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def reply_to_address(ticket: Ticket) -> str:
    """support+<number>@<our domain>: a reply finds its ticket by the address alone."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"{REPLY_TO_LOCAL_PART}+{ticket.number}@{domain}"


def _language(notification: Notification) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    for candidate in (getattr(notification.recipient, "language", None), notification.ticket.language):
        if candidate in codes:
            return candidate
    return settings.LANGUAGE_CODE


def _when(value: str | None) -> str:
    if not value:
        return ""
    moment = timezone.localtime(dt.datetime.fromisoformat(value))
    return f"{formats.date_format(moment, 'DATETIME_FORMAT')} ({moment.tzname()})"


def _ticket_url(ticket: Ticket, *, staff: bool) -> str:
    site = getattr(settings, "HELPDESK_SITE_URL", "").rstrip("/")
    if not site:
        return ""
    return site + reverse("desk-ticket" if staff else "panel-ticket", args=[ticket.number])


def _subject_prefix(notification: Notification) -> str:
    kind = notification.kind
    if kind == Kind.STATUS:
        new = (notification.event.data if notification.event else {}).get("new")
        return str(Status(new).label) if new in Status.values else _("Status changed")
    return {
        Kind.REPLY: _("New reply"),
        Kind.PROMISE: _("Expected solution time"),
        Kind.REMINDER: _("Waiting for your answer"),
        Kind.NEW_IN_LINE: _("New ticket"),
        Kind.TRANSFER_TO_LINE: _("Transferred to your line"),
        Kind.TRANSFER_TO_ME: _("Handed to you"),
    }[kind]


def _context(notification: Notification) -> dict:
    """Everything a template may show, as plain values."""
    ticket = notification.ticket
    event = notification.event
    data = event.data if event is not None else {}
    recipient = notification.recipient
    staff = recipient is not None and recipient.is_support_staff
    customer = ticket.customer
    context = {
        "kind": notification.kind,
        "for_staff": staff,
        "recipient_name": (recipient.display_name if recipient is not None else "") or "",
        "number": ticket.number,
        "subject": ticket.subject,
        "line_name": ticket.line.localized_name(translation.get_language()),
        "status_label": str(Status(ticket.status).label),
        "urgency_label": str(Urgency(ticket.urgency).label),
        "category_label": str(Category(ticket.category).label),
        "service": ticket.service,
        "customer_name": customer.get_full_name() or customer.get_username(),
        "url": _ticket_url(ticket, staff=staff),
        "actor_name": event.actor.display_name if event is not None and event.actor is not None else "",
    }
    if notification.kind in (Kind.REPLY, Kind.REMINDER):
        message = Message.objects.select_related("author__agent_profile").get(id=data["message_id"])
        context |= {
            "author_name": message.author.display_name if message.author else "",
            "body": message.body,
            "body_html": render_markdown(message.body),
        }
    elif notification.kind == Kind.STATUS:
        new = data.get("new")
        context |= {
            "new_status": new,
            "new_status_label": str(Status(new).label) if new in Status.values else "",
            "by_helpdesk": event is not None and event.actor_id is None,
            "by_customer": event is not None and event.actor is not None and event.actor.is_customer,
        }
    elif notification.kind == Kind.PROMISE:
        context |= {
            "promised_by": _when(data.get("new")),
            "previous": _when(data.get("old")),
            "reason": data.get("reason", ""),
        }
    elif notification.kind in (Kind.TRANSFER_TO_LINE, Kind.TRANSFER_TO_ME):
        context |= {"from_line": data.get("old_name", ""), "reason": data.get("reason", "")}
    return context


def _template(notification: Notification) -> str:
    customer_kinds = (Kind.REPLY, Kind.STATUS, Kind.PROMISE, Kind.REMINDER)
    return notification.kind if notification.kind in customer_kinds else "agent"


def render(notification: Notification) -> Rendered:
    """Subject, plain text and HTML in the recipient's language."""
    with translation.override(_language(notification)):
        number = notification.ticket.number
        title = " ".join(notification.ticket.subject.split())  # no line breaks in a header
        subject = f"[#{number}] {_subject_prefix(notification)}: {title}"[:SUBJECT_MAX]
        context = _context(notification)
        name = _template(notification)
        text = render_to_string(f"notifications/email/{name}.txt", context)
        html = render_to_string(f"notifications/email/{name}.html", context)
    return Rendered(subject=subject, text=text, html=html)


def _thread_start(notification: Notification) -> str | None:
    """The first e-mail about this ticket to this address: later ones answer it."""
    return (
        Notification.objects.filter(ticket_id=notification.ticket_id, email=notification.email, id__lt=notification.id)
        .order_by("id")
        .values_list("message_id", flat=True)
        .first()
    )


def build_message(notification: Notification, rendered: Rendered) -> EmailMultiAlternatives:
    headers = {
        "Message-ID": notification.message_id,
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "X-Helpdesk-Ticket": str(notification.ticket.number),
    }
    first = _thread_start(notification)
    if first:
        headers["In-Reply-To"] = first
        headers["References"] = first
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.email],
        reply_to=[reply_to_address(notification.ticket)],
        headers=headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def deliver(notification: Notification) -> None:
    """Render and send one notification; SMTP errors propagate to the task, which retries."""
    rendered = render(notification)
    notification.subject = rendered.subject
    build_message(notification, rendered).send(fail_silently=False)
