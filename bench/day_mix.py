"""The working day's mix and the reading of its results: no Django, no locust.

Shared by the locustfile (`bench/day_locustfile.py`, which runs in locust's own process
under gevent) and the benchmark (`bench/day.py`), and tested on its own
(tests/test_bench_day.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

# Who is on the site at a moment of the day, in parts of 100 simulated users: most are
# customers reading the help centre or the status page, or in their control panel; a fifth
# are agents working the queue; a few chat; managers watch the dashboards.
USER_WEIGHTS: dict[str, int] = {
    "HelpCentreReader": 28,
    "Customer": 28,
    "StatusVisitor": 10,
    "Agent": 22,
    "ChatCustomer": 7,
    "Manager": 5,
}

# What each kind of user does, and how often relative to its other actions.
TASK_WEIGHTS: dict[str, dict[str, int]] = {
    "HelpCentreReader": {"home": 2, "article": 6, "search": 3, "category": 1},
    "Customer": {
        "panel_home": 3,
        "panel_list": 6,
        "panel_ticket": 5,
        "api_list": 2,
        "file_api": 1,
        "file_form": 1,
        "reply": 2,
    },
    "StatusVisitor": {"page": 3, "json": 1},
    "Agent": {
        "desk_home": 3,
        "desk_list": 4,
        "saved_view": 3,
        "take_next": 2,
        "open_ticket": 3,
        "reply": 2,
        "api_list": 1,
    },
    # One task: a whole conversation (start, two messages, read back, close).
    "ChatCustomer": {"conversation": 1},
    "Manager": {"dashboard": 2, "queue": 2, "api_sla": 1, "api_queue": 1},
}

# Seconds a simulated user waits between two actions (uniformly between the two).
THINK_SECONDS = (1.0, 4.0)

GOAL_P99_MS = 200.0


@dataclass(frozen=True)
class Stat:
    """One row of locust's `<prefix>_stats.csv`: a request type, or the aggregate of all."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def aggregate(self) -> bool:
        return self.name == "Aggregated"


def _number(value: str | None) -> float:
    """locust writes "N/A" for a percentile of no requests."""
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def parse_stats(text: str) -> tuple[list[Stat], Stat]:
    """The request types (sorted by name) and the aggregate row of a `_stats.csv`."""
    rows: list[Stat] = []
    aggregate: Stat | None = None
    for record in csv.DictReader(io.StringIO(text)):
        stat = Stat(
            method=record.get("Type") or "",
            name=record["Name"],
            requests=int(_number(record.get("Request Count"))),
            failures=int(_number(record.get("Failure Count"))),
            rps=_number(record.get("Requests/s")),
            p50_ms=_number(record.get("50%")),
            p95_ms=_number(record.get("95%")),
            p99_ms=_number(record.get("99%")),
            max_ms=_number(record.get("Max Response Time")),
        )
        if stat.aggregate:
            aggregate = stat
        else:
            rows.append(stat)
    if aggregate is None:
        raise ValueError("no Aggregated row in locust's stats CSV")
    return sorted(rows, key=lambda stat: stat.name), aggregate


def parse_failures(text: str) -> list[tuple[str, str, str, int]]:
    """(method, name, error, occurrences) of a `_failures.csv`, most frequent first."""
    found = [
        (
            record.get("Method", ""),
            record.get("Name", ""),
            record.get("Error", ""),
            int(_number(record.get("Occurrences"))),
        )
        for record in csv.DictReader(io.StringIO(text))
    ]
    return sorted(found, key=lambda row: -row[3])


def verdict(aggregate: Stat, goal_ms: float = GOAL_P99_MS) -> tuple[bool, list[str]]:
    """Whether a run held: some requests, none failed, p99 of all requests under the goal."""
    reasons = []
    if aggregate.requests == 0:
        reasons.append("no requests")
    if aggregate.failures:
        reasons.append(f"{aggregate.failures} errors")
    if aggregate.p99_ms >= goal_ms:
        reasons.append(f"p99 {aggregate.p99_ms:.0f} ms")
    return not reasons, reasons


def over_goal(rows: Sequence[Stat], goal_ms: float = GOAL_P99_MS) -> list[Stat]:
    """The request types whose own p99 is at or over the goal, slowest first."""
    return sorted((stat for stat in rows if stat.requests and stat.p99_ms >= goal_ms), key=lambda stat: -stat.p99_ms)


def limit(steps: Sequence[tuple[int, Stat]], goal_ms: float = GOAL_P99_MS) -> tuple[int | None, int | None]:
    """(the most users that held, the fewest that broke) of a step run, in the order run.

    The steps go up; the first step that broke ends the search (later steps do not count as
    held even if they happened to pass)."""
    held = None
    for users, aggregate in steps:
        if verdict(aggregate, goal_ms)[0]:
            held = users
        else:
            return held, users
    return held, None


# A step run goes on past the goal, to find where throughput stops growing, and stops when
# the deployment is overrun: more than this share of requests failed, or p99 past this.
OVERRUN_ERROR_SHARE = 0.05
OVERRUN_P99_MS = 15_000.0


def overrun(aggregate: Stat) -> bool:
    """Whether a step overran the deployment, so that more users would only measure the failure."""
    if aggregate.requests == 0:
        return True
    return aggregate.failures / aggregate.requests > OVERRUN_ERROR_SHARE or aggregate.p99_ms > OVERRUN_P99_MS


def peak(steps: Sequence[tuple[int, Stat]]) -> tuple[int, float] | None:
    """(users, req/s) of the step with the most requests a second that failed none, if any."""
    clean = [(users, stat.rps) for users, stat in steps if stat.requests and not stat.failures]
    return max(clean, key=lambda pair: pair[1]) if clean else None


def cpu_ms_per_request(share_percent: float, rps: float) -> float:
    """CPU milliseconds per request of a part that used `share_percent` of one core at `rps`."""
    return 10.0 * share_percent / rps if rps else 0.0


def stats_row(stat: Stat) -> list[str]:
    """A table row: request, req/s, p50, p95, p99, max, errors of requests."""
    label = "**all requests**" if stat.aggregate else f"{stat.method} {stat.name}".strip()
    return [
        label,
        f"{stat.rps:.2f}",
        f"{stat.p50_ms:.0f}",
        f"{stat.p95_ms:.0f}",
        f"{stat.p99_ms:.0f}",
        f"{stat.max_ms:.0f}",
        f"{stat.failures} of {stat.requests:,}",
    ]


STATS_COLUMNS = ("request", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors")
