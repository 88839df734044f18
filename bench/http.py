"""`http`: the served product over HTTP, as users get it.

For each data size (100,000 and 1,000,000 tickets by default) the benchmark works in a
database of that size of its own (`<database>_100k`, `<database>_1m`, filled once by the
`load` benchmark's loader and reused), starts uvicorn the way docker-compose.yml's `web`
service runs it (its command line, two workers, the production settings), signs in as a
customer, an agent and a manager through the login form and takes API tokens, and loads
every main page and API call of the three areas with wrk at 1 and 8 connections. The SQL
queries of a call are counted on one in-process request through `django.test.Client`.

Results go to `.data/bench/http/<tickets>-<time>.json`; the section of docs/benchmarks.md
shows the newest result of every size, so the sizes can be measured one at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.models import CustomerProfile, Role, User
from bench import asgi, fixtures, lists, report
from bench import load as loader
from bench.registry import BenchmarkError, Result, register
from bench.report import markdown_table
from tickets.models import Message, Status, Ticket

HOST = asgi.HOST
BASE_DIR = asgi.BASE_DIR
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
RESULTS_DIR = BASE_DIR / ".data" / "bench" / "http"
DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_CONNECTIONS = (1, 8)
# django-helpdesk creates 4.9 tickets a second through its API with one connection and 9.7
# with four: the goal is five times that, so creation is also measured at 4 connections.
CREATE_CONNECTIONS = (1, 4, 8)
PASSWORD = loader.BENCH_PASSWORD
CREATOR_USERNAME = "bench-http-creator"
MANAGER_USERNAME = "bench-http-manager"
AGENT_LINE = "first-line"
OPEN_STATUSES = (Status.NEW, Status.WAITING_AGENT, Status.IN_PROGRESS, Status.WAITING_CUSTOMER)
WRK_TIMEOUT = "10s"
INPROCESS_BUDGET_SECONDS = 15
CREATE_BODY = {
    "subject": "Benchmark: VPS vps-4242.example.net does not answer",
    "body": "Since this morning the VPS times out on ssh and http.\n\nPlease have a look.",
    "category": "tech_simple",
    "urgency": "normal",
    "service": "VPS vps-4242.example.net",
}

# Goals over HTTP with one connection at 1,000,000 tickets: (p50 ms, p99 ms) for pages,
# requests per second for creation (5 x django-helpdesk's 4.9/s with one connection and
# 9.7/s with four); with 8 connections every call: no error, p99 under 250 ms.
PAGE_GOAL = (30.0, 80.0)
AGENT_HOME_GOAL_P50 = 50.0
# The managers' 12-month SLA dashboard and its API, at p95 with one connection.
REPORTS_GOAL_P95 = 300.0
CREATE_GOAL_RPS = {1: 5 * 4.9, 4: 5 * 9.7}
LOADED_GOAL_P99 = 250.0
GOAL_TICKETS = 1_000_000


@dataclass(frozen=True)
class Call:
    key: str
    name: str
    who: str  # customer, agent, manager or creator
    path: str  # {customer_ticket} and {agent_ticket} are filled in with ticket numbers
    method: str = "GET"
    api: bool = False
    # "page": p50 and p99 goal; "agent-home": p50 goal; "create": throughput goal; "reports": p95 goal;
    # None: only the 8-connection goal
    goal: str | None = "page"


CALLS = (
    Call("panel-home", "panel: home", "customer", "/panel/", goal=None),
    Call("panel-list", "panel: ticket list", "customer", "/panel/tickets/"),
    Call("panel-ticket", "panel: ticket page", "customer", "/panel/tickets/{customer_ticket}/"),
    Call("desk-home", "desk: home", "agent", "/desk/", goal="agent-home"),
    Call("desk-list", "desk: ticket list (open)", "agent", "/desk/tickets/"),
    Call("desk-line", "desk: line list", "agent", f"/desk/tickets/?line={AGENT_LINE}"),
    Call("desk-ticket", "desk: ticket page", "agent", "/desk/tickets/{agent_ticket}/"),
    Call("manage-home", "manage: home", "manager", "/manage/", goal=None),
    Call("manage-queue", "manage: queue", "manager", "/manage/queue/", goal=None),
    Call("manage-sla-12m", "manage: SLA dashboard, 12 months", "manager", "/manage/?start={year_ago}", goal="reports"),
    Call(
        "api-reports-sla-12m",
        "API: SLA report, 12 months",
        "manager",
        "/api/v1/reports/sla/?start={year_ago}",
        api=True,
        goal="reports",
    ),
    Call("api-me", "API: me", "customer", "/api/v1/me/", api=True),
    Call("api-list-customer", "API: ticket list (customer)", "customer", "/api/v1/tickets/", api=True),
    Call("api-list-agent", "API: ticket list (agent)", "agent", "/api/v1/tickets/", api=True),
    Call("api-ticket-customer", "API: ticket (customer)", "customer", "/api/v1/tickets/{customer_ticket}/", api=True),
    Call("api-ticket-agent", "API: ticket (agent)", "agent", "/api/v1/tickets/{agent_ticket}/", api=True),
    Call("api-lines", "API: line list", "agent", "/api/v1/lines/", api=True),
    Call("api-create", "API: create a ticket", "creator", "/api/v1/tickets/", method="POST", api=True, goal="create"),
)
CALL_KEYS = tuple(call.key for call in CALLS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http-tickets",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="data sizes, comma-separated; each in a database of its own (default 100000,1000000)",
    )
    parser.add_argument("--http-duration", type=int, default=10, help="seconds of measured load per call (default 10)")
    parser.add_argument(
        "--http-warmup", type=int, default=2, help="seconds of unmeasured load before each run (default 2)"
    )
    parser.add_argument(
        "--http-connections",
        default=",".join(str(count) for count in DEFAULT_CONNECTIONS),
        help="wrk connections, comma-separated (default 1,8; creation also runs at 4)",
    )
    parser.add_argument(
        "--http-inprocess-requests",
        type=int,
        default=20,
        help="in-process requests per call through django.test.Client, for the in-process p50 (default 20; "
        f"fewer, at least 3, when a call would take over {INPROCESS_BUDGET_SECONDS} s)",
    )
    parser.add_argument(
        "--http-profile",
        action="store_true",
        help="sample the server's workers with py-spy during each call's 1-connection run; prints where time goes",
    )
    parser.add_argument(
        "--http-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the server on top of the deployment's (repeatable), to measure a "
        "candidate setting side by side with the default, e.g. --http-env DATABASE_POOL_SIZE=0",
    )
    parser.add_argument(
        "--http-only",
        default="",
        help=f"measure only these calls (comma-separated, of {', '.join(CALL_KEYS)}); prints, writes no section",
    )


# --- wrk ------------------------------------------------------------------------------------


@dataclass
class Run:
    connections: int
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    first_non_2xx: int
    socket_errors: int
    p95_ms: float = 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def lua_string(value: str) -> str:
    """`value` as a quoted Lua string: printable ASCII as it is, every other byte as a decimal escape."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '\\"' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


