"""`queue`: agents taking the next ticket at once, the bare SQL claim beside it, and queue positions.

Take-next: a line of its own (`bench-queue`) is filled with waiting tickets and its agents,
each in a process with its own database connection, call `tickets.services.ticket_take_next`
back to back for a fixed time. Then the same claim as one bare UPDATE through psycopg2, the
limit the service can approach. Every run starts from the same full queue, and every ticket
claimed is checked in the database: one assignee, and (for the service) one ASSIGN event.

Positions: `queues.selectors.queue_position` for tickets at several places of a line with
some tens of thousands waiting, in the loaded database.

The benchmark removes its tickets when it is done, so the other benchmarks see the database
as `load` left it.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import queue as queue_module
import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg2
from django.db import connection, connections, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.models import User
from bench.fixtures import (
    clear_line_tickets,
    ensure_agents,
    ensure_bench_line,
    foreign_events,
    insert_waiting_tickets,
    migrate,
    vacuum_tickets,
)
from bench.registry import BenchmarkError, Result, register
from helpdesk.errors import DomainError
from queues.models import Line, LineMembership, QueuePolicy
from queues.selectors import queue_position
from tickets.models import EventKind, EventOutbox, Status, Ticket, TicketEvent
from tickets.services import ticket_take_next
from tickets.take_next import take_next_sql

LINE_CODE = "bench-queue"
# Another benchmark line, to show the plan of take-next for an agent of two lines.
SECOND_LINE_CODE = "bench-sla"
AGENT_PREFIX = "bench-queue-agent-"
TAKE_P99_GOAL_MS = 20.0
POSITION_P99_GOAL_MS = 10.0
# Tickets are queued at random moments over this long a backlog.
BACKLOG_SECONDS = 3 * 86_400.0
WORKER_START_TIMEOUT = 120.0
# Unmeasured takes of every worker before the start (they are checked like the others).
WARMUP_TAKES = 2
# The workers' connections say who they are, so pg_stat_activity can be sampled for them alone.
APPLICATION_NAME = "bench-queue-worker"

# The claim without the application around it: one statement, committed on its own.
RAW_CLAIM = """
UPDATE tickets_ticket SET assignee_id = %(agent)s, status = 'in_progress', updated_at = now()
WHERE id = (
    SELECT id FROM tickets_ticket
    WHERE line_id = %(line)s AND status IN ('new', 'waiting_agent') AND assignee_id IS NULL
    ORDER BY virtual_time, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def rates(value: str) -> tuple[float, ...]:
    try:
        parsed = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {value!r}") from None
    if any(rate < 0 for rate in parsed):
        raise argparse.ArgumentTypeError("rates must not be negative")
    return tuple(rate for rate in parsed if rate > 0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queue-waiting", type=int, default=100_000, help="waiting tickets at the start of each take run (100,000)"
    )
    parser.add_argument("--queue-agents", type=int, default=16, help="concurrent agents taking tickets (default 16)")
    parser.add_argument(
        "--queue-duration", type=float, default=20.0, help="seconds each concurrent take run lasts (default 20)"
    )
    parser.add_argument(
        "--queue-repeats",
        type=int,
        default=3,
        help="rounds of the back-to-back runs (take-next, then the bare claim), for medians (default 3)",
    )
    parser.add_argument(
        "--queue-max-takes", type=int, default=0, help="stop a take run after this many takes (default 0: no limit)"
    )
    parser.add_argument(
        "--queue-single-duration",
        type=float,
        default=5.0,
        help="seconds of the one-agent take runs, the cost of a take without contention (default 5; 0 skips them)",
    )
    parser.add_argument(
        "--queue-paced-rates",
        type=rates,
        default=(20.0, 200.0, 600.0),
        help="takes per second the agents are asked for in the paced take-next runs, comma-separated "
        "(default 20,200,600; 0 skips them)",
    )
    parser.add_argument(
        "--queue-position-waiting",
        type=int,
        default=25_000,
        help="waiting tickets in the line for the position query (default 25,000)",
    )
    parser.add_argument(
        "--queue-position-calls", type=int, default=800, help="measured position queries (default 800, at least 500)"
    )


# --- statistics ----------------------------------------------------------------------------


def quantile(values: list[float], q: int) -> float:
    if not values:
        return math.nan
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:,.1f}"


# --- concurrent take runs --------------------------------------------------------------------


