"""`day`: a working day's mix of users against the deployment, with locust.

Two uvicorn web processes behind a real nginx, a Celery worker and beat, on the configured
PostgreSQL database and Redis (`tests.stack`, as tests/test_two_processes.py starts them,
with the production settings as `bench.http` serves them). Locust (`bench/day_locustfile.py`)
plays the users: customers in their control panel (lists, ticket pages, filing through the
API and the form, replies), readers of the public help centre (articles, sections, search),
visitors of the status page, customers chatting through the chat's HTTP API, agents in the
workspace (home, lists, saved views, take-next, the ticket page, replies) and managers on their
dashboards; the mix is `bench.day_mix`.

A steady run at `--day-users` users, then a step run that raises the users step by step until
a step breaks (p99 of all requests at or over 200 ms, or any error). For each run: locust's
statistics per request type, and the CPU that each part of the deployment used (web
processes, PostgreSQL's backends of this database, the Celery processes, nginx, locust).

The database must hold the data already (`python -m bench load`); the benchmark adds signed-in
sessions and API tokens for its users and the demo help centre, and the tickets its users file.
Point it at a copy: `CREATE DATABASE hd_x_1m TEMPLATE hd_bench_1m`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test.utils import override_settings
from django.urls import reverse
from django.utils.crypto import get_random_string

from accounts.models import Role, User
from accounts.services import api_token_issue
from bench import asgi, fixtures, lists, report
from bench import http as served_http
from bench.day_mix import (
    GOAL_P99_MS,
    OVERRUN_ERROR_SHARE,
    OVERRUN_P99_MS,
    STATS_COLUMNS,
    THINK_SECONDS,
    USER_WEIGHTS,
    Stat,
    cpu_ms_per_request,
    limit,
    over_goal,
    overrun,
    parse_failures,
    parse_stats,
    peak,
    stats_row,
    verdict,
)
from bench.registry import BenchmarkError, Result, register
from bench.report import markdown_table
from knowledge.demo import upsert_demo_help_centre
from knowledge.models import Article, HelpCategory
from queues.models import LineMembership
from tickets.models import Status, Ticket

BASE_DIR = asgi.BASE_DIR
LOCUSTFILE = Path(__file__).resolve().parent / "day_locustfile.py"
RESULTS_DIR = BASE_DIR / ".data" / "bench" / "day"
MANAGERS = 3
TICKETS_PER_ACCOUNT = 8
OPEN_STATUSES = (Status.NEW, Status.WAITING_AGENT, Status.IN_PROGRESS, Status.WAITING_CUSTOMER)
SEARCHES = ("vps", "ssl", "dns", "backup", "invoice", "password", "mail spam", "php", "disk", "nginx")
MIN_TICKETS = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--day-users", type=int, default=20, help="users of the steady run (default 20)")
    parser.add_argument("--day-seconds", type=int, default=60, help="seconds of the steady run (default 60)")
    parser.add_argument(
        "--day-steps",
        default="5,10,20,40,80,160",
        help="users of the step run, comma-separated, in the order run; it stops once a step overruns the "
        "deployment (default 5,10,20,40,80,160; empty: no step run)",
    )
    parser.add_argument("--day-step-seconds", type=int, default=45, help="seconds of each step (default 45)")
    parser.add_argument("--day-customers", type=int, default=400, help="signed-in customer accounts (default 400)")


# --- the plan: accounts and addresses for the locustfile ---------------------------------------


def _session(user: User) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = next(b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b)
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _account(user: User, tickets: list[int]) -> dict:
    """A signed-in session as the login form makes it, a CSRF cookie, an API token; some ticket numbers."""
    return {
        "username": user.username,
        "session": _session(user),
        "csrf": get_random_string(32),
        "token": api_token_issue(user=user, name="day")[1],
        "tickets": tickets,
    }


def _numbers(tickets, count: int = TICKETS_PER_ACCOUNT) -> list[int]:
    return list(tickets.order_by("-created_at").values_list("number", flat=True)[:count])


def make_plan(customers: int, secret: str) -> dict:
    """Accounts for every kind of user (sessions signed with the servers' `secret`) and the help
    centre's addresses."""
    upsert_demo_help_centre()
    fixtures.ensure_lines()
    customer_ids = list(
        Ticket.objects.filter(customer__role=Role.CUSTOMER, customer__username__startswith="bench-customer-")
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by("customer_id")[: customers * 2]
    )
    users = User.objects.in_bulk(customer_ids)
    agents = [
        membership.user
        for membership in LineMembership.objects.filter(user__role=Role.AGENT, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
    ]
    if len(customer_ids) < 2 or not agents:
        raise BenchmarkError("no customers with tickets or no agents: fill the database first (python -m bench load)")
    managers = [lists._staff_user(f"bench-day-manager-{n}", Role.MANAGER) for n in range(MANAGERS)]
    with override_settings(SECRET_KEY=secret):
        panel = [
            _account(users[pk], _numbers(Ticket.objects.filter(customer_id=pk)))
            for pk in customer_ids[: len(customer_ids) // 2]
        ]
        chatters = [_account(users[pk], []) for pk in customer_ids[len(customer_ids) // 2 :]]
        desk = []
        seen = set()
        for agent in agents:
            if agent.pk in seen:
                continue
            seen.add(agent.pk)
            line_ids = list(LineMembership.objects.filter(user=agent).values_list("line_id", flat=True))
            open_tickets = Ticket.objects.filter(line_id__in=line_ids, status__in=OPEN_STATUSES)
            desk.append(_account(agent, _numbers(open_tickets)))
        bosses = [_account(manager, []) for manager in managers]
    articles = Article.objects.filter(status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC)
    article_paths = [
        reverse("help-article", kwargs={"category": article.category.slug, "slug": article.slug})
        for article in articles.select_related("category")
    ]
    categories = [
        reverse("help-category", kwargs={"category": slug})
        for slug in HelpCategory.objects.filter(articles__in=articles).distinct().values_list("slug", flat=True)
    ]
    if not article_paths:
        raise BenchmarkError("the demo help centre has no public articles")
    return {
        "customers": [a for a in panel if a["tickets"]],
        "chatters": chatters,
        "agents": [a for a in desk if a["tickets"]] or desk,
        "managers": bosses,
        "articles": article_paths,
        "categories": categories,
        "searches": list(SEARCHES),
    }


# --- CPU of the parts of the deployment ---------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: str) -> tuple[int, int] | None:
    """(process group, CPU ticks) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[2]), int(fields[11]) + int(fields[12])


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpu_ticks(groups: dict[str, list[int]], database: str) -> dict[str, dict[str, int]]:
    """CPU ticks per process of each part: `groups` names process groups; PostgreSQL's backends
    are found by their title, which names the database."""
    found: dict[str, dict[str, int]] = {name: {} for name in [*groups, "postgresql"]}
    by_group = {pgid: name for name, pgids in groups.items() for pgid in pgids}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        stat = _proc_stat(pid)
        if stat is None:
            continue
        pgid, ticks = stat
        if pgid in by_group:
            found[by_group[pgid]][pid] = ticks
        elif f" {database} " in _cmdline(pid) and _cmdline(pid).startswith("postgres:"):
            found["postgresql"][pid] = ticks
    return found


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def cpu_shares(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Per part: percent of one core used between the two samples (processes started meanwhile
    count from zero)."""
    shares = {}
    for name, now in after.items():
        then = before.get(name, {})
        ticks = sum(value - then.get(pid, 0) for pid, value in now.items())
        shares[name] = 100.0 * ticks / CLOCK_TICKS / seconds if seconds else 0.0
    return shares


# --- a locust run ---------------------------------------------------------------------------------


@dataclass
class Run:
    users: int
    seconds: int
    rows: list[Stat]
    aggregate: Stat
    failures: list[tuple[str, str, str, int]]
    cpu: dict[str, float]
    machine_busy: float
    load_before: str
    load_after: str
    command: str
    extra: dict = field(default_factory=dict)

    @property
    def held(self) -> bool:
        return verdict(self.aggregate)[0]


def run_locust(
    stack_groups: dict[str, list[int]],
    database: str,
    host: str,
    plan: Path,
    users: int,
    seconds: int,
    directory: Path,
    label: str,
) -> Run:
    prefix = directory / label
    spawn = max(5, users // 4)
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(spawn),
        "-t", f"{seconds}s", "--csv", str(prefix), "--host", host, "--only-summary", "--reset-stats",
        "--stop-timeout", "10", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "DAY_PLAN": str(plan), "PYTHONPATH": str(BASE_DIR)}
    load_before = lists.load_average()
    log = directory / f"{label}.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own locust
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    groups = {**stack_groups, "locust": [process.pid]}
    # Measured once the users are spawned (the statistics are reset then, too).
    time.sleep(users / spawn + 1)
    before, busy_before, started = cpu_ticks(groups, database), machine_busy_ticks(), time.monotonic()
    try:
        time.sleep(max(1.0, seconds - users / spawn - 2))
        after, busy_after, ended = cpu_ticks(groups, database), machine_busy_ticks(), time.monotonic()
        process.wait(timeout=seconds + 120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()
    load_after = lists.load_average()
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        raise BenchmarkError(f"locust wrote no statistics ({process.returncode}):\n{log.read_text()[-3000:]}")
    rows, aggregate = parse_stats(stats_path.read_text())
    failures_path = Path(f"{prefix}_failures.csv")
    failures = parse_failures(failures_path.read_text()) if failures_path.exists() else []
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]) * 100
    shown = ["locust", *command[3:]]
    run = Run(
        users=users,
        seconds=seconds,
        rows=rows,
        aggregate=aggregate,
        failures=failures,
        cpu=cpu_shares(before, after, ended - started),
        machine_busy=busy,
        load_before=load_before,
        load_after=load_after,
        command=" ".join(
            {str(LOCUSTFILE): "bench/day_locustfile.py", str(prefix): label}.get(part, part) for part in shown
        ),
    )
    held, reasons = verdict(aggregate)
    print(
        f"  {label}: {users} users, {aggregate.rps:.1f} req/s, p50 {aggregate.p50_ms:.0f} ms, p95 "
        f"{aggregate.p95_ms:.0f} ms, p99 {aggregate.p99_ms:.0f} ms, {aggregate.failures} errors of "
        f"{aggregate.requests}; {'held' if held else 'broke: ' + ', '.join(reasons)}; CPU "
        + ", ".join(f"{name} {share:.0f}%" for name, share in run.cpu.items())
        + f"; machine busy {busy:.0f}%; load {load_before} → {load_after}",
        flush=True,
    )
    for method, name, error, count in failures[:5]:
        print(f"    failure {count}× {method} {name}: {error[:200]}", flush=True)
    return run


# --- the deployment ---------------------------------------------------------------------------------


@contextlib.contextmanager
def deployment(database: str, static_root: str, secret: str, directory: Path):
    """Two uvicorn processes behind nginx, a Celery worker and beat (tests.stack), production settings."""
    from tests.stack import Stack, purge_broker

    env = served_http.server_env(database, static_root)
    env.update({"DJANGO_SECRET_KEY": secret, "DATABASE_POOL_SIZE": "8"})
    stack = Stack(directory, env=env)
    try:
        purge_broker()
        stack.webs = [stack.web("web-1"), stack.web("web-2")]
        stack.workers = [stack.celery_worker("worker-1")]
        stack.celery_beat()
        for proc in stack.webs:
            stack.wait_http(proc)
        stack.proxy = stack.nginx(stack.webs)
        stack.wait_http(stack.proxy)
        for proc in stack.workers:
            stack.wait_log(proc, "ready.")
        yield stack
    finally:
        stack.stop()


def groups_of(stack) -> dict[str, list[int]]:
    beat = [proc.process.pid for proc in stack.procs if proc.name == "beat"]
    return {
        "web": [proc.process.pid for proc in stack.webs],
        "celery": [proc.process.pid for proc in stack.workers] + beat,
        "nginx": [stack.proxy.process.pid],
    }


# --- the report ---------------------------------------------------------------------------------------


def ours(run: Run) -> float:
    """Percent of one core used by the deployment and locust together."""
    return sum(run.cpu.values())


def others(run: Run) -> float:
    """Percent of one core used by other work on the machine meanwhile."""
    return max(0.0, run.machine_busy * CORES - ours(run))


CORES = os.cpu_count() or 1


def cpu_text(run: Run) -> str:
    parts = ", ".join(f"{name} {share:.0f}%" for name, share in run.cpu.items())
    return (
        f"{parts} of one core, {ours(run):.0f}% in all of the machine's {100 * CORES}%; other work on the machine "
        f"{others(run):.0f}%"
    )


def step_rows(steps: list[Run]) -> list[list[str]]:
    rows = []
    for run in steps:
        held, reasons = verdict(run.aggregate)
        slow = ", ".join(f"{stat.name} {stat.p99_ms:.0f}" for stat in over_goal(run.rows)[:4]) or "—"
        rows.append(
            [
                run.users,
                f"{run.aggregate.rps:.1f}",
                f"{run.aggregate.p50_ms:.0f}",
                f"{run.aggregate.p95_ms:.0f}",
                f"{run.aggregate.p99_ms:.0f}",
                f"{run.aggregate.failures} of {run.aggregate.requests:,}",
                "held" if held else "**broke** (" + ", ".join(reasons) + ")",
                slow,
                f"{run.cpu.get('web', 0):.0f}",
                f"{run.cpu.get('postgresql', 0):.0f}",
                f"{run.cpu.get('celery', 0):.0f}",
                f"{run.cpu.get('locust', 0):.0f}",
                f"{cpu_ms_per_request(run.cpu.get('web', 0), run.aggregate.rps):.0f}",
                f"{cpu_ms_per_request(run.cpu.get('postgresql', 0), run.aggregate.rps):.0f}",
                f"{run.machine_busy:.0f}",
                f"{others(run):.0f}",
                f"{run.load_before.split('/')[0]} → {run.load_after.split('/')[0]}",
            ]
        )
    return rows


STEP_COLUMNS = (
    "users", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "verdict", "p99 over 200 ms (ms)",
    "web CPU %", "PostgreSQL CPU %", "Celery CPU %", "locust CPU %", "web CPU ms/req", "PostgreSQL CPU ms/req",
    "machine busy %", "other work CPU %", "load average",
)  # fmt: skip


def describe_limit(steps: list[Run]) -> str:
    if not steps:
        return "No step run."
    held, broke = limit([(run.users, run.aggregate) for run in steps])
    best = peak([(run.users, run.aggregate) for run in steps])
    top = (
        f" The most requests a second without an error: {best[1]:.1f}, at {best[0]} users."
        if best
        else " Every step had errors."
    )
    last = steps[-1]
    if overrun(last.aggregate):
        top += (
            f" At {last.users} users the deployment was overrun ({last.aggregate.failures} errors of "
            f"{last.aggregate.requests:,}, p99 {last.aggregate.p99_ms:.0f} ms) and the run stopped."
        )
    return goal_limit(steps, held, broke) + top


def goal_limit(steps: list[Run], held: int | None, broke: int | None) -> str:
    if broke is None:
        return (
            f"Every step held, up to {held} users: the limit is above the last step; run higher steps (`--day-steps`)."
        )
    broken = next(run for run in steps if run.users == broke)
    _ok, reasons = verdict(broken.aggregate)
    saturated = max((name for name in ("web", "postgresql", "celery", "locust")), key=lambda n: broken.cpu.get(n, 0))
    where = (
        f"at {broke} users ({broken.aggregate.rps:.1f} req/s) it broke ({', '.join(reasons)}), with the "
        f"machine {broken.machine_busy:.0f}% busy, the deployment and locust using {ours(broken):.0f}% of one core "
        f"(the most: {saturated}, {broken.cpu.get(saturated, 0):.0f}%) and other work {others(broken):.0f}%"
    )
    if held is None:
        return f"The first step already broke: {where}."
    last = next(run for run in steps if run.users == held)
    figures = f"{last.aggregate.rps:.1f} req/s, p99 {last.aggregate.p99_ms:.0f} ms"
    return f"The deployment held {held} users ({figures}); {where}."


def save(data: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"day-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def parse_steps(text: str) -> list[int]:
    return served_http.parse_counts(text, "--day-steps") if text.strip() else []


@register("day", title="A working day under load", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """A working day's mix of users (locust) against two web processes behind nginx, Celery, one PostgreSQL."""
    steps_wanted = parse_steps(args.day_steps)
    if args.day_users < 1 or args.day_seconds < 10 or args.day_step_seconds < 10:
        raise BenchmarkError("--day-users must be at least 1, --day-seconds and --day-step-seconds at least 10")
    database = connection.settings_dict["NAME"]
    fixtures.migrate()
    total = Ticket.objects.count()
    if total < MIN_TICKETS:
        raise BenchmarkError(f"{database} holds {total} tickets: fill it first (python -m bench load)")
    secret = asgi.random_secret()
    print(f"{database}: {total:,} tickets; making the users' sessions and tokens", flush=True)
    plan = make_plan(args.day_customers, secret)
    machine = report.machine_description()
    with tempfile.TemporaryDirectory(prefix="bench-day-") as temp:
        directory = Path(temp)
        plan_path = directory / "plan.json"
        plan_path.write_text(json.dumps(plan))
        static_root = directory / "static"
        static_root.mkdir()
        env = served_http.server_env(database, str(static_root))
        print("collectstatic with helpdesk.settings.production", flush=True)
        asgi.collectstatic(env)
        stack_dir = directory / "stack"
        stack_dir.mkdir()
        with deployment(database, str(static_root), secret, stack_dir) as stack:
            host = f"http://{asgi.HOST}:{stack.proxy.port}"
            # One real sign-in through nginx, as a browser does, to show the accounts work.
            served_http.log_in(stack.proxy.port, plan["customers"][0]["username"], served_http.PASSWORD)
            groups = groups_of(stack)
            print(f"deployment up at {host}; steady run with {args.day_users} users", flush=True)
            steady = run_locust(
                groups, database, host, plan_path, args.day_users, args.day_seconds, directory, "steady"
            )
            steps: list[Run] = []
            for users in steps_wanted:
                steps.append(
                    run_locust(
                        groups, database, host, plan_path, users, args.day_step_seconds, directory, f"step-{users}"
                    )
                )
                if overrun(steps[-1].aggregate):
                    break
            errors_logged = sum(
                1
                for proc in stack.webs
                for line in proc.log.read_text(errors="replace").splitlines()
                if " ERROR " in line
            )
    data = {
        "database": database,
        "tickets": total,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "steady": steady.__dict__,
        "steps": [step.__dict__ for step in steps],
        "web_errors_logged": errors_logged,
    }
    print(f"results: {save(data)}", flush=True)
    held, reasons = verdict(steady.aggregate)
    mix = ", ".join(f"{name} {weight}" for name, weight in USER_WEIGHTS.items())
    notes = [
        f"Database `{database}` with {total:,} tickets. The deployment of [deployment.md](deployment.md): two "
        "uvicorn processes (`helpdesk.asgi`, one worker each, settings `helpdesk.settings.production`, a pool of "
        "8 connections each) behind nginx (round robin, keep-alive), one Celery worker (solo pool) and beat, one "
        "PostgreSQL and one Redis, all on 127.0.0.1 (`tests.stack`). Locust "
        f"({_locust_version()}, `bench/day_locustfile.py`, FastHttpUser) plays the users; each waits "
        f"{THINK_SECONDS[0]:.0f} to {THINK_SECONDS[1]:.0f} s between actions. The users, in parts of 100: {mix}.",
        "Customers (signed in, their own tickets): panel home, ticket list and ticket pages, the API's ticket "
        "list, filing a ticket through the API (with an idempotency key) and through the panel's form (its page, "
        "then the post), replies through the API and the form to the tickets they filed. Help-centre readers "
        "(anonymous): the home, articles and sections of the demo help centre, its search. Status visitors: the "
        "public status page and its JSON. Chatting customers: the chat's HTTP API (start, two messages, read "
        "back, close; the WebSocket side is measured by `chat`). Agents of every line: the workspace's home, its "
        "list, the built-in saved views, take-next (the workspace's form), the ticket page, a reply (waiting for "
        "the customer), the API's list. Managers: the SLA dashboard `/manage/`, the queue overview, the SLA "
        "report and the queue through the API.",
        "The accounts are generated `bench-...` users: one signs in through the login form via nginx first; "
        "the others get the same session rows the login makes (and API tokens) before the run, so password "
        "hashing is not part of the load. Redirects are not followed: an answer other than the expected one "
        "(200, 201, or the redirect after a form) counts as an error. Locust's statistics are reset once all "
        "users are spawned; its percentiles are rounded (two significant digits). CPU is the share of one "
        "core each part used while the users ran: the web processes, this database's PostgreSQL backends, "
        "Celery worker and beat, nginx, and locust itself, all on the same two cores, shared with other work.",
        f"**Steady run**: {steady.users} users for {steady.seconds} s (`{steady.command}`): "
        f"{steady.aggregate.rps:.1f} req/s, p99 {steady.aggregate.p99_ms:.0f} ms, {steady.aggregate.failures} "
        f"errors — {'held' if held else 'did not hold: ' + ', '.join(reasons)}. CPU: {cpu_text(steady)}; load "
        f"average {steady.load_before} before, {steady.load_after} after.",
    ]
    summary = []
    if steady.failures:
        summary.append(
            "Errors of the steady run: "
            + "; ".join(
                f"{count}× {method} {name}: {error[:120]}" for method, name, error, count in steady.failures[:6]
            )
        )
    summary.append(
        f"**Step run**: the same mix, {args.day_step_seconds} s per step, users raised step by step; a step "
        f"holds with no error and p99 of all requests under {GOAL_P99_MS:.0f} ms. The steps go on past the "
        f"first that breaks, to show where throughput stops growing, and stop once a step overruns the "
        f"deployment (over {OVERRUN_ERROR_SHARE:.0%} errors or p99 over {OVERRUN_P99_MS / 1000:.0f} s). "
        "CPU ms/req: CPU time of the part per request served (its share of a core over the requests a "
        "second), what the mix costs whatever the machine's load."
    )
    if steps:
        summary.append(markdown_table(STEP_COLUMNS, step_rows(steps)))
        for run in steps:
            if run.failures:
                summary.append(
                    f"Errors at {run.users} users: "
                    + "; ".join(
                        f"{count}× {method} {name}: {error[:120]}" for method, name, error, count in run.failures[:6]
                    )
                )
    summary.append(describe_limit(steps))
    if errors_logged:
        summary.append(f"The web processes logged {errors_logged} ERROR lines.")
    return Result(
        columns=STATS_COLUMNS,
        rows=[stats_row(stat) for stat in steady.rows] + [stats_row(steady.aggregate)],
        notes=notes,
        summary=summary,
    )


def _locust_version() -> str:
    import importlib.metadata

    return "locust " + importlib.metadata.version("locust")
