"""Who hears about a ticket event, and the e-mail they get.

The outbox drain (`tasks.drain_outbox`) calls `notifications_for_event` for each ticket event
the change left in `tickets.EventOutbox`; it decides the recipients and writes one
`Notification` per address. `send_notification` calls
`deliver` for each. Templates get plain values picked here, never the ticket itself, so no
template can reach the ticket's access data.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from accounts.models import STAFF_ROLES, User
from helpdesk import mail
from helpdesk.errors import PermissionDenied
from notifications.models import AgentNotificationPreference, BouncedAddress, Notification
from quality.policy import reply_rating_links
from tickets.markdown import render_markdown
from tickets.models import (
    Category,
    EventKind,
    EventOutbox,
    Message,
    Status,
    SystemReason,
    Ticket,
    TicketEvent,
    Urgency,
)

logger = logging.getLogger(__name__)

Kind = Notification.Kind

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


class Lookups:
    """What deciding the recipients reads besides the event, read once for a batch of events:
    the messages replied with, and each line's agents who want a kind of e-mail."""

    def __init__(self, events: Sequence[TicketEvent] = ()) -> None:
        ids = [
            event.data.get("message_id")
            for event in events
            if event.kind == EventKind.MESSAGE and event.data.get("message_kind") == Message.Kind.PUBLIC
        ]
        self.messages: dict[int, Message] = Message.objects.select_related("author").in_bulk(
            [value for value in ids if isinstance(value, int)]
        )
        self._agents: dict[tuple[str, str], list[User]] = {}

    def message(self, message_id) -> Message | None:
        if message_id not in self.messages:
            found = Message.objects.select_related("author").filter(id=message_id).first()
            if found is None:
                return None
            self.messages[message_id] = found
        return self.messages[message_id]

    def line_agents(self, line_code: str, flag: str, *, exclude: int | None) -> list[User]:
        key = (line_code, flag)
        if key not in self._agents:
            self._agents[key] = list(
                User.objects.filter(line_memberships__line__code=line_code, is_active=True, role__in=STAFF_ROLES)
                .exclude(email="")
                .exclude(**{f"notification_preference__{flag}": False})
                .order_by("id")
            )
        return [agent for agent in self._agents[key] if agent.id != exclude]


def _customer_kind(event: TicketEvent, lookups: Lookups) -> str | None:
    """What the ticket's customer is told about this event, if anything."""
    if event.kind == EventKind.MESSAGE:
        if event.data.get("message_kind") == Message.Kind.SYSTEM and event.data.get("to_customer"):
            return Kind.REMINDER  # the helpdesk asking a silent customer for an answer
        if event.data.get("message_kind") != Message.Kind.PUBLIC:
            return None  # internal notes and the helpdesk's own system lines
        message = lookups.message(event.data.get("message_id"))
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
        if event.data.get("reason_code") == SystemReason.AGENT_REPLIED:
            return None  # moved on by an agent's reply, whose own e-mail tells the customer
        return Kind.STATUS
    if event.kind == EventKind.PROMISE:
        return Kind.PROMISE
    return None


def recipients_for(event: TicketEvent, lookups: Lookups | None = None) -> list[tuple[User, str]]:
    """(user, kind) for everyone who gets an e-mail about this event."""
    lookups = lookups or Lookups([event])
    ticket = event.ticket
    recipients: list[tuple[User, str]] = []
    kind = _customer_kind(event, lookups)
    if kind is not None and _can_receive(ticket.customer):
        recipients.append((ticket.customer, kind))
    if event.kind == EventKind.CREATED:
        line_code = event.data.get("line") or ticket.line.code
        for agent in lookups.line_agents(line_code, AGENT_FLAGS[Kind.NEW_IN_LINE], exclude=event.actor_id):
            recipients.append((agent, Kind.NEW_IN_LINE))
    elif event.kind == EventKind.TRANSFER and event.data.get("new"):
        for agent in lookups.line_agents(event.data["new"], AGENT_FLAGS[Kind.TRANSFER_TO_LINE], exclude=event.actor_id):
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
    return notifications_for_events(event_ids=[event_id])