@dataclass
class TakeRun:
    name: str
    method: str  # "service" or "sql"
    workers: int
    duration: float
    seconds: float = 0.0
    # (ticket id, agent id, latency ms) of every take, in no particular order.
    takes: list[tuple[int, int, float]] = field(default_factory=list)
    # (ticket id, agent id) of the unmeasured warm-up takes before the start.
    warmup: list[tuple[int, int]] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    emptied: bool = False  # the queue ran dry before the time was up
    problems: list[str] = field(default_factory=list)  # what the database check found
    offered: float = 0.0  # takes per second asked of all workers together; 0: back to back
    activity: dict[str, float] = field(default_factory=dict)  # share of samples per ACTIVITY label

    @property
    def latencies(self) -> list[float]:
        return [latency for _ticket, _agent, latency in self.takes]

    @property
    def claims(self) -> list[tuple[int, int]]:
        return self.warmup + [(ticket, agent) for ticket, agent, _latency in self.takes]

    @property
    def duplicates(self) -> int:
        return len(self.claims) - len({ticket for ticket, _agent in self.claims})

    @property
    def rate(self) -> float:
        return len(self.takes) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Pace:
    """How a worker takes: for `duration` seconds, back to back (interval 0) or one take every
    `interval` seconds from `phase` on, open loop: a take that starts late counts its delay."""

    duration: float
    max_takes: int = 0
    interval: float = 0.0
    phase: float = 0.0


def _loop(take, pace: Pace, barrier, takes: list, errors: Counter) -> tuple[float, float, bool]:
    """Run `take()` (a ticket id or None when the queue is empty) as `pace` says; returns
    (started, finished, emptied). Latencies go into `takes` as (ticket id, ms)."""
    barrier.wait(timeout=WORKER_START_TIMEOUT)
    started = time.time()
    end = started + pace.duration
    emptied = False
    scheduled = started + pace.phase
    while not pace.max_takes or len(takes) < pace.max_takes:
        if pace.interval:
            if scheduled >= end:
                break
            delay = scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            begun = scheduled
            scheduled += pace.interval
        elif time.time() >= end:
            break
        else:
            begun = time.time()
        try:
            ticket_id = take()
        except DomainError as error:
            errors[error.code or type(error).__name__] += 1
            continue
        if ticket_id is None:
            emptied = True
            break
        takes.append((ticket_id, (time.time() - begun) * 1000))
    return started, time.time(), emptied


def _service_worker(agent_id: int, pace: Pace, barrier, results) -> None:
    """One agent: ticket_take_next, in a process of its own with its own connection."""
    takes: list[tuple[int, float]] = []
    warm: list[int] = []
    errors: Counter = Counter()
    started = finished = time.time()
    emptied = False
    failure = None
    try:
        agent = User.objects.get(pk=agent_id)
        with connection.cursor() as cursor:
            cursor.execute("SET application_name = %s", [APPLICATION_NAME])

        def take() -> int | None:
            ticket = ticket_take_next(agent=agent)
            return None if ticket is None else ticket.id

        # Unmeasured: the first calls open the connections (database, broker) and load code.
        warm = [ticket_id for ticket_id in (take() for _ in range(WARMUP_TAKES)) if ticket_id is not None]
        started, finished, emptied = _loop(take, pace, barrier, takes, errors)
    except Exception as exc:  # reported to the parent, which fails the benchmark
        failure = repr(exc)
    finally:
        connection.close()
    results.put((agent_id, takes, warm, errors, emptied, started, finished, failure))


def _sql_worker(agent_id: int, pace: Pace, barrier, results, params: dict, line_id: int) -> None:
    """One worker: the bare claim statement, autocommitted, on a psycopg2 connection of its own."""
    takes: list[tuple[int, float]] = []
    warm: list[int] = []
    errors: Counter = Counter()
    started = finished = time.time()
    emptied = False
    failure = None
    raw = None
    try:
        raw = psycopg2.connect(**{**params, "application_name": APPLICATION_NAME})
        raw.autocommit = True
        cursor = raw.cursor()

        def take() -> int | None:
            cursor.execute(RAW_CLAIM, {"agent": agent_id, "line": line_id})
            row = cursor.fetchone()
            return None if row is None else row[0]

        warm = [ticket_id for ticket_id in (take() for _ in range(WARMUP_TAKES)) if ticket_id is not None]
        started, finished, emptied = _loop(take, pace, barrier, takes, errors)
    except Exception as exc:  # reported to the parent, which fails the benchmark
        failure = repr(exc)
    finally:
        if raw is not None:
            raw.close()
    results.put((agent_id, takes, warm, errors, emptied, started, finished, failure))


