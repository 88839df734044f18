"""Business time: adding and measuring working minutes in a calendar.

A calendar is a time zone, working intervals per weekday (several a day: split shifts,
lunch), holidays, and special periods that close or open time. Everything is laid out in
the calendar's local time with zoneinfo and measured in UTC, so daylight-saving changes
are handled: a 00:00-24:00 day that loses an hour to a DST switch has 23 hours. Results
are UTC instants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

MINUTE = dt.timedelta(minutes=1)
MAX_DAYS_AHEAD = 3 * 366  # a target that does not fit in three years is a configuration error


@dataclass(frozen=True)
class Calendar:
    time_zone: str = "UTC"
    # weekday (0 = Monday) -> [(start, end)], local times, end > start; end may be time(0) meaning midnight
    weekly: dict[int, list[tuple[dt.time, dt.time]]] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()
    always_open: bool = False

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @classmethod
    def twenty_four_seven(cls, time_zone: str = "UTC") -> Calendar:
        return cls(time_zone=time_zone, always_open=True)


def _local_instant(day: dt.date, at: dt.time, tz: ZoneInfo, *, is_end: bool = False) -> dt.datetime:
    """The aware instant of a local wall time; an interval ending at `time(0)` ends at the next
    midnight. A wall time skipped by a DST jump lands just after the gap; one repeated by a
    fall-back resolves to its first occurrence."""
    if is_end and at == dt.time(0):
        day += dt.timedelta(days=1)
    wall = dt.datetime.combine(day, at)
    instant = wall.replace(tzinfo=tz).astimezone(dt.UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        # In UTC: arithmetic between datetimes sharing a zone object ignores DST changes.
        return instant
    # A wall time the clocks skip (spring forward): it stands for the moment of the jump.
    before = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    after = instant
    lo, hi = min(before, after), max(before, after)
    offset_lo = lo.astimezone(tz).utcoffset()
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == offset_lo:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


def working_spans(calendar: Calendar, start: dt.datetime, end: dt.datetime):
    """Yield (span_start, span_end) of working time between two aware instants, in order."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if end <= start:
        return
    if calendar.always_open:
        yield start, end
        return
    tz = calendar.tz
    day = start.astimezone(tz).date() - dt.timedelta(days=1)
    last_day = end.astimezone(tz).date()
    while day <= last_day:
        if day not in calendar.holidays:
            for begin_at, end_at in calendar.weekly.get(day.weekday(), ()):
                span_start = _local_instant(day, begin_at, tz)
                span_end = _local_instant(day, end_at, tz, is_end=True)
                lo, hi = max(span_start, start), min(span_end, end)
                if lo < hi:
                    yield lo, hi
        day += dt.timedelta(days=1)


def business_minutes_between(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> float:
    """Working minutes from `start` to `end` (0 when end is not after start)."""
    total = dt.timedelta()
    for lo, hi in working_spans(calendar, start, end):
        total += hi - lo
    return total / MINUTE


def add_business_minutes(calendar: Calendar, start: dt.datetime, minutes: float) -> dt.datetime:
    """The instant when `minutes` of working time have passed after `start`.

    The result always lies inside working time (or at the end of an interval): a deadline
    never falls at night or on a holiday."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    start = start.astimezone(dt.UTC)
    if calendar.always_open:
        return start + dt.timedelta(minutes=minutes)
    if not any(calendar.weekly.values()):
        raise ValueError("the calendar has no working time")
    remaining = dt.timedelta(minutes=minutes)
    window_start = start
    for _ in range(MAX_DAYS_AHEAD // 7 + 1):
        window_end = window_start + dt.timedelta(days=7)
        for lo, hi in working_spans(calendar, window_start, window_end):
            available = hi - lo
            if available >= remaining:
                return lo + remaining
            remaining -= available
        window_start = window_end
    raise ValueError("the target does not fit in the calendar's working time")


def is_working_time(calendar: Calendar, moment: dt.datetime) -> bool:
    return any(True for _ in working_spans(calendar, moment, moment + dt.timedelta(microseconds=1)))
