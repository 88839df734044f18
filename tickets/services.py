"""Every change to a ticket: guarded, in a transaction, with its audit event.

The only code that writes a ticket or its history (docs/architecture.md#layers): changes
made by people, and also take-next, a bought boost applied, the SLA sweep's escalations and
bulk write, a change of customer. Callers (pages, the API, e-mail, phone, Celery, the
orchestrators of queues, sla and mailin) pass the acting user; the guards here decide
whether that user may do it, so no caller has to remember. The arithmetic comes from the
policy modules below (queues.policy, sla.deadlines), the events from tickets.events.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import DEFERRED, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import CustomerProfile, Plan, User
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied, Unavailable
from queues.billing import charge_recorded
from queues.models import BalanceEntry, Line, QueuePolicy, RoutingRule
from queues.policy import (
    ESCALATION_FIELDS,
    queue_boost,
    queue_enqueue,
    queue_escalate,
    queue_park,
    queue_reweigh,
    queue_unpark,
)
from queues.selectors import BoostQuote, active_line_ids
from sla.deadlines import sla_retarget, sla_update
from sla.models import Component
from tickets import events, secrets, take_next
from tickets.events import ReasonFields, system_reason
from tickets.models import (
    Attachment,
    Category,
    Channel,
    EventKind,
    LineStint,
    Message,
    PackageTask,
    PhoneCall,
    ReplyTemplate,
    SavedView,
    Status,
    SystemReason,
    Tag,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketSecret,
    TicketTag,
    Urgency,
)
from tickets.selectors import (
    can_work_ticket,
    customer_can_see_ticket,
    member_line_ids,
    messages_since,
    tickets_visible_to,
)
from tickets.uploads import validate_upload
from tickets.views_saved import filters_clean, sort_clean

logger = logging.getLogger(__name__)

# status -> statuses it may move to. Everything else is refused with 409.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.IN_PROGRESS, Status.WAITING_AGENT, Status.WAITING_CUSTOMER, Status.RESOLVED},
    Status.WAITING_AGENT: {Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.RESOLVED},
    Status.IN_PROGRESS: {Status.WAITING_AGENT, Status.WAITING_CUSTOMER, Status.RESOLVED},
    Status.WAITING_CUSTOMER: {Status.WAITING_AGENT, Status.IN_PROGRESS, Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.WAITING_AGENT},
    Status.CLOSED: {Status.WAITING_AGENT},
}
SUBJECT_MAX = 200
# Called with each new ticket inside ticket_create's transaction, before its files are written:
# orchestrators above the writers register here from their AppConfig.ready() (status links a
# ticket filed about a service under an incident), so filing imports none of them.
TICKET_FILED_HOOKS: list[Callable[[Ticket], None]] = []
PLACEHOLDER = re.compile(r"\{(customer_name|ticket_number|agent_name)\}")
BODY_MAX = 50_000


def _status_label(status: str) -> str:
    return str(Status(status).label)


def _guard_transition(ticket: Ticket, new: str) -> None:
    if new not in TRANSITIONS[ticket.status]:
        raise Conflict(
            _("A ticket that is “%(old)s” cannot become “%(new)s”.")
            % {"old": _status_label(ticket.status), "new": _status_label(new)},
            code="illegal_transition",
        )


def _set_status(
    ticket: Ticket, new: str, actor: User | None, *, now: dt.datetime, reason: str | ReasonFields = ""
) -> list[str]:
    """Move to `new` (guarded) and return the fields that changed."""
    _guard_transition(ticket, new)
    old = ticket.status
    ticket.status = new
    changed = ["status"]
    if new == Status.RESOLVED:
        ticket.resolved_at = now
        changed.append("resolved_at")
    if new == Status.CLOSED:
        ticket.closed_at = now
        ticket.solved_at_first_level = _solved_at_first_level(ticket)
        changed += ["closed_at", "solved_at_first_level"]
    if old in (Status.RESOLVED, Status.CLOSED) and new == Status.WAITING_AGENT:
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.solved_at_first_level = None
        changed += ["resolved_at", "closed_at", "solved_at_first_level"]
    events.status_changed(ticket, actor, old=old, new=new, reason=reason)
    return changed


def _solved_at_first_level(ticket: Ticket) -> bool:
    """Solved where it started, at level 1, without ever leaving the first level."""
    return not ticket.stints.exclude(line__level=1).exists() and ticket.line.level == 1


def _save(
    ticket: Ticket, fields: list[str], now: dt.datetime, *, customer_wrote: bool = False, agent_answered: bool = False
) -> None:
    """Save the changed fields, with the deadlines brought up to date in the same write."""
    fields = fields + sla_update(ticket=ticket, now=now, customer_wrote=customer_wrote, agent_answered=agent_answered)
    ticket.updated_at = now
    ticket.save(update_fields=sorted(set(fields) | {"updated_at"}))


def _require_staff(ticket: Ticket, actor: User) -> None:
    if not can_work_ticket(actor, ticket):
        if actor.is_customer:
            raise NotFound(_("No such ticket."))
        raise PermissionDenied(_("Only staff of the line “%(line)s” may do this.") % {"line": ticket.line.name})


def _require_customer(ticket: Ticket, actor: User) -> None:
    if not actor.is_customer or not customer_can_see_ticket(actor, ticket):
        if actor.is_customer:
            raise NotFound(_("No such ticket."))
        raise PermissionDenied(_("Only the customer can do this."))


def _clean_text(value: str, *, field: str, label: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(_("%(label)s must not be empty.") % {"label": label}, code="required", field=field)
    if len(value) > max_length:
        raise DomainError(
            _("%(label)s is too long (%(length)d characters, at most %(max)d).")
            % {"label": label, "length": len(value), "max": max_length},
            code="too_long",
            field=field,
        )
    return value


def route(*, category: str, urgency: str) -> Line:
    """The line a new ticket of this category and urgency goes to: the active line of the rule
    for this urgency, else of the rule for any urgency, else the first active tier (by level and
    position); in one query."""
    rule = (
        RoutingRule.objects.filter(line=OuterRef("pk"), category=category, urgency__in=[urgency, ""])
        .order_by("-urgency")  # the rule for this urgency before the one for any
        .values("urgency")[:1]
    )
    line = (
        Line.objects.filter(is_active=True)
        .annotate(rule_urgency=Subquery(rule))
        .filter(Q(rule_urgency__isnull=False) | Q(kind=Line.Kind.TIER))
        .select_related("next_line")  # the SLA's first-line escalation reads it
        .order_by(F("rule_urgency").desc(nulls_last=True), "level", "position")
        .first()
    )
    if line is None:
        raise DomainError(_("No support line is set up to receive tickets."), code="no_line")
    return line


def _attach(ticket: Ticket, message: Message | None, actor: User, uploads, now: dt.datetime) -> list[Attachment]:
    checked = [(upload, *validate_upload(upload, count=len(uploads))) for upload in uploads]
    attachments: list[Attachment] = []
    for upload, name, content_type, digest in checked:
        attachment = Attachment(
            ticket=ticket,
            message=message,
            original_name=name,
            content_type=content_type,
            size=upload.size,
            sha256=digest,
            uploaded_by=actor,
            created_at=now,
        )
        # A random stored name: the customer's file name never reaches the file system.
        try:
            attachment.file.save(uuid.uuid4().hex, File(upload), save=False)
        except OSError as exc:
            _forget_files(attachments)
            logger.error("attachment not stored (%s): ticket=%s; nothing filed", exc, ticket.number)
            raise Unavailable(
                _("Your files could not be stored just now, so nothing was sent. Please try again in a few minutes."),
                code="storage_unavailable",
                field="attachments",
            ) from exc
        attachment.save()
        events.attachment_added(ticket, actor, attachment=attachment)
        attachments.append(attachment)
    return attachments


def _forget_files(attachments: list[Attachment]) -> None:
    """Delete the files stored before an upload failed: their rows roll back with the request."""
    for attachment in attachments:
        try:
            attachment.file.delete(save=False)
        except OSError:
            logger.warning("could not delete the stored file %s", attachment.file.name)


@transaction.atomic
def ticket_create(
    *,
    customer: User,
    subject: str,
    body: str,
    category: str = Category.GENERAL,
    urgency: str = Urgency.NORMAL,
    service: str = "",
    channel: str = Channel.PANEL,
    created_by: User | None = None,
    attachments=(),
    access_data: str = "",
    hardware_component: str = "",
    allow_inactive: bool = False,
    sender_verified: bool = True,
) -> Ticket:
    """Open a ticket for `customer`, routed to its line. `created_by` is an agent filing on
    the customer's behalf (phone, chat); otherwise the customer files it. `sender_verified`
    False: filed with an address nobody has proven to own yet (the feedback form)."""
    actor = created_by or customer
    # Placeholders for unknown senders (feedback form, e-mail) are inactive customers.
    if not customer.is_customer or not (customer.is_active or allow_inactive):
        raise DomainError(_("Tickets are filed for customers."), code="not_a_customer", field="customer")
    if created_by is not None and created_by != customer and not created_by.is_support_staff:
        raise PermissionDenied(_("Only support staff may file a ticket for a customer."))
    if category not in Category.values:
        raise DomainError(_("Unknown category “%(value)s”.") % {"value": category}, code="invalid", field="category")
    if urgency not in Urgency.values:
        raise DomainError(_("Unknown urgency “%(value)s”.") % {"value": urgency}, code="invalid", field="urgency")
    if channel not in Channel.values:
        raise DomainError(_("Unknown channel “%(value)s”.") % {"value": channel}, code="invalid", field="channel")
    subject = _clean_text(subject, field="subject", label=_("The subject"), max_length=SUBJECT_MAX)
    body = _clean_text(body, field="body", label=_("The description"), max_length=BODY_MAX)
    if hardware_component and hardware_component not in Component.values:
        raise DomainError(
            _("Unknown component “%(value)s”.") % {"value": hardware_component},
            code="invalid",
            field="hardware_component",
        )
    now = timezone.now()
    line = route(category=category, urgency=urgency)
    # Read once for the queue's weight and the SLA targets alike (queues.policy.customer_profile_of).
    _cache_profile(customer)
    ticket = Ticket(
        subject=subject,
        body=body,
        category=category,
        urgency=urgency,
        service=(service or "").strip()[:200],
        channel=channel,
        status=Status.NEW,
        line=line,
        customer=customer,
        organisation_id=customer.organisation_id,
        language=customer.language,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        line_entered_at=now,
        hardware_component=hardware_component if category == Category.HARDWARE else "",
        sender_verified=sender_verified,
    )
    package = _package_of(customer) if category == Category.ADMIN_WORK else None
    if package is not None:
        ticket.package_task = _package_task_state(customer, package, now)
    queue_enqueue(ticket=ticket, now=now)
    sla_update(ticket=ticket, now=now)
    ticket.save(force_insert=True)  # the number comes back from the INSERT (a database default)
    stint = LineStint.objects.create(ticket=ticket, line=line, entered_at=now)
    events.created(ticket, actor)
    has_access_data = bool(access_data and access_data.strip())
    if has_access_data:
        _store_secret(ticket, actor, access_data, now)
    if package is not None and ticket.package_task == PackageTask.EXTRA_PENDING:
        with override(ticket.language):  # the customer reads it, whoever filed the ticket
            body = _(
                "This month's %(count)s tasks of your “%(package)s” package are used. This task costs "
                "%(price)s %(currency)s extra; work starts once you accept the charge on the ticket page."
            ) % {
                "count": package.tasks_per_month,
                "package": package.name,
                "price": package.extra_task_price,
                "currency": package.currency,
            }
        message = Message.objects.create(
            ticket=ticket, author=None, kind=Message.Kind.SYSTEM, body=body, created_at=now
        )
        events.message_added(ticket, None, message=message)
    for hook in TICKET_FILED_HOOKS:
        hook(ticket)
    # Files last: once they are written nothing else in this transaction can fail.
    files = _attach(ticket, None, actor, list(attachments), now)
    # Read by the API's answer (tickets.api.serializers); not a field of the model.
    setattr(ticket, "filed", Filed(stints=[stint], attachments=files, has_access_data=has_access_data))  # noqa: B010
    logger.info("ticket created: number=%s line=%s channel=%s", ticket.number, line.code, channel)
    return ticket


@dataclass(frozen=True)
class Filed:
    """What `ticket_create` wrote beside the ticket, left on it as `ticket.filed` so that the
    answer to the request shows them without reading them back (messages are read: a
    TICKET_FILED_HOOKS hook may have written one)."""

    stints: list[LineStint]
    attachments: list[Attachment]
    has_access_data: bool


def _cache_profile(customer: User) -> None:
    """Load the customer's profile with its plan onto `customer`, where the policies look first
    (nothing to read when it came with the user, as with an API token)."""
    if User.customer_profile.is_cached(customer):
        loaded = customer.customer_profile if hasattr(customer, "customer_profile") else None
        if loaded is None or CustomerProfile.support_plan.is_cached(loaded):
            return
    profile = CustomerProfile.objects.select_related("support_plan").filter(user=customer).first()
    User.customer_profile.related.set_cached_value(customer, profile)


@transaction.atomic
def message_add(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    kind: str = Message.Kind.PUBLIC,
    attachments=(),
    wait_for_customer: bool = False,
    seen: int | None = None,
) -> Message:
    """A reply or an internal note. A customer's reply puts the ticket back to the agents;
    an agent's public reply counts as the first response and, if asked, waits for the customer.

    `seen`: the last message the writer had in front of them (its id, 0 for none). When someone
    else (a colleague, the customer) wrote since, nothing is written: Conflict `replied_since`
    names them, and the writer sends again with the newer id once they have read it."""
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
    if seen is not None:
        newer = messages_since(ticket=ticket, user=author, after=seen)
        if newer:
            names = ", ".join(dict.fromkeys(message.author.display_name for message in newer if message.author))
            raise Conflict(
                _(
                    "%(names)s wrote on this ticket since you opened it. Your message is not sent yet: "
                    "read the new messages, then send it again."
                )
                % {"names": names},
                code="replied_since",
            )
    if author.is_customer:
        _require_customer(ticket, author)
        if kind != Message.Kind.PUBLIC:
            raise PermissionDenied(_("Customers can only write replies."))
        if ticket.status == Status.CLOSED:
            raise Conflict(_("This ticket is closed; reopen it to write again."), code="ticket_closed")
    else:
        _require_staff(ticket, author)
        if kind not in (Message.Kind.PUBLIC, Message.Kind.NOTE):
            raise DomainError(_("Unknown kind of message."), code="invalid", field="kind")
        if ticket.status == Status.CLOSED and kind == Message.Kind.PUBLIC:
            raise Conflict(_("This ticket is closed; it cannot be answered."), code="ticket_closed")
    body = _clean_text(body, field="body", label=_("The message"), max_length=BODY_MAX)
    now = timezone.now()
    message = Message.objects.create(ticket=ticket, author=author, kind=kind, body=body, created_at=now)
    events.message_added(ticket, author, message=message)
    _attach(ticket, message, author, list(attachments), now)
    changed = ["last_activity_at"]
    ticket.last_activity_at = now
    if author.is_customer:
        if ticket.status in (Status.WAITING_CUSTOMER, Status.RESOLVED):
            changed += _set_status(
                ticket, Status.WAITING_AGENT, author, now=now, reason=system_reason(SystemReason.CUSTOMER_REPLIED)
            )
            if ticket.assignee_id is None:
                changed += queue_enqueue(ticket=ticket, now=now)
    elif kind == Message.Kind.PUBLIC:
        _guard_package(ticket)
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            changed.append("first_response_at")
        if ticket.assignee_id is None and ticket.status in (Status.NEW, Status.WAITING_AGENT):
            events.assignee_changed(ticket, author, old=None, new=author)
            ticket.assignee = author
            changed.append("assignee")
        target = Status.WAITING_CUSTOMER if wait_for_customer else Status.IN_PROGRESS
        if ticket.status != target and ticket.status != Status.RESOLVED:
            changed += _set_status(ticket, target, author, now=now, reason=system_reason(SystemReason.AGENT_REPLIED))
    _save(
        ticket,
        changed,
        now,
        customer_wrote=author.is_customer,
        agent_answered=not author.is_customer and kind == Message.Kind.PUBLIC,
    )
    return message


@transaction.atomic
def ticket_take(*, ticket: Ticket, agent: User) -> Ticket:
    """An agent of the line takes a waiting ticket."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, agent)
    if ticket.assignee_id == agent.id:
        raise Conflict(_("You already have this ticket."), code="already_yours")
    if ticket.assignee is not None:
        raise Conflict(
            _("%(name)s is working on this ticket; they can release it.") % {"name": ticket.assignee.display_name},
            code="taken",
        )
    if ticket.status not in (Status.NEW, Status.WAITING_AGENT, Status.WAITING_CUSTOMER):
        raise Conflict(
            _("A ticket that is “%(status)s” cannot be taken.") % {"status": _status_label(ticket.status)},
            code="illegal_transition",
        )
    _guard_package(ticket)
    now = timezone.now()
    events.assignee_changed(ticket, agent, old=None, new=agent)
    ticket.assignee = agent
    changed = ["assignee"]
    if ticket.status != Status.WAITING_CUSTOMER:
        changed += _set_status(ticket, Status.IN_PROGRESS, agent, now=now)
    _save(ticket, changed, now)
    return ticket


