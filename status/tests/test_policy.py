"""The uptime arithmetic: weights, overlaps, maintenance, open outages, and days that are not 24
hours long."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from status.models import ComponentState, Severity
from status.policy import Outage, Window, local_days, mean_ratio, uptime, worst

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_no_outage_is_full_uptime():
    result = uptime(start=at(1), end=at(2), outages=[])
    assert result.measured_seconds == 86400 and result.down_seconds == 0 and result.ratio == 1.0


def test_a_major_outage_counts_whole_a_partial_one_half_degraded_not_at_all():
    day = {"start": at(1), "end": at(2)}
    major = uptime(**day, outages=[Outage(at(1, 10), at(1, 12), Severity.MAJOR)])
    partial = uptime(**day, outages=[Outage(at(1, 10), at(1, 12), Severity.PARTIAL)])
    degraded = uptime(**day, outages=[Outage(at(1, 10), at(1, 12), Severity.DEGRADED)])
    assert major.down_seconds == 7200
    assert partial.down_seconds == 3600
    assert degraded.down_seconds == 0
    assert major.percent == pytest.approx(100 * (1 - 2 / 24))


def test_overlapping_incidents_are_counted_once_at_the_worst_severity():
    outages = [
        Outage(at(1, 10), at(1, 12), Severity.MAJOR),  # 10:00-12:00 major
        Outage(at(1, 11), at(1, 14), Severity.MAJOR),  # overlaps one hour
        Outage(at(1, 13), at(1, 16), Severity.PARTIAL),  # 13-14 under the major, 14-16 half
    ]
    result = uptime(start=at(1), end=at(2), outages=outages)
    # major 10:00-14:00 (4 h), then partial 14:00-16:00 (2 h at half) = 5 h
    assert result.down_seconds == 5 * 3600


def test_maintenance_is_neither_downtime_nor_measured():
    outage = Outage(at(1, 10), at(1, 14), Severity.MAJOR)
    window = Window(at(1, 9), at(1, 12))  # covers the first two hours of the outage
    result = uptime(start=at(1), end=at(2), outages=[outage], maintenance=[window])
    assert result.measured_seconds == 21 * 3600
    assert result.down_seconds == 2 * 3600
    assert result.ratio == pytest.approx(1 - 2 / 21)


def test_an_open_outage_lasts_until_the_end_and_outages_outside_are_ignored():
    result = uptime(
        start=at(1),
        end=at(1, 12),
        outages=[Outage(at(1, 11), None, Severity.MAJOR), Outage(at(2, 1), at(2, 3), Severity.MAJOR)],
    )
    assert result.down_seconds == 3600 and result.measured_seconds == 12 * 3600


def test_an_outage_begun_before_the_period_counts_from_its_start():
    result = uptime(start=at(2), end=at(3), outages=[Outage(at(1, 20), at(2, 2), Severity.MAJOR)])
    assert result.down_seconds == 2 * 3600


def test_all_maintenance_measures_nothing():
    result = uptime(start=at(1), end=at(2), outages=[], maintenance=[Window(at(1) - dt.timedelta(hours=1), at(3))])
    assert result.measured_seconds == 0 and result.ratio is None and result.percent is None


def test_a_period_across_the_spring_change_is_an_hour_shorter_in_real_time():
    # Berlin moves from 02:00 to 03:00 on 29 March 2026: that day has 23 hours.
    start = dt.datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    end = dt.datetime(2026, 3, 30, 0, 0, tzinfo=BERLIN)
    # Local 01:00 to 04:00 is two real hours.
    outage = Outage(
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN), dt.datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN), "major"
    )
    result = uptime(start=start, end=end, outages=[outage])
    assert result.measured_seconds == 23 * 3600
    assert result.down_seconds == 2 * 3600
    assert result.ratio == pytest.approx(1 - 2 / 23)


def test_a_period_across_the_autumn_change_is_an_hour_longer():
    start = dt.datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)
    end = dt.datetime(2026, 10, 26, 0, 0, tzinfo=BERLIN)
    outage = Outage(
        dt.datetime(2026, 10, 25, 1, 0, tzinfo=BERLIN), dt.datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN), "major"
    )
    result = uptime(start=start, end=end, outages=[outage])
    assert result.measured_seconds == 25 * 3600
    assert result.down_seconds == 4 * 3600


def test_ninety_local_days_across_a_change_hold_the_real_hours():
    days = local_days(last_day=dt.date(2026, 4, 30), count=90, zone=BERLIN)
    assert len(days) == 90 and days[0][0] == dt.date(2026, 1, 31) and days[-1][0] == dt.date(2026, 4, 30)
    lengths = {day: (window.end - window.start).total_seconds() / 3600 for day, window in days}
    assert lengths[dt.date(2026, 3, 29)] == 23
    assert sum(lengths.values()) == 90 * 24 - 1
    # Consecutive days touch: nothing is counted twice or lost at midnight.
    assert all(a[1].end == b[1].start for a, b in zip(days, days[1:], strict=False))
    # 90 days with one 6-hour major outage, of which 2 hours inside announced maintenance.
    outage = Outage(
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN), dt.datetime(2026, 3, 29, 8, 0, tzinfo=BERLIN), "major"
    )
    window = Window(dt.datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN), dt.datetime(2026, 3, 29, 8, 0, tzinfo=BERLIN))
    result = uptime(start=days[0][1].start, end=days[-1][1].end, outages=[outage], maintenance=[window])
    assert result.down_seconds == 4 * 3600  # local 01:00-08:00 is six real hours, two of them maintenance
    assert result.measured_seconds == (90 * 24 - 1 - 2) * 3600


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        uptime(start=dt.datetime(2026, 3, 1), end=at(2), outages=[])  # noqa: DTZ001 - naive on purpose


def test_a_service_is_the_mean_of_its_components_and_its_state_the_worst():
    full = uptime(start=at(1), end=at(2), outages=[])
    half = uptime(start=at(1), end=at(2), outages=[Outage(at(1), at(1, 12), Severity.MAJOR)])
    assert mean_ratio([full, half]) == pytest.approx(0.75)
    assert worst([ComponentState.MAINTENANCE, ComponentState.PARTIAL]) == ComponentState.PARTIAL
    assert worst([]) == ComponentState.OPERATIONAL
