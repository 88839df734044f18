"""What the SLA sweep does when a moment comes; each runs once, inside the sweep's transaction.

The actions decide; the ticket writers write. Alone (`sla.services.sla_check_ticket`), an
action goes through the services every other caller uses (`tickets.services`: a transfer, a
reminder, an automatic resolve or close, the notes built by `tickets.events.build_sla_noted`).
In a batch (`batched`), it goes through the batch's `tickets.sweep.SweepWrites`, which changes
the locked ticket in memory as those services would and holds their rows back for the sweep's
bulk write (`tickets.sweep.tickets_sweep_write`).
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
from tickets.models import SystemReason, Ticket
from tickets.sweep import SweepWrites

logger = logging.getLogger(__name__)


def _active_next_line(ticket: Ticket) -> Line | None:
    next_line = ticket.line.next_line
    return next_line if next_line is not None and next_line.is_active else None


@dataclass
class Batch:
    """The sweep's batch (`sla.services`): what its actions write, held back in `writes`."""

    queue_policy: QueuePolicy
    writes: SweepWrites
    leads: dict[int, str | None] = field(default_factory=dict)  # line id -> the lead's username
    reminders: dict[str, str] = field(default_factory=dict)  # language -> the reminder's text


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
        batch.writes.sla_note(event=event)


class _Services:
    """The per-ticket services under the names of the batch's writer (`SweepWrites`)."""

    @staticmethod
    def system_transfer(*, ticket: Ticket, to_line: Line, reason_code: str, **params: Any) -> Ticket:
        return ticket_services.ticket_system_transfer(ticket=ticket, to_line=to_line, reason_code=reason_code, **params)

    @staticmethod
    def system_message(*, ticket: Ticket, body: str) -> object:
        return ticket_services.ticket_system_message(ticket=ticket, body=body)

    @staticmethod
    def system_resolve(*, ticket: Ticket, reason: SystemReason) -> Ticket:
        return ticket_services.ticket_system_resolve(ticket=ticket, reason=reason)

    @staticmethod
    def system_close(*, ticket: Ticket, reason: SystemReason) -> Ticket:
        return ticket_services.ticket_system_close(ticket=ticket, reason=reason)


def _writer() -> SweepWrites | type[_Services]:
    """Who writes what an action does: the batch's writer, or the per-ticket services."""
    batch = _batch.get()
    return batch.writes if batch is not None else _Services


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
        _writer().system_transfer(ticket=ticket, to_line=next_line, reason_code=SystemReason.SLA_BREACH, target=target)
    else:
        _note(ticket, action=SlaRecord.Kind.ESCALATION, escalation=SlaPolicy.Escalation.NOTIFY, lead=_lead(ticket))


def pass_on_unanswered(*, ticket: Ticket, policy: SlaPolicy, now: dt.datetime) -> None:
    """The first line's escalation timer: nobody answered, so the next level takes it."""
    next_line = _active_next_line(ticket)
    if next_line is None or ticket.first_response_at is not None:
        return
    _writer().system_transfer(
        ticket=ticket,
        to_line=next_line,
        reason_code=SystemReason.FIRST_LINE_TIMER,
        minutes=policy.first_line_escalation_minutes,
    )


def _reminder(language: str) -> str:
    with override(language):
        return _("We are waiting for your answer to continue. If the problem is solved, please confirm it.")


def remind(*, ticket: Ticket, now: dt.datetime) -> None:
    batch = _batch.get()
    if batch is None:
        body = _reminder(ticket.language)
    else:  # written once for each language of the batch
        if ticket.language not in batch.reminders:
            batch.reminders[ticket.language] = _reminder(ticket.language)
        body = batch.reminders[ticket.language]
    _writer().system_message(ticket=ticket, body=body)


def auto_resolve(*, ticket: Ticket, now: dt.datetime) -> None:
    _writer().system_resolve(ticket=ticket, reason=SystemReason.NO_ANSWER)


def auto_close(*, ticket: Ticket, now: dt.datetime) -> None:
    _writer().system_close(ticket=ticket, reason=SystemReason.NOT_CONFIRMED)