@transaction.atomic
def ticket_release(*, ticket: Ticket, agent: User, reason: str = "") -> Ticket:
    """Give a ticket back to its line (shift change) without losing anything."""
    # Lock only the ticket row: the assignee is a nullable join that FOR UPDATE cannot lock.
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line", "assignee").get(pk=ticket.pk)
    _require_staff(ticket, agent)
    if ticket.assignee_id is None:
        raise Conflict(_("Nobody has this ticket."), code="not_assigned")
    if ticket.assignee_id != agent.id and not agent.is_management:
        raise PermissionDenied(_("Only the agent who has the ticket, or a manager, can release it."))
    now = timezone.now()
    events.assignee_changed(ticket, agent, old=ticket.assignee, new=None)
    ticket.assignee = None
    changed = ["assignee"]
    if ticket.status == Status.IN_PROGRESS:
        changed += _set_status(
            ticket, Status.WAITING_AGENT, agent, now=now, reason=reason or system_reason(SystemReason.RELEASED)
        )
    if ticket.queued_at is None:
        changed += queue_enqueue(ticket=ticket, now=now)
    # Otherwise the ticket keeps its order key: it goes back to the same place in the queue.
    _save(ticket, changed, now)
    return ticket


@transaction.atomic
def ticket_transfer(*, ticket: Ticket, actor: User, to_line: Line, reason: str) -> Ticket:
    """Pass a ticket to the next level or another department, with a reason in the history."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    reason = _clean_text(reason, field="reason", label=_("The reason"), max_length=1000)
    return _transfer(ticket, actor, to_line, reason)


@transaction.atomic
def ticket_system_transfer(*, ticket: Ticket, to_line: Line, reason_code: str, **params) -> Ticket:
    """A transfer made by the helpdesk itself (an SLA escalation, a mailbox's line), with no
    agent behind it. The reason is one of tickets.history.REASON_TEMPLATES with its values,
    so the history shows it in the reader's language."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    return _transfer(ticket, None, to_line, system_reason(reason_code, **params))


def _transfer(ticket: Ticket, actor: User | None, to_line: Line, reason: str | ReasonFields) -> Ticket:
    """`reason`: what the agent typed, or the helpdesk's own (tickets.history.system_reason)."""
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(
            _("A ticket that is “%(status)s” cannot be transferred.") % {"status": _status_label(ticket.status)},
            code="illegal_transition",
        )
    if to_line.id == ticket.line_id:
        raise Conflict(_("The ticket is already in this line."), code="same_line")
    if not to_line.is_active:
        raise DomainError(_("That line is not active."), code="inactive_line", field="line")
    now = timezone.now()
    old_line = ticket.line
    stint = LineStint.objects.select_for_update().filter(ticket=ticket, left_at__isnull=True).first()
    seconds = int((now - ticket.line_entered_at).total_seconds())
    if stint is not None:
        stint.left_at = now
        stint.save(update_fields=["left_at"])
    LineStint.objects.create(ticket=ticket, line=to_line, entered_at=now)
    events.transferred(ticket, actor, old_line=old_line, new_line=to_line, seconds_in_old_line=seconds, reason=reason)
    ticket.line = to_line
    ticket.line_entered_at = now
    changed = ["line", "line_entered_at"]
    if ticket.assignee_id is not None:
        events.assignee_changed(ticket, actor, old=ticket.assignee, new=None)
        ticket.assignee = None
        changed.append("assignee")
    if ticket.status != Status.WAITING_AGENT:
        changed += _set_status(
            ticket, Status.WAITING_AGENT, actor, now=now, reason=system_reason(SystemReason.TRANSFERRED)
        )
    changed += queue_enqueue(ticket=ticket, now=now)
    message = Message.objects.create(
        ticket=ticket,
        author=None,
        kind=Message.Kind.SYSTEM,
        body=_transfer_note(ticket, old_line, to_line),
        created_at=now,
    )
    events.message_added(ticket, actor, message=message)
    ticket.last_activity_at = now
    changed.append("last_activity_at")
    _save(ticket, changed, now)
    return ticket


def _transfer_note(ticket: Ticket, old_line: Line, new_line: Line) -> str:
    """The line in the thread that says where the ticket went, in the customer's language
    (an SLA escalation is made by a worker, a transfer by an agent of any language)."""
    language = ticket.language
    with override(language):
        return _("Passed from “%(old)s” to “%(new)s”.") % {
            "old": old_line.localized_name(language),
            "new": new_line.localized_name(language),
        }


@transaction.atomic
def ticket_change_customer(*, ticket: Ticket, actor: User, customer: User, reason: str | ReasonFields) -> Ticket:
    """Give a ticket to another customer account (an e-mail sender recognised as one), by staff
    of its line: a line in the history, and the new customer's queue weight and service
    targets (the time already counted stays counted, as for a change of urgency)."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line", "customer").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    if not customer.is_customer or not customer.is_active:
        raise DomainError(
            _("A ticket can only go to an active customer account."), code="not_a_customer", field="customer"
        )
    if ticket.customer_id == customer.id:
        return ticket
    now = timezone.now()
    events.customer_changed(ticket, actor, old=ticket.customer, new=customer, reason=reason)
    ticket.customer = customer
    ticket.organisation_id = customer.organisation_id
    # The commitment follows the new customer's plan (sla.deadlines.sla_retarget).
    _save(
        ticket, ["customer", "organisation", *queue_reweigh(ticket=ticket), *sla_retarget(ticket=ticket, now=now)], now
    )
    return ticket


@transaction.atomic
def ticket_verify_sender(*, ticket: Ticket, via: str = "follow_link") -> Ticket:
    """The sender of a ticket filed with an unproven address (the feedback form) has shown they
    receive mail there: they used the link mailed only to that address. Once, with its history
    line; a ticket whose sender is verified already is returned as it is."""
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
    if ticket.sender_verified:
        return ticket
    now = timezone.now()
    ticket.sender_verified = True
    ticket.sender_verified_at = now
    ticket.updated_at = now
    events.sender_verified(ticket, None, via=via)
    ticket.save(update_fields=["sender_verified", "sender_verified_at", "updated_at"])
    return ticket


@transaction.atomic
def ticket_set_urgency(*, ticket: Ticket, actor: User, urgency: str, reason: str) -> Ticket:
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    if urgency not in Urgency.values:
        raise DomainError(_("Unknown urgency “%(value)s”.") % {"value": urgency}, code="invalid", field="urgency")
    reason = _clean_text(reason, field="reason", label=_("The reason"), max_length=1000)
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(
            _("A ticket that is “%(status)s” keeps its urgency.") % {"status": _status_label(ticket.status)},
            code="illegal_transition",
        )
    if urgency == ticket.urgency:
        raise Conflict(_("The ticket already has this urgency."), code="unchanged")
    events.urgency_changed(ticket, actor, old=ticket.urgency, new=urgency, reason=reason)
    ticket.urgency = urgency
    now = timezone.now()
    # The new urgency's service targets apply to the time already counted (sla.services.sla_retarget).
    _save(ticket, ["urgency", *queue_reweigh(ticket=ticket), *sla_retarget(ticket=ticket, now=now)], now)
    return ticket


@transaction.atomic
def ticket_set_promise(*, ticket: Ticket, actor: User, promised_by: dt.datetime, reason: str = "") -> Ticket:
    """ "We expect to have this solved by …": shown to the customer; changing it needs a reason."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(_("A solved ticket needs no promise."), code="illegal_transition")
    now = timezone.now()
    if timezone.is_naive(promised_by):
        raise DomainError(_("Give the time with its time zone."), code="invalid", field="promised_by")
    if promised_by <= now:
        raise DomainError(_("The promised time must be in the future."), code="in_the_past", field="promised_by")
    reason = (reason or "").strip()
    if ticket.promised_by is not None and not reason:
        raise DomainError(
            _("Say why the promised time changes; the customer sees it."), code="reason_required", field="reason"
        )
    events.promise_set(ticket, actor, old=ticket.promised_by, new=promised_by, reason=reason)
    ticket.promised_by = promised_by
    _save(ticket, ["promised_by"], now)
    return ticket


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, actor: User) -> Ticket:
    """The agent considers it solved; the customer confirms or reopens."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    now = timezone.now()
    changed = _set_status(ticket, Status.RESOLVED, actor, now=now)
    _save(ticket, changed, now)
    return ticket


@transaction.atomic
def ticket_confirm(*, ticket: Ticket, customer: User) -> Ticket:
    """The customer confirms the solution: the ticket closes and its access data is wiped."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_customer(ticket, customer)
    now = timezone.now()
    changed = _set_status(ticket, Status.CLOSED, customer, now=now, reason=system_reason(SystemReason.CONFIRMED))
    _wipe_secret(ticket, customer)
    _close_stint(ticket, now)
    _save(ticket, changed, now)
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, customer: User, body: str) -> Ticket:
    """The customer says it is not solved: back to the agents of the line, with a message."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_customer(ticket, customer)
    body = _clean_text(body, field="body", label=_("The message"), max_length=BODY_MAX)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(_("Only a resolved or closed ticket can be reopened."), code="illegal_transition")
    now = timezone.now()
    was_closed = ticket.status == Status.CLOSED
    changed = _set_status(ticket, Status.WAITING_AGENT, customer, now=now, reason=system_reason(SystemReason.REOPENED))
    if ticket.assignee_id is None:
        changed += queue_enqueue(ticket=ticket, now=now)
    if was_closed:
        LineStint.objects.create(ticket=ticket, line=ticket.line, entered_at=now)
        ticket.line_entered_at = now
        changed.append("line_entered_at")
    message = Message.objects.create(
        ticket=ticket, author=customer, kind=Message.Kind.PUBLIC, body=body, created_at=now
    )
    events.message_added(ticket, customer, message=message)
    ticket.last_activity_at = now
    changed.append("last_activity_at")
    _save(ticket, changed, now, customer_wrote=True)
    return ticket


def _close_stint(ticket: Ticket, now: dt.datetime) -> None:
    LineStint.objects.filter(ticket=ticket, left_at__isnull=True).update(left_at=now)


SECRET_MAX = 10_000


def _store_secret(
    ticket: Ticket, actor: User, plaintext: str, now: dt.datetime, *, reason: ReasonFields | None = None
) -> None:
    plaintext = plaintext.strip()
    if len(plaintext) > SECRET_MAX:
        raise DomainError(_("Access data is limited to 10,000 characters."), code="too_long", field="access_data")
    TicketSecret.objects.update_or_create(
        ticket=ticket,
        defaults={"ciphertext": secrets.encrypt(plaintext), "created_by": actor, "updated_at": now},
    )
    events.secret_stored(ticket, actor, reason=reason)


def _wipe_secret(ticket: Ticket, actor: User | None) -> None:
    """The ticket closed: its access data goes."""
    deleted, _by_model = TicketSecret.objects.filter(ticket=ticket).delete()
    if deleted:
        events.secret_wiped(ticket, actor, reason=system_reason(SystemReason.TICKET_CLOSED))


def _require_secret_holder(ticket: Ticket, actor: User) -> None:
    """Staff may read or replace access data only as members of the ticket's current line:
    managing every line does not make a manager one of the line's engineers. Who may not
    read the data may not replace it either, or they could swap in credentials of their own
    choosing that the line's engineers would then trust without seeing who set them."""
    if not ticket.line.memberships.filter(user=actor).exists():
        raise PermissionDenied(_("Only the staff of the ticket's current line may see or replace its access data."))


