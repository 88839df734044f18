"""Deadlines of a ticket in business time, and the sweep that acts on them exactly once.

The ticket services call `sla_update` whenever something that matters happens (created,
the customer writes, an agent answers publicly, the status changes); it stores the
deadlines as instants and `sla_next_check_at`, the earliest moment the sweep has work for
the ticket. The sweep (a Celery beat task) looks only at tickets whose
`sla_next_check_at` has come, through a partial index, so its cost follows what is due,
not what is open. Each action is recorded in `SlaRecord` under a unique key in the same
transaction as the action: a second sweep, a concurrent one, or one after a crash finds
the record and does nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import CustomerProfile
from helpdesk.errors import DomainError
from queues.models import Line
from sla.calendar import Calendar, add_business_minutes, business_minutes_between
from sla.models import BusinessCalendar, HardwareWindow, LimitedServicePeriod, SlaPolicy, SlaRecord, SlaTarget
from tickets.models import OPEN_STATUSES, Status, Ticket

logger = logging.getLogger(__name__)

OPEN = OPEN_STATUSES
RUNNING = (Status.NEW, Status.WAITING_AGENT, Status.IN_PROGRESS)  # the resolution clock runs
# The resolution clock stops while the customer has the ball: asked a question, or told the
# work is done. It runs again, with the time that was left, when the ticket comes back.
PAUSED = (Status.WAITING_CUSTOMER, Status.RESOLVED)
CALENDAR_CACHE_SECONDS = 60
_calendar_cache: dict[int, tuple[float, Calendar]] = {}


def calendar_for_line(line: Line) -> Calendar:
    """The line's working hours (24/7 in the helpdesk's zone when it has none); cached briefly."""
    if line.calendar_id is None:
        return Calendar.twenty_four_seven(settings.TIME_ZONE)
    cached = _calendar_cache.get(line.calendar_id)
    if cached and time.monotonic() - cached[0] < CALENDAR_CACHE_SECONDS:
        return cached[1]
    calendar = BusinessCalendar.objects.get(id=line.calendar_id).as_calendar()
    _calendar_cache[line.calendar_id] = (time.monotonic(), calendar)
    return calendar


def clear_calendar_cache() -> None:
    _calendar_cache.clear()


@dataclass(frozen=True)
class Commitment:
    first_response: int
    next_response: int
    resolution: int
    limited: bool  # a limited-service period replaced the plan's targets
    calendar_24x7: bool  # counted in calendar time, not the line's working hours

    def as_dict(self) -> dict:
        """As stored in `Ticket.sla_commitment`."""
        return {
            "first_response": self.first_response,
            "next_response": self.next_response,
            "resolution": self.resolution,
            "limited": self.limited,
            "calendar_24x7": self.calendar_24x7,
        }


def commitment_for(ticket: Ticket, now: dt.datetime) -> Commitment | None:
    """The targets that apply now: the plan's for this urgency, or a limited-service period's."""
    period = LimitedServicePeriod.objects.filter(starts_at__lte=now, ends_at__gt=now).order_by("-starts_at").first()
    if period is not None:
        minutes = period.critical_minutes if ticket.urgency == "critical" else period.response_minutes
        return Commitment(minutes, minutes, max(minutes, period.response_minutes), limited=True, calendar_24x7=True)
    plans = CustomerProfile.objects.filter(user_id=ticket.customer_id).values_list(
        "support_plan_id", "admin_package_id"
    ).first() or (None, None)
    plan_id, package_id = plans
    # Administration work of a customer with a paid package follows the package's terms.
    if ticket.category == "admin_work" and package_id is not None:
        plan_id = package_id
    target = None
    if plan_id is not None:
        target = SlaTarget.objects.filter(plan_id=plan_id, urgency=ticket.urgency).first()
    if target is None:
        target = SlaTarget.objects.filter(plan__isnull=True, urgency=ticket.urgency).first()
    if target is None:
        return None
    resolution = target.resolution_minutes
    around_the_clock = ticket.urgency == "critical"
    if ticket.category == "hardware":
        window = hardware_window_hours(ticket.hardware_component or "other", plans[0])
        if window is not None:
            resolution, around_the_clock = window * 60, True
    return Commitment(
        target.first_response_minutes,
        target.next_response_minutes,
        resolution,
        limited=False,
        calendar_24x7=around_the_clock,
    )


def hardware_window_hours(component: str, plan_id: int | None) -> int | None:
    """The replacement window for a component on a plan (the plan-less row is the default)."""
    windows = HardwareWindow.objects.filter(component=component)
    window = windows.filter(plan_id=plan_id).first() if plan_id else None
    window = window or windows.filter(plan__isnull=True).first()
    return window.hours if window else None


def _calendar(ticket: Ticket, commitment: dict) -> Calendar:
    if commitment.get("calendar_24x7"):
        return Calendar.twenty_four_seven(settings.TIME_ZONE)
    return calendar_for_line(ticket.line)


def _deadline(calendar: Calendar, start: dt.datetime, minutes: float, share: float) -> tuple[dt.datetime, dt.datetime]:
    """(warn_at, due) for `minutes` of business time from `start`."""
    due = add_business_minutes(calendar, start, minutes)
    warn_at = add_business_minutes(calendar, start, minutes * share)
    return warn_at, due


def sla_update(
    *, ticket: Ticket, now: dt.datetime, customer_wrote: bool = False, agent_answered: bool = False
) -> list[str]:
    """Bring the ticket's deadlines up to date after a change; returns the changed fields."""
    policy = SlaPolicy.current()
    share = policy.warn_at_share
    changed: list[str] = []
    if not ticket.sla_commitment:
        commitment = commitment_for(ticket, now)
        if commitment is None:
            return _next_check(ticket, policy, changed)
        ticket.sla_commitment = commitment.as_dict()
        calendar = _calendar(ticket, ticket.sla_commitment)
        start = ticket.created_at or now
        ticket.first_response_warn_at, ticket.first_response_due = _deadline(
            calendar, start, commitment.first_response, share
        )
        ticket.resolution_warn_at, ticket.resolution_due = _deadline(calendar, start, commitment.resolution, share)
        changed += [
            "sla_commitment",
            "first_response_warn_at",
            "first_response_due",
            "resolution_warn_at",
            "resolution_due",
        ]
    commitment = ticket.sla_commitment
    calendar = _calendar(ticket, commitment)
    # The first unanswered message sets the clock; follow-ups do not push it later.
    if (
        customer_wrote
        and ticket.status in OPEN
        and ticket.first_response_at is not None
        and ticket.next_response_due is None
    ):
        ticket.next_response_warn_at, ticket.next_response_due = _deadline(
            calendar, now, commitment["next_response"], share
        )
        changed += ["next_response_warn_at", "next_response_due"]
    if agent_answered and ticket.next_response_due is not None:
        ticket.next_response_due = ticket.next_response_warn_at = None
        changed += ["next_response_warn_at", "next_response_due"]
    # The resolution clock stops while the customer has the ball and runs again after.
    # (A deadline that has already passed stays as it is: it was breached once.)
    if ticket.status in PAUSED and ticket.resolution_due is not None and ticket.resolution_due > now:
        ticket.resolution_paused_minutes = max(0.0, business_minutes_between(calendar, now, ticket.resolution_due))
        ticket.resolution_due = ticket.resolution_warn_at = None
        changed += ["resolution_paused_minutes", "resolution_due", "resolution_warn_at"]
    elif ticket.status in RUNNING and ticket.resolution_paused_minutes is not None:
        left = ticket.resolution_paused_minutes
        ticket.resolution_due = add_business_minutes(calendar, now, left)
        warn_after = max(0.0, left - commitment["resolution"] * (1 - share))
        ticket.resolution_warn_at = add_business_minutes(calendar, now, warn_after)
        ticket.resolution_paused_minutes = None
        changed += ["resolution_paused_minutes", "resolution_due", "resolution_warn_at"]
    return _next_check(ticket, policy, changed)