@transaction.atomic
def notifications_for_events(*, event_ids: Sequence[int]) -> list[int]:
    """`notifications_for_event` for a batch of events in a handful of statements: the events,
    the messages and line agents they need, the suppressed addresses and the rows already made
    are each read once, and the new rows written in one INSERT. Ids still waiting, in order."""
    events = list(
        TicketEvent.objects.select_related("ticket__customer", "ticket__line", "actor")
        .filter(id__in=list(event_ids))
        .order_by("id")
    )
    lookups = Lookups(events)
    wanted = [(event, user, kind) for event in events for user, kind in recipients_for(event, lookups)]
    if not wanted:
        return []
    suppressed = suppressed_addresses({user.email for _event, user, _kind in wanted})
    existing = {
        (row.event_id, row.email): row
        for row in Notification.objects.filter(event_id__in=[event.id for event in events]).only(
            "id", "event_id", "email", "status"
        )
    }
    new: list[Notification] = []
    for event, user, kind in wanted:
        if (event.id, user.email) in existing:
            continue
        row = Notification(event=event, email=user.email, recipient=user, ticket=event.ticket, kind=kind)
        if user.email.lower() in suppressed:
            # Mail to it bounced for good (address_bounced): written as failed, not sent, so the
            # ticket shows the customer was not told.
            row.status = Notification.Status.FAILED
            row.last_error = suppressed[user.email.lower()]
        existing[(event.id, user.email)] = row
        new.append(row)
    Notification.objects.bulk_create(new)
    waiting: list[int] = []
    for event, user, _kind in wanted:
        row = existing[(event.id, user.email)]
        if row.status == Notification.Status.QUEUED and row.id not in waiting:
            waiting.append(row.id)
    return waiting


# --- bounces -----------------------------------------------------------------------------
# Delivery reports are read by mailin (parser.delivery_report); only the bookkeeping is here.

BOUNCE_REASON_MAX = 2000


def suppressed_addresses(emails) -> dict[str, str]:
    """Of these addresses, those not mailed any more (lower-cased), with why."""
    wanted = {email.lower() for email in emails if email}
    if not wanted:
        return {}
    rows = BouncedAddress.objects.annotate(email_lower=Lower("email")).filter(
        email_lower__in=wanted, suppressed_at__isnull=False
    )
    return {
        row.email_lower: _("Not sent: mail to this address bounced %(count)s times (%(reason)s).")
        % {"count": row.hard_bounces, "reason": row.last_reason}
        for row in rows
    }


@transaction.atomic
def notification_bounced(*, message_ids, reason: str, now: dt.datetime | None = None) -> Notification | None:
    """A delivery report names one of our notifications as given up on: it is failed, with the
    report's reason, whatever its state (an SMTP server accepts mail it later bounces)."""
    wanted = [f"<{item.strip('<>')}>" for item in message_ids if item]
    notification = (
        Notification.objects.select_for_update(of=("self",)).filter(message_id__in=wanted).order_by("id").first()
    )
    if notification is None:
        return None
    notification.status = Notification.Status.FAILED
    notification.last_error = _("Bounced: %(reason)s") % {"reason": reason}
    notification.last_error = notification.last_error[:BOUNCE_REASON_MAX]
    notification.bounced_at = now or timezone.now()
    notification.save(update_fields=["status", "last_error", "bounced_at"])
    logger.info("notification %s to %s bounced: %s", notification.id, notification.email, reason[:300])
    return notification


@transaction.atomic
def address_bounced(*, email: str, reason: str, hard: bool, now: dt.datetime | None = None) -> BouncedAddress:
    """Count a bounce of mail we sent to `email` (callers count only reports that name a message
    of ours: a forged bounce must not stop a customer's mail). After BOUNCES_BEFORE_SUPPRESSION
    hard ones the address is suppressed until staff clear it."""
    now = now or timezone.now()
    row = _bounced_row(email)
    if hard:
        row.hard_bounces += 1
    else:
        row.soft_bounces += 1
    row.last_bounce_at = now
    row.last_reason = reason[:BOUNCE_REASON_MAX]
    if hard and row.suppressed_at is None and row.hard_bounces >= settings.BOUNCES_BEFORE_SUPPRESSION:
        row.suppressed_at = now
        logger.warning("address %s suppressed after %s hard bounces: %s", email, row.hard_bounces, reason[:300])
    row.save()
    return row


