"""The SLA sweep's bulk writes: what its actions do to a batch of tickets, in a handful of statements.

The sweep (`sla.services`) locks a batch of due tickets and runs the actions of each
(`sla.actions`) in turn. For a batch they do not call the per-ticket services, which lock,
reload and save one ticket at a time; they call the same-named methods of `SweepWrites`,
which change the locked ticket in memory exactly as those services change the row
(`ticket_system_transfer`, `ticket_system_message`, `ticket_system_resolve`,
`ticket_system_close`, `ticket_sla_note`), with the same arithmetic (`queues.policy`,
`sla.deadlines`) and the same events (`tickets.events`), and hold back the rows they would
write. `tickets_sweep_write` then writes the whole batch: the system messages, the times in
lines, the access data wiped, the events with their outbox rows, and every ticket's changed
fields, one statement each, whatever the number of tickets.

A ticket's actions are kept or dropped as a whole (`begin`, `keep`, `drop`): a ticket whose
action is refused (a `DomainError`) writes nothing, as its own transaction would have rolled
back. The caller holds the tickets' row locks from the read to the write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.errors import Conflict, DomainError
from queues.models import Line, QueuePolicy
from queues.policy import queue_enqueue
from sla.deadlines import sla_update
from sla.models import SlaPolicy
from tickets import events
from tickets.events import ReasonFields, system_reason
from tickets.models import (
    EventKind,
    EventOutbox,
    LineStint,
    Message,
    Status,
    SystemReason,
    Ticket,
    TicketEvent,
    TicketSecret,
)
from tickets.services import _guard_transition, _status_label, _transfer_note

# Every field of a ticket the sweep's actions may change, written back in one statement:
# (field, the PostgreSQL type of its column's array).
SWEEP_FIELDS: tuple[tuple[str, str], ...] = (
    ("status", "text"),
    ("resolved_at", "timestamptz"),
    ("closed_at", "timestamptz"),
    ("solved_at_first_level", "boolean"),
    ("line_id", "bigint"),
    ("line_entered_at", "timestamptz"),
    ("assignee_id", "bigint"),
    ("queued_at", "timestamptz"),
    ("credit_minutes", "integer"),
    ("weight_parts", "jsonb"),
    ("virtual_time", "timestamptz"),
    ("last_activity_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("sla_commitment", "jsonb"),
    ("first_response_warn_at", "timestamptz"),
    ("first_response_due", "timestamptz"),
    ("next_response_warn_at", "timestamptz"),
    ("next_response_due", "timestamptz"),
    ("resolution_warn_at", "timestamptz"),
    ("resolution_due", "timestamptz"),
    ("resolution_paused_minutes", "double precision"),
    ("sla_next_check_at", "timestamptz"),
)
JSON_FIELDS = frozenset({"weight_parts", "sla_commitment"})


@dataclass
class _Plan:
    """What one ticket's actions write, in the order the per-ticket services would write it."""

    ticket: Ticket
    events: list[TicketEvent] = field(default_factory=list)
    messages: list[tuple[Message, TicketEvent]] = field(default_factory=list)  # with the event naming it
    close_stint: bool = False  # the time in the line it was in when the batch began ends
    new_stints: list[LineStint] = field(default_factory=list)
    wipe_secret: bool = False


class SweepReads:
    """What a whole sweep reads once for all its batches: the lines with their next lines, the
    queue policy, the plans' average requests (a transfer's queue weight), and the texts its
    actions repeat (the helpdesk's own reasons, the note of a transfer from one line to another
    in a language), each rendered once instead of once a ticket."""

    def __init__(self, *, queue_policy: QueuePolicy | None = None) -> None:
        self.queue_policy = queue_policy or QueuePolicy.current()
        self.lines: dict[int, Line] = {line.id: line for line in Line.objects.all()}
        for line in self.lines.values():
            if line.next_line_id is not None:
                line.next_line = self.lines[line.next_line_id]
        self.plan_averages: dict[int | None, float] = {}
        self._reasons: dict[tuple, ReasonFields] = {}
        self._notes: dict[tuple[str, int, int], str] = {}

    def reason(self, code: str, **params: Any) -> ReasonFields:
        """`tickets.events.system_reason`, rendered once for each code and values."""
        key = (code, *sorted(params.items()))
        try:
            reason = self._reasons[key]
        except (KeyError, TypeError):  # TypeError: values that cannot be a key, rendered each time
            reason = system_reason(code, **params)
            with contextlib.suppress(TypeError):
                self._reasons[key] = reason
        return {"reason": reason["reason"], "reason_code": reason["reason_code"], "reason_params": dict(params)}

    def transfer_note(self, ticket: Ticket, old_line: Line, new_line: Line) -> str:
        """`tickets.services._transfer_note`, written once for each language and pair of lines."""
        key = (ticket.language, old_line.id, new_line.id)
        if key not in self._notes:
            self._notes[key] = _transfer_note(ticket, old_line, new_line)
        return self._notes[key]