@transaction.atomic
def secret_store(*, ticket: Ticket, actor: User, access_data: str) -> None:
    """The customer side of the ticket, or staff of its current line, stores or replaces the
    server access data on an open ticket. The customers never read it back, yet may replace
    it: they are the ones who own the server; anyone else must be able to read it first."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    if actor.is_customer:
        _require_customer(ticket, actor)
    else:
        _require_staff(ticket, actor)
        _require_secret_holder(ticket, actor)
    if ticket.status == Status.CLOSED:
        raise Conflict(_("A closed ticket keeps no access data."), code="ticket_closed")
    if not (access_data or "").strip():
        raise DomainError(_("Access data must not be empty."), code="required", field="access_data")
    _store_secret(ticket, actor, access_data, timezone.now())


@transaction.atomic
def secret_store_from_email(*, ticket: Ticket, sender: User, access_data: str) -> None:
    """Access data the customer wrote in an e-mail on this ticket (mailin found and masked it):
    kept encrypted as if typed into the form by `sender`, the customer side of the ticket. An
    e-mail cannot see what the ticket holds, so it is added to the stored access data rather
    than replacing it (the newest alone when both do not fit). Its event says where it came from."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    if not sender.is_customer or not (ticket.customer_id == sender.id or customer_can_see_ticket(sender, ticket)):
        raise PermissionDenied(_("Only the customer can do this."))
    if ticket.status == Status.CLOSED:
        raise Conflict(_("A closed ticket keeps no access data."), code="ticket_closed")
    plaintext = (access_data or "").strip()
    if not plaintext:
        raise DomainError(_("Access data must not be empty."), code="required", field="access_data")
    stored = TicketSecret.objects.filter(ticket=ticket).first()
    if stored is not None:
        combined = f"{secrets.decrypt(bytes(stored.ciphertext))}\n\n{plaintext}"
        if len(combined) <= SECRET_MAX:
            plaintext = combined
    _store_secret(
        ticket, sender, plaintext[:SECRET_MAX], timezone.now(), reason=system_reason(SystemReason.ACCESS_DATA_BY_EMAIL)
    )