# Every response outside 2xx counts as a failure: wrk itself only counts those above 399,
# so a redirect to the login page (a lost session) would pass unnoticed. `done` prints the
# exact percentiles from wrk's histogram (microseconds) on one line for `parse_wrk`.
WRK_SCRIPT = """\
wrk.method = {method}
{headers}
{body}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 first_non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_non2xx == 0 then first_non2xx = status end
  end
end
function done(summary, latency, requests)
  local total, first = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
    local status = thread:get("first_non2xx")
    if first == 0 and status ~= 0 then first = status end
  end
  local e = summary.errors
  io.write(string.format(
    "bench-result requests=%d duration_us=%d non_2xx=%d first_non_2xx=%d connect=%d read=%d write=%d " ..
    "timeout=%d p50_us=%d p90_us=%d p95_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, summary.duration, total, first, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def wrk_script(method: str, headers: dict[str, str], body: str | None = None) -> str:
    header_lines = "\n".join(
        f"wrk.headers[{lua_string(name)}] = {lua_string(value)}" for name, value in headers.items()
    )
    body_line = f"wrk.body = {lua_string(body)}" if body is not None else ""
    return WRK_SCRIPT.format(method=lua_string(method), headers=header_lines, body=body_line)


def parse_wrk(output: str, connections: int) -> Run:
    """The `bench-result` line the script's `done` prints, as a Run."""
    match = re.search(r"^bench-result (.+)$", output, re.MULTILINE)
    if not match:
        raise BenchmarkError(f"unexpected wrk output (no bench-result line):\n{output}")
    values = {}
    for pair in match.group(1).split():
        name, _, value = pair.partition("=")
        if not re.fullmatch(r"-?\d+", value):
            raise BenchmarkError(f"cannot read {pair!r} in the wrk output:\n{output}")
        values[name] = int(value)
    missing = {"requests", "duration_us", "non_2xx", "p50_us", "p99_us"} - values.keys()
    if missing:
        raise BenchmarkError(f"the wrk output lacks {', '.join(sorted(missing))}:\n{output}")
    seconds = values["duration_us"] / 1e6
    return Run(
        connections=connections,
        requests=values["requests"],
        seconds=seconds,
        requests_per_second=values["requests"] / seconds if seconds else 0.0,
        p50_ms=values["p50_us"] / 1000,
        p90_ms=values.get("p90_us", 0) / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values.get("max_us", 0) / 1000,
        non_2xx=values["non_2xx"],
        first_non_2xx=values.get("first_non_2xx", 0),
        socket_errors=sum(values.get(name, 0) for name in ("connect", "read", "write", "timeout")),
        p95_ms=values.get("p95_us", 0) / 1000,
    )


def run_wrk(wrk: str, url: str, script: Path, *, connections: int, seconds: int) -> str:
    command = [
        wrk, f"--threads={min(connections, 2)}", f"--connections={connections}", f"--duration={seconds}s",
        f"--timeout={WRK_TIMEOUT}", f"--script={script}", url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)  # noqa: S603
    if done.returncode != 0:
        raise BenchmarkError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


# --- the served stack -------------------------------------------------------------------------


def compose_server_command(port: int, compose_file: Path = COMPOSE_FILE) -> list[str]:
    """The `web` service's command from docker-compose.yml, serving on HOST:port.

    Read from the file rather than copied, so the benchmark follows the deployment when its
    server options (workers, proxy headers...) change. The shell runs it as in the container;
    the migrations before `exec` are left out (the benchmark has run them).
    """
    text = compose_file.read_text()
    web = re.search(r"^  web:\n(?:^    .*\n|^\s*\n)*?^    command: (\[.*\])$", text, re.MULTILINE)
    if not web:
        raise BenchmarkError(f"no command of the `web` service found in {compose_file}")
    try:
        words = json.loads(web.group(1))
    except ValueError as exc:
        raise BenchmarkError(f"cannot read the `web` command of {compose_file}: {web.group(1)}") from exc
    script = words[-1].replace("$$", "$")  # compose's escape for a literal $
    if "exec uvicorn " not in script:
        raise BenchmarkError(f"the `web` command of {compose_file} does not exec uvicorn: {script}")
    script = script[script.index("exec uvicorn ") :]
    for option, value in (("--host", HOST), ("--port", str(port))):
        script, found = re.subn(rf"{option}[ =]\S+", f"{option} {value}", script)
        if not found:
            script += f" {option} {value}"
    return ["sh", "-c", script]