class SweepWrites:
    """The writes of a batch of locked tickets, held back until `tickets_sweep_write`.

    Reads once for the batch what the per-ticket services read per ticket (the lines with their
    next lines and the rest of `SweepReads`: once for the whole sweep when the sweep hands them
    over), and, when a ticket closes, which of the batch's resolved tickets have access data
    and which ever left the first level."""

    def __init__(
        self,
        *,
        tickets: Sequence[Ticket],
        sla_policy: SlaPolicy,
        queue_policy: QueuePolicy | None = None,
        reads: SweepReads | None = None,
    ) -> None:
        self.now = timezone.now()
        self.reads = reads or SweepReads(queue_policy=queue_policy)
        self.queue_policy = self.reads.queue_policy
        self.sla_policy = sla_policy
        self.lines = self.reads.lines
        for ticket in tickets:
            ticket.line = self.lines[ticket.line_id]
        self._resolved = [ticket.id for ticket in tickets if ticket.status == Status.RESOLVED]
        self._plan_averages = self.reads.plan_averages
        self._with_secret: set[int] | None = None
        self._left_first_level: set[int] | None = None
        self.kept: list[_Plan] = []
        self._plan: _Plan | None = None

    # --- a ticket's turn ---------------------------------------------------------------------

    def begin(self, ticket: Ticket) -> None:
        self._plan = _Plan(ticket)

    def keep(self) -> Ticket:
        """The ticket's actions went through: its writes join the batch."""
        plan = self._current()
        self.kept.append(plan)
        self._plan = None
        return plan.ticket

    def drop(self) -> None:
        """The ticket's actions failed: nothing of its turn is written."""
        self._plan = None

    def _current(self, ticket: Ticket | None = None) -> _Plan:
        if self._plan is None or (ticket is not None and ticket is not self._plan.ticket):
            raise RuntimeError("the sweep writes for the ticket whose turn it is (SweepWrites.begin)")
        return self._plan

    # --- what the actions write (the per-ticket services' counterparts) ------------------------

    def sla_note(self, *, event: TicketEvent) -> TicketEvent:
        """`tickets.services.ticket_sla_note`."""
        if event.kind != EventKind.SLA:
            raise ValueError("the sweep writes only SLA notes")
        self._current(event.ticket).events.append(event)
        return event

    def system_transfer(self, *, ticket: Ticket, to_line: Line, reason_code: str, **params) -> Ticket:
        """`tickets.services.ticket_system_transfer`."""
        plan = self._current(ticket)
        reason = self.reads.reason(reason_code, **params)
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            raise Conflict(
                _("A ticket that is “%(status)s” cannot be transferred.") % {"status": _status_label(ticket.status)},
                code="illegal_transition",
            )
        if to_line.id == ticket.line_id:
            raise Conflict(_("The ticket is already in this line."), code="same_line")
        if not to_line.is_active:
            raise DomainError(_("That line is not active."), code="inactive_line", field="line")
        to_line = self.lines.get(to_line.id, to_line)
        now = self.now
        old_line = ticket.line
        seconds = int((now - ticket.line_entered_at).total_seconds())
        self._end_stint(plan, now)
        plan.new_stints.append(LineStint(ticket=ticket, line=to_line, entered_at=now))
        plan.events.append(
            events.build_transferred(
                ticket, None, old_line=old_line, new_line=to_line, seconds_in_old_line=seconds, reason=reason
            )
        )
        ticket.line = to_line
        ticket.line_entered_at = now
        if ticket.assignee_id is not None:
            plan.events.append(events.build_assignee_changed(ticket, None, old=ticket.assignee, new=None))
            ticket.assignee = None
        if ticket.status != Status.WAITING_AGENT:
            self._set_status(plan, ticket, Status.WAITING_AGENT, reason=self.reads.reason(SystemReason.TRANSFERRED))
        queue_enqueue(ticket=ticket, now=now, policy=self.queue_policy, plan_averages=self._plan_averages)
        body = self.reads.transfer_note(ticket, old_line, to_line)
        self._message(plan, Message(ticket=ticket, author=None, kind=Message.Kind.SYSTEM, body=body, created_at=now))
        ticket.last_activity_at = now
        self._save(ticket)
        return ticket

    def system_message(self, *, ticket: Ticket, body: str) -> Message:
        """`tickets.services.ticket_system_message`: a reminder to the customer."""
        plan = self._current(ticket)
        message = Message(ticket=ticket, author=None, kind=Message.Kind.SYSTEM, body=body, created_at=self.now)
        self._message(plan, message, to_customer=True)
        self._save(ticket)
        return message

    def system_resolve(self, *, ticket: Ticket, reason: SystemReason) -> Ticket:
        """`tickets.services.ticket_system_resolve`."""
        plan = self._current(ticket)
        self._set_status(plan, ticket, Status.RESOLVED, reason=self.reads.reason(reason))
        self._save(ticket)
        return ticket

    def system_close(self, *, ticket: Ticket, reason: SystemReason) -> Ticket:
        """`tickets.services.ticket_system_close`: the access data goes, the time in the line ends."""
        plan = self._current(ticket)
        self._set_status(plan, ticket, Status.CLOSED, reason=self.reads.reason(reason))
        if not plan.wipe_secret and ticket.id in self._secrets():
            plan.wipe_secret = True
            plan.events.append(
                events.build_secret_wiped(ticket, None, reason=self.reads.reason(SystemReason.TICKET_CLOSED))
            )
        self._end_stint(plan, self.now)
        self._save(ticket)
        return ticket

    # --- as the services do it -------------------------------------------------------------------

    def _set_status(self, plan: _Plan, ticket: Ticket, new: str, *, reason: str | ReasonFields) -> None:
        """`tickets.services._set_status`, its event held back."""
        _guard_transition(ticket, new)
        old = ticket.status
        ticket.status = new
        if new == Status.RESOLVED:
            ticket.resolved_at = self.now
        if new == Status.CLOSED:
            ticket.closed_at = self.now
            ticket.solved_at_first_level = self._solved_at_first_level(plan)
        if old in (Status.RESOLVED, Status.CLOSED) and new == Status.WAITING_AGENT:
            ticket.resolved_at = None
            ticket.closed_at = None
            ticket.solved_at_first_level = None
        plan.events.append(events.build_status_changed(ticket, None, old=old, new=new, reason=reason))

    def _solved_at_first_level(self, plan: _Plan) -> bool:
        ticket = plan.ticket
        if self._left_first_level is None:
            self._left_first_level = set(
                LineStint.objects.filter(ticket_id__in=self._resolved)
                .exclude(line__level=1)
                .values_list("ticket_id", flat=True)
                .distinct()
            )
        left = ticket.id in self._left_first_level or any(stint.line.level != 1 for stint in plan.new_stints)
        return not left and ticket.line.level == 1

    def _secrets(self) -> set[int]:
        if self._with_secret is None:
            self._with_secret = set(
                TicketSecret.objects.filter(ticket_id__in=self._resolved).values_list("ticket_id", flat=True)
            )
        return self._with_secret

    def _end_stint(self, plan: _Plan, now: dt.datetime) -> None:
        """The open time in a line ends: one this batch began, or the one in the database."""
        if plan.new_stints:
            if plan.new_stints[-1].left_at is None:
                plan.new_stints[-1].left_at = now
        else:
            plan.close_stint = True

    def _message(self, plan: _Plan, message: Message, *, to_customer: bool = False) -> None:
        # The event names the message once it is written (tickets_sweep_write).
        event = events.build_message_added(plan.ticket, None, message=message, to_customer=to_customer)
        plan.messages.append((message, event))
        plan.events.append(event)

    def _save(self, ticket: Ticket) -> None:
        """`tickets.services._save`: the deadlines brought up to date; written in bulk later."""
        sla_update(ticket=ticket, now=self.now, policy=self.sla_policy)
        ticket.updated_at = self.now


