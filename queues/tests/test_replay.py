"""The trace replay: files, the generator, and a day replayed through the services."""

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command

from queues import replay
from queues.models import Boost, Line
from queues.selectors import line_measurements
from shifts import policy as shift_policy
from tickets.models import EventKind, Status, Ticket, TicketEvent

DAY = replay.TraceConfig(requests_per_month=2500, days=1, customers=300, seed=4, agents=6, sick_days=0)


@pytest.fixture(scope="module")
def day_roster():
    return replay.make_roster(DAY)


@pytest.fixture(scope="module")
def day_trace(day_roster):
    return replay.make_trace(DAY, day_roster)


def test_the_trace_and_the_roster_survive_a_round_trip(tmp_path, day_trace, day_roster):
    replay.write_trace(tmp_path / "trace.csv", day_trace)
    replay.write_roster(tmp_path / "roster.csv", day_roster)
    trace = replay.read_trace(tmp_path / "trace.csv")
    assert [r.arrival for r in trace] == [r.arrival.replace(microsecond=0) for r in day_trace]
    assert [(r.customer, r.urgency, r.boost) for r in trace] == [(r.customer, r.urgency, r.boost) for r in day_trace]
    assert [r.handling_minutes for r in trace] == pytest.approx([r.handling_minutes for r in day_trace], abs=0.01)
    assert replay.read_roster(tmp_path / "roster.csv") == day_roster


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-11-02T10:00:00,1,2020-01-01,0,1,0,0,0,normal,10,,", "UTC offset"),
        ("2026-11-02T10:00:00+03:00,1,2020-01-01,0,1,0,0,0,urgent,10,,", "unknown urgency"),
        ("2026-11-02T10:00:00+03:00,1,2020-01-01,0,1,0,0,0,normal,10,sideways,5", "unknown boost"),
    ],
)
def test_a_bad_trace_row_is_named(tmp_path, row, message):
    path = tmp_path / "trace.csv"
    path.write_text(",".join(replay.TRACE_COLUMNS) + "\n" + row + "\n", encoding="utf-8")
    with pytest.raises(replay.TraceError, match=f"row 2: .*{message}"):
        replay.read_trace(path)


def test_a_trace_without_a_column_is_refused(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("arrival,customer\n2026-11-02T10:00:00+03:00,1\n", encoding="utf-8")
    with pytest.raises(replay.TraceError, match="missing columns"):
        replay.read_trace(path)


def test_the_generated_roster_covers_every_hour_and_the_trace_has_the_utilisation_asked_for():
    config = replay.TraceConfig(days=7, customers=300, sick_days=0)
    roster = replay.make_roster(config)
    start, end = replay.START, replay.START + dt.timedelta(days=7)
    shifts, exceptions = replay.roster_records(roster)
    steps = shift_policy.staffing(shift_policy.duty_intervals(shifts, exceptions, start, end, line_id=1), start, end)
    assert min(n for _span, n in steps) >= 1
    # The day shift, which sees most arrivals, has the most agents.
    agents = {name: len({r.agent for r in roster if r.agent.startswith(name)}) for name, _s, _e in replay.SHIFTS}
    assert agents["day"] > agents["evening"] > agents["night"] >= 2
    trace = replay.make_trace(config, roster)
    handled = sum(r.handling_minutes for r in trace)
    assert handled / replay.rostered_minutes(roster, start, end) == pytest.approx(0.85, abs=0.005)
    assert replay.make_trace(config, roster) == trace  # the same seed, the same trace


def test_the_command_writes_a_generated_trace_and_roster(tmp_path):
    call_command(
        "simulate_queue",
        "--generate-trace",
        str(tmp_path / "t.csv"),
        "--generate-roster",
        str(tmp_path / "r.csv"),
        "--days",
        "2",
        "--customers",
        "100",
        stdout=open(tmp_path / "out.txt", "w"),  # noqa: SIM115 - closed with the test's directory
    )
    assert len(replay.read_trace(tmp_path / "t.csv")) > 100
    assert {r.kind for r in replay.read_roster(tmp_path / "r.csv")} >= {replay.SHIFT}


@pytest.mark.django_db
def test_a_day_replayed_through_the_services(day_trace, day_roster, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "replay"}}
    result = replay.replay(day_trace, day_roster)
    line = Line.objects.get(code=replay.LINE_CODE)

    # Every ticket taken, always the smallest order key, none overtaken beyond the bound.
    assert len(result.tickets) == len(day_trace) > 50
    assert all(r.taken_at is not None for r in result.tickets)
    assert result.takes == len(day_trace)
    assert TicketEvent.objects.filter(kind=EventKind.ASSIGN).exclude(data__new=None).count() == len(day_trace)
    assert not Ticket.objects.exclude(status=Status.RESOLVED).exists()
    assert result.takes_not_smallest_key == 0
    assert max(result.overtaken_by) <= result.max_credit
    assert Boost.objects.count() == result.boosts_bought
    assert result.utilisation > 0.5

    # The handling time the estimate measures from the audit trail is the trace's.
    measured = line_measurements(line=line, now=day_trace[-1].arrival + dt.timedelta(hours=6))
    assert measured.takes == len(day_trace)
    mean = sum(r.handling_minutes for r in day_trace) / len(day_trace)
    assert measured.handling_minutes == pytest.approx(mean, rel=0.01)

    # Every ticket that waits is shown an estimate on queueing, and looked at again later.
    waited = {i for i, r in enumerate(result.tickets) if r.taken_at > r.queued_at}
    at_queueing = {e.ticket for e in result.estimates if e.at_queueing}
    assert waited and at_queueing == waited
    later = [e for e in result.estimates if not e.at_queueing]
    assert later and all(result.tickets[e.ticket].taken_at >= e.at for e in later)
    report = replay.format_replay(result, command="python manage.py simulate_queue", trace_name="t", roster_name="r")
    assert "every take took the smallest key: yes" in report
    assert "| queue model | on queueing |" in report and "| measured pace (before) | both |" in report
    assert "| boosting |" in report


def test_the_calibration_counts_a_wait_inside_below_and_above_the_range():
    at = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
    row = replay.TraceRow(at, "1", dt.date(2020, 1, 1), 0, 1, False, False, 0, "normal", 10)
    tickets = [
        replay.Replayed(row=row, ticket_id=i, queued_at=at, taken_at=at + dt.timedelta(minutes=m))
        for i, m in enumerate((5, 20, 40))
    ]
    estimates = [
        replay.Estimate(ticket=i, at=at, at_queueing=True, position=7, low=10, high=20, probability=0.7, closed=False)
        for i in range(3)
    ]
    c = replay.calibration(replay.ReplayResult(tickets=tickets, estimates=estimates), at_queueing=True)
    assert (c.shown, c.inside, c.below, c.above) == (
        3,
        pytest.approx(1 / 3),
        pytest.approx(1 / 3),
        pytest.approx(1 / 3),
    )
    assert (c.within_double, c.median_ratio, c.stated) == (1.0, 2.0, pytest.approx(0.7))


def test_the_month_in_the_repository_is_the_generators(tmp_path):
    # docs/queue.md's figures come from these files; regenerating them gives the same rows.
    here = Path(__file__).resolve().parents[1] / "traces"
    roster = replay.make_roster(replay.TraceConfig())
    assert replay.read_roster(here / "month-roster.csv") == roster
    replay.write_trace(tmp_path / "month.csv", replay.make_trace(replay.TraceConfig(), roster))
    assert (tmp_path / "month.csv").read_text(encoding="utf-8") == (here / "month.csv").read_text(encoding="utf-8")
