"""The working day's load benchmark (`python -m bench day`): its mix and the reading of locust's results.

Only the pure parts: the mix, the CSV parsing, the verdict and the limit. No load is run here."""

import re
from pathlib import Path

from bench import day_mix
from bench.day_mix import Stat, limit, over_goal, parse_failures, parse_stats, stats_row, verdict

LOCUSTFILE = Path(__file__).resolve().parents[1] / "bench" / "day_locustfile.py"

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
STATS_CSV = "\n".join(
    [
        HEADER,
        "GET,panel: ticket list,120,0,45,52.3,20.1,310.7,8000,2.0,0.0,45,50,55,60,80,110,150,190,300,310,310",
        "POST,desk: take next,30,2,70,80.0,40.0,900.2,0,0.5,0.03,70,75,80,85,120,400,800,900,900,900,900",
        "GET,help: section,0,0,0,0.0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A",
        ",Aggregated,150,2,50,57.8,20.1,900.2,6400,2.5,0.03,50,55,60,65,90,150,400,800,900,900,900",
    ]
)


def stat(**overrides) -> Stat:
    values = {
        "method": "",
        "name": "Aggregated",
        "requests": 100,
        "failures": 0,
        "rps": 10.0,
        "p50_ms": 40.0,
        "p95_ms": 120.0,
        "p99_ms": 180.0,
        "max_ms": 300.0,
    }
    return Stat(**{**values, **overrides})


def test_the_users_weights_are_parts_of_a_hundred_and_every_kind_has_positive_task_weights():
    assert sum(day_mix.USER_WEIGHTS.values()) == 100
    assert set(day_mix.TASK_WEIGHTS) == set(day_mix.USER_WEIGHTS)
    for kind, tasks in day_mix.TASK_WEIGHTS.items():
        assert tasks, kind
        assert all(isinstance(weight, int) and weight > 0 for weight in tasks.values()), kind
    assert all(weight > 0 for weight in day_mix.USER_WEIGHTS.values())
    low, high = day_mix.THINK_SECONDS
    assert 0 < low <= high


def test_the_locustfile_defines_every_kind_of_user_and_uses_every_task_weight_of_the_mix():
    # Read as text: importing locust would patch the standard library for gevent inside the test run.
    source = LOCUSTFILE.read_text()
    classes = set(re.findall(r"^class (\w+)\(DayUser\):", source, re.MULTILINE))
    assert classes == set(day_mix.USER_WEIGHTS)
    used = set(re.findall(r'@task\(weights\("(\w+)"\)\["(\w+)"\]\)', source))
    wanted = {(kind, name) for kind, tasks in day_mix.TASK_WEIGHTS.items() for name in tasks}
    assert used == wanted
    for kind in classes:
        assert f'weight = USER_WEIGHTS["{kind}"]' in source


def test_locust_stats_are_read_per_request_type_with_the_aggregate_apart():
    rows, aggregate = parse_stats(STATS_CSV)
    assert [row.name for row in rows] == ["desk: take next", "help: section", "panel: ticket list"]
    take = rows[0]
    assert (take.method, take.requests, take.failures) == ("POST", 30, 2)
    assert (take.p50_ms, take.p95_ms, take.p99_ms, take.max_ms) == (70.0, 400.0, 900.0, 900.2)
    assert take.rps == 0.5
    # "N/A" percentiles of a type without requests read as zero.
    assert rows[1].requests == 0 and rows[1].p99_ms == 0.0
    assert aggregate.aggregate and aggregate.requests == 150 and aggregate.p99_ms == 800.0


def test_stats_without_an_aggregate_row_are_refused():
    try:
        parse_stats(HEADER + "\nGET,x,1,0,1,1,1,1,1,1,0,1,1,1,1,1,1,1,1,1,1,1\n")
    except ValueError as error:
        assert "Aggregated" in str(error)
    else:
        raise AssertionError("accepted stats without an aggregate")


