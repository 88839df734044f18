"""The demo's rosters, as a provider's support department plans them (1cloud's pattern): the
first line around the clock in three eight-hour shifts, each agent five days a week with
rotating days off; consultants and administrators on working days 10:00-18:00 and
10:00-19:00; finance and sales on working days 09:00-18:00; all in Moscow time."""

from __future__ import annotations

import datetime as dt

from accounts.models import User
from queues.models import Line
from shifts.models import Shift

TIME_ZONE = "Europe/Moscow"
WORKING_DAYS = range(5)
# Around the clock: day, evening and night shifts, more people in the daytime peak.
FIRST_LINE_SHIFTS = [(dt.time(8), dt.time(16)), (dt.time(16), dt.time(0)), (dt.time(0), dt.time(8))]
OFFICE_HOURS = {
    "consultants": (dt.time(10), dt.time(18)),
    "administrators": (dt.time(10), dt.time(19)),
    "finance": (dt.time(9), dt.time(18)),
    "sales": (dt.time(9), dt.time(18)),
}


def demo_shift_rows(lines: dict[str, Line], staff: dict[str, list[User]]) -> list[Shift]:
    rows = []
    first_line = staff.get("first-line", [])
    for index, agent in enumerate(first_line):
        # Agents split across the three shifts (the day shift gets the remainder); each has
        # two days off in a row, rotating, so every day of the week is covered.
        starts_at, ends_at = FIRST_LINE_SHIFTS[min(index * 3 // max(len(first_line), 1), 2)]
        days_off = {index % 7, (index + 1) % 7}
        for weekday in range(7):
            if weekday not in days_off:
                rows.append(_row(agent, lines["first-line"], weekday, starts_at, ends_at))
    for code, (starts_at, ends_at) in OFFICE_HOURS.items():
        for agent in staff.get(code, []):
            rows.extend(_row(agent, lines[code], weekday, starts_at, ends_at) for weekday in WORKING_DAYS)
    return rows


def _row(agent: User, line: Line, weekday: int, starts_at: dt.time, ends_at: dt.time) -> Shift:
    return Shift(agent=agent, line=line, weekday=weekday, starts_at=starts_at, ends_at=ends_at, time_zone=TIME_ZONE)


def upsert_demo_shifts(lines: dict[str, Line], staff: dict[str, list[User]]) -> int:
    """Write the demo rosters once: agents who already have shifts keep theirs."""
    planned = set(Shift.objects.values_list("agent_id", flat=True).distinct())
    rows = [row for row in demo_shift_rows(lines, staff) if row.agent_id not in planned]
    Shift.objects.bulk_create(rows)
    return len(rows)
