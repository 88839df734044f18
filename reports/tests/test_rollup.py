"""The monthly roll-up and the per-agent table: a period read from whole months and edge days sums
exactly what its daily rows sum, whatever the period's edges."""

import datetime as dt
import random

import pytest
import time_machine

from accounts.tests.factories import AgentFactory
from queues.tests.factories import LineFactory
from reports import buckets, cube, selectors
from reports.models import AgentDailyStats, AgentMonthlyStats, DailyLineTime, DailyStats, MonthlyLineTime, MonthlyStats
from reports.selectors import Filters, Piece, pieces
from reports.tests.conftest import DAY, at, msk
from tickets import services

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 5, 17)
FIRST_DAY = dt.date(2025, 12, 20)


def test_a_year_reads_whole_months_and_takes_away_the_few_days_before_its_start():
    found = pieces(dt.date(2025, 5, 10), TODAY, today=TODAY, months=True)
    # May 2025 less its first 9 days (fewer than the 22 inside); the current month is whole:
    # its stored days end yesterday.
    assert found == [
        Piece(True, ((dt.date(2025, 5, 1), dt.date(2026, 5, 1)),)),
        Piece(False, ((dt.date(2025, 5, 1), dt.date(2025, 5, 9)),), -1),
    ]


def test_partial_months_read_whichever_is_fewer_days():
    # 3 days of January are fewer than the 28 outside them: read as days; February whole.
    assert pieces(dt.date(2026, 1, 29), dt.date(2026, 2, 28), today=TODAY, months=True) == [
        Piece(True, ((dt.date(2026, 2, 1), dt.date(2026, 2, 1)),)),
        Piece(False, ((dt.date(2026, 1, 29), dt.date(2026, 1, 31)),)),
    ]
    # Inside one month, the month less both ends.
    assert pieces(dt.date(2026, 3, 2), dt.date(2026, 3, 30), today=TODAY, months=True) == [
        Piece(True, ((dt.date(2026, 3, 1), dt.date(2026, 3, 1)),)),
        Piece(False, ((dt.date(2026, 3, 1), dt.date(2026, 3, 1)), (dt.date(2026, 3, 31), dt.date(2026, 3, 31))), -1),
    ]
    # Today is never stored; a period of today alone reads nothing stored.
    assert pieces(TODAY, TODAY, today=TODAY, months=True) == []
    assert pieces(dt.date(2026, 3, 5), dt.date(2026, 3, 9), today=TODAY, months=False) == [
        Piece(False, ((dt.date(2026, 3, 5), dt.date(2026, 3, 9)),))
    ]


def _random_rows(rng: random.Random, lines, agents) -> None:
    """Random daily rows from FIRST_DAY to yesterday, with and without an agent."""
    stats, agent_stats, line_time = [], [], []
    plain = [f.attname for f in DailyStats._meta.concrete_fields if f.get_internal_type() in ("IntegerField",)]
    plain += ["first_response_seconds", "resolution_seconds", "handling_seconds"]
    day = FIRST_DAY
    while day < TODAY:
        for _ in range(rng.randint(0, 4)):
            created_day = day - dt.timedelta(days=rng.choice((0, 0, 1, 3, 20)))
            dims = {
                "day": day,
                "created_day": created_day,
                "line_id": rng.choice(lines).id,
                "plan_id": None,
                "urgency": rng.choice(("normal", "high")),
                "channel": rng.choice(("web", "email")),
                "category": "other",
            }
            values = {name: rng.randint(0, 9) for name in plain}
            values["first_response_hist"] = [rng.randint(0, 3) for _ in range(buckets.SIZE)]
            values["resolution_hist"] = [rng.randint(0, 3) for _ in range(buckets.SIZE)]
            values["created_by_hour"] = [rng.randint(0, 2) for _ in range(24)]
            stats.append(DailyStats(**dims, **values))
            agent_stats.append(AgentDailyStats(**dims, **values, agent_id=rng.choice(agents).id))
            times = {"tickets": rng.randint(1, 5), "seconds": rng.randint(0, 10**6), "breached_tickets": 1}
            line_time.append(DailyLineTime(**dims, **times, breached_seconds=rng.randint(0, 1000)))
            line_time.append(DailyLineTime(**dims, **times, agent_id=rng.choice(agents).id))
        day += dt.timedelta(days=1)
    DailyStats.objects.bulk_create(stats)
    AgentDailyStats.objects.bulk_create(agent_stats)
    DailyLineTime.objects.bulk_create(line_time)


def _daily_only(monkeypatch):
    """Read every period from the daily rows alone, as before the roll-up."""
    real = selectors.pieces
    monkeypatch.setattr(
        selectors, "pieces", lambda first, last, *, today, months: real(first, last, today=today, months=False)
    )


