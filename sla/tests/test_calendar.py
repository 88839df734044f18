"""Business-time arithmetic: fixed cases a support manager can check by hand, and properties
that hold for any calendar (random weekly hours, holidays, zones with and without DST)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.calendar import Calendar, add_business_minutes, business_minutes_between, is_working_time, working_spans

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = range(5)
t = dt.time


def local(zone: ZoneInfo, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def hours(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> float:
    return business_minutes_between(calendar, start, end) / 60


@pytest.fixture
def split_shifts() -> Calendar:
    """Consultants with a lunch break: 10:00-13:00 and 14:00-18:00 Moscow, weekdays."""
    return Calendar(time_zone="Europe/Moscow", weekly={day: [(t(10), t(13)), (t(14), t(18))] for day in WEEKDAYS})


# --- fixed cases ----------------------------------------------------------------------


def test_friday_evening_request_is_due_on_monday_morning(split_shifts):
    friday_17 = local(MSK, 2026, 3, 6, 17, 0)
    assert friday_17.weekday() == 4
    due = add_business_minutes(split_shifts, friday_17, 120)
    assert due == local(MSK, 2026, 3, 9, 11, 0)
    assert due.tzinfo == dt.UTC
    assert business_minutes_between(split_shifts, friday_17, due) == 120


def test_request_during_lunch_starts_counting_after_lunch(split_shifts):
    lunch = local(MSK, 2026, 3, 4, 13, 30)
    assert add_business_minutes(split_shifts, lunch, 30) == local(MSK, 2026, 3, 4, 14, 30)
    assert not is_working_time(split_shifts, lunch)
    assert is_working_time(split_shifts, local(MSK, 2026, 3, 4, 14, 0))
    assert business_minutes_between(split_shifts, local(MSK, 2026, 3, 4, 12, 0), local(MSK, 2026, 3, 4, 15, 0)) == 120


def test_a_whole_working_day_has_seven_hours(split_shifts):
    assert hours(split_shifts, local(MSK, 2026, 3, 4, 0, 0), local(MSK, 2026, 3, 5, 0, 0)) == 7
    assert hours(split_shifts, local(MSK, 2026, 3, 7, 0, 0), local(MSK, 2026, 3, 9, 0, 0)) == 0  # weekend


def test_holidays_are_skipped(split_shifts):
    # 2026-03-09 (Monday) is a public holiday: Friday 17:00 + 120 minutes moves to Tuesday.
    calendar = Calendar(
        time_zone=split_shifts.time_zone, weekly=split_shifts.weekly, holidays=frozenset({dt.date(2026, 3, 9)})
    )
    friday_17 = local(MSK, 2026, 3, 6, 17, 0)
    assert add_business_minutes(calendar, friday_17, 120) == local(MSK, 2026, 3, 10, 11, 0)
    assert hours(calendar, local(MSK, 2026, 3, 9, 0, 0), local(MSK, 2026, 3, 10, 0, 0)) == 0
    assert not is_working_time(calendar, local(MSK, 2026, 3, 9, 11, 0))


def test_an_interval_ending_at_midnight_runs_to_the_end_of_the_day():
    evening = Calendar(time_zone="Europe/Moscow", weekly={day: [(t(18), t(0))] for day in range(7)})
    assert hours(evening, local(MSK, 2026, 3, 4, 0, 0), local(MSK, 2026, 3, 5, 0, 0)) == 6
    assert add_business_minutes(evening, local(MSK, 2026, 3, 4, 23, 0), 60) == local(MSK, 2026, 3, 5, 0, 0)
    assert add_business_minutes(evening, local(MSK, 2026, 3, 4, 23, 0), 61) == local(MSK, 2026, 3, 5, 18, 1)
    assert is_working_time(evening, local(MSK, 2026, 3, 4, 23, 59, 59))
    assert not is_working_time(evening, local(MSK, 2026, 3, 5, 0, 0))


def test_round_the_clock_counts_calendar_time():
    always = Calendar.twenty_four_seven("Europe/Moscow")
    start = local(MSK, 2026, 3, 7, 3, 15)  # a Saturday night
    assert add_business_minutes(always, start, 90) == start + dt.timedelta(minutes=90)
    assert business_minutes_between(always, start, start + dt.timedelta(days=2)) == 2 * 24 * 60
    assert is_working_time(always, start)


def test_daylight_saving_days_have_23_and_25_hours():
    whole_days = Calendar(time_zone="Europe/Berlin", weekly={day: [(t(0), t(0))] for day in range(7)})
    spring, autumn = dt.date(2026, 3, 29), dt.date(2026, 10, 25)

    def day_hours(calendar, day):
        start = dt.datetime.combine(day, t(0), tzinfo=BERLIN)
        end = dt.datetime.combine(day + dt.timedelta(days=1), t(0), tzinfo=BERLIN)
        return hours(calendar, start, end)

    assert day_hours(whole_days, spring) == 23
    assert day_hours(whole_days, autumn) == 25
    assert day_hours(whole_days, dt.date(2026, 3, 28)) == 24
    office = Calendar(time_zone="Europe/Berlin", weekly={day: [(t(9), t(18))] for day in range(7)})
    assert day_hours(office, spring) == 9
    assert day_hours(office, autumn) == 9
    night = Calendar(time_zone="Europe/Berlin", weekly={6: [(t(1), t(4))]})
    assert day_hours(night, spring) == 2  # 01:00 CET to 04:00 CEST
    # 23 hours of round-the-clock work from Sunday 00:00 end at Monday 00:00.
    start = dt.datetime.combine(spring, t(0), tzinfo=BERLIN)
    assert add_business_minutes(whole_days, start, 23 * 60) == local(BERLIN, 2026, 3, 30, 0, 0)


def test_a_reversed_or_empty_range_has_no_business_minutes(split_shifts):
    start, end = local(MSK, 2026, 3, 4, 10, 0), local(MSK, 2026, 3, 5, 10, 0)
    assert business_minutes_between(split_shifts, end, start) == 0
    assert business_minutes_between(split_shifts, start, start) == 0
    assert list(working_spans(split_shifts, end, start)) == []


def test_negative_minutes_and_calendars_without_hours_are_refused(split_shifts):
    with pytest.raises(ValueError):
        add_business_minutes(split_shifts, local(MSK, 2026, 3, 4, 10, 0), -1)
    with pytest.raises(ValueError):
        add_business_minutes(Calendar(time_zone="UTC"), dt.datetime(2026, 3, 4, tzinfo=dt.UTC), 10)


def test_an_interval_ending_inside_the_spring_forward_gap_is_not_counted_twice():
    # Sunday 2026-03-29 in Berlin: clocks jump from 02:00 to 03:00, so 02:30 never happens.
    # Working 00:00-02:30 and 03:00-06:00 is at most the 5 real hours from midnight to 06:00.
    calendar = Calendar(time_zone="Europe/Berlin", weekly={6: [(t(0), t(2, 30)), (t(3), t(6))]})
    start = local(BERLIN, 2026, 3, 29, 0, 0)
    end = local(BERLIN, 2026, 3, 29, 6, 0)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=5)
    assert hours(calendar, start, end) <= 5
    due = add_business_minutes(calendar, start, 160)
    assert business_minutes_between(calendar, start, due) == 160


# --- properties -----------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Europe/Moscow", "Asia/Tokyo", "UTC"]
QUARTER_HOURS = [t(h, m) for h in range(24) for m in (0, 15, 30, 45)]
# Wall times strictly inside a DST gap (02:00-03:00 in Berlin and New York) are covered by
# the gap test above; the properties take interval bounds outside it.
BOUNDS = [point for point in QUARTER_HOURS if not t(2) < point < t(3)]


@st.composite
def day_intervals(draw) -> list[tuple[dt.time, dt.time]]:
    """Up to three sorted, non-overlapping intervals of one day; the last may end at midnight
    (time(0) as a start is the beginning of the day, as an end the end of it)."""
    points = sorted(draw(st.sets(st.sampled_from(BOUNDS), max_size=6)))
    if draw(st.booleans()):
        points.append(t(0))
    if len(points) % 2:
        points.pop(0)
    return list(zip(points[::2], points[1::2], strict=True))


def week_minutes(weekly) -> float:
    def length(begin, end):
        span = dt.datetime.combine(dt.date(2026, 1, 1), end) - dt.datetime.combine(dt.date(2026, 1, 1), begin)
        return (span.total_seconds() if end != t(0) else 86400 + span.total_seconds()) / 60

    return sum(length(begin, end) for spans in weekly.values() for begin, end in spans)


@st.composite
def calendars(draw) -> Calendar:
    zone = draw(st.sampled_from(ZONES))
    if draw(st.integers(0, 9)) == 0:
        return Calendar.twenty_four_seven(zone)
    weekly = {day: spans for day in range(7) if (spans := draw(day_intervals()))}
    # A target of 20,000 minutes must fit in the three years the arithmetic looks ahead.
    if week_minutes(weekly) < 180:
        weekly[2] = [(t(9), t(18))]
    holidays = draw(
        st.frozensets(st.dates(min_value=dt.date(2025, 12, 1), max_value=dt.date(2027, 6, 30)), max_size=20)
    )
    return Calendar(time_zone=zone, weekly=weekly, holidays=holidays)


# DST switches of 2026: New York in March and November, Berlin in March and October.
DST_SWITCHES = [dt.datetime(2026, month, day, 12, tzinfo=dt.UTC) for month, day in ((3, 8), (3, 29), (10, 25), (11, 1))]
# Hypothesis takes naive bounds and attaches the zone itself.
instants = st.one_of(
    st.datetimes(
        min_value=dt.datetime(2026, 1, 1, tzinfo=dt.UTC).replace(tzinfo=None),
        max_value=dt.datetime(2027, 1, 1, tzinfo=dt.UTC).replace(tzinfo=None),
        timezones=st.just(dt.UTC),
    ),
    st.builds(
        lambda switch, seconds: switch + dt.timedelta(seconds=seconds),
        st.sampled_from(DST_SWITCHES),
        st.integers(-3 * 86400, 86400),
    ),
)
minutes = st.one_of(
    st.integers(0, 20000), st.floats(min_value=0.001, max_value=20000, allow_nan=False, allow_infinity=False)
)
PROPERTIES = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTIES
@given(calendar=calendars(), start=instants, amount=minutes)
def test_measuring_what_was_added_gives_it_back(calendar, start, amount):
    due = add_business_minutes(calendar, start, amount)
    assert due >= start
    assert business_minutes_between(calendar, start, due) == pytest.approx(amount, abs=1e-6)


@PROPERTIES
@given(calendar=calendars(), start=instants, amount=minutes)
def test_a_deadline_falls_in_working_time_or_at_the_end_of_an_interval(calendar, start, amount):
    due = add_business_minutes(calendar, start, amount)
    if amount > 0:
        assert is_working_time(calendar, due - dt.timedelta(microseconds=1))


@PROPERTIES
@given(calendar=calendars(), start=instants, first=minutes, second=minutes)
def test_adding_more_minutes_never_gives_an_earlier_deadline(calendar, start, first, second):
    smaller, larger = sorted((first, second))
    assert add_business_minutes(calendar, start, smaller) <= add_business_minutes(calendar, start, larger)
