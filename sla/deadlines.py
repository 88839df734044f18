"""Deadlines of a ticket in business time: the commitment, the deadlines, what is due when.

Pure policy: `sla_update` and `sla_retarget` read the targets and calendars and set the
ticket's deadline fields in memory, returning the changed fields; the ticket services
(`tickets.services`) call them whenever something that matters happens (created, the
customer writes, an agent answers publicly, the status or the urgency changes) and save.
`sla_next_check_at` is the earliest moment the sweep (`sla.services`) has work for the
ticket; `pending_checks` says what that work is.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q

from queues.models import Line
from queues.policy import customer_profile_of
from sla.calendar import Calendar, add_business_minutes, business_minutes_between
from sla.models import (
    BusinessCalendar,
    Component,
    HardwareWindow,
    LimitedServicePeriod,
    SlaPolicy,
    SlaRecord,
    SlaTarget,
)
from tickets.models import OPEN_STATUSES, Category, Status, Ticket, Urgency

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
        minutes = period.critical_minutes if ticket.urgency == Urgency.CRITICAL else period.response_minutes
        return Commitment(minutes, minutes, max(minutes, period.response_minutes), limited=True, calendar_24x7=True)
    profile = customer_profile_of(ticket)
    plans = (profile.support_plan_id, profile.admin_package_id) if profile is not None else (None, None)
    plan_id, package_id = plans
    # Administration work of a customer with a paid package follows the package's terms.
    if ticket.category == Category.ADMIN_WORK and package_id is not None:
        plan_id = package_id
    # The plan's own target, else the plan-less default: one query, the plan's row first.
    plans_asked = Q(plan__isnull=True) | Q(plan_id=plan_id) if plan_id is not None else Q(plan__isnull=True)
    target = (
        SlaTarget.objects.filter(plans_asked, urgency=ticket.urgency)
        .order_by(F("plan_id").asc(nulls_last=True), "id")
        .first()
    )
    if target is None:
        return None
    resolution = target.resolution_minutes
    around_the_clock = ticket.urgency == Urgency.CRITICAL
    if ticket.category == Category.HARDWARE:
        window = hardware_window_hours(ticket.hardware_component or Component.OTHER, plans[0])
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
    *,
    ticket: Ticket,
    now: dt.datetime,
    customer_wrote: bool = False,
    agent_answered: bool = False,
    policy: SlaPolicy | None = None,
) -> list[str]:
    """Bring the ticket's deadlines up to date after a change; returns the changed fields.
    `policy`: the SLA policy already read (the sweep's bulk writes), else it is read now."""
    policy = policy or SlaPolicy.current()
    share = policy.warn_at_share
    changed: list[str] = []
    if not ticket.sla_commitment:
        commitment = commitment_for(ticket, now)
        if commitment is None:
            return next_check(ticket, policy, changed)
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
    return next_check(ticket, policy, changed)


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
    checks: list[tuple[dt.datetime | None, str, str]] = []
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
    return [(when, what, of) for when, what, of in checks if when is not None]


def next_check(ticket: Ticket, policy: SlaPolicy, changed: list[str], *, after: dt.datetime | None = None) -> list[str]:
    """Set `sla_next_check_at` to the earliest pending check (after `after`); adds it to `changed`."""
    instants = [when for when, _kind, _target in pending_checks(ticket, policy) if after is None or when > after]
    earliest = min(instants) if instants else None
    if earliest != ticket.sla_next_check_at:
        ticket.sla_next_check_at = earliest
        changed.append("sla_next_check_at")
    return changed
