"""The SLA sweep: acts on the deadlines of `sla.deadlines` exactly once.

The ticket services keep each ticket's deadlines and `sla_next_check_at` (the earliest
moment the sweep has work for it) up to date through `sla.deadlines`. The sweep (a Celery
beat task) looks only at tickets whose `sla_next_check_at` has come, through a partial
index, so its cost follows what is due, not what is open. Each action is recorded in
`SlaRecord` under a unique key in the same transaction as the action: a second sweep, a
concurrent one, or one after a crash finds the record and does nothing twice. What an
action does to a ticket is written by the ticket services (`tickets.services`).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from helpdesk.errors import DomainError
from queues.models import QueuePolicy
from sla import actions
from sla.deadlines import next_check, pending_checks
from sla.models import SlaPolicy, SlaRecord
from tickets import services as ticket_services
from tickets.models import Ticket

logger = logging.getLogger(__name__)


def _record(ticket: Ticket, kind: str, target: str, due_at: dt.datetime) -> bool:
    """Write the record; False if it exists already (the action was done before)."""
    try:
        with transaction.atomic():
            SlaRecord.objects.create(ticket=ticket, kind=kind, target=target, due_at=due_at, line_id=ticket.line_id)
    except IntegrityError:
        return False
    return True


def _act(ticket: Ticket, kind: str, target: str, due_at: dt.datetime, policy: SlaPolicy, now: dt.datetime) -> None:
    if not _record(ticket, kind, target, due_at):
        return
    if kind == SlaRecord.Kind.WARNING:
        actions.warn(ticket=ticket, target=target, due_at=due_at)
    elif kind == SlaRecord.Kind.BREACH:
        actions.breach(ticket=ticket, target=target, due_at=due_at, policy=policy, now=now)
    elif kind == SlaRecord.Kind.ESCALATION:
        actions.pass_on_unanswered(ticket=ticket, policy=policy, now=now)
    elif kind == SlaRecord.Kind.REMINDER:
        actions.remind(ticket=ticket, now=now)
    elif kind == SlaRecord.Kind.AUTO_RESOLVE:
        actions.auto_resolve(ticket=ticket, now=now)
    elif kind == SlaRecord.Kind.AUTO_CLOSE:
        actions.auto_close(ticket=ticket, now=now)


def sla_check_ticket(*, ticket_id: int, now: dt.datetime, policy: SlaPolicy | None = None) -> bool:
    """Do everything due for one ticket, in one transaction; False if another sweep has it
    or nothing is due any more."""
    policy = policy or SlaPolicy.current()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("line")
            .filter(id=ticket_id, sla_next_check_at__lte=now)
            .first()
        )
        if ticket is None:
            return False
        for when, kind, target in sorted(pending_checks(ticket, policy), key=lambda check: check[0]):
            if when > now:
                break
            _act(ticket, kind, target, when, policy, now)
            # An action may have changed the ticket (transfer, auto-resolve): look again.
            ticket = Ticket.objects.select_related("line").get(id=ticket.id)
        if next_check(ticket, policy, [], after=now):
            ticket_services.ticket_sla_checked(ticket=ticket)
    return True


# Tickets whose due checks are only warnings and breaches are done this many at a time: one
# transaction, their records, events and changed fields written in bulk.
SWEEP_BATCH = 200
BATCHED_KINDS = frozenset({SlaRecord.Kind.WARNING, SlaRecord.Kind.BREACH})


def _due_checks(ticket: Ticket, policy: SlaPolicy, now: dt.datetime) -> list[tuple[dt.datetime, str, str]]:
    return sorted((check for check in pending_checks(ticket, policy) if check[0] <= now), key=lambda check: check[0])


def _batchable(checks: list[tuple[dt.datetime, str, str]], policy: SlaPolicy) -> bool:
    """Only warnings and breaches that stay on the ticket itself: a transfer, a reminder or an
    automatic resolve goes through the ticket services, one ticket at a time."""
    kinds = {kind for _when, kind, _target in checks}
    if not kinds <= BATCHED_KINDS:
        return False
    return SlaRecord.Kind.BREACH not in kinds or policy.escalation != SlaPolicy.Escalation.TRANSFER


def _sweep_batch(ticket_ids: list[int], *, policy: SlaPolicy, now: dt.datetime) -> tuple[int, list[int]]:
    """Warnings and breaches of many tickets in one transaction; returns (tickets handled, ids
    left to check one by one).

    The actions run per ticket as before, but what they write is held back and written in
    bulk at the end: the records (under the tickets' row locks, so a record found missing
    cannot appear meanwhile), the events, the changed fields. A ticket whose action fails with
    a DomainError keeps nothing and waits for the next sweep; any other error stops the sweep
    after the tickets before it are written, as checking them one by one would.
    """
    failure: BaseException | None = None
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("line")
            .filter(id__in=ticket_ids, sla_next_check_at__lte=now)
            .order_by("sla_next_check_at", "id")
        )
        planned, rest = [], []
        for ticket in tickets:
            checks = _due_checks(ticket, policy, now)
            if _batchable(checks, policy):
                planned.append((ticket, checks))
            else:
                rest.append(ticket.id)
        done = set(
            SlaRecord.objects.filter(ticket_id__in=[ticket.id for ticket, _checks in planned]).values_list(
                "ticket_id", "kind", "target", "due_at"
            )
        )
        records: list[SlaRecord] = []
        changed: list[Ticket] = []
        batch = actions.Batch(queue_policy=QueuePolicy.current())
        with actions.batched(batch):
            for ticket, checks in planned:
                mark, own = len(batch.events), []
                try:
                    for when, kind, target in checks:
                        if (ticket.id, kind, target, when) in done:
                            continue  # done by an earlier sweep
                        own.append(
                            SlaRecord(ticket=ticket, kind=kind, target=target, due_at=when, line_id=ticket.line_id)
                        )
                        if kind == SlaRecord.Kind.WARNING:
                            actions.warn(ticket=ticket, target=target, due_at=when)
                        else:
                            actions.breach(ticket=ticket, target=target, due_at=when, policy=policy, now=now)
                except DomainError:
                    del batch.events[mark:]
                    logger.exception("sla sweep could not handle ticket %s", ticket.id)
                    continue
                except BaseException as exc:  # written up to the ticket before, then raised again
                    del batch.events[mark:]
                    failure = exc
                    break
                records += own
                next_check(ticket, policy, [], after=now)
                changed.append(ticket)
        SlaRecord.objects.bulk_create(records)
        ticket_services.tickets_sla_checked(tickets=changed, notes=batch.events)
    if failure is not None:
        raise failure
    return len(changed), rest


def sla_sweep(*, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Act on every ticket whose next check has come; returns how many were handled."""
    now = now or timezone.now()
    due = list(
        Ticket.objects.filter(sla_next_check_at__lte=now)
        .order_by("sla_next_check_at")
        .values_list("id", flat=True)[:limit]
    )
    handled = 0
    policy = SlaPolicy.current()
    for start in range(0, len(due), SWEEP_BATCH):
        batch = due[start : start + SWEEP_BATCH]
        try:
            done, one_by_one = _sweep_batch(batch, policy=policy, now=now)
        except (DomainError, DatabaseError):
            # The batch rolled back: its tickets are checked one by one instead.
            logger.exception("sla sweep could not handle a batch of %s tickets", len(batch))
            done, one_by_one = 0, batch
        handled += done
        for ticket_id in one_by_one:
            try:
                handled += sla_check_ticket(ticket_id=ticket_id, now=now, policy=policy)
            except (DomainError, DatabaseError):
                # That ticket's transaction rolled back; the others must not wait for it.
                logger.exception("sla sweep could not handle ticket %s", ticket_id)
    if handled:
        logger.info("sla sweep handled %s tickets", handled)
    return handled