# Where the workers' connections are, by pg_stat_activity: (label, test of state and wait).
ACTIVITY = (
    ("running in PostgreSQL", lambda state, wait: state == "active" and wait is None),
    ("waiting for a lock", lambda state, wait: state == "active" and wait == "Lock"),
    ("waiting for WAL, I/O or a latch", lambda state, wait: state == "active" and wait is not None),
    ("in a transaction, waiting for the worker", lambda state, wait: state.startswith("idle in transaction")),
    ("between transactions (the worker's own time)", lambda state, wait: state == "idle"),
)


class ActivitySampler(threading.Thread):
    """Samples pg_stat_activity for the workers' connections every few milliseconds."""

    def __init__(self, params: dict, interval: float = 0.02):
        super().__init__(daemon=True)
        self.params = params
        self.interval = interval
        self.stop = threading.Event()
        self.counts: Counter = Counter()
        self.error: str | None = None

    def run(self) -> None:
        try:
            raw = psycopg2.connect(**{**self.params, "application_name": "bench-queue-sampler"})
        except psycopg2.Error as exc:
            self.error = repr(exc)
            return
        raw.autocommit = True
        try:
            with raw.cursor() as cursor:
                while not self.stop.wait(self.interval):
                    cursor.execute(
                        "SELECT state, wait_event_type FROM pg_stat_activity WHERE application_name = %s",
                        [APPLICATION_NAME],
                    )
                    for state, wait in cursor.fetchall():
                        label = next((label for label, test in ACTIVITY if test(state or "", wait)), "other")
                        self.counts[label] += 1
        finally:
            raw.close()

    def shares(self) -> dict[str, float]:
        total = sum(self.counts.values())
        return {label: self.counts[label] / total for label, _test in ACTIVITY} if total else {}


def pace_of(run: TakeRun, max_takes: int):
    """The `Pace` of each worker of `run`: back to back, or the offered rate shared evenly and staggered."""
    per_worker = math.ceil(max_takes / run.workers) if max_takes else 0
    if not run.offered:
        return lambda _index: Pace(run.duration, per_worker)
    interval = run.workers / run.offered
    return lambda index: Pace(run.duration, per_worker, interval, index * interval / run.workers)


def run_concurrently(run: TakeRun, agent_ids: list[int], line: Line, pace_of) -> TakeRun:
    """Start one process per worker, release them together, collect what each took.

    `pace_of(index)` is the `Pace` of the index-th worker."""
    params = connection.get_connection_params()
    # Forked children must not share the parent's connection: each opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(run.workers)
    results = context.Queue()
    processes = []
    for index, agent_id in enumerate(agent_ids[: run.workers]):
        if run.method == "service":
            target, extra = _service_worker, ()
        else:
            target, extra = _sql_worker, (params, line.id)
        processes.append(
            context.Process(target=target, args=(agent_id, pace_of(index), barrier, results, *extra), daemon=True)
        )
    sampler = ActivitySampler(params)
    for process in processes:
        process.start()
    sampler.start()
    collected = []
    deadline = time.monotonic() + WORKER_START_TIMEOUT + max(pace_of(0).duration, 1) + 60
    try:
        while len(collected) < len(processes):
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{run.name}: workers did not report within the time allowed")
            try:
                collected.append(results.get(timeout=1.0))
            except queue_module.Empty:
                if not any(process.is_alive() for process in processes) and results.empty():
                    break
    finally:
        sampler.stop.set()
        sampler.join(timeout=5)
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()
    if len(collected) < len(processes):
        raise BenchmarkError(f"{run.name}: {len(processes) - len(collected)} worker(s) died without a report")
    failures = [item[-1] for item in collected if item[-1]]
    if failures:
        raise BenchmarkError(f"{run.name}: {len(failures)} worker(s) failed, the first with {failures[0]}")
    for agent_id, takes, warm, errors, emptied, _started, _finished, _failure in collected:
        run.takes += [(ticket_id, agent_id, latency) for ticket_id, latency in takes]
        run.warmup += [(ticket_id, agent_id) for ticket_id in warm]
        run.errors += errors
        run.emptied = run.emptied or emptied
    run.seconds = max(item[6] for item in collected) - min(item[5] for item in collected)
    run.activity = sampler.shares()
    return run