@transaction.atomic
def secret_reveal(*, ticket: Ticket, actor: User) -> str:
    """Decrypt the access data for staff of the ticket's current line; every reveal is audited."""
    ticket = Ticket.objects.select_related("line").get(pk=ticket.pk)
    if actor.is_customer:
        if not customer_can_see_ticket(actor, ticket):
            raise NotFound(_("No such ticket."))
        raise PermissionDenied(_("Access data is shown only to the staff working on the ticket."))
    _require_secret_holder(ticket, actor)
    stored = TicketSecret.objects.filter(ticket=ticket).first()
    if stored is None:
        raise NotFound(_("This ticket has no access data."), code="no_secret")
    events.secret_revealed(ticket, actor)
    return secrets.decrypt(bytes(stored.ciphertext))


def template_render(*, template: ReplyTemplate, ticket: Ticket, agent: User) -> str:
    """Fill a reply template's placeholders for this ticket."""
    return templates_render(templates=[template], ticket=ticket, agent=agent)[template.id]


def templates_render(*, templates: Sequence[ReplyTemplate], ticket: Ticket, agent: User) -> dict[int, str]:
    """Fill the placeholders of reply templates for this ticket, by template id: whether the
    agent may use them is asked once, however many there are."""
    if not templates:
        return {}
    if not can_work_ticket(agent, ticket):
        raise PermissionDenied(_("Only staff of the line may use its templates."))
    if not agent.is_management and any(template.line_id != ticket.line_id for template in templates):
        raise PermissionDenied(_("This template belongs to another line."))
    values = {
        "customer_name": ticket.customer.get_full_name() or ticket.customer.get_username(),
        "ticket_number": ticket.number,
        "agent_name": agent.display_name,
    }
    # One pass, so a value that itself looks like a placeholder is left as it is.
    return {template.id: PLACEHOLDER.sub(lambda match: str(values[match[1]]), template.body) for template in templates}


