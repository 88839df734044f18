"""The history's vocabulary: one builder per kind of thing that can happen to a ticket.

`build_<what>` returns the unsaved `TicketEvent` row with its data in the one shape the
history, the notifications and the API read; `<what>` (same name without `build_`) writes
it with its outbox row. The ticket services (`tickets.services`) are the only callers of
the writing forms, inside the transaction that makes the change; bulk paths (the SLA sweep)
collect built rows and hand them to the ticket services, and the take-next statement takes
its JSON from the same builders (`tickets.take_next`). `BUILDERS` maps every `EventKind`
to its builder; a kind has exactly one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, ParamSpec, TypedDict

from django.db import connections, router, transaction
from django.utils.translation import override

from accounts.models import User
from queues.models import Line
from sla.models import SlaPolicy, SlaRecord
from tickets.models import (
    Attachment,
    EventKind,
    EventOutbox,
    Message,
    PhoneCall,
    SystemReason,
    Ticket,
    TicketEvent,
)

P = ParamSpec("P")

# Only these kinds of ticket events can lead to an e-mail (see notifications.services.recipients_for);
# the others (SLA records, boosts, files, access data...) never enter the outbox.
NOTIFIED_KINDS = frozenset(
    {EventKind.CREATED, EventKind.MESSAGE, EventKind.STATUS, EventKind.PROMISE, EventKind.TRANSFER, EventKind.ASSIGN}
)


def needs_dispatch(kind: str, actor: User | None, data: dict) -> bool:
    """Whether an event of this kind goes to the outbox for the notifications to look at.

    An agent taking a ticket themselves is not: nobody is told (see recipients_for)."""
    if kind not in NOTIFIED_KINDS or data.get("transcript"):
        return False  # a transcript (a converted chat) was read by the customer as it was written
    return not (kind == EventKind.ASSIGN and actor is not None and data.get("new") == actor.get_username())


# --- reasons ---------------------------------------------------------------------------------


class ReasonFields(TypedDict):
    """The helpdesk's own reason as an event stores it (see SystemReason)."""

    reason: str
    reason_code: str
    reason_params: dict[str, Any]


def render_reason(code: str, params: dict[str, Any]) -> str:
    """A system reason's sentence in the current language (KeyError, TypeError or ValueError
    when the values do not fit the sentence)."""
    shown = dict(params)
    if code == SystemReason.SLA_BREACH:
        shown["target"] = str(SlaRecord.Target(shown["target"]).label).lower()
    return str(SystemReason(code).label) % shown


def system_reason(code: str, **params: Any) -> ReasonFields:
    """The event fields of a reason of the helpdesk's own: `reason` in English (for the API and
    the logs), `reason_code` and `reason_params` to show it in the reader's language."""
    if code not in SystemReason.values:
        raise ValueError(f"unknown system reason {code!r}")
    with override("en"):
        reason = render_reason(code, params)
    return {"reason": reason, "reason_code": str(code), "reason_params": params}


def _reason(reason: str | ReasonFields) -> dict[str, Any]:
    """What an agent typed, or the helpdesk's own reason (system_reason)."""
    return dict(reason) if isinstance(reason, dict) else {"reason": reason}


# --- the builders ----------------------------------------------------------------------------

BUILDERS: dict[str, Callable[..., TicketEvent]] = {}


def _builds(kind: EventKind) -> Callable[[Callable[P, TicketEvent]], Callable[P, TicketEvent]]:
    def register(builder: Callable[P, TicketEvent]) -> Callable[P, TicketEvent]:
        if kind in BUILDERS:
            raise RuntimeError(f"two builders for the event kind {kind!r}")
        BUILDERS[kind] = builder
        return builder

    return register


def _row(ticket: Ticket, kind: EventKind, actor: User | None, **data: Any) -> TicketEvent:
    return TicketEvent(ticket=ticket, kind=kind, actor=actor, data=data)


@_builds(EventKind.CREATED)
def build_created(ticket: Ticket, actor: User | None) -> TicketEvent:
    return _row(ticket, EventKind.CREATED, actor, line=ticket.line.code, channel=ticket.channel, urgency=ticket.urgency)


@_builds(EventKind.STATUS)
def build_status_changed(
    ticket: Ticket, actor: User | None, *, old: str, new: str, reason: str | ReasonFields = ""
) -> TicketEvent:
    if old == new:
        raise ValueError("a status event needs a change of status")
    return _row(ticket, EventKind.STATUS, actor, old=old, new=new, **_reason(reason))