def test_failures_are_read_most_frequent_first():
    text = (
        "Method,Name,Error,Occurrences,First Seen,Last Seen\n"
        "POST,desk: reply,\"CatchResponseError('400 (expected 302)')\",2,1,2\n"
        "GET,panel: home,ConnectionRefusedError(111),7,1,2\n"
    )
    assert parse_failures(text) == [
        ("GET", "panel: home", "ConnectionRefusedError(111)", 7),
        ("POST", "desk: reply", "CatchResponseError('400 (expected 302)')", 2),
    ]


def test_a_run_holds_only_without_errors_and_with_p99_under_the_goal():
    assert verdict(stat()) == (True, [])
    assert verdict(stat(p99_ms=200.0)) == (False, ["p99 200 ms"])
    assert verdict(stat(failures=3)) == (False, ["3 errors"])
    assert verdict(stat(failures=1, p99_ms=450.0)) == (False, ["1 errors", "p99 450 ms"])
    assert verdict(stat(requests=0, p99_ms=0.0)) == (False, ["no requests"])
    assert verdict(stat(p99_ms=250.0), goal_ms=300.0) == (True, [])


def test_the_limit_is_the_last_step_that_held_before_the_first_that_broke():
    ok, slow, failing = stat(), stat(p99_ms=350.0), stat(failures=1)
    assert limit([(20, ok), (40, ok), (80, slow)]) == (40, 80)
    assert limit([(20, ok), (40, failing), (80, ok)]) == (20, 40)
    assert limit([(20, slow)]) == (None, 20)
    assert limit([(20, ok), (40, ok)]) == (40, None)
    assert limit([]) == (None, None)


def test_request_types_over_the_goal_and_table_rows():
    rows, aggregate = parse_stats(STATS_CSV)
    assert [row.name for row in over_goal(rows)] == ["desk: take next"]
    assert stats_row(rows[0]) == ["POST desk: take next", "0.50", "70", "400", "900", "900", "2 of 30"]
    assert stats_row(aggregate)[0] == "**all requests**"
    assert len(stats_row(aggregate)) == len(day_mix.STATS_COLUMNS)


def test_the_limit_is_described_with_what_took_the_cpu():
    from bench.day import Run, describe_limit

    def run(users, aggregate, cpu):
        return Run(users, 30, [], aggregate, [], cpu, 97.0, "1.00/1.00/1.00", "2.00/1.00/1.00", "locust ...")

    steps = [
        run(20, stat(rps=8.0, p99_ms=150.0), {"web": 60.0, "postgresql": 20.0}),
        run(40, stat(rps=12.0, p99_ms=420.0), {"web": 150.0, "postgresql": 30.0, "locust": 10.0}),
    ]
    text = describe_limit(steps)
    assert "held 20 users (8.0 req/s, p99 150 ms)" in text
    assert "at 40 users (12.0 req/s) it broke (p99 420 ms)" in text
    assert "using 190% of one core (the most: web, 150%)" in text
    assert "Every step held" in describe_limit(steps[:1])
    assert describe_limit([]) == "No step run."


def test_a_step_run_stops_only_when_the_deployment_is_overrun():
    assert not day_mix.overrun(stat(p99_ms=900.0))  # past the goal, not overrun: the steps go on
    assert not day_mix.overrun(stat(requests=100, failures=5))
    assert day_mix.overrun(stat(requests=100, failures=6))
    assert day_mix.overrun(stat(p99_ms=day_mix.OVERRUN_P99_MS + 1))
    assert day_mix.overrun(stat(requests=0, p99_ms=0.0))


def test_the_peak_is_the_most_requests_a_second_of_a_step_without_errors():
    steps = [(10, stat(rps=5.0)), (20, stat(rps=9.0)), (40, stat(rps=12.0, failures=1)), (80, stat(rps=8.5))]
    assert day_mix.peak(steps) == (20, 9.0)
    assert day_mix.peak([(10, stat(failures=2))]) is None


def test_cpu_per_request_from_a_share_of_a_core_and_the_rate():
    assert day_mix.cpu_ms_per_request(50.0, 10.0) == 50.0  # half a core at 10 req/s: 50 ms each
    assert day_mix.cpu_ms_per_request(150.0, 30.0) == 50.0
    assert day_mix.cpu_ms_per_request(20.0, 0.0) == 0.0