@transaction.atomic
def ticket_system_message(*, ticket: Ticket, body: str) -> Message:
    """A message from the helpdesk itself to the customer (a reminder), also sent by e-mail."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    now = timezone.now()
    message = Message.objects.create(ticket=ticket, author=None, kind=Message.Kind.SYSTEM, body=body, created_at=now)
    events.message_added(ticket, None, message=message, to_customer=True)
    _save(ticket, [], now)
    return message


@dataclass(frozen=True)
class TranscriptEntry:
    """One line of a conversation held elsewhere (a chat): who wrote it (None: the helpdesk or its
    bot), what, and when."""

    author: User | None
    body: str
    created_at: dt.datetime


@transaction.atomic
def ticket_add_transcript(*, ticket: Ticket, actor: User, entries: Sequence[TranscriptEntry]) -> list[Message]:
    """A conversation the customer already took part in (a chat converted to this ticket) becomes
    the ticket's messages, with their authors and times. It changes neither the status nor the
    deadlines, and tells nobody: the customer read it as it was written, so the events are
    written without outbox rows."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    messages = [
        Message(
            ticket=ticket,
            author=entry.author,
            kind=Message.Kind.PUBLIC if entry.author is not None else Message.Kind.SYSTEM,
            body=entry.body[:BODY_MAX],
            created_at=entry.created_at,
        )
        for entry in entries
        if entry.body.strip()
    ]
    messages = Message.objects.bulk_create(messages)
    events.record_many(events.build_message_added(ticket, actor, message=m, transcript=True) for m in messages)
    return messages


@transaction.atomic
def ticket_system_resolve(*, ticket: Ticket, reason: SystemReason) -> Ticket:
    """Resolved by the helpdesk: the customer stayed silent."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    now = timezone.now()
    changed = _set_status(ticket, Status.RESOLVED, None, now=now, reason=system_reason(reason))
    _save(ticket, changed, now)
    return ticket


@transaction.atomic
def ticket_system_close(*, ticket: Ticket, reason: SystemReason) -> Ticket:
    """Closed by the helpdesk: a solution the customer did not confirm in time."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    now = timezone.now()
    changed = _set_status(ticket, Status.CLOSED, None, now=now, reason=system_reason(reason))
    _wipe_secret(ticket, None)
    _close_stint(ticket, now)
    _save(ticket, changed, now)
    return ticket


# --- paid administration packages ------------------------------------------------------


def _package_of(customer: User) -> Plan | None:
    profile = CustomerProfile.objects.select_related("admin_package").filter(user=customer).first()
    if profile is None or profile.admin_package is None or not profile.admin_package.tasks_per_month:
        return None
    return profile.admin_package


def _package_task_state(customer: User, package: Plan, now: dt.datetime) -> str:
    """Included while the month's tasks last; beyond that the customer must accept a charge."""
    # The helpdesk's month, not the reader's: a request activates the reader's zone.
    month_start = timezone.localtime(now, timezone.get_default_timezone()).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    used = Ticket.objects.filter(
        customer=customer, category=Category.ADMIN_WORK, created_at__gte=month_start, package_task=PackageTask.INCLUDED
    ).count()
    return PackageTask.INCLUDED if used < (package.tasks_per_month or 0) else PackageTask.EXTRA_PENDING


def _guard_package(ticket: Ticket) -> None:
    if ticket.package_task == PackageTask.EXTRA_PENDING:
        raise Conflict(
            _("Work beyond the administration package starts once the customer accepts the extra charge."),
            code="extra_charge_not_accepted",
        )


