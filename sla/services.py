"""The SLA sweep: acts on the deadlines of `sla.deadlines` exactly once.

The ticket services keep each ticket's deadlines and `sla_next_check_at` (the earliest
moment the sweep has work for it) up to date through `sla.deadlines`. The sweep (a Celery
beat task) looks only at tickets whose `sla_next_check_at` has come, through a partial
index, so its cost follows what is due, not what is open. Each action is recorded in
`SlaRecord` under a unique key in the same transaction as the action: a second sweep, a
concurrent one, or one after a crash finds the record and does nothing twice. What an
action does to a ticket is written by the ticket writers: the due tickets are taken in
batches, every action of a batch done in memory and written in bulk (`tickets.sweep`), and
a batch that fails as a whole is checked again one ticket at a time through the ticket
services (`sla_check_ticket`, `tickets.services`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from helpdesk.errors import DomainError
from sla import actions
from sla.deadlines import next_check, pending_checks
from sla.models import SlaPolicy, SlaRecord
from tickets import services as ticket_services
from tickets.models import Ticket
from tickets.sweep import SweepReads, SweepWrites, insert_rows, tickets_sweep_write

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
    _do(ticket, kind, target, due_at, policy, now)


def _do(ticket: Ticket, kind: str, target: str, due_at: dt.datetime, policy: SlaPolicy, now: dt.datetime) -> None:
    """The action of a check whose record was just written (or, in a batch, is held back)."""
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


# Due tickets are checked this many at a time, whatever their due actions: one transaction, the
# actions of every ticket done in memory (sla.actions through tickets.sweep.SweepWrites), then
# the records, messages, times in lines, events, outbox rows and tickets written in bulk.
SWEEP_BATCH = 200
# A sweep starts no new batch after this long: the tickets left wait for the next beat, and no
# sweep comes near the task's time limit (sla.tasks.sweep), however slow the machine.
SWEEP_SECONDS = 60.0
# The columns of a batch's records, written in one statement (`tickets.sweep.insert_rows`).
RECORD_COLUMNS = (("ticket_id", "bigint"), ("kind", "text"), ("target", "text"), ("due_at", "timestamptz"),
                  ("line_id", "bigint"), ("created_at", "timestamptz"))  # fmt: skip


def _due_checks(ticket: Ticket, policy: SlaPolicy, now: dt.datetime) -> list[tuple[dt.datetime, str, str]]:
    return sorted((check for check in pending_checks(ticket, policy) if check[0] <= now), key=lambda check: check[0])


def _sweep_batch(ticket_ids: list[int], *, policy: SlaPolicy, now: dt.datetime, reads: SweepReads | None = None) -> int:
    """Every due check of many tickets in one transaction; returns the tickets handled.
    `reads`: what the sweep read once for all its batches (the lines, the queue policy...).

    The actions run per ticket, in the order `sla_check_ticket` runs them, on the locked
    tickets in memory: what they write is held back (`tickets.sweep.SweepWrites`) and written
    in bulk at the end, the records under the tickets' row locks (so a record found missing
    cannot appear meanwhile). A ticket whose action fails with a DomainError keeps nothing and
    waits for the next sweep; any other error stops the sweep after the tickets before it are
    written, as checking them one by one would.
    """
    failure: BaseException | None = None
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            # What the ticket services read per ticket: the assignee a transfer unassigns, the
            # profile and plan its queue weight comes from.
            .select_related("assignee", "customer__customer_profile__support_plan")
            .filter(id__in=ticket_ids, sla_next_check_at__lte=now)
            .order_by("sla_next_check_at", "id")
        )
        writes = SweepWrites(tickets=tickets, sla_policy=policy, reads=reads)
        done = set(
            SlaRecord.objects.filter(ticket_id__in=[ticket.id for ticket in tickets]).values_list(
                "ticket_id", "kind", "target", "due_at"
            )
        )
        records: list[SlaRecord] = []
        with actions.batched(actions.Batch(queue_policy=writes.queue_policy, writes=writes)):
            for ticket in tickets:
                checks = _due_checks(ticket, policy, now)
                writes.begin(ticket)
                own = []
                try:
                    for when, kind, target in checks:
                        if (ticket.id, kind, target, when) in done:
                            continue  # done by an earlier sweep
                        # The line that holds the ticket when the moment comes (before a transfer).
                        own.append(
                            SlaRecord(
                                ticket_id=ticket.id, kind=kind, target=target, due_at=when, line_id=ticket.line_id
                            )
                        )
                        _do(ticket, kind, target, when, policy, now)
                except DomainError:
                    writes.drop()
                    logger.exception("sla sweep could not handle ticket %s", ticket.id)
                    continue
                except BaseException as exc:  # written up to the ticket before, then raised again
                    writes.drop()
                    failure = exc
                    break
                records += own
                next_check(ticket, policy, [], after=now)
                writes.keep()
        recorded_at = timezone.now()
        for record in records:
            record.created_at = recorded_at
        insert_rows(SlaRecord, records, RECORD_COLUMNS)
        handled = len(tickets_sweep_write(writes=writes))
    if failure is not None:
        raise failure
    return handled


# The key of the PostgreSQL advisory lock a sweep holds while it runs ("SLA" in ASCII).
SWEEP_LOCK_KEY = 0x534C41


@contextlib.contextmanager
def _the_only_sweep() -> Iterator[bool]:
    """Whether this sweep may run: one at a time across every worker and machine.

    Beat started twice, a sweep still running when the next is due, or a task delivered again
    after a worker died: the second sweep finds the lock held and returns at once. The row
    locks and the unique records already keep each action to one; the lock keeps a second
    sweep from reading the same due tickets only to skip them. It is a session lock (the sweep
    spans many transactions), released at the end or when the worker's connection ends.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK_KEY])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            # A connection that died took its lock with it.
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK_KEY])


def sla_sweep(*, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Act on every ticket whose next check has come; returns how many were handled (0, at
    once, while another sweep runs)."""
    with _the_only_sweep() as only:
        if not only:
            logger.info("sla sweep skipped: another sweep is running")
            return 0
        return _sweep(now=now, limit=limit)


def _sweep(*, now: dt.datetime | None, limit: int) -> int:
    now = now or timezone.now()
    due = list(
        Ticket.objects.filter(sla_next_check_at__lte=now)
        .order_by("sla_next_check_at")
        .values_list("id", flat=True)[:limit]
    )
    handled = 0
    if not due:
        return 0
    policy = SlaPolicy.current()
    # Read once for every batch: the lines, the queue policy, the texts the actions repeat.
    reads = SweepReads()
    started = time.monotonic()
    for start in range(0, len(due), SWEEP_BATCH):
        if time.monotonic() - started > SWEEP_SECONDS:
            left = len(due) - start
            logger.warning("sla sweep stopped after %.0f s; %s due tickets wait for the next", SWEEP_SECONDS, left)
            break
        batch = due[start : start + SWEEP_BATCH]
        try:
            done, one_by_one = _sweep_batch(batch, policy=policy, now=now, reads=reads), []
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
