"""The status page's arithmetic: uptime over a period and the day a moment falls on.

Pure: plain values in, plain values out; nothing is read or written. Every instant is
compared in UTC: two aware datetimes sharing a tzinfo subtract as wall-clock times in
Python, which would make a day with a daylight-saving change 24 hours long.

Downtime is weighted by severity (a major outage counts whole, a partial one half, degraded
performance not at all); at any moment only the worst outage counts, so overlapping incidents
are never counted twice; and time inside a maintenance window counts neither as downtime nor
as time measured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from status.models import ComponentState, Severity

UTC = dt.UTC

# How much of a moment of each severity counts as downtime.
SEVERITY_WEIGHT: dict[str, float] = {Severity.MAJOR: 1.0, Severity.PARTIAL: 0.5, Severity.DEGRADED: 0.0}
# Worst first: a component's state is the worst of what touches it.
STATE_ORDER: list[str] = [
    ComponentState.MAJOR,
    ComponentState.PARTIAL,
    ComponentState.DEGRADED,
    ComponentState.MAINTENANCE,
    ComponentState.OPERATIONAL,
]


@dataclass(frozen=True)
class Outage:
    start: dt.datetime
    end: dt.datetime | None  # None: still going on
    severity: str


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Uptime:
    measured_seconds: float  # the period less its maintenance
    down_seconds: float  # weighted

    @property
    def ratio(self) -> float | None:
        """Up time over measured time; None when nothing was measured (all maintenance)."""
        if self.measured_seconds <= 0:
            return None
        return max(0.0, 1.0 - self.down_seconds / self.measured_seconds)

    @property
    def percent(self) -> float | None:
        ratio = self.ratio
        return None if ratio is None else ratio * 100


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("the uptime arithmetic needs aware datetimes")
    return moment.astimezone(UTC)


def uptime(
    *, start: dt.datetime, end: dt.datetime, outages: Iterable[Outage], maintenance: Iterable[Window] = ()
) -> Uptime:
    """Uptime of one component over [start, end): its outages (an open one lasts until `end`)
    and its maintenance windows."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return Uptime(0.0, 0.0)
    # Sweep the boundaries: between two of them the same outages and windows apply.
    down_spans = [
        (_utc(outage.start), _utc(outage.end) if outage.end else end, SEVERITY_WEIGHT.get(outage.severity, 1.0))
        for outage in outages
    ]
    quiet_spans = [(_utc(window.start), _utc(window.end)) for window in maintenance]
    down_spans = [(max(a, start), min(b, end), w) for a, b, w in down_spans if a < end and b > start and b > a]
    quiet_spans = [(max(a, start), min(b, end)) for a, b in quiet_spans if a < end and b > start and b > a]
    points = sorted(
        {start, end, *(a for a, _b, _w in down_spans), *(b for _a, b, _w in down_spans)}
        | {moment for span in quiet_spans for moment in span}
    )
    measured = down = 0.0
    for left, right in zip(points, points[1:], strict=False):
        if any(a <= left and b >= right for a, b in quiet_spans):
            continue  # maintenance: not measured
        seconds = (right - left).total_seconds()
        measured += seconds
        down += seconds * max((w for a, b, w in down_spans if a <= left and b >= right), default=0.0)
    return Uptime(measured_seconds=measured, down_seconds=down)


def mean_ratio(values: Sequence[Uptime]) -> float | None:
    """A service's uptime: the mean of its components' (each weighs the same)."""
    ratios = [value.ratio for value in values if value.ratio is not None]
    return sum(ratios) / len(ratios) if ratios else None


def local_days(*, last_day: dt.date, count: int, zone: ZoneInfo) -> list[tuple[dt.date, Window]]:
    """The `count` local days up to `last_day`, oldest first, each with its UTC window (23 or
    25 hours long on the days the clocks change)."""
    days = []
    for offset in range(count - 1, -1, -1):
        day = last_day - dt.timedelta(days=offset)
        begin = dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(UTC)
        finish = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(UTC)
        days.append((day, Window(begin, finish)))
    return days


def worst(states: Iterable[str]) -> str:
    """The worst of component states (operational when there are none)."""
    present = set(states)
    for state in STATE_ORDER:
        if state in present:
            return state
    return ComponentState.OPERATIONAL


def state_of(severity: str) -> str:
    """The component state an incident of this severity puts its components in."""
    return {
        Severity.MAJOR: ComponentState.MAJOR,
        Severity.PARTIAL: ComponentState.PARTIAL,
        Severity.DEGRADED: ComponentState.DEGRADED,
    }[Severity(severity)]