@transaction.atomic
def ticket_accept_extra_charge(*, ticket: Ticket, customer: User) -> Ticket:
    """The customer agrees to pay for an administration task beyond the month's package."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_customer(ticket, customer)
    if ticket.package_task != PackageTask.EXTRA_PENDING:
        raise Conflict(_("There is no extra charge to accept on this ticket."), code="nothing_to_accept")
    package = _package_of(ticket.customer)
    if package is None or not package.extra_task_price:
        raise Conflict(_("The package no longer prices extra tasks; ask support."), code="no_price")
    now = timezone.now()
    entry, _created = BalanceEntry.objects.get_or_create(
        reference=f"package-extra:{ticket.number}",
        defaults={
            "customer": ticket.customer,
            "kind": BalanceEntry.Kind.CHARGE,
            "amount": -package.extra_task_price,
            "currency": package.currency,
            "description": f"Extra administration task, ticket #{ticket.number}",
        },
    )
    ticket.package_task = PackageTask.EXTRA_ACCEPTED
    events.package_task_changed(
        ticket, customer, old=PackageTask.EXTRA_PENDING, new=PackageTask.EXTRA_ACCEPTED, charge=entry.reference
    )
    _save(ticket, ["package_task"], now)
    charge_recorded(entry)
    return ticket


# --- phone calls -------------------------------------------------------------------------

CALL_MAX = dt.timedelta(hours=8)


@transaction.atomic
def call_log(
    *,
    agent: User,
    customer: User,
    duration: dt.timedelta,
    summary: str,
    ticket: Ticket | None = None,
    subject: str = "",
    category: str = Category.GENERAL,
    urgency: str = Urgency.NORMAL,
) -> PhoneCall:
    """Log a call on the customer's behalf: on an existing ticket as the customer's message,
    or as a new ticket filed through the phone channel."""
    if not agent.is_support_staff:
        raise PermissionDenied(_("Only support staff log calls."))
    if not customer.is_customer:
        raise DomainError(_("Calls are logged for customers."), code="not_a_customer", field="customer")
    if duration <= dt.timedelta(0) or duration > CALL_MAX:
        raise DomainError(_("A call lasts between a second and eight hours."), code="invalid", field="duration")
    summary = _clean_text(summary, field="summary", label=_("The summary"), max_length=BODY_MAX)
    now = timezone.now()
    if ticket is None:
        ticket = ticket_create(
            customer=customer,
            created_by=agent,
            channel=Channel.PHONE,
            subject=subject or summary.splitlines()[0][:SUBJECT_MAX],
            body=summary,
            category=category,
            urgency=urgency,
        )
        message = None
    else:
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
        _require_staff(ticket, agent)
        if ticket.customer_id != customer.id:
            raise DomainError(_("That ticket belongs to another customer."), code="wrong_customer", field="ticket")
        if ticket.status == Status.CLOSED:
            raise Conflict(_("This ticket is closed; log the call as a new ticket."), code="ticket_closed")
        # What the customer said on the phone, in the thread as their message.
        message = Message.objects.create(
            ticket=ticket, author=customer, kind=Message.Kind.PUBLIC, body=summary, created_at=now
        )
        events.message_added(ticket, agent, message=message)
        changed = ["last_activity_at"]
        ticket.last_activity_at = now
        if ticket.status in (Status.WAITING_CUSTOMER, Status.RESOLVED):
            changed += _set_status(
                ticket, Status.WAITING_AGENT, agent, now=now, reason=system_reason(SystemReason.CUSTOMER_CALLED)
            )
        _save(ticket, changed, now, customer_wrote=True)
    call = PhoneCall.objects.create(
        ticket=ticket, message=message, agent=agent, customer=customer, duration=duration, created_at=now
    )
    events.call_logged(ticket, agent, call=call)
    return call


# --- the queue ---------------------------------------------------------------------------


def ticket_take_next(*, agent: User, line: Line | None = None) -> Ticket | None:
    """Assign the first waiting ticket of the agent's lines (or of `line`) to the agent.

    One statement (tickets.take_next): concurrent agents each get a different ticket and never
    wait for each other. None when the queue is empty. The ticket comes back with its queue
    fields (number, status, assignee, line, customer, order key); the others load on first use.
    The SLA clocks need no change: the ticket goes from waiting to in progress, and both keep
    the same clocks running."""
    if not agent.is_support_staff:
        raise PermissionDenied(_("Only support staff take tickets."))
    now = timezone.now()
    params = {
        "agent": agent.id,
        "line": line.id if line is not None else None,
        "now": now,
        "username": agent.get_username(),
        "dispatch": take_next.take_next_dispatch(),
    }
    # The connection once, not through the `connection` proxy at every use (a take runs back to
    # back with others, and each look-up through the proxy costs about as much as building the row).
    db = connections[DEFAULT_DB_ALIAS]
    row = take_next.run_take_next(db, params)
    if row is None:
        _explain_nothing_taken(agent, line)
        return None
    names, template = take_next.take_next_row_template()
    ticket = Ticket.from_db(db.alias, names, [row[index] if index > 0 else DEFERRED for index in template])
    if events.EVENT_HOOKS:
        # The statement wrote the take's events itself (who took it, and its new status): the
        # after-commit hooks get them as built in memory, without reading them back.
        events.after_commit_taken(ticket, agent, now)
    if row[0]:
        # sla_stale: filed before any service level applied (and one exists now), or paused
        # against the rule: bring it up to date.
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
            fields = sla_update(ticket=ticket, now=now)
            if fields:
                ticket.save(update_fields=sorted(set(fields)))
    return ticket


def _explain_nothing_taken(agent: User, line: Line | None) -> None:
    """Nothing was taken: an empty queue is a plain answer, a missing membership an error."""
    line_ids = active_line_ids(agent)
    if line is not None and line.id not in line_ids:
        raise PermissionDenied(_("You are not a member of the line “%(line)s”.") % {"line": line.name})
    if not line_ids:
        raise DomainError(_("You are not a member of any line."), code="no_lines")


def ticket_apply_boost(*, ticket: Ticket, customer: User, quote: BoostQuote) -> Ticket:
    """Move a ticket up as a boost the customer has paid for (queues.services.boost_buy) was
    quoted. The caller holds the ticket's row lock from the quote on, in its transaction."""
    fields = queue_boost(ticket=ticket, minutes=quote.credit_minutes, order_key=quote.order_key)
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=[*fields, "updated_at"])
    events.boosted(
        ticket,
        customer,
        kind=quote.kind,
        price=quote.price,
        minutes=quote.credit_minutes,
        old_position=quote.position_now,
        new_position=quote.position_after,
    )
    return ticket


# --- incidents (status.services keeps the links; the ticket's side is written here) -----------


@transaction.atomic
def ticket_link_incident(*, ticket: Ticket, actor: User | None, incident: int, title: str, via: str) -> Ticket:
    """The ticket is about a known problem: a line in its history, and it leaves the head of its
    line's queue (queues.policy.queue_park), since the incident's resolution answers it.
    `actor` None: the helpdesk linked it as it was filed."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    if actor is not None:
        _require_staff(ticket, actor)
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(
            _("A ticket that is “%(status)s” is not linked to incidents.") % {"status": _status_label(ticket.status)},
            code="illegal_transition",
        )
    events.incident_link_changed(ticket, actor, incident=incident, title=title, linked=True, via=via)
    fields = queue_park(ticket=ticket)
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=[*fields, "updated_at"])
    return ticket


@transaction.atomic
def ticket_unlink_incident(
    *, ticket: Ticket, actor: User | None, incident: int, title: str, via: str = "agent"
) -> Ticket:
    """Not (or no longer) waiting for that problem: a line in the history, and back to its place
    in the queue. `actor` None: the incident was resolved without a reply (`via` "resolved")."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    if actor is not None:
        _require_staff(ticket, actor)
    events.incident_link_changed(ticket, actor, incident=incident, title=title, linked=False, via=via)
    fields = queue_unpark(ticket=ticket)
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=[*fields, "updated_at"])
    return ticket