@_builds(EventKind.TRANSFER)
def build_transferred(
    ticket: Ticket,
    actor: User | None,
    *,
    old_line: Line,
    new_line: Line,
    reason: str | ReasonFields,
    seconds_in_old_line: int,
) -> TicketEvent:
    return _row(
        ticket,
        EventKind.TRANSFER,
        actor,
        old=old_line.code,
        new=new_line.code,
        old_name=old_line.name,
        new_name=new_line.name,
        seconds_in_old_line=seconds_in_old_line,
        **_reason(reason),
    )


@_builds(EventKind.ASSIGN)
def build_assignee_changed(ticket: Ticket, actor: User | None, *, old: User | None, new: User | None) -> TicketEvent:
    # The line lets the queue measure each line's pace from these events.
    return _row(
        ticket,
        EventKind.ASSIGN,
        actor,
        old=old.get_username() if old else None,
        new=new.get_username() if new else None,
        line=ticket.line.code,
    )


@_builds(EventKind.CUSTOMER)
def build_customer_changed(
    ticket: Ticket, actor: User | None, *, old: User, new: User, reason: str | ReasonFields
) -> TicketEvent:
    return _row(ticket, EventKind.CUSTOMER, actor, old=old.get_username(), new=new.get_username(), **_reason(reason))


@_builds(EventKind.URGENCY)
def build_urgency_changed(ticket: Ticket, actor: User | None, *, old: str, new: str, reason: str) -> TicketEvent:
    return _row(ticket, EventKind.URGENCY, actor, old=old, new=new, reason=reason)


@_builds(EventKind.PROMISE)
def build_promise_set(
    ticket: Ticket, actor: User | None, *, old: dt.datetime | None, new: dt.datetime, reason: str
) -> TicketEvent:
    return _row(
        ticket, EventKind.PROMISE, actor, old=old.isoformat() if old else None, new=new.isoformat(), reason=reason
    )


@_builds(EventKind.MESSAGE)
def build_message_added(
    ticket: Ticket, actor: User | None, *, message: Message, to_customer: bool = False, transcript: bool = False
) -> TicketEvent:
    """`to_customer`: a message of the helpdesk's own (a reminder) that is mailed to the customer;
    `transcript`: a line of a conversation held elsewhere (a chat), which nobody is told about."""
    extra: dict[str, Any] = {"to_customer": True} if to_customer else {}
    if transcript:
        extra["transcript"] = True
    return _row(ticket, EventKind.MESSAGE, actor, message_id=message.id, message_kind=message.kind, **extra)


@_builds(EventKind.ATTACHMENT)
def build_attachment_added(ticket: Ticket, actor: User | None, *, attachment: Attachment) -> TicketEvent:
    return _row(
        ticket,
        EventKind.ATTACHMENT,
        actor,
        attachment_id=attachment.id,
        name=attachment.original_name,
        size=attachment.size,
        content_type=attachment.content_type,
    )


@_builds(EventKind.SECRET_SET)
def build_secret_stored(ticket: Ticket, actor: User | None, *, reason: ReasonFields | None = None) -> TicketEvent:
    """`reason`: how it came when not typed into the form (found in an e-mail)."""
    return _row(ticket, EventKind.SECRET_SET, actor, **(_reason(reason) if reason else {}))


@_builds(EventKind.SECRET_REVEAL)
def build_secret_revealed(ticket: Ticket, actor: User | None) -> TicketEvent:
    return _row(ticket, EventKind.SECRET_REVEAL, actor)


@_builds(EventKind.SECRET_WIPE)
def build_secret_wiped(ticket: Ticket, actor: User | None, *, reason: ReasonFields) -> TicketEvent:
    return _row(ticket, EventKind.SECRET_WIPE, actor, **_reason(reason))


@_builds(EventKind.CALL)
def build_call_logged(ticket: Ticket, actor: User | None, *, call: PhoneCall) -> TicketEvent:
    return _row(
        ticket,
        EventKind.CALL,
        actor,
        call_id=call.id,
        seconds=int(call.duration.total_seconds()),
        message_id=call.message_id,
    )


@_builds(EventKind.BOOST)
def build_boosted(
    ticket: Ticket,
    actor: User | None,
    *,
    kind: str,
    price: Decimal,
    minutes: int,
    old_position: int | None,
    new_position: int,
) -> TicketEvent:
    """A boost bought: `old` and `new` are the ticket's positions in the queue."""
    return _row(
        ticket,
        EventKind.BOOST,
        actor,
        boost=kind,
        price=str(price),
        minutes=minutes,
        old=old_position,
        new=new_position,
    )


