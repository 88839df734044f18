"""`sla`: one SLA sweep over a database of a million tickets with a next check ahead, as more of them come due.

The sweep (`sla.services.sla_sweep`) finds the tickets whose `sla_next_check_at` has come
through the partial index `tickets_sla_due`, then checks each in a transaction of its own.
The claim to show: its cost follows the number of tickets due, not the number open.

Every ticket of the loaded database gets a next check 30 to 395 days ahead (once: a later
run finds them in place), standing in for open tickets whose deadlines are far off. A line
of the benchmark's own (`bench-sla`) holds waiting tickets; before each measured sweep the
first N of them are made due: the first response not given, its warning and its deadline
passed, so the sweep records a warning and a breach and escalates as the SLA policy says.
Between sweeps the records and the tickets are put back, so each starts from the same state.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import inspect
import logging
import os
import pstats
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone

from bench.fixtures import (
    clear_bench_events,
    clear_line_tickets,
    ensure_bench_line,
    foreign_events,
    insert_waiting_tickets,
    migrate,
    vacuum_tickets,
)
from bench.registry import BenchmarkError, Result, register
from queues.models import QueuePolicy
from sla.models import SlaPolicy, SlaRecord
from sla.services import sla_sweep
from sla.tasks import sweep as sweep_task
from tickets.models import EventKind, Ticket, TicketEvent

LINE_CODE = "bench-sla"
GOAL_DUE = 1_000
GOAL_SECONDS = 1.0
# The loaded tickets' next checks: this far ahead at least, spread over a year after that.
AHEAD_DAYS = 30
SPREAD_DAYS = 365
# A ticket whose next check is closer than this is given a new one before measuring.
HORIZON = dt.timedelta(days=1)
UPDATE_BATCH = 100_000
# Changing more than this share of the tickets' next checks rewrites the table afterwards.
COMPACT_SHARE = 0.1
# How long ago the first response's warning and deadline passed on a due ticket.
WARNED_AGO = dt.timedelta(minutes=20)
DUE_AGO = dt.timedelta(minutes=5)
# The not-due tickets of the line: their deadlines this far ahead.
NOT_DUE_AHEAD = dt.timedelta(days=AHEAD_DAYS)
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
# How many due tickets one sweep takes on, by default.
SWEEP_LIMIT = inspect.signature(sla_sweep).parameters["limit"].default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sla-due",
        default="0,100,1000,10000",
        help="tickets due before each measured sweep, comma-separated (default 0,100,1000,10000)",
    )
    parser.add_argument("--sla-runs", type=int, default=3, help="measured sweeps per due count (default 3)")
    parser.add_argument(
        "--no-sla-profile",
        action="store_true",
        help=f"skip the instrumented sweeps over {GOAL_DUE:,} due tickets (statements counted, cProfile)",
    )


def due_counts(text: str) -> list[int]:
    try:
        counts = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise BenchmarkError(f"--sla-due takes whole numbers separated by commas, not {text!r}") from exc
    if not counts or min(counts) < 0:
        raise BenchmarkError("--sla-due needs at least one count, none negative")
    return counts


# --- the database's state --------------------------------------------------------------------


def give_open_checks(line_id: int, now: dt.datetime) -> tuple[int, float]:
    """Every ticket outside the line without a next check (or one within a day) gets one 30 to
    395 days ahead; returns (tickets changed, seconds). Batches of ids, one transaction each."""
    started = time.monotonic()
    changed = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM tickets_ticket")
        low, high = cursor.fetchone()
        if low is None:
            return 0, 0.0
        for start in range(low, high + 1, UPDATE_BATCH):
            cursor.execute(
                """
                UPDATE tickets_ticket
                SET sla_next_check_at = %(now)s + make_interval(days => %(ahead)s)
                                        + random() * make_interval(days => %(spread)s)
                WHERE id >= %(start)s AND id < %(end)s AND line_id <> %(line)s
                  AND (sla_next_check_at IS NULL OR sla_next_check_at < %(horizon)s)
                """,
                {
                    "now": now,
                    "ahead": AHEAD_DAYS,
                    "spread": SPREAD_DAYS,
                    "start": start,
                    "end": start + UPDATE_BATCH,
                    "line": line_id,
                    "horizon": now + HORIZON,
                },
            )
            changed += cursor.rowcount
            if changed and cursor.rowcount:
                print(f"  next checks: {changed:,} tickets so far", flush=True)
    return changed, time.monotonic() - started


def reset_line(line_id: int, due: int, now: dt.datetime) -> None:
    """Put the line's tickets back: nothing recorded, the first `due` (by id) due now, the rest
    not due for a month. The credit a breach added is taken back too."""
    SlaRecord.objects.filter(ticket__line_id=line_id).delete()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tickets_ticket
            SET first_response_at = NULL, status = 'waiting_agent', assignee_id = NULL,
                first_response_warn_at = %(ahead)s, first_response_due = %(ahead)s + interval '12 minutes',
                resolution_warn_at = %(ahead)s + interval '1 day', resolution_due = %(ahead)s + interval '2 days',
                next_response_warn_at = NULL, next_response_due = NULL, resolution_paused_minutes = NULL,
                sla_next_check_at = %(ahead)s,
                credit_minutes = (weight_parts ->> 'tenure')::int,
                weight_parts = jsonb_build_object('tenure', (weight_parts ->> 'tenure')::int),
                virtual_time = queued_at - make_interval(mins => (weight_parts ->> 'tenure')::int)
            WHERE line_id = %(line)s
            """,
            {"ahead": now + NOT_DUE_AHEAD, "line": line_id},
        )
        if due:
            cursor.execute(
                """
                UPDATE tickets_ticket
                SET first_response_warn_at = %(warned)s, first_response_due = %(due_at)s,
                    sla_next_check_at = %(warned)s
                WHERE id IN (SELECT id FROM tickets_ticket WHERE line_id = %(line)s ORDER BY id LIMIT %(due)s)
                """,
                {"warned": now - WARNED_AGO, "due_at": now - DUE_AGO, "line": line_id, "due": due},
            )