@transaction.atomic
def ticket_incident_resolve(*, ticket: Ticket, actor: User, body: str) -> Message | None:
    """The incident the ticket is linked to is over: one public reply from `actor` (who published
    the resolution, for every linked ticket whatever its line) and the ticket resolved; the
    customer confirms or reopens as after any solution. A ticket already resolved or closed gets
    nothing (None)."""
    if not actor.is_support_staff:
        raise PermissionDenied(_("Only support staff answer tickets."))
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        return None
    body = _clean_text(body, field="body", label=_("The message"), max_length=BODY_MAX)
    now = timezone.now()
    message = Message.objects.create(ticket=ticket, author=actor, kind=Message.Kind.PUBLIC, body=body, created_at=now)
    events.message_added(ticket, actor, message=message)
    ticket.last_activity_at = now
    changed = ["last_activity_at"]
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        changed.append("first_response_at")
    changed += _set_status(
        ticket, Status.RESOLVED, actor, now=now, reason=system_reason(SystemReason.INCIDENT_RESOLVED)
    )
    changed += queue_unpark(ticket=ticket)
    _save(ticket, changed, now, agent_answered=True)
    return message


# --- the SLA sweep's writes (sla.services, sla.actions) ---------------------------------------
# The sweep holds the tickets' row locks; what it decides to do is written here.


def ticket_sla_note(*, event: TicketEvent) -> TicketEvent:
    """Write what the sweep did to a ticket (tickets.events.build_sla_noted)."""
    if event.kind != EventKind.SLA:
        raise ValueError("the sweep writes only SLA notes")
    return events.record(event)


def ticket_sla_escalate(*, ticket: Ticket, minutes: int, policy: QueuePolicy | None = None) -> int:
    """More head start for an overdue ticket, within the queue's bound; returns the minutes added."""
    added = queue_escalate(ticket=ticket, minutes=minutes, policy=policy)
    if added:
        ticket.save(update_fields=ESCALATION_FIELDS)
    return added


def ticket_sla_checked(*, ticket: Ticket) -> None:
    """The ticket's next check after the sweep acted on it (sla.deadlines.next_check)."""
    Ticket.objects.filter(id=ticket.id).update(sla_next_check_at=ticket.sla_next_check_at)


# --- tags ------------------------------------------------------------------------------------

TAG_MAX = 40
TAG_CHARACTERS = re.compile(r"^[\w.+-]+$")


def tag_name_clean(name: str) -> str:
    """A tag as it is stored: lower case, spaces as hyphens, letters, digits and . _ + - only."""
    name = "-".join((name or "").strip().lower().split())
    if not name:
        raise DomainError(_("Name the tag."), code="required", field="tag")
    if len(name) > TAG_MAX or not TAG_CHARACTERS.match(name):
        raise DomainError(
            _("A tag is up to 40 letters, digits, dots, hyphens or underscores."), code="invalid", field="tag"
        )
    return name