# No savepoint of its own: inside the sweep's batch, a failure rolls the whole batch back anyway.
@transaction.atomic(savepoint=False)
def tickets_sweep_write(*, writes: SweepWrites) -> list[Ticket]:
    """Write what the sweep's actions did to the batch's kept tickets (whose row locks the caller
    holds), each kind of row in one statement; returns the tickets written."""
    plans = writes.kept
    if not plans:
        return []
    messages = [message for plan in plans for message, _event in plan.messages]
    if messages:
        insert_rows(Message, messages, MESSAGE_COLUMNS)
        for plan in plans:
            for message, event in plan.messages:
                event.data["message_id"] = message.id
    ended = [plan.ticket.id for plan in plans if plan.close_stint]
    if ended:
        LineStint.objects.filter(ticket_id__in=ended, left_at__isnull=True).update(left_at=writes.now)
    stints = [stint for plan in plans for stint in plan.new_stints]
    if stints:
        insert_rows(LineStint, stints, STINT_COLUMNS)
    wiped = [plan.ticket.id for plan in plans if plan.wipe_secret]
    if wiped:
        TicketSecret.objects.filter(ticket_id__in=wiped).delete()
    _record_events([event for plan in plans for event in plan.events])
    tickets = [plan.ticket for plan in plans]
    _update_tickets(tickets)
    return tickets


