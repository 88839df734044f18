"""Reads of the schedules, scoped by who asks, and the duty questions other apps put."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from accounts.models import Role, User
from helpdesk.errors import PermissionDenied
from shifts import policy
from shifts.models import RosterEvent, Shift, ShiftException


def can_view_roster(user: User) -> bool:
    """Every member of staff sees the roster (agents plan around their colleagues' shifts)."""
    return bool(user.is_authenticated and user.is_active and user.is_support_staff)


def can_edit_roster(user: User) -> bool:
    """Managers and administrators edit it; quality reviewers only read."""
    return bool(user.is_authenticated and user.is_active and user.role in (Role.MANAGER, Role.ADMIN))


def _require_view(user: User) -> None:
    if not can_view_roster(user):
        raise PermissionDenied("Only support staff may see the shift schedules.")


def shift_list(*, user: User, line_id: int | None = None, agent_id: int | None = None) -> QuerySet[Shift]:
    _require_view(user)
    shifts = Shift.objects.select_related("agent", "line")
    if line_id is not None:
        shifts = shifts.filter(line_id=line_id)
    if agent_id is not None:
        shifts = shifts.filter(agent_id=agent_id)
    return shifts.order_by("line__position", "line__code", "weekday", "starts_at", "agent__username")


def exception_list(
    *, user: User, since: dt.datetime | None = None, agent_id: int | None = None
) -> QuerySet[ShiftException]:
    _require_view(user)
    exceptions = ShiftException.objects.select_related("agent", "line")
    if since is not None:
        exceptions = exceptions.filter(ends_at__gt=since)
    if agent_id is not None:
        exceptions = exceptions.filter(agent_id=agent_id)
    return exceptions.order_by("starts_at", "agent__username")


def roster_events(*, user: User) -> QuerySet[RosterEvent]:
    _require_view(user)
    return RosterEvent.objects.select_related("actor", "agent")


def _records(line_id: int | None, start: dt.datetime, end: dt.datetime):
    shift_rows = Shift.objects.filter(agent__is_active=True)
    exception_rows = ShiftException.objects.filter(starts_at__lt=end, ends_at__gt=start, agent__is_active=True)
    if line_id is not None:
        shift_rows = shift_rows.filter(line_id=line_id)
        exception_rows = exception_rows.filter(Q(line_id=line_id) | Q(line__isnull=True))
    shifts = [
        policy.WeeklyShift(
            agent_id=row.agent_id,
            line_id=row.line_id,
            weekday=row.weekday,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            time_zone=row.time_zone,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
        )
        for row in shift_rows
    ]
    exceptions = [
        policy.ShiftException(
            agent_id=row.agent_id,
            line_id=row.line_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            absent=row.kind != ShiftException.Kind.EXTRA,
        )
        for row in exception_rows
    ]
    return shifts, exceptions


def line_has_roster(*, line_id: int) -> bool:
    """Whether the line's duty is planned at all; a line without shifts is not judged by them."""
    return (
        Shift.objects.filter(line_id=line_id).exists()
        or ShiftException.objects.filter(line_id=line_id, kind=ShiftException.Kind.EXTRA).exists()
    )


def line_duty(*, line_id: int, start: dt.datetime, end: dt.datetime) -> dict[int, list[policy.Interval]]:
    """Agent id -> when they are on duty on the line within [start, end). Internal: no scoping,
    for the queue's estimate and the reports, which show counts, never who is off sick."""
    shifts, exceptions = _records(line_id, start, end)
    return policy.duty_intervals(shifts, exceptions, start, end, line_id=line_id)


def line_staffing(*, line_id: int, start: dt.datetime, end: dt.datetime) -> list[tuple[policy.Interval, int]]:
    """How many agents are on duty on the line, step by step over [start, end)."""
    return policy.staffing(line_duty(line_id=line_id, start=start, end=end), start, end)


def on_duty(*, line_id: int, at: dt.datetime) -> set[int]:
    """The agents on duty on the line at one instant."""
    moment_after = at + dt.timedelta(seconds=1)
    return set(line_duty(line_id=line_id, start=at, end=moment_after))


def line_next_opening(*, line_id: int, at: dt.datetime, horizon: dt.timedelta = dt.timedelta(days=14)):
    """When someone is next on duty on the line (at itself if someone is now); None within the horizon."""
    return policy.next_opening(line_staffing(line_id=line_id, start=at, end=at + horizon), at)


def agent_duty(*, user: User, agent: User, start: dt.datetime, end: dt.datetime) -> list[policy.Interval]:
    """An agent's own duty across lines (the agent, or management, may ask)."""
    if user.pk != agent.pk:
        _require_view(user)
    shifts, exceptions = _records(None, start, end)
    shifts = [s for s in shifts if s.agent_id == agent.pk]
    exceptions = [e for e in exceptions if e.agent_id == agent.pk]
    return policy.duty_intervals(shifts, exceptions, start, end).get(agent.pk, [])