def database_url(name: str) -> str:
    """DATABASE_URL with the database name replaced."""
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/helpdesk"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def server_env(database: str, static_root: str) -> dict[str, str]:
    """The environment docker-compose.yml and the Dockerfile give the server, for plain HTTP on HOST."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.production",
        "DATABASE_URL": database_url(database),
        "REDIS_URL": os.environ.get("REDIS_URL", settings.REDIS_URL),
        "DJANGO_SECRET_KEY": asgi.random_secret(),
        "HELPDESK_SECRET_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": f"localhost,{HOST}",
        # No TLS in front of the server here: plain HTTP, cookies without the Secure flag.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "HELPDESK_TRUSTED_PROXIES": HOST,
        # The shell finds this interpreter's uvicorn first, as the image finds its own.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "DJANGO_STATIC_ROOT": static_root,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@contextlib.contextmanager
def served(env: dict[str, str], log_dir: Path):
    """uvicorn as docker-compose.yml runs it; yields (port, command, log path, pid)."""
    port = asgi.free_port()
    command = compose_server_command(port)
    log_path = log_dir / f"uvicorn-{port}.log"
    with log_path.open("w") as log:
        # A session of its own, so stopping it reaches the workers and nothing else.
        process = subprocess.Popen(  # noqa: S603 - the deployment's own command
            command, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        asgi.wait_until_ready(process, port, log_path)
        yield port, command, log_path, process.pid
    finally:
        asgi.stop(process)


def log_in(port: int, username: str, password: str) -> str:
    """Sign in through the login form as a browser does; returns the Cookie header."""
    status, headers, page = asgi.request(port, "GET", "/accounts/login/")
    if status != 200:
        raise BenchmarkError(f"GET /accounts/login/ answered {status}, expected 200")
    csrf_cookie = asgi.cookies_from(headers).get("csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not csrf_cookie or not token:
        raise BenchmarkError("the login page set no CSRF cookie or has no CSRF token in its form")
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)})
    status, headers, _page = asgi.request(
        port,
        "POST",
        "/accounts/login/",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}"},
    )
    cookies = asgi.cookies_from(headers)
    if status != 302 or "sessionid" not in cookies:
        raise BenchmarkError(f"signing in as {username} failed: the form answered {status} without a session")
    return f"sessionid={cookies['sessionid']}; csrftoken={cookies.get('csrftoken', csrf_cookie)}"


def api_authorization(port: int, username: str, password: str) -> str:
    """The Authorization header of an API client of `username`; the one place that knows the token scheme."""
    body = json.dumps({"username": username, "password": password})
    for _attempt in range(3):
        status, headers, text = asgi.request(
            port, "POST", "/api/v1/auth/token/", body=body, headers={"Content-Type": "application/json"}
        )
        if status != 429:
            break
        # The token endpoint is throttled; reruns in quick succession wait their turn.
        time.sleep(min(int(headers.get("Retry-After") or 30), 65))
    if status != 200:
        raise BenchmarkError(f"POST /api/v1/auth/token/ as {username} answered {status}: {text[:300]}")
    return f"Token {json.loads(text)['token']}"


# --- the data -------------------------------------------------------------------------------


def size_label(tickets: int) -> str:
    if tickets % 1_000_000 == 0:
        return f"{tickets // 1_000_000}m"
    if tickets % 1000 == 0:
        return f"{tickets // 1000}k"
    return str(tickets)


def parse_counts(text: str, option: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise BenchmarkError(f"{option} takes whole numbers separated by commas, not {text!r}") from exc
    if not values or min(values) < 1:
        raise BenchmarkError(f"{option} takes positive numbers")
    return values


def ensure_database(name: str) -> None:
    # Through the server's maintenance database: `name` or even the configured one may not exist yet.
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            print(f"creating database {name}", flush=True)
            cursor.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def using_database(name: str):
    """Point the default connection (and forked loader processes) at database `name`."""
    connections.close_all()
    settings_dict = connections["default"].settings_dict
    previous = settings_dict["NAME"]
    settings_dict["NAME"] = name
    try:
        yield
    finally:
        connections.close_all()
        settings_dict["NAME"] = previous


def fill(tickets: int) -> None:
    """Load the database up to `tickets` with the `load` benchmark's loader (nothing if it holds them)."""
    args = argparse.Namespace(
        tickets=tickets, customers=loader.DEFAULT_CUSTOMERS, seed=1, jobs=loader.DEFAULT_JOBS, reset=False
    )
    result = loader.run(args)
    for line in result.notes if result.skipped else result.summary:
        print(f"  {line}", flush=True)


def with_password(user: User) -> User:
    if not user.is_active or not user.check_password(PASSWORD):
        user.is_active = True
        user.set_password(PASSWORD)
        user.save(update_fields=["password", "is_active"])
    return user


