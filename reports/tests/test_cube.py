"""Local days across DST changes, the refresh of changed days only, and the overtaking measure."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from queues.tests.factories import LineFactory
from reports import cube, selectors
from reports.facts import Event, Stint
from reports.fairness import overtaking
from reports.models import DailyStats, RefreshState
from reports.selectors import Filters
from tickets import events
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def berlin(*args, fold=0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN, fold=fold)


def test_days_and_hours_follow_the_local_clock_across_both_dst_changes(settings, manager):
    settings.TIME_ZONE = "Europe/Berlin"
    line = LineFactory(code="dst")
    for moment in (
        berlin(2026, 3, 28, 23, 30),  # Saturday, 22:30 UTC
        berlin(2026, 3, 29, 1, 30),  # Sunday before the jump (CET)
        berlin(2026, 3, 29, 3, 30),  # an hour of wall time later, after the jump (CEST)
        berlin(2026, 3, 29, 23, 30),
        berlin(2026, 3, 30, 0, 30),  # Monday local, still Sunday in UTC
        berlin(2026, 10, 25, 2, 30),  # Sunday, the first 02:30 (CEST)
        berlin(2026, 10, 25, 2, 30, fold=1),  # the second 02:30 (CET), an hour later
    ):
        TicketFactory(line=line, created_at=moment.astimezone(UTC))
    with time_machine.travel(dt.datetime(2026, 11, 2, 12, tzinfo=UTC), tick=False):
        cube.rebuild(since=dt.date(2026, 3, 27))
        march = selectors.heatmap(user=manager, filters=Filters(start=dt.date(2026, 3, 29), end=dt.date(2026, 3, 29)))
        october = selectors.heatmap(
            user=manager, filters=Filters(start=dt.date(2026, 10, 25), end=dt.date(2026, 10, 25))
        )
        spring_day = cube.day_bounds(dt.date(2026, 3, 29))
    # The spring-forward Sunday is 23 hours long and holds the three tickets of its local day.
    assert spring_day[1] - spring_day[0] == dt.timedelta(hours=23)
    assert march["total"] == 3
    assert [hour for hour, n in enumerate(march["grid"][6]) if n] == [1, 3, 23]
    # Both 02:30s of the fall-back night are in the 02:00 hour of that Sunday.
    assert october["grid"][6][2] == 2 and october["total"] == 2
    days = sorted(set(DailyStats.objects.filter(agent__isnull=True).values_list("created_day", flat=True)))
    assert days == [dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 3, 30), dt.date(2026, 10, 25)]


def test_refresh_recomputes_only_the_days_that_changed(settings, manager):
    settings.TIME_ZONE = "Europe/Moscow"
    line = LineFactory(code="refresh")
    old = TicketFactory(line=line, created_at=dt.datetime(2026, 5, 1, 9, tzinfo=UTC))
    TicketFactory(line=line, created_at=dt.datetime(2026, 5, 2, 9, tzinfo=UTC))
    with time_machine.travel(dt.datetime(2026, 5, 10, 9, tzinfo=UTC), tick=False):
        assert cube.refresh()["days"] == 2
        assert cube.refresh()["days"] == 0  # nothing new
        TicketFactory(line=line, created_at=dt.datetime(2026, 5, 3, 9, tzinfo=UTC))
        events.status_changed(old, None, old="waiting_agent", new="resolved")
        done = cube.refresh()
    # The new ticket's day and the day of the ticket that got an event; not 2 May.
    assert done["days"] == 2
    assert RefreshState.objects.get().last_ticket_id > 0
    with time_machine.travel(dt.datetime(2026, 5, 10, 9, tzinfo=UTC), tick=False):
        series = selectors.sla_series(
            user=manager, filters=Filters(start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 10))
        )
    assert sum(row["closed_out"] for row in series["rows"]) == 1


def _assign(at, new, line="l"):
    return Event("assign", at, None, True, {"new": new, "line": line})


def _status(at, old, new):
    return Event("status", at, None, True, {"old": old, "new": new})


def test_overtaking_is_the_gap_between_the_taken_ticket_and_the_oldest_still_waiting():
    t0 = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
    minutes = lambda n: t0 + dt.timedelta(minutes=n)  # noqa: E731
    stints = {1: [Stint(7, minutes(0), None)], 2: [Stint(7, minutes(30), None)], 3: [Stint(7, minutes(50), None)]}
    events = {
        # 3 is taken at 60 while 1 (waiting since 0) and 2 (since 30) wait: 1 was overtaken by 50 minutes.
        3: [_assign(minutes(60), "a"), _status(minutes(60), "new", "in_progress")],
        # 1 is taken at 70, 2 at 80: nobody older waits.
        1: [_assign(minutes(70), "b"), _status(minutes(70), "new", "in_progress")],
        2: [_assign(minutes(80), "c"), _status(minutes(80), "new", "in_progress")],
    }
    result = overtaking(line_id=7, line_code="l", stints=stints, events=events, start=t0, end=minutes(24 * 60))
    assert (result.takes, result.max_seconds, result.ticket_id) == (3, 50 * 60, 1)


def test_a_ticket_waiting_for_the_customer_is_not_overtaken():
    t0 = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
    minutes = lambda n: t0 + dt.timedelta(minutes=n)  # noqa: E731
    stints = {1: [Stint(7, minutes(0), None)], 2: [Stint(7, minutes(30), None)]}
    events = {
        1: [_assign(minutes(5), "a"), _status(minutes(5), "new", "in_progress"), _assign(minutes(10), None),
            _status(minutes(10), "in_progress", "waiting_customer")],
        2: [_assign(minutes(40), "b"), _status(minutes(40), "new", "in_progress")],
    }  # fmt: skip
    result = overtaking(line_id=7, line_code="l", stints=stints, events=events, start=t0, end=minutes(600))
    assert (result.takes, result.max_seconds) == (2, 0)