@_builds(EventKind.SLA)
def build_sla_noted(
    ticket: Ticket,
    *,
    action: SlaRecord.Kind,
    target: str = "",
    due_at: dt.datetime | None = None,
    escalation: SlaPolicy.Escalation | None = None,
    minutes: int = 0,
    lead: str | None = None,
) -> TicketEvent:
    """What the SLA sweep did: a warning or a breach of `target` due at `due_at`, or the
    escalation that followed a breach (a head start of `minutes`, or the line's `lead` told)."""
    if action in (SlaRecord.Kind.WARNING, SlaRecord.Kind.BREACH):
        if due_at is None:
            raise ValueError("a warning or a breach has a deadline")
        return _row(
            ticket, EventKind.SLA, None, action=action, target=target, due_at=due_at.isoformat(), line=ticket.line.code
        )
    if action != SlaRecord.Kind.ESCALATION:
        raise ValueError(f"the history has no SLA note for {action!r}")
    if escalation == SlaPolicy.Escalation.BOOST:
        return _row(ticket, EventKind.SLA, None, action=action, escalation=escalation, minutes=minutes)
    return _row(ticket, EventKind.SLA, None, action=action, escalation=SlaPolicy.Escalation.NOTIFY, lead=lead)


@_builds(EventKind.SENDER_VERIFIED)
def build_sender_verified(ticket: Ticket, actor: User | None, *, via: str) -> TicketEvent:
    """The sender showed they receive mail at the ticket's address (`via`: how, e.g. `follow_link`)."""
    return _row(ticket, EventKind.SENDER_VERIFIED, actor, via=via)


@_builds(EventKind.PACKAGE_TASK)
def build_package_task_changed(
    ticket: Ticket, actor: User | None, *, old: str, new: str, charge: str = ""
) -> TicketEvent:
    """An administration task's place in the package changed (`charge`: the ledger entry's reference)."""
    return _row(ticket, EventKind.PACKAGE_TASK, actor, old=old, new=new, charge=charge)


@_builds(EventKind.INCIDENT)
def build_incident_link_changed(
    ticket: Ticket, actor: User | None, *, incident: int, title: str, linked: bool, via: str = ""
) -> TicketEvent:
    """Linked to a known problem (`old` empty, `new` the incident) or unlinked from it (the other
    way round); `via`: how (`auto` on filing, `agent`)."""
    name = f"#{incident} {title}"
    return _row(
        ticket,
        EventKind.INCIDENT,
        actor,
        incident=incident,
        old=None if linked else name,
        new=name if linked else None,
        via=via,
    )


@_builds(EventKind.MERGE)
def build_merged(
    ticket: Ticket, actor: User | None, *, source: Ticket, target: Ticket, moved: dict[str, int]
) -> TicketEvent:
    """`source` merged into `target` (written on both): `old` and `new` name the two tickets,
    `moved` counts what went over (messages, files, tags)."""
    return _row(
        ticket,
        EventKind.MERGE,
        actor,
        old=f"#{source.number}",
        new=f"#{target.number}",
        source=source.number,
        target=target.number,
        moved=moved,
    )


@_builds(EventKind.LINK)
def build_link_changed(ticket: Ticket, actor: User | None, *, other: Ticket, linked: bool) -> TicketEvent:
    """Marked as related to `other` (`new` names it) or no longer (`old` names it)."""
    name = f"#{other.number}"
    return _row(
        ticket,
        EventKind.LINK,
        actor,
        other=other.number,
        old=None if linked else name,
        new=name if linked else None,
    )


@_builds(EventKind.SPLIT)
def build_split(ticket: Ticket, actor: User | None, *, source: Ticket, target: Ticket, message: Message) -> TicketEvent:
    """A message of `source` became the new ticket `target` (written on both)."""
    return _row(
        ticket,
        EventKind.SPLIT,
        actor,
        old=f"#{source.number}",
        new=f"#{target.number}",
        source=source.number,
        target=target.number,
        message_id=message.id,
    )


@_builds(EventKind.TAG)
def build_tags_changed(ticket: Ticket, actor: User | None, *, added: str = "", removed: str = "") -> TicketEvent:
    """A tag put on the ticket (`new`) or taken off (`old`)."""
    return _row(ticket, EventKind.TAG, actor, old=removed or None, new=added or None)