def due_now(now: dt.datetime) -> int:
    return Ticket.objects.filter(sla_next_check_at__lte=now).count()


def open_ahead(now: dt.datetime) -> int:
    return Ticket.objects.filter(sla_next_check_at__gt=now).count()


@contextlib.contextmanager
def logs_discarded():
    """The sweep logs a line per warning and breach: formatted as usual, written nowhere."""
    handlers = [handler for handler in logging.getLogger().handlers if isinstance(handler, logging.StreamHandler)]
    with open(os.devnull, "w") as sink:
        previous = [handler.setStream(sink) for handler in handlers]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, previous, strict=True):
                handler.setStream(stream)


# --- measuring -------------------------------------------------------------------------------


class StatementCounter:
    """A `connection.execute_wrapper`: every statement's kind and wall time."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.seconds: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = statement_kind(sql)
            self.counts[kind] += 1
            self.seconds[kind] += time.perf_counter() - started

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def statement_kind(sql: str) -> str:
    head = sql.lstrip().split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    if table and head in ("SELECT", "INSERT", "UPDATE", "DELETE"):
        return f"{head} {table.group(1)}"
    return head


def sweep() -> tuple[int, float]:
    """One `sla_sweep()` as the beat task calls it: (tickets handled, seconds)."""
    with logs_discarded():
        started = time.perf_counter()
        handled = sla_sweep()
        return handled, time.perf_counter() - started


def check_outcome(line_id: int, due: int, handled: int) -> list[str]:
    """What the sweep must have done: a warning and a breach recorded per ticket handled."""
    problems = []
    if handled != min(due, SWEEP_LIMIT):
        problems.append(f"handled {handled:,} of {due:,} due")
    records = dict(
        SlaRecord.objects.filter(ticket__line_id=line_id)
        .values("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    for kind in (SlaRecord.Kind.WARNING, SlaRecord.Kind.BREACH):
        if records.get(kind, 0) != handled:
            problems.append(f"{records.get(kind, 0):,} {kind} records for {handled:,} tickets")
    others = sum(n for kind, n in records.items() if kind not in (SlaRecord.Kind.WARNING, SlaRecord.Kind.BREACH))
    if others:
        problems.append(f"{others:,} other records")
    return problems


def profile_top(profile: cProfile.Profile, limit: int = 14) -> list[tuple[str, int, float, float]]:
    """(function, calls, own seconds, cumulative seconds) of the project's functions and the
    database driver's and Celery's entry points, by cumulative time."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in stats.items():
        if filename.startswith(PROJECT_ROOT) and "/.venv/" not in filename and "/bench/" not in filename:
            label = f"{os.path.relpath(filename, PROJECT_ROOT)}:{line}({name})"
        elif name == "<method 'execute' of 'psycopg2.extensions.cursor' objects>":
            label = "psycopg2 cursor.execute (waiting for PostgreSQL, round trips included)"
        elif name == "<method 'commit' of 'psycopg2.extensions.connection' objects>":
            label = "psycopg2 connection.commit (waiting for the commit to be flushed)"
        elif name == "apply_async" and "celery" in filename:
            label = "celery Task.apply_async (queueing a task)"
        else:
            continue
        rows.append((label, calls, own, cumulative))
    rows.sort(key=lambda row: -row[3])
    return rows[:limit]


