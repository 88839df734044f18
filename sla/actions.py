"""What the SLA sweep does when a moment comes; each runs once, inside the sweep's transaction.

The actions decide; the ticket services write (`tickets.services`): a transfer, a reminder,
an automatic resolve or close through the services every other caller uses, and the notes of
the history built by `tickets.events.build_sla_noted`, written at once or, in a batch, held
back for the sweep's bulk write (`tickets.services.tickets_sla_checked`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import override

from queues.models import Line, QueuePolicy
from queues.policy import queue_escalate
from sla.models import SlaPolicy, SlaRecord
from tickets import events
from tickets import services as ticket_services
from tickets.models import SystemReason, Ticket, TicketEvent

logger = logging.getLogger(__name__)


def _active_next_line(ticket: Ticket) -> Line | None:
    next_line = ticket.line.next_line
    return next_line if next_line is not None and next_line.is_active else None


@dataclass
class Batch:
    """What warnings and breaches of many tickets write, held back to be written in bulk by
    the sweep (`sla.services`), which also writes the tickets the escalations changed."""

    queue_policy: QueuePolicy
    events: list[TicketEvent] = field(default_factory=list)
    leads: dict[int, str | None] = field(default_factory=dict)  # line id -> the lead's username


_batch: ContextVar[Batch | None] = ContextVar("sla_batch", default=None)


@contextlib.contextmanager
def batched(batch: Batch) -> Iterator[Batch]:
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)


def _note(ticket: Ticket, **details: Any) -> None:
    event = events.build_sla_noted(ticket, **details)
    batch = _batch.get()
    if batch is None:
        ticket_services.ticket_sla_note(event=event)
    else:
        batch.events.append(event)


def _lead(ticket: Ticket) -> str | None:
    batch = _batch.get()
    if batch is not None and ticket.line_id in batch.leads:
        return batch.leads[ticket.line_id]
    lead = ticket.line.memberships.filter(is_lead=True).values_list("user__username", flat=True).first()
    if batch is not None:
        batch.leads[ticket.line_id] = lead
    return lead


def warn(*, ticket: Ticket, target: str, due_at: dt.datetime) -> None:
    """Tell the line and the assignee that a deadline is near (shown in the workspace)."""
    _note(ticket, action=SlaRecord.Kind.WARNING, target=target, due_at=due_at)
    logger.info("sla warning: ticket=%s target=%s due=%s", ticket.number, target, due_at.isoformat())


def breach(*, ticket: Ticket, target: str, due_at: dt.datetime, policy: SlaPolicy, now: dt.datetime) -> None:
    _note(ticket, action=SlaRecord.Kind.BREACH, target=target, due_at=due_at)
    logger.warning("sla breach: ticket=%s target=%s due=%s", ticket.number, target, due_at.isoformat())
    next_line = _active_next_line(ticket)
    if policy.escalation == SlaPolicy.Escalation.BOOST:
        batch = _batch.get()
        if batch is None:
            minutes = ticket_services.ticket_sla_escalate(ticket=ticket, minutes=policy.escalation_boost_minutes)
        else:
            # Set on the ticket in memory; the sweep's bulk write saves it with the others.
            minutes = queue_escalate(ticket=ticket, minutes=policy.escalation_boost_minutes, policy=batch.queue_policy)
        _note(ticket, action=SlaRecord.Kind.ESCALATION, escalation=SlaPolicy.Escalation.BOOST, minutes=minutes)
    elif policy.escalation == SlaPolicy.Escalation.TRANSFER and next_line is not None:
        ticket_services.ticket_system_transfer(
            ticket=ticket, to_line=next_line, reason_code=SystemReason.SLA_BREACH, target=target
        )
    else:
        _note(ticket, action=SlaRecord.Kind.ESCALATION, escalation=SlaPolicy.Escalation.NOTIFY, lead=_lead(ticket))


def pass_on_unanswered(*, ticket: Ticket, policy: SlaPolicy, now: dt.datetime) -> None:
    """The first line's escalation timer: nobody answered, so the next level takes it."""
    next_line = _active_next_line(ticket)
    if next_line is None or ticket.first_response_at is not None:
        return
    ticket_services.ticket_system_transfer(
        ticket=ticket,
        to_line=next_line,
        reason_code=SystemReason.FIRST_LINE_TIMER,
        minutes=policy.first_line_escalation_minutes,
    )


def remind(*, ticket: Ticket, now: dt.datetime) -> None:
    with override(ticket.language):
        body = _("We are waiting for your answer to continue. If the problem is solved, please confirm it.")
    ticket_services.ticket_system_message(ticket=ticket, body=body)


def auto_resolve(*, ticket: Ticket, now: dt.datetime) -> None:
    ticket_services.ticket_system_resolve(ticket=ticket, reason=SystemReason.NO_ANSWER)


def auto_close(*, ticket: Ticket, now: dt.datetime) -> None:
    ticket_services.ticket_system_close(ticket=ticket, reason=SystemReason.NOT_CONFIRMED)