def _bounced_row(email: str) -> BouncedAddress:
    """The address's row, locked; made on its first bounce."""
    for attempt in range(2):
        row = (
            BouncedAddress.objects.select_for_update()
            .annotate(email_lower=Lower("email"))
            .filter(email_lower=email.lower())
            .first()
        )
        if row is not None:
            return row
        try:
            with transaction.atomic():
                return BouncedAddress.objects.create(email=email)
        except IntegrityError:  # the same address, bounced in a concurrent delivery
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@transaction.atomic
def bounced_address_clear(*, address: BouncedAddress, actor: User) -> BouncedAddress:
    """Staff say an address works again (the customer fixed their mailbox): it is mailed again,
    and its hard bounces are counted from zero."""
    if not actor.is_support_staff:
        raise PermissionDenied(_("Only support staff may do this."))
    row = BouncedAddress.objects.select_for_update().get(pk=address.pk)
    row.suppressed_at = None
    row.hard_bounces = 0
    row.cleared_at = timezone.now()
    row.cleared_by = actor
    row.save(update_fields=["suppressed_at", "hard_bounces", "cleared_at", "cleared_by"])
    logger.info("bounced address %s cleared by %s", row.email, actor.username)
    return row


# --- the outbox's failures -------------------------------------------------------------

OUTBOX_RETRY_MAX_SECONDS = 3600
OUTBOX_ERROR_MAX = 2000


def outbox_retry_delay(attempts: int) -> dt.timedelta:
    """The wait after an event's `attempts`-th failure: OUTBOX_RETRY_SECONDS, twice as long
    after each further failure, never more than an hour."""
    seconds = settings.OUTBOX_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, OUTBOX_RETRY_MAX_SECONDS))


def outbox_failed(*, row: EventOutbox, error: BaseException, now: dt.datetime) -> EventOutbox:
    """Keep an event the drain could not handle: count the attempt, keep the error, and try
    again after a longer wait each time; after OUTBOX_MAX_ATTEMPTS, park it (tried no more
    until someone retries it from the admin). Runs inside the drain's transaction, on the
    locked row."""
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:OUTBOX_ERROR_MAX]
    if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        row.parked_at = now
        row.next_attempt_at = None
        logger.error(
            "notifications for ticket event %s failed %s times; parked until retried from the admin",
            row.event_id,
            row.attempts,
            exc_info=error,
        )
    else:
        row.next_attempt_at = now + outbox_retry_delay(row.attempts)
        logger.warning(
            "notifications for ticket event %s failed (attempt %s), next try at %s",
            row.event_id,
            row.attempts,
            row.next_attempt_at.isoformat(),
            exc_info=error,
        )
    row.save(update_fields=["attempts", "last_error", "parked_at", "next_attempt_at"])
    return row


@transaction.atomic
def outbox_retry(*, event_ids) -> int:
    """Give parked events one more try at the next drain; returns how many. Their attempts stay
    counted: one that fails again is parked again at once."""
    return EventOutbox.objects.filter(event_id__in=list(event_ids), parked_at__isnull=False).update(
        parked_at=None, next_attempt_at=None
    )


