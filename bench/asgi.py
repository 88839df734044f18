"""`asgi`: uvicorn against daphne, serving a signed-in customer's control panel.

Each server runs as its own process on 127.0.0.1 with the production settings and one
worker, and is loaded with wrk. Runs alternate between the servers so that slow drift
of a shared machine (other processes, CPU frequency, caches) hits both alike; medians
are reported.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import importlib.metadata
import os
import re
import secrets
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from django.db import transaction
from django.utils import timezone

from accounts.models import CustomerProfile, Role, User
from bench.fixtures import ensure_lines, migrate
from bench.registry import BenchmarkError, Result, register
from bench.report import markdown_table
from tickets.models import Category, Message, Status, Ticket

HOST = "127.0.0.1"
BASE_DIR = Path(__file__).resolve().parent.parent
USERNAME = "bench-asgi"
PASSWORD = "bench-asgi-password"  # noqa: S105 - a known password for a throwaway benchmark user
TICKETS = 12
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10

SERVERS = {
    "uvicorn": lambda port: [
        sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", HOST, "--port", str(port),
        "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ],
    # Verbosity 0 turns off daphne's access log, as --no-access-log does for uvicorn.
    "daphne": lambda port: [
        sys.executable, "-m", "daphne", "--bind", HOST, "--port", str(port), "--verbosity", "0",
        "helpdesk.asgi:application",
    ],
}  # fmt: skip

# Counts responses outside 2xx: wrk itself only reports those above 399, so a redirect
# to the login page (a lost session) would pass unnoticed.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("non2xx") end
  io.write(string.format("non-2xx responses: %d\\n", total))
end
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=int, default=15, help="seconds of measured load per run (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load before each run (default 3)")
    parser.add_argument("--runs", type=int, default=3, help="runs per server, alternating (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--path", default="/panel/", help="page to load (default /panel/)")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="DATABASE_CONN_MAX_AGE of the servers (default 0: a connection per request, see docs/benchmarks.md)",
    )
    parser.add_argument(
        "--settings",
        default="helpdesk.settings.production",
        help="settings module of the servers (default helpdesk.settings.production)",
    )


@dataclass
class Run:
    server: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def random_secret(length: int = 50) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        raise BenchmarkError("wrk is not installed; install it (Debian/Ubuntu: apt-get install -y wrk)")
    print("wrk is missing: apt-get install -y wrk", flush=True)
    subprocess.run([apt_get, "install", "-y", "wrk"], check=True)  # noqa: S603 - a fixed command
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchmarkError("apt-get installed wrk but it is not on PATH")
    return wrk


def ensure_customer() -> None:
    """The customer whose panel is loaded: a known password and a few tickets to list."""
    lines = ensure_lines()
    with transaction.atomic():
        user, _created = User.objects.get_or_create(
            username=USERNAME, defaults={"role": Role.CUSTOMER, "email": f"{USERNAME}@bench.invalid"}
        )
        if user.role != Role.CUSTOMER or not user.is_active or not user.check_password(PASSWORD):
            user.role = Role.CUSTOMER
            user.is_active = True
            user.set_password(PASSWORD)
            user.save()
        CustomerProfile.objects.get_or_create(user=user, defaults={"customer_since": timezone.localdate()})
        have = Ticket.objects.filter(customer=user).count()
        now = timezone.now()
        statuses = (Status.CLOSED, Status.WAITING_CUSTOMER, Status.IN_PROGRESS, Status.RESOLVED, Status.NEW)
        for i in range(have, TICKETS):
            created = now - dt.timedelta(days=TICKETS - i)
            ticket = Ticket.objects.create(
                subject=f"Benchmark request {i + 1}: VPS vps-{1000 + i} is slow",
                body="The site on the VPS answers in several seconds since yesterday.",
                category=Category.TECH_MEDIUM,
                status=statuses[i % len(statuses)],
                line=lines["consultants"],
                customer=user,
                created_at=created,
                updated_at=created,
                last_activity_at=created + dt.timedelta(hours=1),
            )
            Message.objects.create(
                ticket=ticket, body="We are looking into it.", created_at=created + dt.timedelta(hours=1)
            )


def server_env(settings_module: str, static_root: str, conn_max_age: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DJANGO_SECRET_KEY": random_secret(),
        "HELPDESK_SECRET_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
        "DJANGO_STATIC_ROOT": static_root,
        # Under ASGI every request runs in a thread of its own, so a persistent connection
        # is never reused: with a maximum age each request leaves one open until
        # PostgreSQL refuses new clients.
        "DATABASE_CONN_MAX_AGE": str(conn_max_age),
        # Warnings only: a log line per request would measure the terminal.
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def collectstatic(env: dict[str, str]) -> None:
    command = [sys.executable, str(BASE_DIR / "manage.py"), "collectstatic", "--noinput", "-v", "0"]
    done = subprocess.run(command, env=env, cwd=BASE_DIR, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise BenchmarkError(f"collectstatic failed with {env['DJANGO_SETTINGS_MODULE']}:\n{done.stderr[-3000:]}")


def request(port: int, method: str, path: str, *, body: str | None = None, headers: dict | None = None):
    """One request without following redirects: (status, headers, text)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def cookies_from(headers) -> dict[str, str]:
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def log_in(port: int) -> str:
    """Log in through the real form, as a browser does; returns the session cookie."""
    status, headers, page = request(port, "GET", "/accounts/login/")
    if status != 200:
        raise BenchmarkError(f"GET /accounts/login/ answered {status}, expected 200")
    csrf_cookie = cookies_from(headers).get("csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not csrf_cookie or not token:
        raise BenchmarkError("the login page set no CSRF cookie or has no CSRF token in its form")
    form = urlencode({"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1), "next": ""})
    status, headers, page = request(
        port,
        "POST",
        "/accounts/login/",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}"},
    )
    session = cookies_from(headers).get("sessionid")
    if status != 302 or not session:
        raise BenchmarkError(f"logging in as {USERNAME} failed: POST answered {status} without a session cookie")
    return session


def check_page(port: int, path: str, session: str) -> int:
    """The page must render for the signed-in customer; returns its size in bytes."""
    status, headers, page = request(port, "GET", path, headers={"Cookie": f"sessionid={session}"})
    if status != 200:
        where = headers.get("Location")
        redirect = f" (redirect to {where})" if where else ""
        raise BenchmarkError(f"GET {path} with the session answered {status}{redirect}, expected 200")
    return len(page.encode())


@contextlib.contextmanager
def running_server(name: str, env: dict[str, str], log_dir: Path):
    port = free_port()
    log_path = log_dir / f"{name}-{port}.log"
    with log_path.open("w") as log:
        # A session of its own, so stopping it reaches the server's children and nothing else.
        process = subprocess.Popen(  # noqa: S603 - our own fixed command
            SERVERS[name](port), env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ready(process, port, log_path)
        yield port
    finally:
        stop(process)


def wait_until_ready(process: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"the server exited with code {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _headers, _body = request(port, "GET", "/healthz")
            if status == 200:
                return
            raise BenchmarkError(f"/healthz answered {status}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    raise BenchmarkError(f"the server did not answer within {START_TIMEOUT_SECONDS}s:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def milliseconds(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if not match:
        raise BenchmarkError(f"cannot read the wrk latency {value!r}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[match.group(2)]
    return float(match.group(1)) * scale


def parse_wrk(server: str, output: str) -> Run:
    def find(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise BenchmarkError(f"unexpected wrk output (no {pattern!r}):\n{output}")
        return match.group(1)

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Run(
        server=server,
        requests_per_second=float(find(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=milliseconds(find(r"^\s+50%\s+(\S+)")),
        p99_ms=milliseconds(find(r"^\s+99%\s+(\S+)")),
        requests=int(find(r"^\s+(\d+) requests in")),
        non_2xx=int(find(r"^non-2xx responses: (\d+)")),
        socket_errors=sum(int(count) for count in errors.groups()) if errors else 0,
    )


def run_wrk(wrk: str, args: argparse.Namespace, port: int, session: str, script: Path, seconds: int) -> str:
    command = [
        wrk, f"--threads={args.threads}", f"--connections={args.connections}", f"--duration={seconds}s",
        "--timeout=10s", "--latency", f"--script={script}", f"--header=Cookie: sessionid={session}",
        f"http://{HOST}:{port}{args.path}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)  # noqa: S603
    if done.returncode != 0:
        raise BenchmarkError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def describe_difference(runs: dict[str, list[Run]]) -> str:
    rps = {name: statistics.median(run.requests_per_second for run in items) for name, items in runs.items()}
    p99 = {name: statistics.median(run.p99_ms for run in items) for name, items in runs.items()}
    faster, slower = sorted(rps, key=rps.get, reverse=True)[:2]
    lower, higher = sorted(p99, key=p99.get)[:2]
    gain = (rps[faster] / rps[slower] - 1) * 100 if rps[slower] else float("inf")
    throughput = (
        f"**{faster}** served {gain:.0f}% more requests per second than {slower} "
        f"({rps[faster]:,.0f} against {rps[slower]:,.0f}, medians)"
    )
    latency = f"p99 latency ({p99[lower]:.1f} ms against {p99[higher]:.1f} ms)"
    if faster == lower:
        return f"{throughput}, and it had the lower {latency}."
    return f"{throughput}, while {lower} had the lower {latency}."


@register("asgi", title="ASGI servers: uvicorn against daphne", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """Compare uvicorn and daphne serving a signed-in page under wrk load."""
    if min(args.duration, args.runs, args.connections, args.threads) < 1 or args.warmup < 0:
        raise BenchmarkError("--duration, --runs, --connections and --threads must be positive")
    migrate()
    ensure_customer()
    wrk = ensure_wrk()
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()  # noqa: S603
    ticket_count = Ticket.objects.count()
    runs: dict[str, list[Run]] = {name: [] for name in SERVERS}
    page_bytes = 0
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as temp:
        temp_dir = Path(temp)
        env = server_env(args.settings, str(temp_dir / "static"), args.conn_max_age)
        if args.settings.endswith(".production"):
            print(f"collectstatic with {args.settings}", flush=True)
            collectstatic(env)
        script = temp_dir / "count-non-2xx.lua"
        script.write_text(WRK_SCRIPT)
        for round_number in range(1, args.runs + 1):
            for name in SERVERS:
                with running_server(name, env, temp_dir) as port:
                    session = log_in(port)
                    page_bytes = check_page(port, args.path, session)
                    if args.warmup:
                        run_wrk(wrk, args, port, session, script, args.warmup)
                    result = parse_wrk(name, run_wrk(wrk, args, port, session, script, args.duration))
                    # The session must have survived the load, or the numbers measured something else.
                    check_page(port, args.path, session)
                runs[name].append(result)
                print(
                    f"  run {round_number}/{args.runs} {name:8} {result.requests_per_second:8,.1f} req/s  "
                    f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  non-2xx {result.non_2xx}  "
                    f"socket errors {result.socket_errors}",
                    flush=True,
                )

    for name, items in runs.items():
        failed = sum(run.non_2xx for run in items)
        if failed:
            print(f"WARNING: {name} answered {failed} requests outside 2xx", flush=True)
    rows = [
        (
            f"{name} {version(name)}",
            f"{statistics.median(run.requests_per_second for run in items):,.1f}",
            f"{statistics.median(run.p50_ms for run in items):.1f}",
            f"{statistics.median(run.p99_ms for run in items):.1f}",
            f"{sum(run.non_2xx for run in items):,} of {sum(run.requests for run in items):,}",
            f"{sum(run.socket_errors for run in items):,}",
        )
        for name, items in runs.items()
    ]
    per_run = [
        (f"{index + 1}", run.server, f"{run.requests_per_second:,.1f}", f"{run.p50_ms:.1f}", f"{run.p99_ms:.1f}")
        for index, pair in enumerate(zip(*runs.values(), strict=True))
        for run in pair
    ]
    notes = [
        f"`GET {args.path}` ({page_bytes:,} bytes of HTML) as the signed-in customer `{USERNAME}`, "
        f"session from the real login form, settings `{args.settings}` (DEBUG off, no access log, "
        f"`DATABASE_CONN_MAX_AGE={args.conn_max_age}`). "
        f"One server process each: uvicorn with uvloop {version('uvloop')} and httptools {version('httptools')}, "
        f"daphne on Twisted {version('twisted')}; Django {version('django')}, "
        f"{ticket_count:,} tickets in the database.",
        f"Load: {wrk_version}, {args.threads} threads, {args.connections} connections, {args.warmup} s "
        f"warm-up then {args.duration} s measured. wrk, the server and PostgreSQL share the machine's "
        f"{os.cpu_count()} cores, and single runs are noisy, so each server ran {args.runs} times, "
        "alternating with the other within one session, and the tables quote the medians of those runs. "
        "Compare numbers only within one session.",
    ]
    if args.conn_max_age == 0:
        notes.append(
            "`DATABASE_CONN_MAX_AGE=0`: Django under ASGI runs each request in a thread of its own, so a "
            "persistent connection is never reused, and with a persistent connection (e.g. 60 s) every "
            "request leaves a connection open; under this load PostgreSQL soon refuses new clients "
            "(`too many clients already`) and a large share of the responses are 500s. With 0 each request "
            "opens and closes its own connection, which both servers pay alike."
        )
    summary = [
        describe_difference(runs),
        "Runs in the order they were made:",
        markdown_table(("round", "server", "req/s", "p50 ms", "p99 ms"), per_run),
    ]
    return Result(
        columns=("server", "median req/s", "median p50 ms", "median p99 ms", "non-2xx responses", "socket errors"),
        rows=rows,
        notes=notes,
        summary=summary,
    )
