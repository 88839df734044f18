"""Who is on duty when: weekly shifts and their exceptions laid out on the time line.

Pure calculation, no database: the selectors load the rows, turn them into the frozen
records below and ask this module. The queue's wait estimate, the staffing forecast and the
dashboards read the same answers.

A weekly shift is a weekday and local wall-clock times in its own time zone; one that ends
at or before its start runs past midnight into the next day (22:00-06:00), and one whose
start equals its end lasts a whole day. Exceptions are instants: an absence (holiday, sick
day, vacation) takes its span off the agent's duty on one line or on all of them; an extra
shift adds its span on one line. Results are half-open UTC intervals, merged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

Interval = tuple[dt.datetime, dt.datetime]
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class WeeklyShift:
    agent_id: int
    line_id: int
    weekday: int  # 0 = Monday
    starts_at: dt.time
    ends_at: dt.time
    time_zone: str = "UTC"
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None  # inclusive: the last day a shift of this row starts

    @property
    def length(self) -> dt.timedelta:
        start = dt.timedelta(hours=self.starts_at.hour, minutes=self.starts_at.minute)
        end = dt.timedelta(hours=self.ends_at.hour, minutes=self.ends_at.minute)
        return (end - start) % DAY or DAY


@dataclass(frozen=True)
class ShiftException:
    agent_id: int
    line_id: int | None  # None: every line of the agent (an absence only)
    starts_at: dt.datetime
    ends_at: dt.datetime
    absent: bool  # True: not on duty during the span; False: an extra shift on `line_id`


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same time; touching ones are joined."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Sequence[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """`intervals` without the time covered by `holes` (both merged)."""
    result: list[Interval] = []
    holes = merge(holes)
    for start, end in merge(intervals):
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def clip(intervals: Iterable[Interval], start: dt.datetime, end: dt.datetime) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if e > start and s < end]


def _local(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    # zoneinfo resolves a wall time repeated by a fall-back to its first occurrence and one
    # skipped by a spring-forward to the offset before the jump: a shift "from 02:30" on
    # that night starts at the moment the clocks jump, which is what people mean.
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def shift_intervals(shift: WeeklyShift, start: dt.datetime, end: dt.datetime) -> list[Interval]:
    """The instances of one weekly shift that overlap [start, end), clipped to it."""
    tz = ZoneInfo(shift.time_zone)
    first_day = start.astimezone(tz).date() - DAY  # a night shift of the day before may still run
    last_day = end.astimezone(tz).date()
    found = []
    day = first_day + dt.timedelta(days=(shift.weekday - first_day.weekday()) % 7)
    while day <= last_day:
        in_force = (shift.valid_from is None or day >= shift.valid_from) and (
            shift.valid_until is None or day <= shift.valid_until
        )
        if in_force:
            begins = _local(day, shift.starts_at, tz)
            end_day = day if shift.length < DAY and shift.ends_at > shift.starts_at else day + DAY
            ends = _local(end_day, shift.ends_at, tz)
            found.append((begins, ends))
        day += dt.timedelta(days=7)
    return clip(found, start, end)


def duty_intervals(
    shifts: Iterable[WeeklyShift],
    exceptions: Iterable[ShiftException],
    start: dt.datetime,
    end: dt.datetime,
    *,
    line_id: int | None = None,
) -> dict[int, list[Interval]]:
    """Agent id -> when that agent is on duty within [start, end) (on `line_id`, or on any line)."""
    exceptions = list(exceptions)
    on: dict[int, list[Interval]] = {}
    for shift in shifts:
        if line_id is None or shift.line_id == line_id:
            on.setdefault(shift.agent_id, []).extend(shift_intervals(shift, start, end))
    for extra in exceptions:
        if not extra.absent and (line_id is None or extra.line_id == line_id):
            on.setdefault(extra.agent_id, []).extend(clip([(extra.starts_at, extra.ends_at)], start, end))
    duty = {}
    for agent_id, intervals in on.items():
        away = [
            (e.starts_at, e.ends_at)
            for e in exceptions
            if e.absent and e.agent_id == agent_id and (e.line_id is None or line_id is None or e.line_id == line_id)
        ]
        kept = subtract(intervals, away)
        if kept:
            duty[agent_id] = kept
    return duty


def staffing(duty: dict[int, list[Interval]], start: dt.datetime, end: dt.datetime) -> list[tuple[Interval, int]]:
    """How many agents are on duty, as consecutive steps covering [start, end)."""
    changes: dict[dt.datetime, int] = {}
    for intervals in duty.values():
        for s, e in clip(intervals, start, end):
            changes[s] = changes.get(s, 0) + 1
            changes[e] = changes.get(e, 0) - 1
    steps: list[tuple[Interval, int]] = []
    count = 0
    cursor = start
    for moment in sorted(changes):
        if moment > cursor:
            steps.append(((cursor, moment), count))
            cursor = moment
        count += changes[moment]
    if cursor < end:
        steps.append(((cursor, end), count))
    # Join neighbours with the same count (several agents changing at one instant).
    joined: list[tuple[Interval, int]] = []
    for (s, e), n in steps:
        if joined and joined[-1][1] == n and joined[-1][0][1] == s:
            joined[-1] = ((joined[-1][0][0], e), n)
        else:
            joined.append(((s, e), n))
    return joined


def next_opening(steps: Sequence[tuple[Interval, int]], at: dt.datetime) -> dt.datetime | None:
    """The first moment at or after `at` when someone is on duty; None if nobody is within the steps."""
    for (s, e), n in steps:
        if n > 0 and e > at:
            return max(s, at)
    return None


def agent_hours(steps: Sequence[tuple[Interval, int]], start: dt.datetime, end: dt.datetime) -> float:
    """Agent-hours of duty within [start, end): the capacity a forecast weighs against demand."""
    total = 0.0
    for (s, e), n in steps:
        s, e = max(s, start), min(e, end)
        if e > s:
            total += n * (e - s).total_seconds() / 3600
    return total