def explain_selection(now: dt.datetime) -> str:
    queryset = Ticket.objects.filter(sla_next_check_at__lte=now).order_by("sla_next_check_at")
    sql, params = queryset.values_list("id", flat=True)[:5000].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def load_average() -> str:
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


# --- the benchmark ---------------------------------------------------------------------------


@register("sla", title="SLA sweep: cost by tickets due, with a million open", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """One SLA sweep as 0, 100, 1,000 and 10,000 tickets come due among a million open."""
    counts = due_counts(args.sla_due)
    if args.sla_runs < 1:
        raise BenchmarkError("--sla-runs must be at least 1")
    migrate()
    others = foreign_events()
    if others:
        raise BenchmarkError(
            f"the database holds {others:,} ticket events besides the benchmarks' own: the events the sweeps "
            "write could not be removed between runs. Use a database of its own (load --reset)."
        )
    if Ticket.objects.count() == 0:
        raise BenchmarkError("the database holds no tickets: fill it first (python -m bench load)")
    line = ensure_bench_line(LINE_CODE)
    removed = clear_line_tickets(line)
    if removed:
        print(f"removed {removed:,} tickets left in {LINE_CODE} by an earlier run", flush=True)
    policy = SlaPolicy.current()
    queue_policy = QueuePolicy.current()

    now = timezone.now()
    changed, update_seconds = give_open_checks(line.id, now)
    vacuum_seconds = 0.0
    if changed > COMPACT_SHARE * Ticket.objects.count():
        # Every changed row left a dead copy behind (the column is indexed, so no update is HOT):
        # rewrite the table and its indexes once, so the other benchmarks find it as compact as before.
        print(f"  VACUUM (FULL, ANALYZE) tickets_ticket after changing {changed:,} tickets", flush=True)
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (FULL, ANALYZE) tickets_ticket")
        vacuum_seconds = time.monotonic() - started
    elif changed:
        vacuum_seconds = vacuum_tickets()
    print(f"next checks ahead given to {changed:,} tickets ({update_seconds:.0f}s + VACUUM {vacuum_seconds:.0f}s)")
    size = max(counts) or 1
    insert_waiting_tickets(
        line, size, now=now, seed=3, spread_seconds=3 * 86_400, max_credit_minutes=queue_policy.max_credit_minutes
    )
    reset_line(line.id, 0, timezone.now())
    vacuum_tickets()
    stray = due_now(timezone.now())
    if stray:
        raise BenchmarkError(f"{stray:,} tickets outside the benchmark are due already; the sweep would act on them")

    measured: dict[int, list[tuple[int, float]]] = {}
    problems: dict[int, list[str]] = {}
    open_counts: dict[int, int] = {}
    load_before = load_average()
    with override_settings(DEBUG=False):
        for due in counts:
            for index in range(args.sla_runs):
                reset_line(line.id, due, timezone.now())
                clear_bench_events()
                vacuum_tickets()
                at = timezone.now()
                if due_now(at) != due:
                    raise BenchmarkError(f"{due_now(at):,} tickets due before the sweep, not {due:,}")
                open_counts[due] = open_ahead(at)
                handled, seconds = sweep()
                measured.setdefault(due, []).append((handled, seconds))
                problems.setdefault(due, []).extend(check_outcome(line.id, due, handled))
                print(
                    f"  {due:,} due, run {index + 1}: {handled:,} handled in {seconds:.3f}s"
                    + (f" ({seconds / handled * 1000:.2f} ms a ticket)" if handled else ""),
                    flush=True,
                )
        load_after = load_average()

        # The selection alone, with GOAL_DUE due among the million.
        reset_line(line.id, GOAL_DUE, timezone.now())
        clear_bench_events()
        vacuum_tickets()
        selection_plan = explain_selection(timezone.now())
        statements = StatementCounter()
        counted = 0
        profile_rows: list[tuple[str, int, float, float]] = []
        profiled: tuple[int, float] = (0, 0.0)
        sla_events = 0
        if not args.no_sla_profile:
            with connection.execute_wrapper(statements):
                counted, seconds = sweep()
            print(f"  counted statements: {statements.total:,} for {counted:,} tickets ({seconds:.2f}s)", flush=True)
            reset_line(line.id, GOAL_DUE, timezone.now())
            clear_bench_events()
            vacuum_tickets()
            profile = cProfile.Profile()
            with logs_discarded():
                started = time.perf_counter()
                profile.enable()
                profiled_handled = sla_sweep()
                profile.disable()
                profiled = (profiled_handled, time.perf_counter() - started)
            profile_rows = profile_top(profile)
            sla_events = TicketEvent.objects.filter(ticket__line_id=line.id, kind=EventKind.SLA).count()

    clear_line_tickets(line)
    vacuum_tickets()
    return report(
        args,
        counts=counts,
        measured=measured,
        problems=problems,
        open_counts=open_counts,
        policy=policy,
        changed=changed,
        update_seconds=update_seconds,
        vacuum_seconds=vacuum_seconds,
        selection_plan=selection_plan,
        statements=statements,
        statement_tickets=counted,
        profile_rows=profile_rows,
        profiled=profiled,
        sla_events=sla_events,
        loads=(load_before, load_after),
    )


# --- the report ------------------------------------------------------------------------------


def report(
    args: argparse.Namespace,
    *,
    counts: list[int],
    measured: dict[int, list[tuple[int, float]]],
    problems: dict[int, list[str]],
    open_counts: dict[int, int],
    policy: SlaPolicy,
    changed: int,
    update_seconds: float,
    vacuum_seconds: float,
    selection_plan: str,
    statements: StatementCounter,
    statement_tickets: int,
    profile_rows: list[tuple[str, int, float, float]],
    profiled: tuple[int, float],
    sla_events: int,
    loads: tuple[str, str],
) -> Result:
    from bench.report import markdown_table

    total = Ticket.objects.count()
    setup = (
        f"{changed:,} tickets were given one now ({update_seconds:.0f} s, then {vacuum_seconds:.0f} s to vacuum "
        "the table"
        + (", rewritten in full to shed the old row versions" if changed > COMPACT_SHARE * total else "")
        + ")"
        if changed
        else "they had one from an earlier run"
    )
    notes = [
        f"{total:,} tickets in the database. Every ticket outside the benchmark's line has a next check "
        f"(`sla_next_check_at`) {AHEAD_DAYS} to {AHEAD_DAYS + SPREAD_DAYS} days ahead, standing in for open "
        f"tickets whose deadlines are far off ({setup}); the partial index `tickets_sla_due` holds them all. "
        f"A line of the benchmark's own (`{LINE_CODE}`, a department, 24/7) holds {max(counts) or 1:,} tickets "
        "waiting for an agent (`waiting_agent`, nobody assigned, queued with a credit). Before each sweep the "
        f"first N of them are made due: no first response, its warning passed {WARNED_AGO.seconds // 60} minutes "
        f"ago and its deadline {DUE_AGO.seconds // 60} minutes ago, the next check at the warning; the others' "
        f"deadlines are {NOT_DUE_AHEAD.days} days ahead. So each ticket due gets a warning and a breach "
        f"recorded, an SLA event for each, and the breach's escalation by the SLA policy (`{policy.escalation}`: "
        f"{policy.get_escalation_display()}, {policy.escalation_boost_minutes} minutes), one more event; then "
        "its next check moves to its resolution warning, a month ahead.",
        f"Each sweep is one `sla.services.sla_sweep()` call, as the beat task makes it (default limit: "
        f"{SWEEP_LIMIT:,} tickets a call), in this process on an open connection, DEBUG off, its log lines "
        "formatted but written nowhere. Between sweeps the SLA records are deleted, the tickets put back, "
        "the ticket events emptied with TRUNCATE (they refuse DELETE; the table holds only the benchmark's) "
        f"and the tickets table vacuumed. {args.sla_runs} sweeps per due count; the table gives the median. "
        "After every sweep the records are checked: one warning and one breach per ticket handled. Load "
        f"average before and after the sweeps: {loads[0]} and {loads[1]}; the machine has {os.cpu_count()} "
        "cores, shared.",
    ]
    columns = (
        "due", "next check ahead", "handled", "median s", "sweeps s", "ms a ticket", "check",
        f"≤ {GOAL_SECONDS:g} s at {GOAL_DUE:,} due",
    )  # fmt: skip
    rows = []
    per_ticket: dict[int, float] = {}
    medians: dict[int, float] = {}
    for due in counts:
        runs = measured[due]
        median = statistics.median(seconds for _handled, seconds in runs)
        medians[due] = median
        handled = runs[0][0]
        if handled:
            per_ticket[due] = statistics.median(seconds / h * 1000 for h, seconds in runs if h)
        rows.append(
            (
                f"{due:,}",
                f"{open_counts[due]:,}",
                f"{handled:,}",
                f"{median:.3f}",
                ", ".join(f"{seconds:.3f}" for _handled, seconds in runs),
                f"{per_ticket[due]:.2f}" if due in per_ticket else "—",
                "; ".join(dict.fromkeys(problems[due])) or "ok",
                ("yes" if median <= GOAL_SECONDS else "**no**") if due == GOAL_DUE else "",
            )
        )
    summary = []
    if GOAL_DUE in medians:
        verdict = "meets" if medians[GOAL_DUE] <= GOAL_SECONDS else "misses"
        summary.append(
            f"With {GOAL_DUE:,} due, one sweep takes {medians[GOAL_DUE]:.2f} s (median): it {verdict} the goal "
            f"of under {GOAL_SECONDS:g} s."
        )
    if per_ticket:
        low, high = min(per_ticket.values()), max(per_ticket.values())
        text = (
            f"The cost follows the tickets due: {low:.2f} to {high:.2f} ms a ticket handled whatever their number, "
            f"with {min(open_counts.values()):,} or more other tickets in the index"
        )
        if 0 in medians:
            text += f"; with none due a sweep takes {medians[0] * 1000:.1f} ms"
        summary.append(
            text + f". A sweep handles at most {SWEEP_LIMIT:,} tickets; more due wait for the next beat "
            f"(every {settings.SLA_SWEEP_SECONDS:g} s), and at this rate {SWEEP_LIMIT:,} take "
            f"{high * SWEEP_LIMIT / 1000:.0f} s of the task's {sweep_task.soft_time_limit} s soft time limit."
        )
    summary.append(
        f"The selection alone with {GOAL_DUE:,} due, `EXPLAIN (ANALYZE, BUFFERS)`: it reads the due entries of the "
        f"index and stops, whatever the million behind them:\n\n```\n{selection_plan}\n```"
    )
    if statements.total and statement_tickets:
        by_kind = sorted(statements.counts.items(), key=lambda item: -item[1])
        statement_rows = [
            (
                kind,
                f"{n:,}",
                f"{n / statement_tickets:.1f}",
                f"{statements.seconds[kind] * 1000:,.0f}",
            )
            for kind, n in by_kind
        ]
        sql_ms = sum(statements.seconds.values()) * 1000
        summary.append(
            f"### Where a sweep's time goes\n\nOne more sweep over {statement_tickets:,} due tickets with every "
            f"statement counted and timed (`connection.execute_wrapper`): {statements.total:,} statements, "
            f"{statements.total / statement_tickets:.1f} a ticket, {sql_ms:,.0f} ms waiting for PostgreSQL "
            "(round trips included).\n\n"
            + markdown_table(("statement", "count", "per ticket", "ms in all"), statement_rows)
        )
    if profile_rows:
        summary.append(
            f"The same sweep under cProfile ({profiled[0]:,} tickets, {sla_events:,} SLA events written, "
            f"{profiled[1]:.2f} s with the profiler's own cost), the functions with the most cumulative time:\n\n"
            + markdown_table(
                ("function", "calls", "own s", "cumulative s"),
                [
                    (label, f"{calls:,}", f"{own:.3f}", f"{cumulative:.3f}")
                    for label, calls, own, cumulative in profile_rows
                ],
            )
        )
    summary.append(
        "Afterwards the line's tickets, their SLA records and events are removed; the other tickets keep their "
        "next checks ahead, so the next run does not set them again."
    )
    return Result(columns=columns, rows=rows, notes=notes, summary=summary)