def verify(run: TakeRun, line: Line, events_after: int) -> None:
    """Check in the database that every ticket claimed has exactly the one assignee who claimed
    it and (for the service) exactly one ASSIGN event; record what is wrong in `run.problems`."""
    claimed = dict(run.claims)
    assigned = dict(
        Ticket.objects.filter(line=line, assignee__isnull=False).values_list("id", "assignee_id").iterator()
    )
    if run.duplicates:
        run.problems.append(f"{run.duplicates:,} tickets handed out twice")
    missing = [ticket for ticket in claimed if ticket not in assigned]
    if missing:
        run.problems.append(f"{len(missing):,} claimed tickets have no assignee (e.g. {missing[0]})")
    stray = [ticket for ticket in assigned if ticket not in claimed]
    if stray:
        run.problems.append(f"{len(stray):,} tickets assigned without a claim (e.g. {stray[0]})")
    wrong = [ticket for ticket, agent in claimed.items() if ticket in assigned and assigned[ticket] != agent]
    if wrong:
        run.problems.append(f"{len(wrong):,} tickets carry another assignee than the one who claimed them")
    if run.method == "service":
        events = dict(
            TicketEvent.objects.filter(ticket__line=line, kind=EventKind.ASSIGN, id__gt=events_after)
            .values("ticket_id")
            .annotate(n=Count("id"))
            .values_list("ticket_id", "n")
            .iterator()
        )
        not_once = [ticket for ticket in claimed if events.get(ticket) != 1]
        if not_once:
            run.problems.append(f"{len(not_once):,} claimed tickets without exactly one ASSIGN event")
        extra = [ticket for ticket in events if ticket not in claimed]
        if extra:
            run.problems.append(f"{len(extra):,} ASSIGN events for tickets nobody claimed")


def last_event_id() -> int:
    return TicketEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def reset_line(line: Line) -> int:
    """Give every ticket of the line back to the queue, as it was before the run."""
    return (
        Ticket.objects.filter(line=line)
        .exclude(status=Status.WAITING_AGENT, assignee__isnull=True)
        .update(assignee=None, status=Status.WAITING_AGENT, sla_next_check_at=None)
    )


def queries_of_one_take(agent_id: int) -> list[str]:
    """The SQL statements of one ticket_take_next call (on the live queue; the ticket is taken), on a
    connection that has taken before (the first take on a connection also prepares the statement)."""
    agent = User.objects.get(pk=agent_id)
    ticket_take_next(agent=agent)
    with CaptureQueriesContext(connection) as captured:
        ticket = ticket_take_next(agent=agent)
    if ticket is None:
        return []
    return [query["sql"] for query in captured.captured_queries]


def statement_kind(sql: str) -> str:
    head = sql.lstrip().split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    return f"{head} {table.group(1)}" if table and head in ("SELECT", "INSERT", "UPDATE", "DELETE") else head


# --- positions -------------------------------------------------------------------------------


@dataclass
class PositionCase:
    position: int
    ticket: Ticket
    latencies: list[float] = field(default_factory=list)