def sla_retarget(*, ticket: Ticket, now: dt.datetime) -> list[str]:
    """The ticket's urgency changed: the targets for the new urgency apply from now on.

    Every clock keeps the time it has counted so far (in the calendar it counted in), and the
    new target is measured against it: a running deadline moves to where the new target is
    used up, or to `now` when it is used up already (the sweep then records the breach); a
    paused resolution clock keeps what the new target leaves. A deadline that has passed
    stays where it was: it was breached once. Returns the changed fields; the caller's
    `sla_update` then works out the next check."""
    old = ticket.sla_commitment
    if not old:
        return []  # sla_update sets the commitment for the urgency the ticket has now
    commitment = commitment_for(ticket, now)
    if commitment is None or commitment.as_dict() == old:
        return []  # no target for the new urgency (the old one stays), or the same targets
    share = SlaPolicy.current().warn_at_share
    old_calendar = _calendar(ticket, old)
    ticket.sla_commitment = commitment.as_dict()
    calendar = _calendar(ticket, ticket.sla_commitment)

    def moved(due: dt.datetime, old_target: float, target: float) -> tuple[dt.datetime, dt.datetime]:
        left = target - (old_target - business_minutes_between(old_calendar, now, due))
        if left <= 0:
            return now, now
        warn_after = max(0.0, left - target * (1 - share))
        return add_business_minutes(calendar, now, warn_after), add_business_minutes(calendar, now, left)

    changed = ["sla_commitment"]
    if ticket.first_response_at is None and ticket.first_response_due and ticket.first_response_due > now:
        ticket.first_response_warn_at, ticket.first_response_due = moved(
            ticket.first_response_due, old["first_response"], commitment.first_response
        )
        changed += ["first_response_warn_at", "first_response_due"]
    if ticket.next_response_due and ticket.next_response_due > now:
        ticket.next_response_warn_at, ticket.next_response_due = moved(
            ticket.next_response_due, old["next_response"], commitment.next_response
        )
        changed += ["next_response_warn_at", "next_response_due"]
    if ticket.resolution_paused_minutes is not None:
        used = old["resolution"] - ticket.resolution_paused_minutes
        ticket.resolution_paused_minutes = max(0.0, commitment.resolution - used)
        changed.append("resolution_paused_minutes")
    elif ticket.resolution_due and ticket.resolution_due > now:
        ticket.resolution_warn_at, ticket.resolution_due = moved(
            ticket.resolution_due, old["resolution"], commitment.resolution
        )
        changed += ["resolution_warn_at", "resolution_due"]
    return changed