def ensure_creator() -> User:
    """The customer whose API client files tickets: a user of its own, so its tickets can go afterwards."""
    with transaction.atomic():
        user, _created = User.objects.get_or_create(
            username=CREATOR_USERNAME, defaults={"role": Role.CUSTOMER, "email": f"{CREATOR_USERNAME}@bench.invalid"}
        )
        CustomerProfile.objects.get_or_create(user=user, defaults={"customer_since": timezone.localdate()})
    return with_password(user)


def ensure_manager() -> User:
    return with_password(lists._staff_user(MANAGER_USERNAME, Role.MANAGER))


def longest_thread(tickets) -> Ticket | None:
    row = (
        Message.objects.filter(ticket__in=tickets)
        .values("ticket_id")
        .annotate(messages=Count("id"))
        .order_by("-messages", "-ticket_id")
        .first()
    )
    if row is not None:
        return Ticket.objects.get(pk=row["ticket_id"])
    return tickets.order_by("-id").first()


def pick_tickets(customer: User, agent: User) -> dict[str, Ticket]:
    """The ticket pages to load: the customer's longest conversation; an open ticket of the agent's."""
    customer_ticket = longest_thread(Ticket.objects.filter(customer=customer))
    own_open = Ticket.objects.filter(line__code=AGENT_LINE, assignee=agent, status__in=OPEN_STATUSES)
    line_open = Ticket.objects.filter(line__code=AGENT_LINE, status__in=OPEN_STATUSES)
    agent_ticket = longest_thread(own_open) if own_open.exists() else longest_thread(line_open)
    if customer_ticket is None or agent_ticket is None:
        raise BenchmarkError("no ticket to show: fill the database first (python -m bench load)")
    return {"customer_ticket": customer_ticket, "agent_ticket": agent_ticket}


