"""nginx in front of one uvicorn process, then of two, measured with wrk on a read page and the API.

    DATABASE_URL=postgres://…/helpdesk_scale REDIS_URL=redis://…/N \\
        .venv/bin/python -m bench.upstreams [--seconds 10] [--rounds 2] [--tickets 2000]

Starts everything itself, as tests/test_two_processes.py does (`tests.stack`): the uvicorn
processes (the test settings with a pool of 8 connections per process), and nginx from a
configuration written into a temporary directory. Alternates rounds (one upstream, two
upstreams, again), prints a Markdown table of requests a second and latencies (medians of the
rounds) with the load average, for docs/deployment.md. Not part of `python -m bench all`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from accounts.services import api_token_issue  # noqa: E402
from bench.fixtures import ensure_lines, insert_waiting_tickets  # noqa: E402
from tests.stack import HOST, Stack  # noqa: E402
from tickets.models import Ticket  # noqa: E402

PASSWORD = "scale-password"  # noqa: S105 - a throwaway benchmark account
TARGETS = {
    "page": "/desk/tickets/",
    "api": "/api/v1/tickets/?page_size=20",
}


def prepare(tickets: int) -> tuple[str, str]:
    """Schema, lines, an agent of the first line and `tickets` waiting tickets; returns the
    agent's username and an API token."""
    call_command("migrate", interactive=False, verbosity=0)
    lines = ensure_lines()
    agent, _ = User.objects.get_or_create(
        username="scale-agent", defaults={"role": Role.AGENT, "password": make_password(PASSWORD)}
    )
    lines["first-line"].memberships.get_or_create(user=agent)
    for n in range(20):
        User.objects.get_or_create(
            username=f"scale-customer-{n}",
            defaults={"role": Role.CUSTOMER, "password": make_password(PASSWORD), "email": f"c{n}@example.net"},
        )
    have = Ticket.objects.filter(line=lines["first-line"]).count()
    if have < tickets:
        insert_waiting_tickets(
            lines["first-line"],
            tickets - have,
            now=timezone.now(),
            seed=7,
            spread_seconds=86400,
            max_credit_minutes=120,
        )
    return agent.username, api_token_issue(user=agent, name="scale")[1]


def session_cookie(port: int, username: str) -> str:
    from tests.test_two_processes import log_in

    return log_in(port, username, PASSWORD)


def wrk(port: int, path: str, header: str, seconds: int, connections: int) -> dict[str, float]:
    command = [
        shutil.which("wrk") or "wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
        "--timeout", "10s",
        "-H", header, f"http://{HOST}:{port}{path}",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout  # noqa: S603

    def ms(pattern: str) -> float:
        value, unit = re.search(pattern, out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    return {
        "timeouts": float(timeouts.group(1)) if timeouts else 0.0,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms(r"50%\s+([\d.]+)(us|ms|s)"),
        "p99": ms(r"99%\s+([\d.]+)(us|ms|s)"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    username, token = prepare(args.tickets)
    results: dict[tuple[int, str], list[dict[str, float]]] = {}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="upstreams-") as tmp:
        stack = Stack(Path(tmp))
        try:
            webs = [stack.web("web-1"), stack.web("web-2")]
            for web in webs:
                stack.wait_http(web)
            proxies = {1: stack.nginx(webs[:1], "nginx-1"), 2: stack.nginx(webs, "nginx-2")}
            for proxy in proxies.values():
                stack.wait_http(proxy)
            headers = {
                "page": f"Cookie: {session_cookie(webs[0].port, username)}",
                "api": f"Authorization: Token {token}",
            }
            for _round in range(args.rounds):
                for upstreams, proxy in proxies.items():
                    for target, path in TARGETS.items():
                        run = wrk(proxy.port, path, headers[target], args.seconds, args.connections)
                        results.setdefault((upstreams, target), []).append(run)
                        print(upstreams, target, run, flush=True)
        finally:
            stack.stop()
    load.append(os.getloadavg()[0])
    command = "DATABASE_URL=… REDIS_URL=… .venv/bin/python -m bench.upstreams " + " ".join(sys.argv[1:])
    day = timezone.localdate()
    print(f"\n`{command}` on {day}, load average {load[0]:.1f} → {load[1]:.1f}, {os.cpu_count()} cores:\n")
    print(f"wrk -t 2 -c {args.connections} -d {args.seconds}s --timeout 10s, medians of {args.rounds} rounds:\n")
    print("| upstreams | target | req/s | p50 ms | p99 ms | non-2xx | timeouts |")
    print("|---|---|---|---|---|---|---|")
    for (upstreams, target), runs in sorted(results.items()):
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(
            f"| {upstreams} | `GET {TARGETS[target]}` | {med['rps']:.1f} | {med['p50']:.0f} | {med['p99']:.0f} "
            f"| {med['errors']:.0f} | {med['timeouts']:.0f} |"
        )


if __name__ == "__main__":
    main()
