"""Duty on the time line: weekly shifts, night shifts, time zones, absences and extra shifts."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from shifts.policy import (
    ShiftException,
    WeeklyShift,
    agent_hours,
    duty_intervals,
    merge,
    next_opening,
    shift_intervals,
    staffing,
    subtract,
)

UTC = dt.UTC
MON = dt.datetime(2026, 11, 30, tzinfo=UTC)  # a Monday


def at(days: float, hours: float = 0) -> dt.datetime:
    return MON + dt.timedelta(days=days, hours=hours)


def shift(agent=1, line=1, weekday=0, start=(9, 0), end=(17, 0), tz="UTC", **kwargs) -> WeeklyShift:
    return WeeklyShift(agent, line, weekday, dt.time(*start), dt.time(*end), tz, **kwargs)


def test_a_day_shift_happens_on_its_weekday_every_week():
    found = shift_intervals(shift(weekday=2), at(0), at(14))
    assert found == [(at(2, 9), at(2, 17)), (at(9, 9), at(9, 17))]


def test_a_night_shift_runs_past_midnight_and_is_found_from_the_next_morning():
    night = shift(weekday=0, start=(22, 0), end=(6, 0))
    assert shift_intervals(night, at(0), at(2)) == [(at(0, 22), at(1, 6))]
    # Asked from Tuesday 03:00, Monday's night shift is still running.
    assert shift_intervals(night, at(1, 3), at(1, 12)) == [(at(1, 3), at(1, 6))]


def test_a_shift_ending_at_midnight_ends_at_the_end_of_its_day():
    assert shift_intervals(shift(start=(16, 0), end=(0, 0)), at(0), at(1)) == [(at(0, 16), at(1))]


def test_a_shift_that_starts_and_ends_at_the_same_time_lasts_a_day():
    assert shift(start=(8, 0), end=(8, 0)).length == dt.timedelta(days=1)
    assert shift_intervals(shift(start=(8, 0), end=(8, 0)), at(0), at(3)) == [(at(0, 8), at(1, 8))]


def test_local_times_follow_the_shift_time_zone_across_a_dst_change():
    # Berlin leaves summer time on Sunday 2026-10-25: 10:00 local is 08:00 UTC before, 09:00 after.
    sunday_before = dt.datetime(2026, 10, 18, tzinfo=UTC)
    berlin = shift(weekday=6, start=(10, 0), end=(12, 0), tz="Europe/Berlin")
    found = shift_intervals(berlin, sunday_before, sunday_before + dt.timedelta(days=8))
    assert [s.hour for s, _ in found] == [8, 9]
    assert all(e - s == dt.timedelta(hours=2) for s, e in found)


def test_a_shift_row_counts_only_between_its_dates():
    bounded = shift(weekday=0, valid_from=dt.date(2026, 12, 7), valid_until=dt.date(2026, 12, 14))
    found = shift_intervals(bounded, at(0), at(28))
    assert [s.date() for s, _ in found] == [dt.date(2026, 12, 7), dt.date(2026, 12, 14)]


def test_an_absence_takes_its_span_off_and_an_extra_shift_adds_one():
    shifts = [shift(agent=1, weekday=d) for d in range(5)] + [shift(agent=2, weekday=d) for d in range(5)]
    sick = ShiftException(1, None, at(1), at(3), absent=True)  # Tuesday and Wednesday
    extra = ShiftException(2, 1, at(5, 10), at(5, 14), absent=False)  # Saturday
    duty = duty_intervals(shifts, [sick, extra], at(0), at(7), line_id=1)
    assert len(duty[1]) == 3 and (at(1, 9), at(1, 17)) not in duty[1]
    assert (at(5, 10), at(5, 14)) in duty[2]


def test_an_absence_on_another_line_leaves_this_line_alone():
    away_elsewhere = ShiftException(1, 2, at(0), at(1), absent=True)
    assert duty_intervals([shift()], [away_elsewhere], at(0), at(1), line_id=1) == {1: [(at(0, 9), at(0, 17))]}


def test_staffing_counts_agents_step_by_step_and_the_line_opens_at_the_first_shift():
    duty = duty_intervals([shift(agent=1), shift(agent=2, start=(13, 0), end=(21, 0))], [], at(0), at(1))
    steps = staffing(duty, at(0), at(1))
    assert steps == [
        ((at(0), at(0, 9)), 0),
        ((at(0, 9), at(0, 13)), 1),
        ((at(0, 13), at(0, 17)), 2),
        ((at(0, 17), at(0, 21)), 1),
        ((at(0, 21), at(1)), 0),
    ]
    assert next_opening(steps, at(0, 3)) == at(0, 9)
    assert next_opening(steps, at(0, 10)) == at(0, 10)
    assert next_opening(steps, at(0, 22)) is None
    assert agent_hours(steps, at(0), at(1)) == 16


intervals = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(1, 200)).map(lambda p: (at(0, p[0]), at(0, p[0] + p[1]))), max_size=8
)


@settings(deadline=None, max_examples=60)
@given(intervals, intervals)
def test_subtracting_leaves_exactly_the_time_not_in_the_holes(base, holes):
    kept = subtract(base, holes)
    assert kept == merge(kept)
    for hour in range(0, 1200):
        moment = at(0, hour) + dt.timedelta(minutes=30)
        inside = any(s <= moment < e for s, e in base) and not any(s <= moment < e for s, e in holes)
        assert inside == any(s <= moment < e for s, e in kept)