def remove_created(creator: User) -> int:
    """Delete the tickets the creator filed, with their events; returns how many.

    Ticket events refuse DELETE, so they go with TRUNCATE (and the outbox rows and
    notifications made for them), which needs every event to belong to such a ticket:
    the benchmark's database has no others, as the loader writes none.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket WHERE customer_id = %s", [creator.id])
        created = cursor.fetchone()[0]
        if created == 0:
            return 0
        cursor.execute(
            f'SELECT count(*) FROM "{fixtures.EVENT_TABLE}" event '  # noqa: S608 - our own table name
            "JOIN tickets_ticket ticket ON ticket.id = event.ticket_id WHERE ticket.customer_id <> %s",
            [creator.id],
        )
        others = cursor.fetchone()[0]
        if others:
            raise BenchmarkError(
                f"{fixtures.EVENT_TABLE} holds {others:,} events of tickets not filed by the benchmark; "
                f"the {created:,} tickets it filed cannot go without them. Measure in a database of its own."
            )
        # Every table that refers to the events, and the ones that refer to those (the
        # notifications, and what refers to a notification), go together.
        tables = {fixtures.EVENT_TABLE, fixtures.OUTBOX_TABLE}
        pending = [fixtures.EVENT_TABLE]
        while pending:
            for table, _column in fixtures.references_to(pending.pop()):
                if table not in tables:
                    tables.add(table)
                    pending.append(table)
        cursor.execute("TRUNCATE " + ", ".join(f'"{table.strip(chr(34))}"' for table in sorted(tables)))
    with transaction.atomic(), connection.cursor() as cursor:
        for table, column in fixtures.ticket_references():
            cursor.execute(
                f'DELETE FROM {table} WHERE "{column}" IN '  # noqa: S608 - catalog names
                "(SELECT id FROM tickets_ticket WHERE customer_id = %s)",
                [creator.id],
            )
        cursor.execute("DELETE FROM tickets_ticket WHERE customer_id = %s", [creator.id])
    return created


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Measured:
    call: Call
    path: str
    username: str
    response_bytes: int = 0
    queries: int = 0
    sql_ms: float = 0.0
    inprocess_p50_ms: float = 0.0
    inprocess_requests: int = 0
    runs: list[Run] = field(default_factory=list)
    profile: dict | None = None


def expected_status(call: Call) -> int:
    return 201 if call.method == "POST" else 200


def measure_in_process(call: Call, path: str, user: User, authorization: str, requests: int) -> Measured:
    """Queries of one request (the median of the warm-up requests after the first) and the in-process p50."""
    client = Client(HTTP_AUTHORIZATION=authorization) if call.api else Client()
    if not call.api:
        client.force_login(user)
    body = json.dumps(CREATE_BODY) if call.method == "POST" else None

    def send():
        if body is None:
            return client.get(path)
        return client.post(path, data=body, content_type="application/json")

    def one() -> tuple[float, int]:
        started = time.perf_counter()
        response = send()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code != expected_status(call):
            raise BenchmarkError(f"in-process {call.method} {path} answered {response.status_code}")
        return elapsed_ms, len(response.content)

    counts, sql_times = [], []
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            _ms, size = one()
        counts.append(len(captured.captured_queries))
        sql_times.append(sum(float(query["time"]) * 1000 for query in captured.captured_queries))
    latencies: list[float] = []
    deadline = time.monotonic() + INPROCESS_BUDGET_SECONDS
    # A slow call stops early (after at least 3 requests): the in-process figure is a diagnostic.
    while len(latencies) < requests and (len(latencies) < 3 or time.monotonic() < deadline):
        latencies.append(one()[0])
    return Measured(
        call=call,
        path=path,
        username=user.username,
        response_bytes=size,
        queries=int(statistics.median(counts[1:])),
        sql_ms=statistics.median(sql_times[1:]),
        inprocess_p50_ms=statistics.median(latencies) if latencies else 0.0,
        inprocess_requests=len(latencies),
    )


def check_call(port: int, call: Call, path: str, headers: dict[str, str], body: str | None) -> int:
    status, response_headers, text = asgi.request(port, call.method, path, body=body, headers=headers)
    if status != expected_status(call):
        where = response_headers.get("Location")
        raise BenchmarkError(
            f"{call.method} {path} over HTTP answered {status}"
            + (f" (to {where})" if where else "")
            + f": {text[:300]}"
        )
    return len(text.encode())


def load_average() -> str:
    return lists.load_average()


def measure_size(tickets: int, args: argparse.Namespace, calls: list[Call], wrk: str, static_root: str) -> dict:
    base = connections["default"].settings_dict["NAME"]
    database = f"{base}_{size_label(tickets)}"
    ensure_database(database)
    with using_database(database):
        fixtures.migrate()
        fill(tickets)
        total = Ticket.objects.count()
        lines = fixtures.ensure_lines()
        users = {
            "customer": with_password(lists.busiest_customer()),
            "agent": with_password(lists.first_line_agent(lines)),
            "manager": ensure_manager(),
            "creator": ensure_creator(),
        }
        leftover = remove_created(users["creator"])
        if leftover:
            print(f"removed {leftover:,} tickets left by an earlier run", flush=True)
        picked = pick_tickets(users["customer"], users["agent"])
        numbers: dict[str, object] = {name: ticket.number for name, ticket in picked.items()}
        # The managers' 12-month period: today and the 364 local days before it.
        numbers["year_ago"] = (timezone.localdate() - dt.timedelta(days=364)).isoformat()
        machine = report.machine_description()
        customer_tickets = Ticket.objects.filter(customer=users["customer"]).count()
        print(
            f"{database}: {total:,} tickets; "
            + ", ".join(f"{who} {user.username}" for who, user in users.items())
            + f"; tickets {numbers}",
            flush=True,
        )
        load_before = load_average()
        with tempfile.TemporaryDirectory(prefix="bench-http-") as temp:
            temp_dir = Path(temp)
            env = {**server_env(database, static_root), **args.server_overrides}
            with served(env, temp_dir) as (port, command, log_path, server_pid):
                sessions = {
                    who: log_in(port, user.username, PASSWORD) for who, user in users.items() if who != "creator"
                }
                tokens = {who: api_authorization(port, user.username, PASSWORD) for who, user in users.items()}
                results = []
                # Counted before the load, so the tickets created in-process go with the cleanup below.
                with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
                    for call in calls:
                        path = call.path.format(**numbers)
                        results.append(
                            measure_in_process(
                                call, path, users[call.who], tokens[call.who], args.http_inprocess_requests
                            )
                        )
                        print(
                            f"  in-process {call.name:32} {results[-1].queries:3} queries, "
                            f"p50 {results[-1].inprocess_p50_ms:6.1f} ms",
                            flush=True,
                        )
                remove_created(users["creator"])
                for measured in results:
                    call = measured.call
                    headers = {"Authorization": tokens[call.who]} if call.api else {"Cookie": sessions[call.who]}
                    body = None
                    if call.method == "POST":
                        headers["Content-Type"] = "application/json"
                        body = json.dumps(CREATE_BODY)
                    measured.response_bytes = check_call(port, call, measured.path, headers, body)
                    script = temp_dir / f"{call.key}.lua"
                    script.write_text(wrk_script(call.method, headers, body))
                    url = f"http://{HOST}:{port}{measured.path}"
                    levels = sorted({*args.connection_levels, *(CREATE_CONNECTIONS if call.goal == "create" else ())})
                    for count in levels:
                        if args.http_warmup:
                            run_wrk(wrk, url, script, connections=count, seconds=args.http_warmup)
                        profile = None
                        if args.http_profile and count == 1:
                            profile = RESULTS_DIR / f"profile-{tickets}-{call.key}.txt"
                        with profiling(server_pid, args.http_duration, profile):
                            output = run_wrk(wrk, url, script, connections=count, seconds=args.http_duration)
                        run = parse_wrk(output, count)
                        measured.runs.append(run)
                        if profile is not None:
                            measured.profile = profile_summary(profile)
                            print(render_profile(call.name, measured.profile), flush=True)
                        print(
                            f"  {call.name:32} c={count}  {run.requests_per_second:8,.1f} req/s  "
                            f"p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms  non-2xx {run.non_2xx}"
                            + (f" (first {run.first_non_2xx})" if run.non_2xx else "")
                            + f"  socket errors {run.socket_errors}",
                            flush=True,
                        )
                    # The session must have survived the load, or the figures measured a redirect.
                    if call.method == "GET":
                        check_call(port, call, measured.path, headers, None)
                server_command = command[-1]
                server_errors = sum(
                    1 for line in log_path.read_text(errors="replace").splitlines() if " ERROR " in line
                )
        created = remove_created(users["creator"])
        fixtures.vacuum_tickets()
        load_after = load_average()
    return {
        "tickets": total,
        "database": database,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "-m", "bench", *sys.argv[1:]]),
        "machine": machine,
        "load_before": load_before,
        "load_after": load_after,
        "cores": os.cpu_count(),
        "server": server_command,
        "server_env": args.server_overrides,
        "server_errors_logged": server_errors,
        "duration": args.http_duration,
        "warmup": args.http_warmup,
        "wrk": wrk_version(wrk),
        "users": {who: user.username for who, user in users.items()},
        "customer_tickets": customer_tickets,
        "tickets_shown": numbers,
        "created_and_removed": created,
        "calls": [
            {
                "key": m.call.key,
                "name": m.call.name,
                "method": m.call.method,
                "path": m.path,
                "user": m.username,
                "goal": m.call.goal,
                "response_bytes": m.response_bytes,
                "queries": m.queries,
                "sql_ms": round(m.sql_ms, 2),
                "inprocess_p50_ms": round(m.inprocess_p50_ms, 2),
                "inprocess_requests": m.inprocess_requests,
                "runs": [asdict(run) for run in m.runs],
                "profile": m.profile,
            }
            for m in results
        ],
    }


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)  # noqa: S603 - our own wrk
    return (done.stdout or done.stderr).split("[")[0].strip() or "wrk"


# --- profiling ----------------------------------------------------------------------------

PROFILE_RATE = 200
PROJECT_PACKAGES = ("helpdesk", "accounts", "tickets", "queues", "sla", "knowledge", "notifications", "mailin", "chat")
# Leaf frames of a thread with nothing to do: the event loop waiting for sockets, pool
# threads and the supervisor waiting for work. Their samples are not request time.
IDLE_LEAVES = ("selectors.py", "threading.py", "queue.py", "concurrent/futures/thread.py", "asyncio/runners.py",
               "asyncio/base_events.py", "multiprocessing/", "uvicorn/supervisors/", "uvicorn/server.py")  # fmt: skip
# The project's middleware and access check wrap every request: the functions under them say where it goes.
PROFILE_WRAPPERS = ("(helpdesk/middleware.py)", "dispatch (accounts/permissions.py)")
# Where a busy sample is, by the first of these found in its stack.
PROFILE_KINDS = (
    ("opening the database connection", ("get_new_connection (", "ensure_connection (")),
    ("SQL (waiting for PostgreSQL, psycopg2)", ("_execute (django/db/backends/utils.py", "cursor_iter (")),
    ("template rendering", ("render (django/template/",)),
    ("DRF serialization", ("to_representation (rest_framework/",)),
)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise BenchmarkError("--http-profile needs py-spy: pip install -e '.[bench]'")
    return found


@contextlib.contextmanager
def profiling(pid: int, seconds: int, output: Path | None):
    """py-spy sampling the server and its workers (idle threads too, so waits on PostgreSQL count)."""
    if output is None:
        yield
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        py_spy(), "record", "--pid", str(pid), "--subprocesses", "--idle", "--nonblocking", "--rate",
        str(PROFILE_RATE), "--format", "raw", "--duration", str(seconds), "--output", str(output),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        yield
    finally:
        _out, errors = process.communicate(timeout=seconds + 60)
        if process.returncode != 0 or not output.exists():
            raise BenchmarkError(f"py-spy failed ({process.returncode}): {errors[-2000:]}")


def frame_name(frame: str) -> tuple[str, bool]:
    """`function (path:line)` as `function (package/module.py)`, and whether it is the project's own code."""
    match = re.fullmatch(r"(.*) \((.*?)(?::\d+)?\)", frame)
    if not match:
        return frame, False
    function, path = match.groups()
    # py-spy names files relative to their sys.path entry: the project's start with its packages.
    own = path.split("/", 1)[0] in PROJECT_PACKAGES or (path.startswith(str(BASE_DIR)) and "/.venv/" not in path)
    for marker in ("site-packages/", "/lib/python3.11/", "/lib/python3.12/", str(BASE_DIR) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{function} ({path})", own


def profile_summary(path: Path, top: int = 15) -> dict:
    """Busy samples of a py-spy raw profile: shares by kind, the project's functions with the most
    inclusive time, and the frames where the time is spent (own time)."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    kinds: Counter = Counter()
    project: set[str] = set()
    busy = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = [frame_name(frame) for frame in stack.split(";") if " (" in frame]
        names = [name for name, _own in frames]
        if not names or any(marker in names[-1] for marker in IDLE_LEAVES):
            idle += samples
            continue
        busy += samples
        project.update(name for name, is_own in frames if is_own)
        for name in set(names):
            inclusive[name] += samples
        own[names[-1]] += samples
        joined = ";".join(names)
        kind = next((name for name, markers in PROFILE_KINDS if any(m in joined for m in markers)), "other Python")
        kinds[kind] += samples
    share = (lambda n: round(100 * n / busy, 1)) if busy else (lambda n: 0.0)
    project_frames = [
        (name, share(n))
        for name, n in inclusive.most_common()
        if name in project and not any(wrapper in name for wrapper in PROFILE_WRAPPERS)
    ]
    return {
        "busy_samples": busy,
        "idle_samples": idle,
        "rate": PROFILE_RATE,
        "kinds": {kind: share(n) for kind, n in kinds.most_common()},
        "project": project_frames[:top],
        "own": [(name, share(n)) for name, n in own.most_common(top)],
    }


def render_profile(name: str, profile: dict) -> str:
    lines = [
        f"  profile of {name}: {profile['busy_samples']:,} busy samples at {profile['rate']}/s "
        f"({profile['idle_samples']:,} idle)",
        "    by kind: " + ", ".join(f"{kind} {value}%" for kind, value in profile["kinds"].items()),
        "    the project's functions (inclusive):",
        *(f"      {value:5.1f}%  {frame}" for frame, value in profile["project"]),
        "    where the time is spent (own):",
        *(f"      {value:5.1f}%  {frame}" for frame, value in profile["own"]),
    ]
    return "\n".join(lines)


# --- reporting ------------------------------------------------------------------------------


def goal_single(call: dict, run: dict | None) -> str:
    """Whether the 1-connection figures meet the call's goal ("—" when it has none)."""
    goal = call.get("goal")
    if run is None or goal is None:
        return "—"
    if run["requests"] == 0:
        return "**no** (no answer)"
    if goal == "page":
        p50, p99 = PAGE_GOAL
        misses = [
            name for name, value, limit in (("p50", run["p50_ms"], p50), ("p99", run["p99_ms"], p99)) if value >= limit
        ]
        return "yes" if not misses else f"**no** ({', '.join(misses)})"
    if goal == "agent-home":
        return "yes" if run["p50_ms"] < AGENT_HOME_GOAL_P50 else "**no** (p50)"
    if goal == "create":
        return "yes" if run["requests_per_second"] >= CREATE_GOAL_RPS[1] else "**no** (req/s)"
    if goal == "reports":
        p95 = run.get("p95_ms") or 0.0
        return f"yes (p95 {p95:.0f} ms)" if p95 < REPORTS_GOAL_P95 else f"**no** (p95 {p95:.0f} ms)"
    return "—"


def goal_loaded(run: dict | None) -> str:
    if run is None:
        return "—"
    if run["requests"] == 0:
        return "**no** (no answer)"
    errors = run["non_2xx"] + run["socket_errors"]
    misses = (["errors"] if errors else []) + (["p99"] if run["p99_ms"] >= LOADED_GOAL_P99 else [])
    return "yes" if not misses else f"**no** ({', '.join(misses)})"


def run_at(call: dict, connections_count: int) -> dict | None:
    return next((run for run in call["runs"] if run["connections"] == connections_count), None)


def creation_rate(call: dict, connections_count: int) -> float:
    run = run_at(call, connections_count)
    return run["requests_per_second"] if run else 0.0


def busy_machine(data: dict) -> str:
    """A warning when other processes kept the cores busy while the size was measured."""
    cores = data.get("cores") or os.cpu_count() or 1
    try:
        load = max(float(value) for value in (data["load_before"].split("/")[0], data["load_after"].split("/")[0]))
    except (KeyError, ValueError):
        return ""
    if load <= cores:
        return ""
    return (
        f"**The machine was busy**: a load average of up to {load:.1f} on {cores} cores while this size was "
        "measured, so other processes took most of the CPU and every latency here is inflated several times. "
        "The figures show the shape (which calls are slow, how they scale), not a baseline to judge the goals "
        "on: measure again on a quiet machine."
    )


def size_section(data: dict) -> str:
    levels = sorted({run["connections"] for call in data["calls"] for run in call["runs"] if call["goal"] != "create"})
    columns = ["call", "request", "user", "queries", "SQL ms", "in-process p50 ms"]
    for count in levels:
        columns += [f"{count}c req/s", f"{count}c p50 ms", f"{count}c p99 ms"]
    columns += ["errors", f"goal at 1c{'' if 1 in levels else ' —'}", f"goal at {max(levels)}c"]
    rows = []
    for call in data["calls"]:
        row = [call["name"], f"`{call['method']} {call['path']}`", call["user"], call["queries"],
               f"{call.get('sql_ms', 0):.1f}", f"{call['inprocess_p50_ms']:.1f}"]  # fmt: skip
        for count in levels:
            run = run_at(call, count)
            if run is None:
                row += ["—", "—", "—"]
            elif run["requests"] == 0:
                row += ["0", "no answer", "no answer"]
            else:
                row += [f"{run['requests_per_second']:,.1f}", f"{run['p50_ms']:.1f}", f"{run['p99_ms']:.1f}"]
        errors = sum(run["non_2xx"] + run["socket_errors"] for run in call["runs"])
        requests = sum(run["requests"] for run in call["runs"])
        row += [
            f"{errors:,} of {requests:,}",
            goal_single(call, run_at(call, 1)),
            goal_loaded(run_at(call, max(levels))),
        ]
        rows.append(row)
    parts = [
        f"### {data['tickets']:,} tickets",
        f"- Command: `{data['command']}`\n- Date: {data['date']}\n- Machine: {data['machine']}\n"
        f"- Load average before and after: {data['load_before']} and {data['load_after']}",
        f"Database `{data['database']}`. Server: `{data['server']}` (settings `helpdesk.settings.production`"
        + "".join(f", `{name}={value}`" for name, value in (data.get("server_env") or {}).items())
        + "). "
        f"Signed in as {data['users']['customer']} (customer with the most tickets), {data['users']['agent']} "
        f"(agent of `{AGENT_LINE}`) and {data['users']['manager']} (manager); tickets shown: customer's "
        f"#{data['tickets_shown']['customer_ticket']}, agent's #{data['tickets_shown']['agent_ticket']}. "
        f"{data['wrk']}, {data['warmup']} s warm-up then {data['duration']} s per call and connection count.",
        markdown_table(columns, rows),
    ]
    busy = busy_machine(data)
    if busy:
        parts.insert(3, busy)
    creation = next((call for call in data["calls"] if call["goal"] == "create"), None)
    if creation:
        figures = ", ".join(
            f"{run['connections']} connection{'s' if run['connections'] > 1 else ''}: "
            f"{run['requests_per_second']:,.1f} req/s (p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms)"
            for run in creation["runs"]
        )
        verdicts = "; ".join(
            f"with {count}: {'met' if creation_rate(creation, count) >= goal else 'missed'} (goal {goal:.1f}/s)"
            for count, goal in CREATE_GOAL_RPS.items()
        )
        parts.append(
            f"Ticket creation through the API (`POST /api/v1/tickets/`, JSON, as {creation['user']}): {figures}. "
            f"Against five times django-helpdesk's throughput, {verdicts}. "
            f"The {data['created_and_removed']:,} tickets created were deleted afterwards."
        )
    if data.get("server_errors_logged"):
        parts.append(f"The server logged {data['server_errors_logged']} ERROR lines during the run.")
    return "\n\n".join(parts)


def newest_results(directory: Path = RESULTS_DIR) -> list[dict]:
    """The newest complete result of every data size, smallest first."""
    newest: dict[int, tuple[str, dict]] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("partial"):
            continue
        size = data["tickets"]
        if size not in newest or path.name > newest[size][0]:
            newest[size] = (path.name, data)
    return [data for _size, (_name, data) in sorted(newest.items())]


def save(data: dict, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = directory / f"{data['tickets']}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


NOTES = [
    "The product as users get it: uvicorn started with the command line of docker-compose.yml's `web` service "
    "(two worker processes, proxy headers, the access log on), settings `helpdesk.settings.production` with the "
    "environment the deployment gives it, plus `DJANGO_SECURE_SSL_REDIRECT=false` and "
    "`DJANGO_SECURE_COOKIES=false` for plain HTTP on 127.0.0.1, static files collected as the image does. Celery "
    "worker and beat do not run, so no notification is sent during the load. Each data size lives in a database "
    "of its own, filled once by the `load` benchmark's loader and reused.",
    "The users sign in as a browser does (the login form, its CSRF token, the session cookie); API calls carry "
    "the user's token from `POST /api/v1/auth/token/`. Each call is loaded with wrk at each connection count "
    "for a fixed time after a short warm-up; p50 and p99 are wrk's own percentiles of every request, printed by "
    "the Lua script's `done`; any answer outside 2xx (a redirect to the login page included) and every socket "
    "error count as errors. Tickets created through the API are filed by a customer of the benchmark's own and "
    'deleted afterwards, so they never reach the lists measured next time. "queries" is the number of SQL '
    "statements of one request, counted in-process with `CaptureQueriesContext` through `django.test.Client` "
    '(DEBUG off), and "SQL ms" the time of those statements as the database client saw it; "in-process p50" '
    "is that client's median over the same call without a server, the "
    "diagnostic figure of the `lists` benchmark; the goals are judged on the HTTP figures.",
    f"Goals (judged at {GOAL_TICKETS:,} tickets, shown for every size): with 1 connection, every list, ticket "
    f"and API page under {PAGE_GOAL[0]:.0f} ms at p50 and {PAGE_GOAL[1]:.0f} ms at p99, the agent's home under "
    f"{AGENT_HOME_GOAL_P50:.0f} ms at p50, the managers' SLA dashboard and its API for a 12-month period under "
    f"{REPORTS_GOAL_P95:.0f} ms at p95 (wrk's percentile), ticket creation through the API at "
    f"{CREATE_GOAL_RPS[1]:.1f} req/s with "
    f"one connection and {CREATE_GOAL_RPS[4]:.1f} with four (five times django-helpdesk's 4.9 and 9.7); with 8 "
    f"connections, no error and p99 under {LOADED_GOAL_P99:.0f} ms for every call. The home pages of the panel "
    "and the management area and the queue overview have only the 8-connection goal. wrk, both server "
    "workers and PostgreSQL share the machine's cores, so the load average is recorded: compare figures only "
    "at a similar load.",
]


@register("http", title="Over HTTP through the served stack", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """Every main page and API call over HTTP through uvicorn as deployed, at 100,000 and 1,000,000 tickets."""
    sizes = parse_counts(args.http_tickets, "--http-tickets")
    args.connection_levels = parse_counts(args.http_connections, "--http-connections")
    args.server_overrides = {}
    for pair in args.http_env:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise BenchmarkError(f"--http-env takes NAME=VALUE, not {pair!r}")
        args.server_overrides[name] = value
    if args.http_duration < 1 or args.http_warmup < 0 or args.http_inprocess_requests < 0:
        raise BenchmarkError(
            "--http-duration must be at least 1, --http-warmup and --http-inprocess-requests 0 or more"
        )
    only = [key.strip() for key in args.http_only.split(",") if key.strip()]
    unknown = sorted(set(only) - set(CALL_KEYS))
    if unknown:
        raise BenchmarkError(f"unknown calls {', '.join(unknown)}; the calls are {', '.join(CALL_KEYS)}")
    calls = [call for call in CALLS if not only or call.key in only]
    wrk = asgi.ensure_wrk()
    ensure_database(connections["default"].settings_dict["NAME"])
    with tempfile.TemporaryDirectory(prefix="bench-http-static-") as static_root:
        print("collectstatic with helpdesk.settings.production", flush=True)
        asgi.collectstatic(server_env(connections["default"].settings_dict["NAME"], static_root))
        for tickets in sizes:
            print(f"\n--- {tickets:,} tickets ---", flush=True)
            data = measure_size(tickets, args, calls, wrk, static_root)
            data["partial"] = bool(only)
            print(f"results: {save(data)}", flush=True)
            if only:
                print(size_section(data))
    if only:
        return Result(notes=["--http-only: a partial run, not written to docs/benchmarks.md"], skipped=True)
    sections = [size_section(data) for data in newest_results()]
    return Result(notes=NOTES, summary=sections)