@transaction.atomic
def ticket_tag(*, ticket: Ticket, actor: User, name: str) -> Tag:
    """Put a tag on the ticket (made on first use), with a line in its history. A tag the
    ticket has already is refused (409), so the history never holds a change that changed nothing."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    name = tag_name_clean(name)
    tag, _created = Tag.objects.get_or_create(name=name, defaults={"created_by": actor})
    if TicketTag.objects.filter(ticket=ticket, tag=tag).exists():
        raise Conflict(_("The ticket already has the tag “%(tag)s”.") % {"tag": name}, code="unchanged")
    now = timezone.now()
    TicketTag.objects.create(ticket=ticket, tag=tag, added_by=actor, added_at=now)
    events.tags_changed(ticket, actor, added=name)
    _save(ticket, [], now)
    return tag


@transaction.atomic
def ticket_untag(*, ticket: Ticket, actor: User, name: str) -> None:
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    _require_staff(ticket, actor)
    name = tag_name_clean(name)
    deleted, _by_model = TicketTag.objects.filter(ticket=ticket, tag__name=name).delete()
    if not deleted:
        raise NotFound(_("The ticket has no tag “%(tag)s”.") % {"tag": name}, code="no_tag")
    events.tags_changed(ticket, actor, removed=name)
    _save(ticket, [], timezone.now())


# --- tickets that belong together: merge, link, split --------------------------------------------


def _lock_pair(first: Ticket, second: Ticket) -> tuple[Ticket, Ticket]:
    """Both rows locked, always in the order of their ids, so two merges cannot deadlock."""
    locked = {
        row.pk: row
        for row in Ticket.objects.select_for_update(of=("self",))
        .select_related("line", "customer")
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    if first.pk not in locked or second.pk not in locked:
        raise NotFound(_("No such ticket."))
    return locked[first.pk], locked[second.pk]


def _require_visible(ticket: Ticket, actor: User) -> None:
    if not tickets_visible_to(actor).filter(pk=ticket.pk).exists():
        raise NotFound(_("No such ticket."))


@transaction.atomic
def ticket_merge(*, ticket: Ticket, into: Ticket, actor: User) -> Ticket:
    """Merge `ticket` into `into`, the survivor: the messages, files, calls and tags move over
    (the description of the merged ticket becomes a message in the survivor's thread, at its
    time), the merged ticket is closed pointing to the survivor and keeps its own history, both
    histories say so, and the customer is told on the survivor in a public message.

    Staff of both tickets' lines only; both must be the same customer's, neither closed."""
    if ticket.pk == into.pk:
        raise Conflict(_("A ticket cannot be merged into itself."), code="same_ticket")
    source, target = _lock_pair(ticket, into)
    _require_staff(source, actor)
    _require_staff(target, actor)
    for each in (source, target):
        if each.status == Status.CLOSED or each.merged_into_id is not None:
            raise Conflict(
                _("Ticket #%(number)s is closed; closed tickets are not merged.") % {"number": each.number},
                code="ticket_closed",
            )
    if source.customer_id != target.customer_id:
        raise Conflict(_("Only tickets of the same customer can be merged."), code="different_customer")
    now = timezone.now()
    description = Message.objects.create(
        ticket=target, author=source.customer, kind=Message.Kind.PUBLIC, body=source.body, created_at=source.created_at
    )
    events.message_added(target, actor, message=description)
    moved = {
        "messages": Message.objects.filter(ticket=source).update(ticket=target) + 1,
        "attachments": Attachment.objects.filter(ticket=source).update(ticket=target),
    }
    PhoneCall.objects.filter(ticket=source).update(ticket=target)
    target_tags = set(TicketTag.objects.filter(ticket=target).values_list("tag_id", flat=True))
    new_tags = [
        TicketTag(ticket=target, tag_id=tag_id, added_by=actor, added_at=now)
        for tag_id in TicketTag.objects.filter(ticket=source).values_list("tag_id", flat=True)
        if tag_id not in target_tags
    ]
    TicketTag.objects.bulk_create(new_tags)
    moved["tags"] = len(new_tags)
    # Access data: the survivor keeps its own; the merged ticket's goes over when it has none.
    if not TicketSecret.objects.filter(ticket=target).exists() and TicketSecret.objects.filter(ticket=source).exists():
        TicketSecret.objects.filter(ticket=source).update(ticket=target)
        events.secret_stored(target, actor)
    with override(target.language):
        note = _(
            "Your request #%(old)s “%(subject)s” is about the same matter as this one; it is merged into "
            "this ticket and we continue here. Nothing you wrote is lost."
        ) % {"old": source.number, "subject": source.subject}
    notice = Message.objects.create(ticket=target, author=actor, kind=Message.Kind.PUBLIC, body=note, created_at=now)
    events.message_added(target, actor, message=notice)
    for each in (source, target):
        events.merged(each, actor, source=source, target=target, moved=moved)
    # The merged ticket: closed, pointing to the survivor (no transition of the usual graph: it is
    # neither solved nor confirmed, so it never counts as solved at any level).
    events.status_changed(
        source,
        actor,
        old=source.status,
        new=Status.CLOSED,
        reason=system_reason(SystemReason.MERGED, number=target.number),
    )
    source.status = Status.CLOSED
    source.closed_at = now
    source.merged_into = target
    source.last_activity_at = now
    _wipe_secret(source, actor)
    _close_stint(source, now)
    _save(source, ["status", "closed_at", "merged_into", "last_activity_at"], now)
    target.last_activity_at = now
    _save(target, ["last_activity_at"], now)
    logger.info("ticket merged: number=%s into=%s", source.number, target.number)
    return target


@transaction.atomic
def ticket_link(*, ticket: Ticket, other: Ticket, actor: User) -> TicketLink:
    """Mark two tickets as related (both histories say so). Staff of the first ticket's line,
    who may see the other."""
    if ticket.pk == other.pk:
        raise Conflict(_("A ticket cannot be related to itself."), code="same_ticket")
    first, second = _lock_pair(ticket, other)
    _require_staff(first, actor)
    _require_visible(second, actor)
    low, high = sorted((first, second), key=lambda each: each.pk)
    if TicketLink.objects.filter(first=low, second=high).exists():
        raise Conflict(_("These tickets are related already."), code="already_linked")
    link = TicketLink.objects.create(first=low, second=high, created_by=actor)
    events.link_changed(first, actor, other=second, linked=True)
    events.link_changed(second, actor, other=first, linked=True)
    return link


@transaction.atomic
def ticket_unlink(*, ticket: Ticket, other: Ticket, actor: User) -> None:
    first, second = _lock_pair(ticket, other)
    _require_staff(first, actor)
    low, high = sorted((first, second), key=lambda each: each.pk)
    deleted, _by_model = TicketLink.objects.filter(first=low, second=high).delete()
    if not deleted:
        raise NotFound(_("These tickets are not related."), code="not_linked")
    events.link_changed(first, actor, other=second, linked=False)
    events.link_changed(second, actor, other=first, linked=False)


@transaction.atomic
def ticket_split(*, ticket: Ticket, message: Message, actor: User, subject: str = "") -> Ticket:
    """A message of the ticket that raises another matter becomes a new ticket of the same
    customer: its text is the new ticket's description, its files go with it (the message and
    its files stay in the old thread too), the two tickets are related and both histories say so."""
    source = Ticket.objects.select_for_update(of=("self",)).select_related("line", "customer").get(pk=ticket.pk)
    _require_staff(source, actor)
    if message.ticket_id != source.pk:
        raise NotFound(_("No such message on this ticket."), code="no_message")
    if message.kind == Message.Kind.SYSTEM:
        raise Conflict(_("The helpdesk's own lines cannot become a ticket."), code="system_message")
    subject = (subject or "").strip() or (message.body.strip().splitlines() or [source.subject])[0]
    target = ticket_create(
        customer=source.customer,
        created_by=actor,
        channel=source.channel,
        subject=subject[:SUBJECT_MAX],
        body=message.body,
        category=source.category,
        urgency=source.urgency,
        service=source.service,
        allow_inactive=True,
    )
    now = timezone.now()
    for original in Attachment.objects.filter(message=message).order_by("id"):
        copy = Attachment.objects.create(
            ticket=target,
            message=None,
            file=original.file.name,
            original_name=original.original_name,
            content_type=original.content_type,
            size=original.size,
            sha256=original.sha256,
            uploaded_by=original.uploaded_by,
            created_at=now,
        )
        events.attachment_added(target, actor, attachment=copy)
    low, high = sorted((source, target), key=lambda each: each.pk)
    TicketLink.objects.create(first=low, second=high, created_by=actor, created_at=now)
    for each in (source, target):
        events.split(each, actor, source=source, target=target, message=message)
    _save(source, [], now)
    return target


# --- the workspace's saved views ---------------------------------------------------------------

VIEW_NAME_MAX = 80


def _require_view_owner(view: SavedView, actor: User) -> None:
    """A private view is its author's alone; a shared one is changed by its author or management."""
    if view.line_id is None:
        if view.created_by_id != actor.id:
            raise NotFound(_("No such view."))
    elif view.created_by_id != actor.id and not actor.is_management:
        if view.line_id not in member_line_ids(actor):
            raise NotFound(_("No such view."))
        raise PermissionDenied(_("Only its author or a manager may change a shared view."))


def _require_view_line(line: Line | None, actor: User) -> None:
    if line is not None and not actor.is_management and line.id not in member_line_ids(actor):
        raise PermissionDenied(_("You can share views only with your own lines."))


def _save_view(view: SavedView) -> SavedView:
    duplicate = SavedView.objects.exclude(pk=view.pk).filter(name=view.name)
    duplicate = (
        duplicate.filter(line=view.line) if view.line_id else duplicate.filter(created_by=view.created_by, line=None)
    )
    if duplicate.exists():
        raise Conflict(_("A view with this name exists already."), code="duplicate_name")
    view.save()
    return view


@transaction.atomic
def saved_view_create(
    *, actor: User, name: str, filters: dict, sort: str = "", line: Line | None = None, position: int = 0
) -> SavedView:
    """A named list of the workspace: private, or shared with one of the actor's lines."""
    if not actor.is_support_staff:
        raise PermissionDenied(_("Only support staff keep views."))
    _require_view_line(line, actor)
    view = SavedView(
        created_by=actor,
        line=line,
        name=_clean_text(name, field="name", label=_("The name"), max_length=VIEW_NAME_MAX),
        filters=filters_clean(filters),
        sort=sort_clean(sort),
        position=max(0, min(int(position), 1000)),
    )
    logger.info("saved view created: by=%s line=%s", actor.get_username(), line.code if line else "")
    return _save_view(view)


_UNCHANGED: object = object()


@transaction.atomic
def saved_view_update(
    *,
    view: SavedView,
    actor: User,
    name: str | None = None,
    filters: dict | None = None,
    sort: str | None = None,
    line: Line | None | object = _UNCHANGED,
    position: int | None = None,
) -> SavedView:
    view = SavedView.objects.select_for_update().get(pk=view.pk)
    _require_view_owner(view, actor)
    if name is not None:
        view.name = _clean_text(name, field="name", label=_("The name"), max_length=VIEW_NAME_MAX)
    if filters is not None:
        view.filters = filters_clean(filters)
    if sort is not None:
        view.sort = sort_clean(sort)
    if line is None or isinstance(line, Line):
        _require_view_line(line, actor)
        view.line = line
    if position is not None:
        view.position = max(0, min(int(position), 1000))
    view.updated_at = timezone.now()
    return _save_view(view)


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: User) -> None:
    view = SavedView.objects.select_for_update().get(pk=view.pk)
    _require_view_owner(view, actor)
    view.delete()