def _first_line_escalation_at(ticket: Ticket, policy: SlaPolicy) -> dt.datetime | None:
    next_line = ticket.line.next_line
    if ticket.first_response_at is not None or ticket.line.level != 1 or next_line is None or not next_line.is_active:
        return None
    return add_business_minutes(
        calendar_for_line(ticket.line), ticket.line_entered_at, policy.first_line_escalation_minutes
    )


def pending_checks(ticket: Ticket, policy: SlaPolicy) -> list[tuple[dt.datetime, str, str]]:
    """(when, kind, target) of everything the sweep will have to do for this ticket."""
    checks: list[tuple[dt.datetime, str, str]] = []
    kind, target = SlaRecord.Kind, SlaRecord.Target
    if ticket.status in OPEN and ticket.first_response_at is None and ticket.first_response_due:
        checks += [
            (ticket.first_response_warn_at, kind.WARNING, target.FIRST_RESPONSE),
            (ticket.first_response_due, kind.BREACH, target.FIRST_RESPONSE),
        ]
    if ticket.status in OPEN and ticket.next_response_due:
        checks += [
            (ticket.next_response_warn_at, kind.WARNING, target.NEXT_RESPONSE),
            (ticket.next_response_due, kind.BREACH, target.NEXT_RESPONSE),
        ]
    if ticket.status in RUNNING and ticket.resolution_due:
        checks += [
            (ticket.resolution_warn_at, kind.WARNING, target.RESOLUTION),
            (ticket.resolution_due, kind.BREACH, target.RESOLUTION),
        ]
    if ticket.status in OPEN:
        escalate_at = _first_line_escalation_at(ticket, policy)
        if escalate_at is not None:
            checks.append((escalate_at, kind.ESCALATION, target.FIRST_RESPONSE))
    if ticket.status == Status.WAITING_CUSTOMER:
        quiet_since = ticket.last_activity_at
        checks += [
            (quiet_since + dt.timedelta(days=policy.remind_waiting_days), kind.REMINDER, target.INACTIVITY),
            (quiet_since + dt.timedelta(days=policy.resolve_waiting_days), kind.AUTO_RESOLVE, target.INACTIVITY),
        ]
    if ticket.status == Status.RESOLVED and ticket.resolved_at:
        checks.append(
            (ticket.resolved_at + dt.timedelta(days=policy.autoclose_resolved_days), kind.AUTO_CLOSE, target.INACTIVITY)
        )
    return [check for check in checks if check[0] is not None]