def _comparable(value):
    """Lists of rows in a fixed order (rows that tie keep the database's order)."""
    return sorted(value, key=repr) if isinstance(value, list) else value


def test_rollup_totals_equal_the_daily_sums_for_random_data_and_periods(manager, monkeypatch):
    rng = random.Random(16)
    lines = [LineFactory(code=f"r{n}") for n in range(2)]
    agents = [AgentFactory(username=f"r-agent-{n}") for n in range(2)]
    _random_rows(rng, lines, agents)
    cube.roll_up({dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1),
                  dt.date(2026, 4, 1), dt.date(2026, 5, 1)})  # fmt: skip
    assert MonthlyStats.objects.count() < DailyStats.objects.count() / 4
    assert AgentMonthlyStats.objects.exists() and MonthlyLineTime.objects.exists()
    periods = [(dt.date(2025, 12, 1), TODAY), (FIRST_DAY, TODAY), (dt.date(2026, 1, 31), dt.date(2026, 3, 1))]
    for _ in range(8):
        start = FIRST_DAY + dt.timedelta(days=rng.randint(-5, 140))
        periods.append((start, start + dt.timedelta(days=rng.randint(0, 200))))
    figures = (
        lambda f: selectors.sla_summary(user=manager, filters=f),
        lambda f: selectors.sla_series(user=manager, filters=f),
        lambda f: selectors.line_clocks(user=manager, filters=f),
        lambda f: selectors.monthly(user=manager, filters=f),
        lambda f: selectors.first_level(user=manager, filters=f),
        lambda f: selectors.by_dimension(user=manager, filters=f, dimension="channel"),
    )
    with time_machine.travel(dt.datetime(2026, 5, 17, 12, tzinfo=dt.UTC), tick=False):
        for start, end in periods:
            for extra in ({}, {"line": lines[1].id}, {"agent": agents[0].id}, {"urgency": "high", "channel": "web"}):
                f = Filters(start=start, end=end, **extra)
                with monkeypatch.context() as patch:
                    _daily_only(patch)
                    expected = [_comparable(figure(f)) for figure in figures]
                assert [_comparable(figure(f)) for figure in figures] == expected, (start, end, extra)
        # Rows filed before the first day too (created_day runs up to 20 days before `day`).
        summary = selectors.sla_summary(user=manager, filters=Filters(start=dt.date(2025, 11, 1), end=TODAY))
    assert summary["created"] == sum(DailyStats.objects.values_list("created", flat=True))


def test_the_cube_writes_agent_rows_apart_and_keeps_the_months_in_step(day_of_tickets):
    with at(msk(2026, 3, 5, 12, 0)):
        cube.rebuild(since=DAY)
    assert not DailyStats.objects.filter(agent__isnull=False).exists()
    agent_1 = day_of_tickets["agents"][0]
    # Agent 1 finished A and C; their filing day's rows count them under the agent.
    assert sum(AgentDailyStats.objects.filter(agent=agent_1).values_list("created", flat=True)) == 2
    march = MonthlyStats.objects.filter(created_day=dt.date(2026, 3, 1))
    assert sum(march.values_list("created", flat=True)) == 3
    assert set(march.values_list("day", flat=True)) == {dt.date(2026, 3, 1)}
    # A filing day recomputed later (a new ticket that day) brings its month along.
    day_of_tickets["do"](msk(2026, 3, 2, 17, 0), _file, customer=day_of_tickets["customer"])
    with at(msk(2026, 3, 5, 12, 0)):
        cube.refresh()
    assert sum(MonthlyStats.objects.filter(created_day=dt.date(2026, 3, 1)).values_list("created", flat=True)) == 4
    # The day's change added to the months is what rolling the months up again from the days gives.
    shifted = _monthly_rows()
    cube.roll_up([dt.date(2026, 3, 1)])
    assert shifted == _monthly_rows()
    assert AgentMonthlyStats.objects.filter(agent=agent_1).exists()


def _monthly_rows() -> dict:
    """Every monthly row by its key, rows summing to nothing left out."""
    found = {}
    for model in (MonthlyStats, AgentMonthlyStats, MonthlyLineTime):
        for row in model.objects.values():
            key = (model.__name__, *(row[name] for name in ("day", "created_day", "line_id", "plan_id", "urgency",
                                                            "channel", "category", "agent_id")))  # fmt: skip
            values = {name: value for name, value in row.items() if name not in ("id", *key[1:]) and name[:4] != "day"}
            if any(v != 0 and v != [0] * len(v) if isinstance(v, list) else v for v in values.values()):
                found[key] = values
    return found


def _file(*, customer):
    return services.ticket_create(customer=customer, subject="D", body="Another one.")
