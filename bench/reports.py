"""`reports`: the manager's SLA dashboard and its API over a 12-month period, and one day's recomputation.

Runs against the loaded database (`load` first: a million tickets by default). The daily rows
of the reports are built once for the loaded year (`rebuild_reports`, timed and recorded),
then the dashboard page (`/manage/`) and its API (`/api/v1/reports/sla/`) are requested for
the last 12 months through Django's test client, in this process, signed in as a manager:
the time is Django's whole answer (middleware, view, queries, template), without the network.
The first request after the cache is cleared computes today's live part; the following ones
find it cached (the key holds the newest event, SLA record and ticket, so it stays exact). The
nightly recomputation of one filing day (its rows and its fairness) is timed on days of the
loaded year.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from django.core.cache import cache
from django.db import connection
from django.test import Client

from accounts.models import Role, User
from bench.lists import load_average
from bench.registry import BenchmarkError, Result, register
from reports import cube
from reports.models import (
    AgentDailyStats,
    AgentMonthlyStats,
    DailyFairness,
    DailyFlow,
    DailyLineTime,
    DailyStats,
    MonthlyStats,
)
from tickets.models import Ticket

MANAGER = "bench-manager"
GOAL_P95_MS = 300.0
GOAL_DAY_SECONDS = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reports-requests", type=int, default=40, help="measured requests per address (default 40)")
    parser.add_argument("--reports-days", type=int, default=5, help="filing days recomputed and timed (default 5)")
    parser.add_argument(
        "--reports-rebuild", action="store_true", help="rebuild the daily rows even when they are there"
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def _manager() -> User:
    user, _created = User.objects.get_or_create(username=MANAGER, defaults={"role": Role.MANAGER})
    return user


def _time_requests(client: Client, url: str, count: int) -> tuple[float, list[float]]:
    cache.clear()
    started = time.perf_counter()
    response = client.get(url)
    cold = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchmarkError(f"{url} answered {response.status_code}")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchmarkError(f"{url} answered {response.status_code}")
    return cold, times


@register(
    "reports", title="Manager's reports: 12-month dashboard and one day's recomputation", add_arguments=add_arguments
)
def run(args: argparse.Namespace) -> Result:
    """The SLA dashboard and its API for 12 months at p95, and one day's recomputation."""
    tickets = Ticket.objects.count()
    if tickets < 1000:
        raise BenchmarkError("load tickets first: python -m bench load")
    today = cube.local_today()
    start = today - dt.timedelta(days=364)
    notes = [
        f"{tickets:,} tickets in the database; period {start.isoformat()} to {today.isoformat()} (12 months, "
        "today's part computed live)."
    ]
    rows: list[list] = []
    if args.reports_rebuild or not DailyStats.objects.exists():
        first = cube.local_today(Ticket.objects.order_by("created_at").values_list("created_at", flat=True).first())
        began = time.perf_counter()
        last_report = [began]

        def progress(day: dt.date, written: int) -> None:
            if time.perf_counter() - last_report[0] > 10:
                last_report[0] = time.perf_counter()
                print(f"  rebuilt through {day.isoformat()}: {written:,} rows", flush=True)

        written = cube.rebuild(since=first, progress=progress)
        seconds = time.perf_counter() - began
        days = (today - first).days
        rows.append(["rebuild of the whole history (`rebuild_reports`)", f"{days} days", f"{seconds:.1f} s", "", ""])
        notes.append(f"Rebuilding {days} days wrote {written:,} rows in {seconds:.0f} s.")
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE reports_dailystats; ANALYZE reports_agentdailystats; ANALYZE reports_monthlystats; "
            "ANALYZE reports_agentmonthlystats; ANALYZE reports_dailyflow; ANALYZE reports_dailylinetime; "
            "ANALYZE reports_monthlylinetime"
        )
    sizes = {
        "daily figures": DailyStats.objects.count(),
        "daily figures per agent": AgentDailyStats.objects.count(),
        "monthly figures": MonthlyStats.objects.count(),
        "monthly figures per agent": AgentMonthlyStats.objects.count(),
        "transfers": DailyFlow.objects.count(),
        "time in lines": DailyLineTime.objects.count(),
        "fairness": DailyFairness.objects.count(),
    }
    notes.append("Stored rows: " + ", ".join(f"{name} {count:,}" for name, count in sizes.items()) + ".")

    # One filing day at a time, as the nightly refresh does.
    day_times = []
    for offset in range(args.reports_days):
        day = today - dt.timedelta(days=30 + offset * 7)
        began = time.perf_counter()
        cube.write_cohorts([day], today=today)
        cube.write_fairness([day], today=today)
        day_times.append(time.perf_counter() - began)
    rows.append(
        [
            "recompute one filing day (rows and fairness)",
            f"{len(day_times)} days",
            f"{statistics.median(day_times):.2f} s median",
            f"{max(day_times):.2f} s max",
            "yes" if max(day_times) < GOAL_DAY_SECONDS else "NO",
        ]
    )

    client = Client(SERVER_NAME="localhost")
    client.force_login(_manager())
    query = f"?start={start.isoformat()}&end={today.isoformat()}"
    load_before = load_average()
    for label, url in (
        ("dashboard page `/manage/`", "/manage/" + query),
        ("dashboard API `/api/v1/reports/sla/`", "/api/v1/reports/sla/" + query),
        ("load page `/manage/load/`", "/manage/load/" + query),
    ):
        cold, times = _time_requests(client, url, args.reports_requests)
        p95 = _percentile(times, 0.95)
        rows.append(
            [
                label,
                f"{len(times)} requests",
                f"p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms",
                f"first (live part computed) {cold:.0f} ms",
                "yes" if p95 < GOAL_P95_MS else "NO",
            ]
        )
    notes.append(
        f"Load average of the machine (1, 5, 15 min) before and after the requests: {load_before} and "
        f"{load_average()}, on the cores the database and this process share with other work."
    )
    summary = [
        f"Goals: the 12-month dashboard and its API under {GOAL_P95_MS:.0f} ms at p95, one day's "
        f"recomputation under {GOAL_DAY_SECONDS:.0f} s."
    ]
    return Result(
        columns=("what", "runs", "time", "also", "within the goal"),
        rows=rows,
        notes=notes,
        summary=summary,
    )