# --- the e-mail ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def reply_to_address(ticket: Ticket) -> str:
    """support+<number>@<our domain>: a reply finds its ticket by the address alone."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"{settings.REPLY_ADDRESS_LOCAL_PART}+{ticket.number}@{domain}"


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
    site = settings.SITE_URL.rstrip("/")
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


def _recipient_name(notification: Notification) -> str:
    recipient = notification.recipient
    return (recipient.display_name if recipient is not None else "") or ""


def _context(notification: Notification, *, recipient_name: str | None = None) -> dict:
    """Everything a template may show, as plain values. `recipient_name` stands in for the
    recipient's own name (`render` shares one rendering between an event's recipients)."""
    ticket = notification.ticket
    event = notification.event
    data = event.data if event is not None else {}
    recipient = notification.recipient
    staff = recipient is not None and recipient.is_support_staff
    customer = ticket.customer
    context = {
        "kind": notification.kind,
        "for_staff": staff,
        "recipient_name": _recipient_name(notification) if recipient_name is None else recipient_name,
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
        message = getattr(notification, "prepared_message", None) or Message.objects.select_related(
            "author__agent_profile"
        ).get(id=data["message_id"])
        context |= {
            "author_name": message.author.display_name if message.author else "",
            "body": message.body,
            "body_html": render_markdown(message.body),
        }
        if notification.kind == Kind.REPLY:
            # The signed like/dislike links for the ticket's customer (quality, docs/quality.md).
            context |= reply_rating_links(message=message, recipient=recipient)
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


# Stands in for the recipient's name while an e-mail is rendered for all of an event's recipients
# (`render`); letters and digits only, so escaping leaves it as it is, and unguessable.
RECIPIENT_NAME = f"recipientname{secrets.token_hex(12)}"


def _render(notification: Notification, language: str, *, recipient_name: str | None = None) -> Rendered:
    """Subject, plain text and HTML in `language`, straight from the templates."""
    with translation.override(language):
        number = notification.ticket.number
        title = " ".join(notification.ticket.subject.split())  # no line breaks in a header
        subject = f"[#{number}] {_subject_prefix(notification)}: {title}"[:SUBJECT_MAX]
        context = _context(notification, recipient_name=recipient_name)
        name = _template(notification)
        text = render_to_string(f"notifications/email/{name}.txt", context)
        html = render_to_string(f"notifications/email/{name}.html", context)
    return Rendered(subject=subject, text=text, html=html)


def _shared_key(notification: Notification, language: str, name: str) -> tuple | None:
    """What an e-mail's rendering depends on besides the recipient's name: the event, the kind,
    the language, staff or not, whether there is a name; a reply's own recipient too (its rating
    links are signed for them). None: rendered for this e-mail alone."""
    if notification.event_id is None:
        return None
    recipient = notification.recipient
    return (
        notification.event_id,
        notification.kind,
        language,
        recipient is not None and recipient.is_support_staff,
        bool(name),
        notification.recipient_id if notification.kind == Kind.REPLY else None,
    )


def render(notification: Notification, cache: dict | None = None) -> Rendered:
    """Subject, plain text and HTML in the recipient's language.

    With a `cache` (a dict kept for a batch of e-mails), the templates are rendered once per
    event, kind and language, with `RECIPIENT_NAME` for the name, and each recipient's e-mail is
    that rendering with their name put in (escaped in the HTML, as the template would)."""
    language = _language(notification)
    name = _recipient_name(notification)
    key = _shared_key(notification, language, name) if cache is not None else None
    shared = cache.get(key) if cache is not None and key is not None else None
    if shared is None:
        shared = _render(notification, language, recipient_name=RECIPIENT_NAME if name else "")
        if cache is not None and key is not None:
            cache[key] = shared
    if not name:
        return shared
    return Rendered(
        subject=shared.subject,
        text=shared.text.replace(RECIPIENT_NAME, name),
        html=shared.html.replace(RECIPIENT_NAME, escape(name)),
    )


def _thread_start(notification: Notification) -> str | None:
    """The first e-mail about this ticket to this address: later ones answer it."""
    if hasattr(notification, "prepared_thread_start"):
        return notification.prepared_thread_start
    return (
        Notification.objects.filter(ticket_id=notification.ticket_id, email=notification.email, id__lt=notification.id)
        .order_by("id")
        .values_list("message_id", flat=True)
        .first()
    )


def build_message(notification: Notification, rendered: Rendered) -> EmailMultiAlternatives:
    headers = {
        "Message-ID": notification.message_id,
        **mail.loop_headers(),  # Auto-Submitted, X-Loop: recognised when it comes back (mailin)
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


def deliver(notification: Notification, *, connection=None, cache: dict | None = None) -> None:
    """Render and send one notification; SMTP errors propagate to the task, which retries.
    `connection` is an open one to the mail server, kept across a batch (`mail_connection`);
    `cache` the batch's renderings shared by an event's recipients (`render`)."""
    rendered = render(notification, cache)
    notification.subject = rendered.subject
    message = build_message(notification, rendered)
    message.connection = connection
    message.send(fail_silently=False)


def mail_connection(*, reopen=None):
    """A connection to the mail server for a batch of e-mails (after a failure, a fresh one)."""
    if reopen is not None:
        try:
            reopen.close()
        except Exception:  # a connection the server already dropped: closing it can fail too
            logger.debug("closing a broken mail connection failed", exc_info=True)
    return get_connection(fail_silently=False)


def notifications_delivered(*, sent: Sequence[Notification], retrying: Sequence[Notification] = ()) -> None:
    """Write what sending a group of e-mails came to, one statement for all the sent ones (status,
    time sent, attempts, subject) and one for those the mail server refused, which go on with
    their own retries (attempts, error, subject). Runs in the sender's transaction, on the rows
    it locked before sending."""
    if sent:
        _update_rows(sent, ["attempts", "status", "sent_at", "subject"])
    if retrying:
        _update_rows(retrying, ["attempts", "last_error", "subject"])


def _update_rows(rows: Sequence[Notification], names: Sequence[str]) -> None:
    """Write these fields of these rows in one `UPDATE ... FROM (VALUES ...)`. (Django's
    bulk_update writes a CASE per field and row, whose expressions cost more time to build than
    the statement takes to run.)"""
    meta = Notification._meta
    fields = [meta.get_field(name) for name in names]
    quote = db_connection.ops.quote_name
    one = "(%s::bigint, " + ", ".join(f"%s::{field.db_type(db_connection)}" for field in fields) + ")"
    params: list = []
    for row in rows:
        params.append(row.pk)
        params.extend(field.get_db_prep_save(getattr(row, field.attname), db_connection) for field in fields)
    columns = [quote(field.column) for field in fields]
    table = quote(meta.db_table)
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    values = ", ".join([one] * len(rows))
    # Only the model's own table and column names and placeholders are formatted in.
    sql = f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v(id, {', '.join(columns)}) WHERE {table}.id = v.id"  # noqa: S608, E501
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)


def prepare(notification_ids: Sequence[int]) -> dict[int, Notification]:
    """The queued notifications among `notification_ids`, with everything rendering reads, in
    three statements: the rows with their ticket, line, customer, event and recipient; the
    replies they quote; and the first e-mail of each thread (ticket and address) they answer."""
    rows = {
        row.id: row
        for row in Notification.objects.select_related(
            "ticket__customer__agent_profile",
            "ticket__line",
            "event__actor__agent_profile",
            "recipient__agent_profile",
        ).filter(id__in=list(notification_ids), status=Notification.Status.QUEUED)
    }
    if not rows:
        return rows
    quoted = {
        row.event.data.get("message_id")
        for row in rows.values()
        if row.kind in (Kind.REPLY, Kind.REMINDER) and row.event is not None
    }
    messages = Message.objects.select_related("author__agent_profile").in_bulk(
        [value for value in quoted if isinstance(value, int)]
    )
    firsts = {
        (first.ticket_id, first.email): first
        for first in Notification.objects.filter(
            ticket_id__in={row.ticket_id for row in rows.values()}, email__in={row.email for row in rows.values()}
        )
        .order_by("ticket_id", "email", "id")
        .distinct("ticket_id", "email")
        .only("id", "ticket_id", "email", "message_id")
    }
    for row in rows.values():
        if row.kind in (Kind.REPLY, Kind.REMINDER) and row.event is not None:
            message = messages.get(row.event.data.get("message_id"))
            if message is not None:
                if message.ticket_id == row.ticket_id:
                    message.ticket = row.ticket  # the reply's rating links read its ticket's customer
                row.prepared_message = message
        first = firsts.get((row.ticket_id, row.email))
        row.prepared_thread_start = first.message_id if first is not None and first.id < row.id else None
    return rows