def _next_check(
    ticket: Ticket, policy: SlaPolicy, changed: list[str], *, after: dt.datetime | None = None
) -> list[str]:
    instants = [when for when, _kind, _target in pending_checks(ticket, policy) if after is None or when > after]
    next_check = min(instants) if instants else None
    if next_check != ticket.sla_next_check_at:
        ticket.sla_next_check_at = next_check
        changed.append("sla_next_check_at")
    return changed


# --- the sweep -----------------------------------------------------------------------


def _record(ticket: Ticket, kind: str, target: str, due_at: dt.datetime) -> bool:
    """Write the record; False if it exists already (the action was done before)."""
    try:
        with transaction.atomic():
            SlaRecord.objects.create(ticket=ticket, kind=kind, target=target, due_at=due_at, line_id=ticket.line_id)
    except IntegrityError:
        return False
    return True


def _act(ticket: Ticket, kind: str, target: str, due_at: dt.datetime, policy: SlaPolicy, now: dt.datetime) -> None:
    from sla import actions

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
        fields = _next_check(ticket, policy, [], after=now)
        if fields:
            Ticket.objects.filter(id=ticket.id).update(sla_next_check_at=ticket.sla_next_check_at)
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


def _write_checked(tickets: list[Ticket]) -> None:
    """The next check and the escalation's fields of many tickets, in one statement (a bulk_update
    builds a CASE per field and ticket, and compiling it costs more than running it)."""
    if not tickets:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Ticket._meta.db_table} AS ticket
            SET sla_next_check_at = checked.next_check, credit_minutes = checked.credit,
                weight_parts = checked.parts, virtual_time = checked.virtual_time
            FROM unnest(%s::bigint[], %s::timestamptz[], %s::integer[], %s::jsonb[], %s::timestamptz[])
                AS checked (id, next_check, credit, parts, virtual_time)
            WHERE ticket.id = checked.id
            """,  # noqa: S608 - the table name is the model's
            [
                [ticket.id for ticket in tickets],
                [ticket.sla_next_check_at for ticket in tickets],
                [ticket.credit_minutes for ticket in tickets],
                [json.dumps(ticket.weight_parts) for ticket in tickets],
                [ticket.virtual_time for ticket in tickets],
            ],
        )


def _sweep_batch(ticket_ids: list[int], *, policy: SlaPolicy, now: dt.datetime) -> tuple[int, list[int]]:
    """Warnings and breaches of many tickets in one transaction; returns (tickets handled, ids
    left to check one by one).

    The actions run per ticket as before, but what they write is held back and written in
    bulk at the end: the records (under the tickets' row locks, so a record found missing
    cannot appear meanwhile), the events, the changed fields. A ticket whose action fails with
    a DomainError keeps nothing and waits for the next sweep; any other error stops the sweep
    after the tickets before it are written, as checking them one by one would.
    """
    from queues.models import QueuePolicy
    from sla import actions
    from tickets.models import TicketEvent

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
                _next_check(ticket, policy, [], after=now)
                changed.append(ticket)
        SlaRecord.objects.bulk_create(records)
        TicketEvent.objects.bulk_create(batch.events)
        _write_checked(changed)
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


def line_clocks(*, ticket: Ticket, now: dt.datetime | None = None) -> list[dict]:
    """Business minutes each line held the ticket, in that line's working hours."""
    now = now or timezone.now()
    clocks = []
    for stint in ticket.stints.select_related("line").order_by("entered_at", "id"):
        calendar = calendar_for_line(stint.line)
        clocks.append(
            {
                "line": stint.line,
                "entered_at": stint.entered_at,
                "left_at": stint.left_at,
                "business_minutes": round(business_minutes_between(calendar, stint.entered_at, stint.left_at or now)),
            }
        )
    return clocks