def _record_events(built: list[TicketEvent]) -> None:
    """`tickets.events.record_many`: the events in one statement, their outbox rows in another,
    the hooks once the transaction commits."""
    if not built:
        return
    insert_rows(TicketEvent, built, EVENT_COLUMNS)
    outbox = [event.id for event in built if events.needs_dispatch(event.kind, event.actor, event.data)]
    if outbox:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{EventOutbox._meta.db_table}" (event_id) SELECT unnest(%s::bigint[])',
                [outbox],
            )
    events.after_commit(built)


# The columns the sweep writes of each kind of row, with the PostgreSQL type of their arrays.
EVENT_COLUMNS = (("ticket_id", "bigint"), ("kind", "text"), ("actor_id", "bigint"), ("data", "jsonb"),
                 ("created_at", "timestamptz"))  # fmt: skip
MESSAGE_COLUMNS = (("ticket_id", "bigint"), ("author_id", "bigint"), ("kind", "text"), ("body", "text"),
                   ("created_at", "timestamptz"))  # fmt: skip
STINT_COLUMNS = (("ticket_id", "bigint"), ("line_id", "bigint"), ("entered_at", "timestamptz"),
                 ("left_at", "timestamptz"))  # fmt: skip


def insert_rows(model: type[models.Model], rows: Sequence[models.Model], columns: Sequence[tuple[str, str]]) -> None:
    """`bulk_create` of built rows in one statement, each row given its id, with the values read
    straight from the rows' attributes (`columns`: (attribute, PostgreSQL type); a JSON field's
    value is dumped as the field would): a bulk_create prepares every value of every row through
    its field, which costs a sweep's batch more than the statement."""
    if not rows:
        return
    values = []
    for name, sql_type in columns:
        attribute = [getattr(row, name) for row in rows]
        values.append([json.dumps(value) for value in attribute] if sql_type == "jsonb" else attribute)
    names = ", ".join(name for name, _type in columns)
    arrays = ", ".join(f"%s::{sql_type}[]" for _name, sql_type in columns)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{model._meta.db_table}" ({names}) SELECT * FROM unnest({arrays}) RETURNING id',  # noqa: S608 - the model's
            values,
        )
        ids = [row[0] for row in cursor.fetchall()]
    for row, row_id in zip(rows, ids, strict=True):
        row.pk = row_id
        row._state.adding = False
        row._state.db = DEFAULT_DB_ALIAS


def _update_tickets(tickets: list[Ticket]) -> None:
    """Every ticket's sweep fields in one statement (a bulk_update builds a CASE per field and
    ticket, and compiling it costs more than running it)."""
    names = [name for name, _type in SWEEP_FIELDS]
    columns = ", ".join(f"{name} = written.{name}" for name in names)
    arrays = ", ".join(f"%s::{sql_type}[]" for _name, sql_type in SWEEP_FIELDS)
    values: list[list[Any]] = [[ticket.id for ticket in tickets]]
    for name in names:
        attribute = [getattr(ticket, name) for ticket in tickets]
        values.append([json.dumps(value) for value in attribute] if name in JSON_FIELDS else attribute)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE "{Ticket._meta.db_table}" AS ticket SET {columns}
            FROM unnest(%s::bigint[], {arrays}) AS written (id, {", ".join(names)})
            WHERE ticket.id = written.id
            """,  # noqa: S608 - the table and column names are the model's
            values,
        )