def position_cases(line: Line, waiting: int) -> list[PositionCase]:
    """Tickets at the first, a few middle and the last place of the line's queue."""
    wanted = sorted({p for p in (1, 10, 100, 1_000, 5_000, 10_000, waiting // 2, waiting) if 1 <= p <= waiting})
    ordered = Ticket.objects.filter(line=line, status__in=(Status.NEW, Status.WAITING_AGENT), assignee__isnull=True)
    ordered = ordered.order_by("virtual_time", "id")
    cases = []
    for position in wanted:
        ticket = ordered[position - 1 : position].get()
        cases.append(PositionCase(position, ticket))
    return cases


def measure_positions(cases: list[PositionCase], calls: int) -> None:
    per_case = math.ceil(calls / len(cases))
    for case in cases:  # warm-up, and the answer must be right
        for _ in range(3):
            got = queue_position(ticket=case.ticket)
            if got != case.position:
                raise BenchmarkError(f"queue_position said {got} for the ticket at position {case.position}")
    for _round in range(per_case):
        for case in cases:
            begun = time.perf_counter()
            queue_position(ticket=case.ticket)
            case.latencies.append((time.perf_counter() - begun) * 1000)


def position_sql(ticket: Ticket) -> str:
    with CaptureQueriesContext(connection) as captured:
        queue_position(ticket=ticket)
    return captured.captured_queries[-1]["sql"]


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def explain_take(agent_id: int, also_in: Line | None = None) -> str:
    """The plan of take-next's statement on the current queue, for the agent (and, if given, as
    a member of a second line too); run in a transaction that is rolled back."""
    agent = User.objects.get(pk=agent_id)
    params = {"agent": agent.id, "line": None, "now": timezone.now(), "username": agent.username, "dispatch": []}
    with transaction.atomic(), connection.cursor() as cursor:
        if also_in is not None:
            LineMembership.objects.get_or_create(user=agent, line=also_in)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + take_next_sql(), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def load_average() -> str:
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


# --- the benchmark ---------------------------------------------------------------------------


TITLE = "Weighted queue: take-next under concurrency, and queue positions"


@register("queue", title=TITLE, add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """Concurrent agents taking the next ticket (service and bare SQL), and the position query."""
    if args.queue_waiting < 1 or args.queue_agents < 1 or args.queue_duration <= 0:
        raise BenchmarkError("--queue-waiting and --queue-agents must be at least 1, --queue-duration above 0")
    if args.queue_single_duration < 0 or args.queue_repeats < 1:
        raise BenchmarkError("--queue-single-duration must not be negative, --queue-repeats at least 1")
    if args.queue_position_waiting < 1 or args.queue_position_calls < 500:
        raise BenchmarkError("--queue-position-waiting must be at least 1, --queue-position-calls at least 500")
    migrate()
    others = foreign_events()
    if others:
        raise BenchmarkError(
            f"the database holds {others:,} ticket events besides the benchmarks' own: the events this "
            "benchmark writes could not be removed afterwards. Use a database of its own (load --reset)."
        )
    line = ensure_bench_line(LINE_CODE)
    agent_ids = ensure_agents(line, AGENT_PREFIX, args.queue_agents)
    max_credit = QueuePolicy.current().max_credit_minutes
    removed = clear_line_tickets(line)
    if removed:
        print(f"removed {removed:,} tickets left in {LINE_CODE} by an earlier run", flush=True)
    total_before = Ticket.objects.count()

    events_before = last_event_id()
    outbox_before = EventOutbox.objects.count()
    agents, duration, single = args.queue_agents, args.queue_duration, args.queue_single_duration
    runs = []
    for round_number in range(1, args.queue_repeats + 1):
        suffix = f" (round {round_number})" if args.queue_repeats > 1 else ""
        runs.append(TakeRun(f"take-next, {agents} agents{suffix}", "service", agents, duration))
        runs.append(TakeRun(f"bare SQL claim, {agents} workers{suffix}", "sql", agents, duration))
    for rate in args.queue_paced_rates:
        name = f"take-next, {agents} agents, {rate:g} takes/s offered"
        runs.append(TakeRun(name, "service", agents, duration, offered=rate))
    if single > 0:
        runs.append(TakeRun("take-next, 1 agent", "service", 1, single))
        runs.append(TakeRun("bare SQL claim, 1 worker", "sql", 1, single))

    load_before = load_average()
    now = timezone.now()
    started = time.monotonic()
    inserted = insert_waiting_tickets(
        line, args.queue_waiting, now=now, seed=1, spread_seconds=BACKLOG_SECONDS, max_credit_minutes=max_credit
    )
    insert_seconds = time.monotonic() - started
    print(f"{inserted:,} waiting tickets in {LINE_CODE} ({insert_seconds:.1f}s)", flush=True)
    take_queries: list[str] = []
    take_plan = ""
    # DEBUG off, as in production: Django keeps no query log (the forked workers inherit it).
    with override_settings(DEBUG=False):
        for index, take_run in enumerate(runs):
            if index:
                reset = reset_line(line)
                print(f"  {reset:,} tickets given back to the queue", flush=True)
            vacuum_tickets()
            waiting = Ticket.objects.filter(line=line, status=Status.WAITING_AGENT, assignee__isnull=True).count()
            if waiting != args.queue_waiting:
                raise BenchmarkError(f"{take_run.name}: {waiting:,} tickets waiting at the start, not {inserted:,}")
            events_after = last_event_id()
            print(f"  {take_run.name}: running", flush=True)
            run_concurrently(take_run, agent_ids, line, pace_of(take_run, args.queue_max_takes))
            verify(take_run, line, events_after)
            print(
                f"  {take_run.name}: {len(take_run.takes):,} takes in {take_run.seconds:.1f}s "
                f"({take_run.rate:,.0f}/s), p50 {ms(quantile(take_run.latencies, 50))} ms, "
                f"p99 {ms(quantile(take_run.latencies, 99))} ms, duplicates {take_run.duplicates}, "
                f"problems: {'; '.join(take_run.problems) or 'none'}",
                flush=True,
            )
            if index == 0:
                # After the run, with its claims in the queue's index: one more take's SQL and plan.
                take_plan = explain_take(agent_ids[0])
                take_plan_two_lines = explain_take(agent_ids[0], also_in=ensure_bench_line(SECOND_LINE_CODE))
                take_queries = queries_of_one_take(agent_ids[0])
        load_after_takes = load_average()
        events_written = TicketEvent.objects.filter(id__gt=events_before).count()
        outbox_written = EventOutbox.objects.count() - outbox_before

        # Positions: a line with fewer waiting, in the loaded database.
        clear_line_tickets(line)
        insert_waiting_tickets(
            line,
            args.queue_position_waiting,
            now=timezone.now(),
            seed=2,
            spread_seconds=BACKLOG_SECONDS,
            max_credit_minutes=max_credit,
        )
        vacuum_tickets()
        cases = position_cases(line, args.queue_position_waiting)
        print(f"  positions: {', '.join(f'{case.position:,}' for case in cases)}", flush=True)
        measure_positions(cases, args.queue_position_calls)
        last = cases[-1]
        last_sql = position_sql(last.ticket)
        position_plan = explain(last_sql)
        first_plan = explain(position_sql(cases[0].ticket))
    load_after = load_average()

    clear_line_tickets(line)
    vacuum_tickets()
    total_after = Ticket.objects.count()
    if total_after != total_before:
        raise BenchmarkError(f"the database held {total_before:,} tickets before and {total_after:,} after")
    return report(
        args,
        runs=runs,
        cases=cases,
        take_queries=take_queries,
        take_plan=take_plan,
        take_plan_two_lines=take_plan_two_lines,
        last_sql=last_sql,
        position_plan=position_plan,
        first_plan=first_plan,
        total=total_before,
        insert_seconds=insert_seconds,
        loads=(load_before, load_after_takes, load_after),
        events_written=events_written,
        outbox_written=outbox_written,
    )


# --- the report ------------------------------------------------------------------------------


def plan_line(plan: str, pattern: str) -> str:
    match = re.search(pattern, plan)
    return match.group(0).strip() if match else ""


def run_rows(runs: list[TakeRun]) -> list[tuple]:
    rows = []
    for take_run in runs:
        latencies = take_run.latencies
        goal = "yes" if quantile(latencies, 99) < TAKE_P99_GOAL_MS else "**no**"
        check = "; ".join(take_run.problems) or "ok"
        if take_run.errors:
            check += "; errors: " + ", ".join(f"{code} ×{n}" for code, n in take_run.errors.items())
        if take_run.emptied:
            check += "; the queue ran dry"
        rows.append(
            (
                take_run.name,
                f"{len(take_run.takes):,}",
                f"{take_run.seconds:.1f}",
                f"{take_run.rate:,.0f}",
                ms(quantile(latencies, 50)),
                ms(quantile(latencies, 99)),
                ms(max(latencies) if latencies else math.nan),
                take_run.duplicates,
                check,
                goal if take_run.method == "service" else "",
            )
        )
    return rows


def activity_table(runs: list[TakeRun]) -> str:
    from bench.report import markdown_table

    sampled = [take_run for take_run in runs if take_run.activity and take_run.workers > 1]
    columns = ("run", *(label for label, _test in ACTIVITY))
    rows = [
        (take_run.name, *(f"{take_run.activity.get(label, 0):.0%}" for label, _test in ACTIVITY))
        for take_run in sampled
    ]
    return markdown_table(columns, rows) if rows else ""


def report(
    args: argparse.Namespace,
    *,
    runs: list[TakeRun],
    cases: list[PositionCase],
    take_queries: list[str],
    take_plan: str,
    take_plan_two_lines: str,
    last_sql: str,
    position_plan: str,
    first_plan: str,
    total: int,
    insert_seconds: float,
    loads: tuple[str, str, str],
    events_written: int,
    outbox_written: int,
) -> Result:
    from bench.report import markdown_table

    saturated = [r for r in runs if r.method == "service" and r.workers == args.queue_agents and not r.offered]
    bare = [r for r in runs if r.method == "sql" and r.workers == args.queue_agents and not r.offered]
    service = saturated[0]
    take_p99 = statistics.median(quantile(r.latencies, 99) for r in saturated)
    take_p50 = statistics.median(quantile(r.latencies, 50) for r in saturated)
    take_rate = statistics.median(r.rate for r in saturated)
    all_positions = [latency for case in cases for latency in case.latencies]
    position_p99 = quantile(all_positions, 99)
    kinds = Counter(statement_kind(sql) for sql in take_queries)
    paced = [take_run for take_run in runs if take_run.offered]
    single = next((take_run for take_run in runs if take_run.method == "service" and take_run.workers == 1), None)
    notes = [
        f"{total:,} tickets in the database besides the benchmark's own. A line of its own (`{LINE_CODE}`, a "
        f"department) holds {args.queue_waiting:,} tickets waiting for an agent (status `waiting_agent`, nobody "
        f"assigned), queued at random moments over the last {BACKLOG_SECONDS / 86_400:.0f} days with random "
        f"credits of 0 to {QueuePolicy.current().max_credit_minutes} minutes, written with COPY "
        f"({insert_seconds:.1f} s). Up to {args.queue_agents} agents of that line (`{AGENT_PREFIX}00`...) each "
        "run in a process of their own with their own database connection and start together: "
        "`tickets.services.ticket_take_next`, one statement (`tickets.take_next.take_next_sql`): per line of the "
        "agent, the first waiting ticket on the partial index `tickets_waiting_queue` with `FOR UPDATE SKIP "
        "LOCKED`, the earliest of those assigned and put in progress, the ASSIGN and STATUS events written and "
        "the status change put in the notifications' outbox (drained by Celery beat, so no broker call happens "
        "in a take). The bare SQL claim is one autocommitted statement through psycopg2, the same choice "
        "without the application around it (no membership, no events, no outbox), the limit to compare with:"
        "\n\n```sql\n" + RAW_CLAIM.strip() + "\n```",
        f"Runs: back to back for {args.queue_duration:g} s (each worker takes again as soon as it has a ticket"
        + (f", at most {args.queue_max_takes:,} takes in all" if args.queue_max_takes else "")
        + "), the most the machine can do"
        + (f", {args.queue_repeats} rounds alternating with the bare claim" if args.queue_repeats > 1 else "")
        + "; "
        + (
            f"paced, {', '.join(f'{run.offered:g}' for run in paced)} takes/s asked of the {args.queue_agents} "
            f"agents together for {args.queue_duration:g} s each (each agent on a fixed schedule, staggered; a "
            "take that starts late counts its delay, so a backlog shows in the latency); "
            if paced
            else ""
        )
        + (
            f"and one worker alone for {args.queue_single_duration:g} s, the cost of a take without contention. "
            if single
            else ""
        )
        + f"Every worker makes {WARMUP_TAKES} unmeasured takes first (connections, code loading). Latency is the "
        "wall time of one call in the worker.",
        "Before every run the line's tickets are given back to the queue (nobody assigned, `waiting_agent`) and "
        f"the tickets table is vacuumed, so each run starts from the same {args.queue_waiting:,} waiting tickets. "
        "After each run the database is checked: every ticket claimed (warm-up takes included) has exactly one "
        "assignee, the agent who claimed it; no ticket is assigned that nobody claimed; for the service, every "
        "claimed ticket has exactly one ASSIGN event of that run. The workers, PostgreSQL and the rest of the "
        f"machine share its {os.cpu_count()} cores; load average before, after the take runs and at the end: "
        f"{loads[0]}, {loads[1]}, {loads[2]}.",
    ]
    columns = (
        "run", "takes", "seconds", "takes/s", "p50 ms", "p99 ms", "max ms", "duplicates", "database check",
        f"p99 < {TAKE_P99_GOAL_MS:.0f} ms",
    )  # fmt: skip
    rows = run_rows(runs)
    summary = []
    ratio = ""
    bare_rate = statistics.median(r.rate for r in bare) if bare else 0.0
    if bare_rate:
        ratio = f", {take_rate / bare_rate:.0%} of the bare claim's {bare_rate:,.0f}/s"
    verdict = "meets" if take_p99 < TAKE_P99_GOAL_MS else "misses"
    rounds = f"medians of {len(saturated)} rounds" if len(saturated) > 1 else "one round"
    text = (
        f"Take-next with {service.workers} agents back to back ({rounds}): {take_rate:,.0f} takes/s{ratio}; p50 "
        f"{ms(take_p50)} ms, p99 {ms(take_p99)} ms: it {verdict} the goal of p99 under {TAKE_P99_GOAL_MS:.0f} ms."
    )
    if take_rate:
        text += (
            f" With every agent always waiting for a take, a take waits its turn for the cores: "
            f"{service.workers} agents / {take_rate:,.0f} takes/s = {service.workers / take_rate * 1000:,.1f} ms "
            "a take on average, whatever the locks do."
        )
    if single and single.latencies:
        text += (
            f" Alone, a take costs p50 {ms(quantile(single.latencies, 50))} ms, p99 "
            f"{ms(quantile(single.latencies, 99))} ms ({single.rate:,.0f} takes/s from one agent)."
        )
    for paced_run in paced:
        if not paced_run.latencies:
            continue
        paced_p99 = quantile(paced_run.latencies, 99)
        text += (
            f" Asked for {paced_run.offered:g} takes/s, the {paced_run.workers} agents got p50 "
            f"{ms(quantile(paced_run.latencies, 50))} ms, p99 {ms(paced_p99)} ms "
            f"({'under' if paced_p99 < TAKE_P99_GOAL_MS else 'over'} the goal)."
        )
    text += f" Tickets handed out twice: {sum(r.duplicates for r in runs)} in all runs."
    summary.append(text)
    activity = activity_table(runs)
    if activity:
        summary.append(
            "Where the workers' database connections were during the concurrent runs (`pg_stat_activity` "
            "sampled every 20 ms, share of samples):\n\n" + activity
        )
    if take_queries:
        summary.append(
            f"One take is {len(take_queries)} SQL statements (captured after the first run): "
            + ", ".join(f"{kind} ×{n}" if n > 1 else kind for kind, n in kinds.items())
            + ". Its plan right after the first run (that run's claims not vacuumed yet):\n\n```\n"
            + take_plan
            + "\n```\n\nand for an agent of two lines (the second one, `"
            + SECOND_LINE_CODE
            + "`, empty here): one index scan per line, never a sort of the waiting tickets:\n\n```\n"
            + take_plan_two_lines
            + "\n```"
        )
    position_rows = [
        (
            f"{case.position:,}",
            len(case.latencies),
            ms(quantile(case.latencies, 50)),
            ms(quantile(case.latencies, 99)),
            ms(max(case.latencies)),
        )
        for case in cases
    ]
    position_rows.append(
        ("all", len(all_positions), ms(quantile(all_positions, 50)), ms(position_p99), ms(max(all_positions)))
    )
    verdict = "meets" if position_p99 < POSITION_P99_GOAL_MS else "misses"
    summary.append(
        f"### Queue position\n\n`queues.selectors.queue_position` in a line of {args.queue_position_waiting:,} "
        f"waiting tickets, in the database of {total:,} (the line emptied and filled anew, then vacuumed), "
        "called in this process on an open connection, round-robin over tickets at these places of the queue, "
        f"{len(all_positions):,} calls after a warm-up:\n\n"
        + markdown_table(("position", "calls", "p50 ms", "p99 ms", "max ms"), position_rows)
        + f"\n\nOver all calls p99 is {ms(position_p99)} ms: it {verdict} the goal of p99 under "
        f"{POSITION_P99_GOAL_MS:.0f} ms. The query, for the last ticket:\n\n```sql\n{last_sql}\n```\n\n"
        f"`EXPLAIN (ANALYZE, BUFFERS)` for the last ticket:\n\n```\n{position_plan}\n```\n\n"
        f"and for the first:\n\n```\n{first_plan}\n```"
    )
    summary.append(
        f"Afterwards the line's tickets are deleted and the {events_written:,} events the take runs wrote are "
        f"removed with TRUNCATE, with the {outbox_written:,} outbox rows they left for the notifications (ticket "
        "events refuse DELETE; the tables held no others), so the database is as before."
    )
    return Result(columns=columns, rows=rows, notes=notes, summary=summary)
