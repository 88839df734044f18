"""`outbox`: how fast a Celery worker turns a backlog of ticket events into e-mails.

A backlog with the mix of a working day is made through the ticket services (new tickets,
which tell the line's agents; agents' replies, promises and transfers, which tell the
customer or the next line; resolutions), so every event has its outbox row. Then one
Celery worker (solo pool, one process, as production runs one per core) is started against
the same database and Redis, with a real SMTP server on 127.0.0.1 (aiosmtpd in this process)
as its mail server, and the outbox is drained the way beat drains it. Measured: events and
e-mails a second from the first drain to the last e-mail received, and that every
notification reached the server exactly once (by its Message-ID).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from accounts.models import Role, User
from bench.fixtures import ensure_lines, migrate
from bench.registry import BenchmarkError, Result, register
from helpdesk.errors import DomainError
from notifications.models import Notification
from tickets import services
from tickets.models import Category, EventOutbox, Message, Ticket

BASE_DIR = Path(__file__).resolve().parents[1]
DEFAULT_EVENTS = 2000
AGENTS_PER_LINE = 6
CUSTOMERS = 300
GOAL_EVENTS_PER_SECOND = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--outbox-events",
        type=int,
        default=DEFAULT_EVENTS,
        help=f"ticket events in the backlog to drain (default {DEFAULT_EVENTS:,})",
    )


class Sink:
    """An SMTP server that counts what it receives by Message-ID."""

    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.last_at = 0.0

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser().parsebytes(envelope.original_content or envelope.content, headersonly=True)
        with self.lock:
            self.received[message.get("Message-ID", "")] += 1
            self.last_at = time.monotonic()
        return "250 OK"

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


def _users(lines: dict) -> tuple[list[User], dict[str, list[User]]]:
    password = make_password(None)  # unusable: these accounts only receive mail
    agents: dict[str, list[User]] = {}
    for code, line in lines.items():
        members = []
        for index in range(AGENTS_PER_LINE):
            user, _created = User.objects.get_or_create(
                username=f"outbox-{code}-{index}",
                defaults={"role": Role.AGENT, "email": f"outbox-{code}-{index}@agents.example", "password": password},
            )
            line.memberships.get_or_create(user=user)
            members.append(user)
        agents[code] = members
    customers = []
    for index in range(CUSTOMERS):
        user, _created = User.objects.get_or_create(
            username=f"outbox-customer-{index}",
            defaults={
                "role": Role.CUSTOMER,
                "email": f"outbox-customer-{index}@customers.example",
                "password": password,
            },
        )
        customers.append(user)
    return customers, agents


def _clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE notifications_notification CASCADE")  # and what points at them
        cursor.execute(f"TRUNCATE {EventOutbox._meta.db_table}")


def make_backlog(count: int, rng: random.Random) -> collections.Counter[str]:
    """Ticket events through the services until the outbox holds `count` rows; their kinds."""
    lines = ensure_lines()
    customers, agents = _users(lines)
    first = lines["first-line"]
    second = next(line for code, line in lines.items() if code != "first-line" and line.level)
    kinds: collections.Counter[str] = collections.Counter()
    open_tickets: list[Ticket] = []
    while EventOutbox.objects.count() < count:
        roll = rng.random()
        if roll < 0.3 or not open_tickets:
            ticket = services.ticket_create(
                customer=rng.choice(customers),
                subject=f"Site down after update {rng.randint(1, 10**6)}",
                body="Hello, my site returns 502 since this morning.\n\nThanks",
                category=Category.TECH_SIMPLE,
            )
            open_tickets.append(ticket)
            kinds["new ticket"] += 1
            continue
        ticket = Ticket.objects.get(pk=rng.choice(open_tickets).pk)
        agent = rng.choice(agents[ticket.line.code] if ticket.line.code in agents else agents["first-line"])
        if roll < 0.75:
            services.message_add(
                ticket=ticket, author=agent, body="We restarted **nginx**; please check.", kind=Message.Kind.PUBLIC
            )
            kinds["agent's reply"] += 1
        elif roll < 0.8:
            services.message_add(ticket=ticket, author=agent, body="Checking the logs.", kind=Message.Kind.NOTE)
            kinds["internal note"] += 1
        elif roll < 0.85:
            try:
                services.ticket_set_promise(
                    ticket=ticket, actor=agent, promised_by=timezone.now() + dt.timedelta(hours=rng.randint(2, 48))
                )
            except DomainError:
                continue
            kinds["promise"] += 1
        elif roll < 0.93 and ticket.line_id == first.pk:
            services.ticket_transfer(ticket=ticket, actor=agent, to_line=second, reason="needs an administrator")
            kinds["transfer"] += 1
        else:
            services.ticket_resolve(ticket=ticket, actor=agent)
            open_tickets.remove(next(t for t in open_tickets if t.pk == ticket.pk))
            kinds["resolution"] += 1
    return kinds


def _worker_env(port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EMAIL_")}
    env["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    # The local settings print mail to the console; the worker sends it to the sink instead.
    env["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    env["HELPDESK_NOTIFY_SECONDS"] = "3600"  # no beat here: the drain is started by hand
    return env


@register("outbox", title="Notifications outbox drained by one worker", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """The notifications' outbox drained by one Celery worker into a real SMTP server."""
    from notifications.tasks import drain_outbox

    migrate()
    _clear()
    rng = random.Random(7)  # noqa: S311 - the shape of generated data, no secret
    started = time.monotonic()
    kinds = make_backlog(args.outbox_events, rng)
    events = EventOutbox.objects.count()
    print(f"  backlog of {events:,} events made in {time.monotonic() - started:.0f}s: {dict(kinds)}", flush=True)

    sink = Sink()
    # aiosmtpd logs every SMTP command at INFO (a dozen lines an e-mail): the receiver's own
    # cost, in this process on the same two cores as the worker, not the helpdesk's.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=BASE_DIR,
        env=_worker_env(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        from helpdesk.tasks import ping

        ping.delay().get(timeout=120)  # the worker is up and listening
        began = time.monotonic()
        drain_outbox.delay()
        deadline = began + max(300, events)
        while time.monotonic() < deadline:
            left = EventOutbox.objects.filter(parked_at__isnull=True).count()
            queued = Notification.objects.filter(status=Notification.Status.QUEUED).count()
            if left == 0 and queued == 0:
                break
            if left and time.monotonic() - began > 5:
                drain_outbox.delay()  # as beat would, every few seconds
            time.sleep(0.2)
        else:
            raise BenchmarkError(f"the outbox was not drained in {deadline - began:.0f}s")
        elapsed = (max(sink.last_at, began) if sink.total else time.monotonic()) - began
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        controller.stop()

    sent = Notification.objects.filter(status=Notification.Status.SENT).count()
    failed = Notification.objects.filter(status=Notification.Status.FAILED).count()
    parked = EventOutbox.objects.count()
    doubled = sum(1 for count in sink.received.values() if count > 1)
    missing = sent - len(sink.received)
    rate = events / elapsed if elapsed else 0.0
    verdict = "met" if rate >= GOAL_EVENTS_PER_SECOND and not doubled and not missing and not parked else "NOT met"
    rows = [
        ("events drained", f"{events:,}"),
        ("e-mails sent (received by the SMTP server)", f"{sent:,} ({sink.total:,})"),
        ("failed, parked", f"{failed:,}, {parked:,}"),
        ("e-mails received twice, sent but not received", f"{doubled:,}, {missing:,}"),
        ("time from the first drain to the last e-mail", f"{elapsed:.1f} s"),
        ("events a second", f"{rate:,.0f}"),
        ("e-mails a second", f"{sink.total / elapsed if elapsed else 0:,.0f}"),
    ]
    return Result(
        columns=("", "value"),
        rows=rows,
        notes=[
            f"A backlog of {events:,} ticket events made through the ticket services "
            + ", ".join(f"{count:,} {kind}" for kind, count in kinds.most_common())
            + f"; {AGENTS_PER_LINE} agents in each line, {CUSTOMERS} customers. One Celery worker (solo pool) "
            "drains it into an SMTP server on 127.0.0.1 (aiosmtpd), started by the benchmark; the mail "
            f"backend is Django's SMTP backend ({settings.EMAIL_DELIVERY_BACKEND} in this process).",
        ],
        summary=[
            f"Goal: {GOAL_EVENTS_PER_SECOND} events a second or more on one worker, every e-mail once: {verdict}.",
        ],
    )