# --- writing ---------------------------------------------------------------------------------

# Called with every event written, once the transaction that wrote it has committed (right
# away outside a transaction; never if it rolls back): interfaces above the writers register
# here from their AppConfig.ready() (chat.broadcast pushes the change to the pages that show
# the ticket), so the writers import none of them. A hook that raises is logged and the
# others still run: the change is committed by then.
EVENT_HOOKS: list[Callable[[list[TicketEvent]], None]] = []


def after_commit(events: Iterable[TicketEvent]) -> None:
    """Hand written events to the EVENT_HOOKS when their transaction commits: each hook gets
    the events of one write together (a sweep's batch is one call, not hundreds)."""
    if not EVENT_HOOKS:
        return
    written = list(events)
    if not written:
        return
    for hook in EVENT_HOOKS:
        transaction.on_commit(functools.partial(hook, written), robust=True)


def after_commit_taken(ticket: Ticket, agent: User, now: dt.datetime) -> None:
    """The hooks of a take-next, whose statement wrote its events itself (who took the ticket,
    and its new status): handed over as built in memory, without reading them back."""
    after_commit(
        [
            TicketEvent(ticket=ticket, kind=EventKind.ASSIGN, actor=agent, created_at=now),
            TicketEvent(ticket=ticket, kind=EventKind.STATUS, actor=agent, created_at=now),
        ]
    )


def record(event: TicketEvent) -> TicketEvent:
    """Write a built event, with its outbox row when the notifications must look at it
    (committed or rolled back with the change; notifications.tasks.drain_outbox sends the e-mail):
    both in one statement."""
    if needs_dispatch(event.kind, event.actor, event.data):
        _insert_with_outbox(event)
    else:
        event.save(force_insert=True)
    after_commit([event])
    return event


def _insert_with_outbox(event: TicketEvent) -> None:
    """INSERT the event and its outbox row in one round trip (a data-modifying CTE); the outbox's
    other columns take their database defaults, as in the take-next statement."""
    connection = connections[router.db_for_write(TicketEvent)]
    fields = [field for field in TicketEvent._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    event_id, outbox_key = (quote(str(model._meta.pk.column)) for model in (TicketEvent, EventOutbox))
    sql = (
        f"WITH event AS (INSERT INTO {quote(TicketEvent._meta.db_table)} ({columns}) "  # noqa: S608 - the models' own names
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {event_id}) "
        f"INSERT INTO {quote(EventOutbox._meta.db_table)} ({outbox_key}) SELECT * FROM event RETURNING {outbox_key}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        # The outbox row's key is the event's id.
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def record_many(events: Iterable[TicketEvent]) -> list[TicketEvent]:
    """Write many built events in one statement (and their outbox rows in another)."""
    rows = TicketEvent.objects.bulk_create(list(events))
    outbox = [EventOutbox(event=event) for event in rows if needs_dispatch(event.kind, event.actor, event.data)]
    if outbox:
        EventOutbox.objects.bulk_create(outbox)
    after_commit(rows)
    return rows


def _recorded(builder: Callable[P, TicketEvent]) -> Callable[P, TicketEvent]:
    @functools.wraps(builder)
    def write(*args: P.args, **kwargs: P.kwargs) -> TicketEvent:
        return record(builder(*args, **kwargs))

    write.__doc__ = f"Build (`{builder.__name__}`) and write the event."
    return write


created = _recorded(build_created)
status_changed = _recorded(build_status_changed)
transferred = _recorded(build_transferred)
assignee_changed = _recorded(build_assignee_changed)
customer_changed = _recorded(build_customer_changed)
urgency_changed = _recorded(build_urgency_changed)
promise_set = _recorded(build_promise_set)
message_added = _recorded(build_message_added)
attachment_added = _recorded(build_attachment_added)
secret_stored = _recorded(build_secret_stored)
secret_revealed = _recorded(build_secret_revealed)
secret_wiped = _recorded(build_secret_wiped)
call_logged = _recorded(build_call_logged)
boosted = _recorded(build_boosted)
sla_noted = _recorded(build_sla_noted)
sender_verified = _recorded(build_sender_verified)
package_task_changed = _recorded(build_package_task_changed)
incident_link_changed = _recorded(build_incident_link_changed)
merged = _recorded(build_merged)
link_changed = _recorded(build_link_changed)
split = _recorded(build_split)
tags_changed = _recorded(build_tags_changed)
