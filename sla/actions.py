"""What the SLA sweep does when a moment comes; each runs once, inside the sweep's transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import override

from queues.models import QueuePolicy
from queues.services import queue_escalate
from sla.models import SlaPolicy
from tickets import services as ticket_services
from tickets.models import EventKind, Ticket, TicketEvent

logger = logging.getLogger(__name__)


def _active_next_line(ticket: Ticket):
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


def _event(ticket: Ticket, **data) -> None:
    event = TicketEvent(ticket=ticket, kind=EventKind.SLA, actor=None, data=data)
    batch = _batch.get()
    if batch is None:
        event.save(force_insert=True)
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
    _event(ticket, action="warning", target=target, due_at=due_at.isoformat(), line=ticket.line.code)
    logger.info("sla warning: ticket=%s target=%s due=%s", ticket.number, target, due_at.isoformat())


def breach(*, ticket: Ticket, target: str, due_at: dt.datetime, policy: SlaPolicy, now: dt.datetime) -> None:
    _event(ticket, action="breach", target=target, due_at=due_at.isoformat(), line=ticket.line.code)
    logger.warning("sla breach: ticket=%s target=%s due=%s", ticket.number, target, due_at.isoformat())
    if policy.escalation == SlaPolicy.Escalation.BOOST:
        batch = _batch.get()
        minutes = queue_escalate(
            ticket=ticket,
            minutes=policy.escalation_boost_minutes,
            policy=batch.queue_policy if batch else None,
            save=batch is None,
        )
        _event(ticket, action="escalation", escalation="boost", minutes=minutes)
    elif policy.escalation == SlaPolicy.Escalation.TRANSFER and _active_next_line(ticket):
        ticket_services.ticket_system_transfer(
            ticket=ticket,
            to_line=ticket.line.next_line,
            reason_code="sla_breach",
            target=target,
        )
    else:
        _event(ticket, action="escalation", escalation="notify", lead=_lead(ticket))


def pass_on_unanswered(*, ticket: Ticket, policy: SlaPolicy, now: dt.datetime) -> None:
    """The first line's escalation timer: nobody answered, so the next level takes it."""
    if _active_next_line(ticket) is None or ticket.first_response_at is not None:
        return
    ticket_services.ticket_system_transfer(
        ticket=ticket,
        to_line=ticket.line.next_line,
        reason_code="first_line_timer",
        minutes=policy.first_line_escalation_minutes,
    )


def remind(*, ticket: Ticket, now: dt.datetime) -> None:
    with override(ticket.language):
        body = _("We are waiting for your answer to continue. If the problem is solved, please confirm it.")
    ticket_services.ticket_system_message(ticket=ticket, body=body)


def auto_resolve(*, ticket: Ticket, now: dt.datetime) -> None:
    ticket_services.ticket_system_resolve(ticket=ticket, reason="no answer from the customer")


def auto_close(*, ticket: Ticket, now: dt.datetime) -> None:
    ticket_services.ticket_system_close(ticket=ticket, reason="solution not confirmed in time")
