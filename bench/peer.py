"""`python -m bench.peer` (`make bench-peer`): the product side by side with django-helpdesk.

django-helpdesk (pinned as PEER_VERSION) is installed from PyPI into a virtual environment of
its own (`.data/peer/venv`), with a small generated Django project (`.data/peer/peer_site`) on
a PostgreSQL database of its own. One data set, generated from a seed, is written into both:
the same queues (our lines), agents, customers and tickets, each ticket with three messages.
Both are served as deployed — ours with uvicorn as docker-compose.yml runs it (two workers,
the production settings), django-helpdesk with gunicorn (two sync workers, DEBUG off) — and
loaded with the same wrk on the same machine, in rounds that alternate between the two. The
SQL statements of one request of each call are counted in-process in each product, and the
sweeps over the open tickets are timed in each product's own process.

The section of docs/benchmarks.md (`<!-- bench:peer -->`) is rewritten by every full run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PEER_DIR = BASE_DIR / ".data" / "peer"
PEER_VENV = PEER_DIR / "venv"
PEER_PROJECT = "peer_site"
RESULTS_DIR = PEER_DIR / "results"
PEER_PACKAGE = "django-helpdesk"
PEER_VERSION = "2.6.1"  # the newest release on PyPI when the benchmark was written
PEER_REQUIREMENTS = (f"{PEER_PACKAGE}=={PEER_VERSION}", "gunicorn", "psycopg2-binary")
PEER_PYTHON = "python3.11"
DEFAULT_TICKETS = 100_000
DEFAULT_SEED = 7
OURS_DATABASE = "hd_peer_ours"
PEER_DATABASE = "hd_peer_dh"
CONNECTIONS = (1, 8)
# A call whose single request takes longer than this is measured one request at a time
# (wrk would see few or none finish) and not loaded with 8 connections.
SLOW_SECONDS = 2.5
SLOW_REQUEST_TIMEOUT = 300
SWEEP_ROUNDS = 2
ESCALATE_DAYS = 1
# Open tickets are at least this old, so django-helpdesk's escalation (after ESCALATE_DAYS)
# takes every one of them, as our sweep does.
OPEN_MIN_AGE_DAYS = 2
RECENT_DAYS = 30
HISTORY_DAYS = 365
DAY = 86_400.0
HOUR = 3_600.0

# Goals from the product's issue.
PAGE_GOAL = 20.0  # our pages faster at p50, at least this many times
CREATE_GOAL = 5.0  # our ticket creation's throughput, at least this many times
SWEEP_GOAL = 100.0  # our sweep faster than `escalate_tickets`, at least this many times

AGENT_LINE = "first-line"
DATASET_TABLE = "bench_peer_dataset"
SNAPSHOT_TABLE = "bench_peer_snapshot"


# --- the data set (pure: no database) --------------------------------------------------------


@dataclass(frozen=True)
class GenMessage:
    author: str  # "agent" or "customer"
    public: bool
    body: str
    at: dt.datetime


@dataclass(frozen=True)
class GenTicket:
    index: int
    queue: str  # a line code; a queue slug in django-helpdesk
    category: str
    customer: int  # index into customer_usernames()
    agent: int  # index into agent_usernames(); every ticket has an assignee
    status: str  # "open", "resolved" or "closed"
    urgency: str  # "normal" or "high"
    subject: str
    body: str
    service: str
    language: str
    created: dt.datetime
    messages: tuple[GenMessage, ...]
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None

    @property
    def last_activity(self) -> dt.datetime:
        return self.messages[-1].at

    @property
    def updated(self) -> dt.datetime:
        return max(self.last_activity, self.closed_at or self.last_activity)

    @property
    def first_response(self) -> dt.datetime:
        return next(message.at for message in self.messages if message.author == "agent" and message.public)


def queue_codes() -> tuple[str, ...]:
    from bench.load import AGENTS_PER_LINE

    return tuple(AGENTS_PER_LINE)


def queue_titles() -> dict[str, str]:
    from bench.fixtures import LINES

    return {code: name for code, name, *_rest in LINES}


def agent_usernames() -> list[tuple[str, str]]:
    """(line code, username) of every agent, in a fixed order: the loader's generated agents."""
    from bench.load import AGENT_PREFIX, AGENTS_PER_LINE

    return [(code, f"{AGENT_PREFIX}{code}-{i:02d}") for code, size in AGENTS_PER_LINE.items() for i in range(size)]


def customer_usernames(count: int) -> list[str]:
    from bench.load import CUSTOMER_PREFIX

    return [f"{CUSTOMER_PREFIX}{i:06d}" for i in range(1, count + 1)]


def customer_count(tickets: int) -> int:
    return max(50, tickets // 20)


def email_of(username: str) -> str:
    return f"{username}@bench.invalid"


def generate(tickets: int, seed: int, now: dt.datetime) -> Iterator[GenTicket]:
    """The data set: `tickets` tickets with three messages each, the same for a seed and a `now`.

    Shaped like the `load` benchmark's (its categories, lines, subjects and replies), simplified
    so that both products hold the same thing: every ticket is assigned, the open ones are 2 to
    30 days old and wait for the agent (the customer spoke last), the others are resolved or
    closed after the agent's second reply.
    """
    from bench import load

    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    random_ = rng.random
    randrange = rng.randrange
    categories = load.weighted_table({category: share for category, (share, _line) in load.CATEGORIES.items()})
    line_of = {getattr(category, "value", category): code for category, (_share, code) in load.CATEGORIES.items()}
    agents = agent_usernames()
    agents_of: dict[str, list[int]] = {}
    for index, (code, _username) in enumerate(agents):
        agents_of.setdefault(code, []).append(index)
    customers = customer_count(tickets)
    base = now.timestamp()
    utc = dt.UTC
    for index in range(tickets):
        age_days = random_() * HISTORY_DAYS
        category = categories[int(random_() * 1000)]
        queue = line_of[category]
        urgency = "high" if random_() < 0.15 else "normal"
        roll = random_()
        if OPEN_MIN_AGE_DAYS <= age_days < RECENT_DAYS:
            status = "open" if roll < 0.35 else "resolved" if roll < 0.6 else "closed"
        elif age_days < OPEN_MIN_AGE_DAYS:
            status = "resolved" if roll < 0.4 else "closed"
        else:
            status = "resolved" if roll < 0.03 else "closed"
        customer = int(customers * random_() ** 1.5)
        agent = agents_of[queue][randrange(len(agents_of[queue]))]
        service = load.SERVICES[randrange(len(load.SERVICES))].format(n=randrange(1000, 99999))
        subjects = load.SUBJECTS[category]
        bodies = load.BODIES.get(category, load.BODIES["default"])
        subject = subjects[randrange(len(subjects))].format(service=service)
        body = bodies[randrange(len(bodies))].format(service=service)
        created_ts = base - age_days * DAY

        def at(offset_hours: float, created_ts: float = created_ts) -> dt.datetime:
            return dt.datetime.fromtimestamp(min(base - 60, created_ts + offset_hours * HOUR), utc)

        first = 0.25 + random_() * 4
        answer = first + 1 + random_() * 8
        agent_reply = load.AGENT_REPLIES[randrange(len(load.AGENT_REPLIES))]
        if status == "open":
            messages = (
                GenMessage("agent", True, agent_reply, at(first)),
                GenMessage("agent", False, load.NOTES[randrange(len(load.NOTES))], at(first + 0.02)),
                GenMessage("customer", True, load.CUSTOMER_REPLIES[1 + randrange(3)], at(answer)),
            )
            resolved_at = closed_at = None
        else:
            solution = answer + 0.5 + random_() * 6
            messages = (
                GenMessage("agent", True, agent_reply, at(first)),
                GenMessage("customer", True, load.CUSTOMER_REPLIES[randrange(len(load.CUSTOMER_REPLIES))], at(answer)),
                GenMessage("agent", True, load.AGENT_REPLIES[randrange(len(load.AGENT_REPLIES))], at(solution)),
            )
            resolved_at = messages[-1].at
            closed_at = at(solution + 72) if status == "closed" else None
        yield GenTicket(
            index=index,
            queue=queue,
            category=category,
            customer=customer,
            agent=agent,
            status=status,
            urgency=urgency,
            subject=subject,
            body=body,
            service=service,
            language="ru" if random_() < 0.7 else "en",
            created=dt.datetime.fromtimestamp(created_ts, utc),
            messages=messages,
            resolved_at=resolved_at,
            closed_at=closed_at,
        )


def pick_ticket(tickets: Sequence[GenTicket] | Iterator[GenTicket], agent: int) -> int:
    """The index of the ticket page to load: the newest open ticket of AGENT_LINE assigned to
    `agent`, else the newest open one of the line, else the line's newest."""
    best: dict[str, tuple[dt.datetime, int]] = {}
    for ticket in tickets:
        if ticket.queue != AGENT_LINE:
            continue
        for kind, wanted in (
            ("own", ticket.status == "open" and ticket.agent == agent),
            ("open", ticket.status == "open"),
            ("any", True),
        ):
            if wanted and (kind not in best or ticket.created > best[kind][0]):
                best[kind] = (ticket.created, ticket.index)
    for kind in ("own", "open", "any"):
        if kind in best:
            return best[kind][1]
    raise ValueError(f"the data set has no ticket in {AGENT_LINE}")


# What each product calls the data set's states.
OURS_STATUS = {"open": "waiting_agent", "resolved": "resolved", "closed": "closed"}
PEER_STATUS = {"open": 1, "resolved": 3, "closed": 4}  # django-helpdesk's Ticket.OPEN/RESOLVED/CLOSED_STATUS
PEER_PRIORITY = {"high": 2, "normal": 3}  # 1 critical ... 5 very low; 1 is never escalated


def ours_rows(
    ticket: GenTicket, *, ticket_id: int, number: int, line_id: int, agent_id: int, customer_id: int
) -> tuple[tuple, list[tuple]]:
    """Our ticket row (OURS_TICKET_COLUMNS) and its message rows (bench.load.MESSAGE_COLUMNS)."""
    waiting = ticket.status == "open"
    row = (
        ticket_id, number, ticket.subject, ticket.body, ticket.category, ticket.service, "panel", ticket.urgency,
        OURS_STATUS[ticket.status], line_id, agent_id, customer_id, None, ticket.language, ticket.created,
        ticket.updated, ticket.last_activity, ticket.first_response, ticket.resolved_at, ticket.closed_at,
        None if waiting else ticket.queue == AGENT_LINE, ticket.created,
        ticket.last_activity if waiting else None, ticket.last_activity if waiting else None,
    )  # fmt: skip
    messages = [
        (ticket_id, agent_id if message.author == "agent" else customer_id,
         "public" if message.public else "note", message.body, message.at)
        for message in ticket.messages
    ]  # fmt: skip
    return row, messages


OURS_TICKET_COLUMNS = (
    "id", "number", "subject", "body", "category", "service", "channel", "urgency", "status", "line_id",
    "assignee_id", "customer_id", "organisation_id", "language", "created_at", "updated_at",
    "last_activity_at", "first_response_at", "resolved_at", "closed_at", "solved_at_first_level",
    "line_entered_at", "queued_at", "virtual_time",
)  # fmt: skip
PEER_USER_COLUMNS = (
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
    "is_active", "date_joined",
)  # fmt: skip
PEER_TICKET_COLUMNS = (
    "id", "title", "created", "modified", "submitter_email", "status", "on_hold", "description", "resolution",
    "priority", "due_date", "last_escalation", "assigned_to_id", "queue_id", "secret_key", "kbitem_id",
    "merged_to_id",
)  # fmt: skip
PEER_FOLLOWUP_COLUMNS = (
    "date", "title", "comment", "public", "new_status", "ticket_id", "user_id", "message_id", "time_spent",
    "email_recipients",
)  # fmt: skip


def peer_rows(ticket: GenTicket, *, queue_id: int, agent_id: int, customer_id: int, customer_email: str):
    """django-helpdesk's ticket row (PEER_TICKET_COLUMNS, id = index + 1) and follow-up rows."""
    ticket_id = ticket.index + 1
    resolution = ticket.messages[-1].body if ticket.status != "open" else None
    row = (
        ticket_id, ticket.subject, ticket.created, ticket.updated, customer_email, PEER_STATUS[ticket.status],
        False, ticket.body, resolution, PEER_PRIORITY[ticket.urgency], None, None, agent_id, queue_id,
        str(uuid.UUID(int=ticket_id)), None, None,
    )  # fmt: skip
    followups = []
    for position, message in enumerate(ticket.messages):
        closing = ticket.status != "open" and position == len(ticket.messages) - 1
        followups.append(
            (
                message.at, "Resolved" if closing else "Comment", message.body, message.public,
                PEER_STATUS["resolved"] if closing else None, ticket_id,
                agent_id if message.author == "agent" else customer_id, None, None, None,
            )
        )  # fmt: skip
    return row, followups


# --- figures and the report (pure) ---------------------------------------------------------------


@dataclass
class Figures:
    """One product's figures for one call at one connection count: medians over the rounds."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    errors: int = 0
    rounds: int = 0
    sequential: bool = False  # measured one request at a time (too slow for wrk)


def median_figures(runs: Sequence[dict]) -> Figures | None:
    """The median of each figure over the rounds' runs (dicts with requests_per_second, p50_ms,
    p99_ms, requests, errors, sequential)."""
    runs = [run for run in runs if run["requests"] > 0]  # a run that got no answer has no latency
    if not runs:
        return None
    return Figures(
        requests_per_second=statistics.median(run["requests_per_second"] for run in runs),
        p50_ms=statistics.median(run["p50_ms"] for run in runs),
        p99_ms=statistics.median(run["p99_ms"] for run in runs),
        requests=sum(run["requests"] for run in runs),
        errors=sum(run["errors"] for run in runs),
        rounds=len(runs),
        sequential=any(run.get("sequential") for run in runs),
    )


def combine(parts: Sequence[Figures | None]) -> Figures | None:
    """Figures of a page that takes several requests one after another (django-helpdesk's ticket
    list: the page, then the rows it fetches): latencies add up, and so does the time per view."""
    if not parts or any(part is None for part in parts):
        return None
    present = [part for part in parts if part is not None]
    if len(present) == 1:
        return present[0]
    slowest = min(part.requests_per_second for part in present)
    seconds_per_view = sum(1 / part.requests_per_second for part in present if part.requests_per_second > 0)
    return Figures(
        requests_per_second=(1 / seconds_per_view) if seconds_per_view and slowest > 0 else 0.0,
        p50_ms=sum(part.p50_ms for part in present),
        p99_ms=sum(part.p99_ms for part in present),
        requests=min(part.requests for part in present),
        errors=sum(part.errors for part in present),
        rounds=min(part.rounds for part in present),
        sequential=any(part.sequential for part in present),
    )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0 or numerator <= 0:
        return None
    return numerator / denominator


def format_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}×" if value < 100 else f"{value:,.0f}×"


def verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "NOT met (no figure)"
    return "met" if value >= goal else "NOT met"


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


TABLE_COLUMNS = (
    "call", "conn.", "ours req/s", "peer req/s", "req/s ours ÷ peer", "ours p50 ms", "peer p50 ms",
    "p50 peer ÷ ours", "ours p99 ms", "peer p99 ms", "ours queries", "peer queries",
)  # fmt: skip


def table_rows(calls: Sequence[dict]) -> list[list[str]]:
    """One row per call and connection count. Each call: name, connections ({count: {"ours":
    Figures|None, "peer": Figures|None}}), queries {"ours": int|None, "peer": int|None}."""
    rows = []
    for call in calls:
        for count, pair in sorted(call["connections"].items()):
            ours, peer = pair.get("ours"), pair.get("peer")
            rows.append(
                [
                    call["name"],
                    str(count),
                    number(ours.requests_per_second if ours else None),
                    number(peer.requests_per_second if peer else None)
                    + (" (seq.)" if peer and peer.sequential else ""),
                    format_ratio(ratio(ours and ours.requests_per_second, peer and peer.requests_per_second)),
                    number(ours.p50_ms if ours else None),
                    number(peer.p50_ms if peer else None),
                    format_ratio(ratio(peer and peer.p50_ms, ours and ours.p50_ms)),
                    number(ours.p99_ms if ours else None),
                    number(peer.p99_ms if peer else None),
                    "—" if call["queries"].get("ours") is None else f"{call['queries']['ours']:,}",
                    "—" if call["queries"].get("peer") is None else f"{call['queries']['peer']:,}",
                ]
            )
    return rows


def goal_lines(calls: Sequence[dict], sweep: dict | None) -> list[str]:
    """The three goals, each met or NOT met, on the figures of this run."""
    lines = []
    page_ratios = []
    for call in calls:
        if call["kind"] != "page":
            continue
        pair = call["connections"].get(1, {})
        ours, peer = pair.get("ours"), pair.get("peer")
        value = ratio(peer and peer.p50_ms, ours and ours.p50_ms)
        page_ratios.append((call["name"], value))
    if page_ratios:
        worst = min((value for _name, value in page_ratios if value is not None), default=None)
        missing = any(value is None for _name, value in page_ratios)
        overall = "NOT met (no figure)" if missing else verdict(worst, PAGE_GOAL)
        detail = "; ".join(f"{name} {format_ratio(value)} ({verdict(value, PAGE_GOAL)})" for name, value in page_ratios)
        lines.append(
            f"- Pages at least {PAGE_GOAL:g} times faster than django-helpdesk's at p50 (1 connection): "
            f"**{overall}** — {detail}."
        )
    for call in calls:
        if call["kind"] != "create":
            continue
        count = max(call["connections"])
        pair = call["connections"][count]
        ours, peer = pair.get("ours"), pair.get("peer")
        value = ratio(ours and ours.requests_per_second, peer and peer.requests_per_second)
        lines.append(
            f"- Ticket creation through the API at least {CREATE_GOAL:g} times django-helpdesk's throughput "
            f"({count} connections): **{verdict(value, CREATE_GOAL)}** — "
            f"{number(ours.requests_per_second if ours else None)} against "
            f"{number(peer.requests_per_second if peer else None)} req/s, {format_ratio(value)}."
        )
    if sweep is not None:
        value = ratio(sweep.get("peer_seconds"), sweep.get("ours_seconds"))
        lines.append(
            f"- The sweep over all open tickets at least {SWEEP_GOAL:g} times faster than `escalate_tickets`: "
            f"**{verdict(value, SWEEP_GOAL)}** — {number(sweep.get('ours_seconds'), 3)} s against "
            f"{number(sweep.get('peer_seconds'), 3)} s for {sweep.get('open', 0):,} open tickets, "
            f"{format_ratio(value)}."
        )
    return lines


def sweep_rows(sweep: dict) -> list[list[str]]:
    rows = []
    for key, name in (("", "every open ticket due"), ("idle_", "nothing due (the next run)")):
        ours_s, peer_s = sweep.get(f"{key}ours_seconds"), sweep.get(f"{key}peer_seconds")
        ours_n, peer_n = sweep.get(f"{key}ours_handled", 0), sweep.get(f"{key}peer_handled", 0)
        rows.append(
            [
                name,
                f"{ours_n:,}",
                f"{peer_n:,}",
                number(ours_s * 1000 if ours_s is not None else None),
                number(peer_s * 1000 if peer_s is not None else None),
                format_ratio(ratio(peer_s, ours_s)),
                number(sweep.get(f"{key}ours_statements"), 0),
                number(sweep.get(f"{key}peer_statements"), 0),
            ]
        )
    return rows


SWEEP_COLUMNS = (
    "sweep", "ours: tickets acted on", "peer: tickets escalated", "ours ms", "peer ms", "peer ÷ ours",
    "ours SQL statements", "peer SQL statements",
)  # fmt: skip


# --- the peer's environment ----------------------------------------------------------------------

PEER_SETTINGS = '''\
"""Settings of the django-helpdesk installation the benchmark compares with (generated by bench/peer.py)."""

import os

SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
SITE_ID = 1
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peer_site.urls"
WSGI_APPLICATION = "peer_site.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": %(name)r,
        "USER": %(user)r,
        "PASSWORD": %(password)r,
        "HOST": %(host)r,
        "PORT": %(port)r,
        # gunicorn's sync workers serve one request at a time: persistent connections, as
        # Django's deployment checklist recommends.
        "CONN_MAX_AGE": 60,
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:dashboard"
# Mail is rendered and handed to a backend that sends nothing.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@bench.invalid"
HELPDESK_TEAMS_MODE_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
'''

PEER_URLS = """\
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
"""

PEER_WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_site.settings")
application = get_wsgi_application()
"""

# Run inside the peer's virtual environment: what needs its models (the queues and user
# settings it creates through its own code, query counts, the escalation sweep).
PEER_TOOL = '''\
"""Helpers bench/peer.py runs inside django-helpdesk's virtual environment (generated)."""

import json
import statistics
import sys
import time

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def prepare(spec):
    from django.contrib.auth.models import Permission
    from django.contrib.sites.models import Site
    from helpdesk.models import Queue

    Site.objects.update_or_create(id=1, defaults={"domain": "127.0.0.1", "name": "helpdesk"})
    ids = {}
    for queue in spec["queues"]:
        if not Queue.objects.filter(slug=queue["slug"]).exists():
            # A queue's access permission outlives the queue (emptied with the users it refers to).
            Permission.objects.filter(codename="queue_access_" + queue["slug"]).delete()
        obj, _created = Queue.objects.update_or_create(
            slug=queue["slug"],
            defaults={"title": queue["title"], "escalate_days": queue["escalate_days"],
                      "allow_public_submission": False, "allow_email_submission": False},
        )
        ids[queue["slug"]] = obj.id
    return ids


def user_settings(spec):
    from helpdesk.models import UserSettings

    missing = get_user_model().objects.filter(is_staff=True, usersettings_helpdesk__isnull=True)
    created = UserSettings.objects.bulk_create([UserSettings(user=user) for user in missing])
    return {"created": len(created)}


def queries(spec):
    user = get_user_model().objects.get(username=spec["username"])
    client = Client()
    client.force_login(user)
    out = {}
    for call in spec["calls"]:
        counts, statuses = [], []
        for _ in range(call.get("repeat", 3)):
            counter = Counter()
            with connection.execute_wrapper(counter):
                if call["method"] == "GET":
                    response = client.get(call["path"])
                else:
                    response = client.post(call["path"], data=call["body"], content_type="application/json")
            counts.append(counter.count)
            statuses.append(response.status_code)
        out[call["key"]] = {"queries": int(statistics.median(counts[1:] or counts)), "statuses": statuses}
    return out


def escalate(spec):
    from helpdesk.models import Ticket

    results = []
    for _ in range(2):  # every due ticket, then the next run with nothing due
        before = Ticket.objects.filter(last_escalation__isnull=False).count()
        counter = Counter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            call_command("escalate_tickets")
            seconds = time.perf_counter() - started
        after = Ticket.objects.filter(last_escalation__isnull=False).count()
        results.append({"seconds": seconds, "statements": counter.count, "handled": after - before})
    return results


if __name__ == "__main__":
    command = sys.argv[1]
    spec = json.loads(sys.stdin.read() or "{}")
    print("peer-tool-result " + json.dumps(globals()[command](spec)))
'''


class PeerError(RuntimeError):
    pass


def peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def installed_version() -> str | None:
    python = peer_python()
    if not python.exists():
        return None
    done = subprocess.run(  # noqa: S603 - the peer's own interpreter
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({PEER_PACKAGE!r}))"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_venv() -> str:
    """The peer's virtual environment with the pinned django-helpdesk; returns its version."""
    if installed_version() == PEER_VERSION:
        return PEER_VERSION
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    if not peer_python().exists():
        print(f"creating {PEER_VENV} with {PEER_PYTHON}", flush=True)
        subprocess.run([PEER_PYTHON, "-m", "venv", str(PEER_VENV)], check=True)  # noqa: S603
    print(f"pip install {' '.join(PEER_REQUIREMENTS)}", flush=True)
    subprocess.run([str(peer_python()), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True)  # noqa: S603
    version = installed_version()
    if version != PEER_VERSION:
        raise PeerError(f"{PEER_PACKAGE} {PEER_VERSION} did not install (found {version})")
    return version


def write_project(database: dict) -> None:
    """The generated Django project around django-helpdesk."""
    package = PEER_DIR / PEER_PROJECT
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(PEER_SETTINGS % database)
    (package / "urls.py").write_text(PEER_URLS)
    (package / "wsgi.py").write_text(PEER_WSGI)
    (PEER_DIR / "peer_tool.py").write_text(PEER_TOOL)


def peer_env() -> dict[str, str]:
    from bench import asgi

    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": f"{PEER_PROJECT}.settings",
        "PEER_SECRET_KEY": asgi.random_secret(),
        "PYTHONPATH": str(PEER_DIR),
        "PYTHONUNBUFFERED": "1",
    }


def peer_manage(*arguments: str) -> None:
    command = [str(peer_python()), "-m", "django", *arguments]
    done = subprocess.run(command, env=peer_env(), cwd=PEER_DIR, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise PeerError(f"django-helpdesk: {' '.join(arguments)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")


def peer_tool(command: str, spec: dict | None = None, timeout: float = 3600):
    done = subprocess.run(  # noqa: S603 - the peer's own interpreter and our generated script
        [str(peer_python()), str(PEER_DIR / "peer_tool.py"), command],
        input=json.dumps(spec or {}),
        env=peer_env(),
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    match = re.search(r"^peer-tool-result (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not match:
        raise PeerError(f"peer tool {command} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return json.loads(match.group(1))


# --- databases -------------------------------------------------------------------------------------


def read_marker() -> dict | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [DATASET_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT info FROM {DATASET_TABLE} LIMIT 1")  # noqa: S608 - our own table
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def write_marker(info: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {DATASET_TABLE} (info jsonb NOT NULL)")
        cursor.execute(f"DELETE FROM {DATASET_TABLE}")  # noqa: S608 - our own table
        cursor.execute(f"INSERT INTO {DATASET_TABLE} (info) VALUES (%s)", [json.dumps(info)])  # noqa: S608


def same_data(marker: dict | None, tickets: int, seed: int) -> bool:
    return bool(marker) and marker.get("tickets") == tickets and marker.get("seed") == seed


def batches(iterator: Iterator[GenTicket], size: int) -> Iterator[list[GenTicket]]:
    batch: list[GenTicket] = []
    for item in iterator:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_ours(tickets: int, seed: int, now: dt.datetime, picked: int) -> dict:
    """Write the data set into our database through the loader's paths (COPY, reserved ids and
    numbers); returns the marker (with the picked ticket's number)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from accounts.models import User
    from bench import fixtures, load
    from helpdesk.bulk import copy_rows, reserve_ids, reserve_ticket_numbers
    from tickets.models import Message, Ticket

    fixtures.migrate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")
        if cursor.fetchone()[0]:
            print("  emptying our ticket tables (TRUNCATE ... CASCADE)", flush=True)
            cursor.execute("TRUNCATE tickets_message, tickets_ticket CASCADE")
    load.check_columns(Ticket._meta.db_table, OURS_TICKET_COLUMNS)
    load.check_columns(Message._meta.db_table, load.MESSAGE_COLUMNS)
    lines = fixtures.ensure_lines()
    password = make_password(load.BENCH_PASSWORD)
    load.ensure_agents(lines, password)
    load.ensure_customers(customer_count(tickets), password, random.Random(seed), now)  # noqa: S311
    ids_by_name = dict(User.objects.filter(username__startswith="bench-").values_list("username", "id"))
    agents = [ids_by_name[name] for _code, name in agent_usernames()]
    customers = [ids_by_name[name] for name in customer_usernames(customer_count(tickets))]
    User.objects.filter(id__in=agents + customers).update(password=password, is_active=True)
    line_ids = {code: line.id for code, line in lines.items()}
    picked_number = None
    started = time.monotonic()
    written = 0
    for batch in batches(generate(tickets, seed, now), load.BATCH_TICKETS):
        with transaction.atomic():
            ids = reserve_ids(Ticket._meta.db_table, len(batch))
            numbers = reserve_ticket_numbers(len(batch))
            rows, messages = [], []
            for ticket, ticket_id, ticket_number in zip(batch, ids, numbers, strict=True):
                row, own = ours_rows(
                    ticket,
                    ticket_id=ticket_id,
                    number=ticket_number,
                    line_id=line_ids[ticket.queue],
                    agent_id=agents[ticket.agent],
                    customer_id=customers[ticket.customer],
                )
                rows.append(row)
                messages += own
                if ticket.index == picked:
                    picked_number = ticket_number
            copy_rows(Ticket._meta.db_table, OURS_TICKET_COLUMNS, rows)
            copy_rows(Message._meta.db_table, load.MESSAGE_COLUMNS, messages)
        written += len(batch)
    load.update_profile_counts()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"  ours: {written:,} tickets with {written * 3:,} messages in {time.monotonic() - started:.0f} s", flush=True
    )
    return {"picked_number": picked_number}


def load_peer(tickets: int, seed: int, now: dt.datetime, queue_ids: dict[str, int]) -> None:
    """Write the data set into django-helpdesk's tables with COPY (its queues and user settings
    are made by its own code, see PEER_TOOL)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from bench.load import BATCH_TICKETS, BENCH_PASSWORD
    from helpdesk.bulk import copy_rows

    password = make_password(BENCH_PASSWORD)
    agents = agent_usernames()
    customers = customer_usernames(customer_count(tickets))
    started = time.monotonic()
    joined = now - dt.timedelta(days=HISTORY_DAYS + 30)
    users = [
        (index + 1, password, None, False, name, "Agent", f"{index:02d}", email_of(name), True, True, joined)
        for index, (_code, name) in enumerate(agents)
    ]
    first_customer = len(agents) + 1
    users += [
        (first_customer + index, password, None, False, name, "Customer", f"{index:06d}", email_of(name), False, True,
         joined)
        for index, name in enumerate(customers)
    ]  # fmt: skip
    with transaction.atomic():
        copy_rows("auth_user", PEER_USER_COLUMNS, users)
    written = 0
    for batch in batches(generate(tickets, seed, now), BATCH_TICKETS):
        rows, followups = [], []
        for ticket in batch:
            row, own = peer_rows(
                ticket,
                queue_id=queue_ids[ticket.queue],
                agent_id=ticket.agent + 1,
                customer_id=first_customer + ticket.customer,
                customer_email=email_of(customers[ticket.customer]),
            )
            rows.append(row)
            followups += own
        with transaction.atomic():
            copy_rows("helpdesk_ticket", PEER_TICKET_COLUMNS, rows)
            copy_rows("helpdesk_followup", PEER_FOLLOWUP_COLUMNS, followups)
        written += len(batch)
    with connection.cursor() as cursor:
        for table in ("auth_user", "helpdesk_ticket", "helpdesk_followup"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
        cursor.execute("ANALYZE")
    print(
        f"  peer: {written:,} tickets with {written * 3:,} follow-ups in {time.monotonic() - started:.0f} s", flush=True
    )


def prepare_databases(args: argparse.Namespace, now: dt.datetime) -> dict:
    """Both databases holding the data set (loaded once, reused while tickets and seed match)."""
    from django.db import connections

    from bench import http

    http.ensure_database(args.peer_ours_database)
    http.ensure_database(args.peer_database)
    settings_dict = connections["default"].settings_dict
    write_project(
        {
            "name": args.peer_database,
            "user": settings_dict.get("USER") or "postgres",
            "password": settings_dict.get("PASSWORD") or "",
            "host": settings_dict.get("HOST") or "127.0.0.1",
            "port": str(settings_dict.get("PORT") or "5432"),
        }
    )
    print("django-helpdesk: migrate", flush=True)
    peer_manage("migrate", "--noinput", "-v", "0")
    queues = [{"slug": code, "title": queue_titles()[code], "escalate_days": ESCALATE_DAYS} for code in queue_codes()]
    agent = agent_index(AGENT_LINE)
    with http.using_database(args.peer_ours_database):
        ours_marker = read_marker()
    with http.using_database(args.peer_database):
        peer_marker = read_marker()
    # Each database is loaded once and reused while it holds this data set (same size, seed and
    # moment of generation): the second is loaded with the first one's moment.
    if same_data(ours_marker, args.peer_tickets, args.peer_seed) and ours_marker:
        marker = ours_marker
        print(f"ours holds the data set already ({args.peer_tickets:,} tickets, seed {args.peer_seed})", flush=True)
    else:
        picked = pick_ticket(generate(args.peer_tickets, args.peer_seed, now), agent)
        print(f"loading {args.peer_tickets:,} tickets (seed {args.peer_seed}) into ours", flush=True)
        with http.using_database(args.peer_ours_database):
            marker = {
                "tickets": args.peer_tickets,
                "seed": args.peer_seed,
                "now": now.isoformat(),
                "picked_index": picked,
                **load_ours(args.peer_tickets, args.peer_seed, now, picked),
            }
            write_marker(marker)
    if peer_marker == marker:
        print("django-helpdesk holds the same data set already", flush=True)
        return {**marker, "queue_ids": peer_tool("prepare", {"queues": queues})}
    print(f"loading {args.peer_tickets:,} tickets (seed {args.peer_seed}) into django-helpdesk", flush=True)
    with http.using_database(args.peer_database):
        from django.db import connection

        with connection.cursor() as cursor:
            # CASCADE reaches every table referring to these, the queues (their default owner) too.
            cursor.execute("TRUNCATE helpdesk_ticket, auth_user CASCADE")
    queue_ids = peer_tool("prepare", {"queues": queues})
    with http.using_database(args.peer_database):
        load_peer(args.peer_tickets, args.peer_seed, dt.datetime.fromisoformat(marker["now"]), queue_ids)
        write_marker(marker)
    peer_tool("user_settings")
    return {**marker, "queue_ids": queue_ids}


def agent_index(line: str) -> int:
    """The index of the first agent of `line`: the agent who signs in."""
    return next(index for index, (code, _name) in enumerate(agent_usernames()) if code == line)


# --- serving and loading -------------------------------------------------------------------------------


def request(port: int, method: str, path: str, *, body: str | None = None, headers: dict | None = None,
            timeout: float = 60):  # fmt: skip
    import http.client

    from bench.asgi import HOST

    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def form_log_in(port: int, login_path: str, username: str, password: str) -> dict[str, str]:
    """Sign in through a login form as a browser does; returns the cookies (sessionid, csrftoken)."""
    from urllib.parse import urlencode

    from bench import asgi

    status, headers, page = request(port, "GET", login_path)
    if status != 200:
        raise PeerError(f"GET {login_path} answered {status}")
    csrf_cookie = asgi.cookies_from(headers).get("csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not csrf_cookie or not token:
        raise PeerError(f"{login_path} set no CSRF cookie or has no CSRF token in its form")
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)})
    status, headers, _page = request(
        port,
        "POST",
        login_path,
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}"},
    )
    cookies = asgi.cookies_from(headers)
    if status != 302 or "sessionid" not in cookies:
        raise PeerError(f"signing in as {username} at {login_path} failed: {status} without a session")
    return {"sessionid": cookies["sessionid"], "csrftoken": cookies.get("csrftoken", csrf_cookie)}


def wait_for(process: subprocess.Popen, port: int, path: str, log_path: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerError(f"the server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            status, _headers, _body = request(port, "GET", path, timeout=10)
            if status < 500:
                return
        time.sleep(0.3)
    raise PeerError(f"the server did not answer within {seconds:.0f} s:\n{log_path.read_text()[-3000:]}")


def peer_server_command(port: int) -> list[str]:
    from bench.asgi import HOST

    return [
        str(PEER_VENV / "bin" / "gunicorn"), f"{PEER_PROJECT}.wsgi:application", "--workers", "2",
        "--bind", f"{HOST}:{port}", "--chdir", str(PEER_DIR), "--timeout", str(SLOW_REQUEST_TIMEOUT),
    ]  # fmt: skip


@contextlib.contextmanager
def serve_peer(log_dir: Path):
    from bench import asgi

    port = asgi.free_port()
    command = peer_server_command(port)
    log_path = log_dir / f"gunicorn-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - the peer's own gunicorn
            command, env=peer_env(), cwd=PEER_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(process, port, "/helpdesk/login/", log_path)
        yield port, command
    finally:
        asgi.stop(process)


@contextlib.contextmanager
def server_logs_on_failure(log_dir: Path):
    """A failure inside says what the servers logged (their logs go with the temporary directory)."""
    try:
        yield
    except Exception as exc:
        logs = "".join(
            f"\n--- {path.name} ---\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(log_dir.glob("*.log"))
        )
        raise PeerError(f"{exc}{logs}") from exc


# --- the calls ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    method: str
    path: str  # formatted with the run's values: {line}, {queue_id}, {our_number}, {peer_id}, {datatables}
    api: bool = False


@dataclass(frozen=True)
class Call:
    key: str
    name: str
    kind: str  # "page" (the p50 goal) or "create" (the throughput goal)
    ours: tuple[Part, ...]
    peer: tuple[Part, ...]


CREATE_SUBJECT = "Benchmark: VPS vps-4242.example.net does not answer"
CREATE_TEXT = "Since this morning the VPS times out on ssh and http.\n\nPlease have a look."
CALLS = (
    Call("home", "agent's main page", "page", (Part("GET", "/desk/"),), (Part("GET", "/helpdesk/dashboard/"),)),
    Call(
        "queue-page",
        "one queue's open tickets: page",
        "page",
        (Part("GET", "/desk/tickets/?line={line}"),),
        (
            Part("GET", "/helpdesk/tickets/?queue={queue_id}&status=1&status=2"),
            Part("GET", "/helpdesk/datatables_ticket_list/{datatables}?draw=1&start=0&length=25"),
        ),
    ),
    Call(
        "queue-api",
        "one queue's open tickets: API",
        "page",
        (Part("GET", "/api/v1/tickets/?line={line}&open=true", api=True),),
        (Part("GET", "/helpdesk/api/tickets/?status=1,2", api=True),),
    ),
    Call(
        "ticket",
        "one ticket's page",
        "page",
        (Part("GET", "/desk/tickets/{our_number}/"),),
        (Part("GET", "/helpdesk/tickets/{peer_id}/"),),
    ),
    Call(
        "create",
        "create a ticket (API)",
        "create",
        (Part("POST", "/api/v1/tickets/", api=True),),
        (Part("POST", "/helpdesk/api/tickets/", api=True),),
    ),
)
CALL_KEYS = tuple(call.key for call in CALLS)


def ours_body() -> str:
    from bench.http import CREATE_BODY

    return json.dumps({**CREATE_BODY, "subject": CREATE_SUBJECT, "body": CREATE_TEXT})


def peer_body(queue_id: int) -> str:
    return json.dumps(
        {
            "queue": queue_id,
            "title": CREATE_SUBJECT,
            "description": CREATE_TEXT,
            "submitter_email": email_of("bench-http-creator"),
            "priority": 3,
        }
    )


@dataclass
class Side:
    """How to send one product's requests: its port, headers and bodies."""

    port: int
    headers: dict[str, str]  # for pages
    api_headers: dict[str, str]
    create_headers: dict[str, str]
    create_body: str


def part_headers(side: Side, part: Part) -> tuple[dict[str, str], str | None]:
    if part.method == "POST":
        return dict(side.create_headers), side.create_body
    return dict(side.api_headers if part.api else side.headers), None


def probe(side: Side, part: Part, path: str) -> tuple[float, int]:
    """One request; (seconds, status). Raises unless it answers 2xx."""
    headers, body = part_headers(side, part)
    started = time.perf_counter()
    status, response_headers, text = request(
        side.port, part.method, path, body=body, headers=headers, timeout=SLOW_REQUEST_TIMEOUT
    )
    seconds = time.perf_counter() - started
    if not 200 <= status < 300:
        where = response_headers.get("Location")
        raise PeerError(
            f"{part.method} {path} answered {status}" + (f" (to {where})" if where else "") + f": {text[:300]}"
        )
    return seconds, status


def sequential(side: Side, part: Part, path: str, budget: float) -> dict:
    """Requests one at a time for `budget` seconds (at least 2): for calls too slow for wrk."""
    latencies = []
    started = time.monotonic()
    errors = 0
    while len(latencies) < 2 or time.monotonic() - started < budget:
        try:
            seconds, _status = probe(side, part, path)
        except (PeerError, OSError):
            errors += 1
            if errors > 3:
                break
            continue
        latencies.append(seconds * 1000)
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests_per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) if latencies else 0.0,
        "p99_ms": latencies[-1] if latencies else 0.0,  # the slowest of a handful
        "requests": len(latencies),
        "errors": errors,
        "sequential": True,
    }


def wrk_run(wrk: str, side: Side, part: Part, path: str, connections: int, args, script_dir: Path) -> dict:
    from bench import http

    headers, body = part_headers(side, part)
    script = script_dir / f"{abs(hash((side.port, part.method, path)))}.lua"
    script.write_text(http.wrk_script(part.method, headers, body))
    url = f"http://{http.HOST}:{side.port}{path}"
    if args.peer_warmup:
        http.run_wrk(wrk, url, script, connections=connections, seconds=args.peer_warmup)
        # wrk leaves the warm-up's last requests queued at the server: one more request waits
        # behind them, so the measured run does not start with a backlog.
        probe(side, part, path)
    run = http.parse_wrk(
        http.run_wrk(wrk, url, script, connections=connections, seconds=args.peer_duration), connections
    )
    return {
        "requests_per_second": run.requests_per_second,
        "p50_ms": run.p50_ms,
        "p99_ms": run.p99_ms,
        "requests": run.requests,
        "errors": run.errors,
        "sequential": False,
    }


# --- queries per request (in-process) ------------------------------------------------------------------------


class StatementCount:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def ours_queries(calls: Sequence[Call], values: dict, agent, creator, token: str, creator_token: str) -> dict:
    """SQL statements of one request of each call in our product (median of the 2nd and 3rd)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    out = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        for call in calls:
            total = 0
            for part in call.ours:
                path = part.path.format(**values)
                if part.method == "POST":
                    client = Client(HTTP_AUTHORIZATION=creator_token)
                elif part.api:
                    client = Client(HTTP_AUTHORIZATION=token)
                else:
                    client = Client()
                    client.force_login(agent)
                counts = []
                for _ in range(3):
                    counter = StatementCount()
                    with connection.execute_wrapper(counter):
                        if part.method == "GET":
                            response = client.get(path)
                        else:
                            response = client.post(path, data=ours_body(), content_type="application/json")
                    if not 200 <= response.status_code < 300:
                        raise PeerError(f"in-process {part.method} {path} answered {response.status_code}")
                    counts.append(counter.count)
                total += int(statistics.median(counts[1:]))
            out[call.key] = total
    return out


def peer_queries(calls: Sequence[Call], values: dict, username: str, slow: set[str]) -> dict:
    spec = {"username": username, "calls": []}
    for call in calls:
        for index, part in enumerate(call.peer):
            spec["calls"].append(
                {
                    "key": f"{call.key}#{index}",
                    "method": part.method,
                    "path": part.path.format(**values),
                    "body": peer_body(values["queue_id"]) if part.method == "POST" else None,
                    "repeat": 2 if f"{call.key}:peer#{index}" in slow else 3,
                }
            )
    result = peer_tool("queries", spec)
    out: dict[str, int] = {}
    for key, value in result.items():
        if any(not 200 <= status < 300 for status in value["statuses"]):
            raise PeerError(f"in-process django-helpdesk {key} answered {value['statuses']}")
        call_key = key.split("#")[0]
        out[call_key] = out.get(call_key, 0) + value["queries"]
    return out


# --- cleanup after creating tickets ------------------------------------------------------------------------


def peer_max_ids() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in ("helpdesk_ticket", "helpdesk_followup"):
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - fixed names
            out[table] = cursor.fetchone()[0]
    return out


def delete_rows_after(table: str, marker: int) -> int:
    """Delete the rows of `table` with an id above `marker` and everything that refers to them."""
    from django.db import connection

    from bench.fixtures import references_to

    def delete(table: str, where: str, params: list) -> int:
        with connection.cursor() as cursor:
            for child, column in references_to(table):
                if child == table:
                    continue
                delete(child, f'"{column}" IN (SELECT id FROM {table} WHERE {where})', params)  # noqa: S608
            cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608 - catalog names
            return cursor.rowcount

    return delete(table, "id > %s", [marker])


def peer_cleanup(markers: dict[str, int]) -> int:
    from django.db import transaction

    with transaction.atomic():
        removed = delete_rows_after("helpdesk_ticket", markers["helpdesk_ticket"])
        delete_rows_after("helpdesk_followup", markers["helpdesk_followup"])
    return removed


# --- the sweeps --------------------------------------------------------------------------------------------


def snapshot(table: str, where: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT_TABLE}")
        cursor.execute(f"CREATE TABLE {SNAPSHOT_TABLE} AS SELECT * FROM {table} WHERE {where}")  # noqa: S608


def restore(table: str) -> None:
    """Put every column of the snapshot's rows back (the generated ones excepted)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s AND column_name <> 'id'
              AND is_generated = 'NEVER' ORDER BY ordinal_position
            """,
            [table],
        )
        columns = [row[0] for row in cursor.fetchall()]
        targets = ", ".join(f'"{column}"' for column in columns)
        sources = ", ".join(f's."{column}"' for column in columns)
        cursor.execute(
            f"UPDATE {table} t SET ({targets}) = ({sources}) FROM {SNAPSHOT_TABLE} s WHERE t.id = s.id"  # noqa: S608
        )


def ours_open_statuses() -> list[str]:
    from sla.deadlines import RUNNING

    return [str(status) for status in RUNNING]


def ours_make_due(now: dt.datetime) -> int:
    """Every open ticket's resolution deadline passed an hour ago (its warning two): each has a
    warning and a breach due, and the breach escalates as the SLA policy says. Nothing else is due."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET sla_next_check_at = NULL WHERE sla_next_check_at IS NOT NULL")
        cursor.execute(
            """
            UPDATE tickets_ticket SET
                resolution_warn_at = %(now)s - interval '2 hours', resolution_due = %(now)s - interval '1 hour',
                first_response_warn_at = NULL, first_response_due = NULL,
                next_response_warn_at = NULL, next_response_due = NULL,
                sla_next_check_at = %(now)s - interval '1 hour'
            WHERE status = ANY(%(open)s)
            """,
            {"now": now, "open": ours_open_statuses()},
        )
        return cursor.rowcount


def ours_clear_sweep_writes(markers: dict[str, int]) -> None:
    """Remove what a sweep wrote: ticket events (TRUNCATE: they refuse DELETE) with what refers
    to them, SLA records, and messages and stints past the markers; the tickets are put back
    from the snapshot."""
    from django.db import connection, transaction

    from bench import fixtures

    with connection.cursor() as cursor:
        tables = {fixtures.EVENT_TABLE, fixtures.OUTBOX_TABLE}
        pending = [fixtures.EVENT_TABLE]
        while pending:
            for table, _column in fixtures.references_to(pending.pop()):
                if table not in tables:
                    tables.add(table)
                    pending.append(table)
        cursor.execute("TRUNCATE " + ", ".join(f'"{table.strip(chr(34))}"' for table in sorted(tables)))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM sla_slarecord")
        for table, marker in markers.items():
            cursor.execute(f"DELETE FROM {table} WHERE id > %s", [marker])  # noqa: S608 - our own names
        restore("tickets_ticket")


def ours_markers() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in ("tickets_message", "tickets_linestint"):
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - fixed names
            out[table] = cursor.fetchone()[0]
    return out


def ours_sweep() -> dict:
    """Our SLA sweep as the beat task runs it, called until nothing is due; then once more (idle)."""
    from django.test.utils import override_settings

    from bench.sla import logs_discarded
    from sla.services import sla_sweep

    results = []
    with override_settings(DEBUG=False), logs_discarded():
        for _ in range(2):
            counter = StatementCount()
            from django.db import connection

            with connection.execute_wrapper(counter):
                started = time.perf_counter()
                handled = 0
                while True:
                    done = sla_sweep()
                    handled += done
                    if not done:
                        break
                seconds = time.perf_counter() - started
            results.append({"seconds": seconds, "statements": counter.count, "handled": handled})
    return {"due": results[0], "idle": results[1]}


def measure_sweeps(args: argparse.Namespace) -> dict:
    from bench import http

    ours_runs, peer_runs = [], []
    with http.using_database(args.peer_ours_database):
        from django.db import connection

        due = ours_make_due(dt.datetime.now(dt.UTC))
        snapshot("tickets_ticket", "sla_next_check_at IS NOT NULL")
        markers = ours_markers()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) tickets_ticket")
    with http.using_database(args.peer_database):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("UPDATE helpdesk_ticket SET last_escalation = NULL WHERE last_escalation IS NOT NULL")
        snapshot("helpdesk_ticket", "status IN (1, 2)")
        followups = peer_max_ids()["helpdesk_followup"]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {SNAPSHOT_TABLE}")  # noqa: S608 - our own table
            peer_open = cursor.fetchone()[0]
            cursor.execute("VACUUM (ANALYZE) helpdesk_ticket")
    print(f"sweeps: {due:,} open tickets due in ours, {peer_open:,} open in django-helpdesk", flush=True)
    for index in range(args.peer_sweep_rounds):
        with http.using_database(args.peer_ours_database):
            ours = ours_sweep()
            ours_clear_sweep_writes(markers)
        ours_runs.append(ours)
        print(
            f"  round {index + 1} ours: {ours['due']['handled']:,} tickets in {ours['due']['seconds']:.3f} s "
            f"({ours['due']['statements']:,} statements); idle {ours['idle']['seconds'] * 1000:.1f} ms",
            flush=True,
        )
        peer_due, peer_idle = peer_tool("escalate")
        with http.using_database(args.peer_database):
            from django.db import transaction

            with transaction.atomic():
                delete_rows_after("helpdesk_followup", followups)
                restore("helpdesk_ticket")
        peer_runs.append({"due": peer_due, "idle": peer_idle})
        print(
            f"  round {index + 1} peer: {peer_due['handled']:,} tickets in {peer_due['seconds']:.3f} s "
            f"({peer_due['statements']:,} statements); idle {peer_idle['seconds'] * 1000:.1f} ms",
            flush=True,
        )
    result: dict = {"open": due, "peer_open": peer_open, "rounds": args.peer_sweep_rounds}
    for key, which in (("", "due"), ("idle_", "idle")):
        for side, runs in (("ours", ours_runs), ("peer", peer_runs)):
            result[f"{key}{side}_seconds"] = statistics.median(run[which]["seconds"] for run in runs)
            result[f"{key}{side}_statements"] = statistics.median(run[which]["statements"] for run in runs)
            result[f"{key}{side}_handled"] = runs[0][which]["handled"]
    return result


# --- the run -------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--peer-tickets",
        type=int,
        default=DEFAULT_TICKETS,
        help=f"tickets in each product (default {DEFAULT_TICKETS:,})",
    )
    parser.add_argument("--peer-seed", type=int, default=DEFAULT_SEED, help=f"data set seed (default {DEFAULT_SEED})")
    parser.add_argument("--peer-duration", type=int, default=10, help="seconds of wrk load per run (default 10)")
    parser.add_argument("--peer-warmup", type=int, default=2, help="seconds of unmeasured load before each (default 2)")
    parser.add_argument("--peer-rounds", type=int, default=2, help="rounds per call, ours and peer taking turns (2)")
    parser.add_argument("--peer-sweep-rounds", type=int, default=SWEEP_ROUNDS, help="sweeps per product (default 2)")
    parser.add_argument("--peer-ours-database", default=OURS_DATABASE, help=f"our database (default {OURS_DATABASE})")
    parser.add_argument("--peer-database", default=PEER_DATABASE, help=f"django-helpdesk's (default {PEER_DATABASE})")
    parser.add_argument("--peer-only", default="", help=f"only these calls (of {', '.join(CALL_KEYS)}); not recorded")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweeps (not recorded)")
    parser.add_argument("--no-write", action="store_true", help="print the section without writing docs/benchmarks.md")


def measure(args: argparse.Namespace) -> dict:
    from django.db import connections

    from bench import asgi, http, lists, report
    from bench.load import BENCH_PASSWORD
    from tickets.models import Ticket

    version = ensure_venv()
    wrk = asgi.ensure_wrk()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    data = prepare_databases(args, now)
    only = [key.strip() for key in args.peer_only.split(",") if key.strip()]
    unknown = sorted(set(only) - set(CALL_KEYS))
    if unknown:
        raise PeerError(f"unknown calls {', '.join(unknown)}; the calls are {', '.join(CALL_KEYS)}")
    calls = [call for call in CALLS if not only or call.key in only]
    agent_name = agent_usernames()[agent_index(AGENT_LINE)][1]
    machine = report.machine_description()
    results: dict = {"calls": {}}
    load_before = lists.load_average()
    with http.using_database(args.peer_ours_database):
        from accounts.models import User

        agent = http.with_password(User.objects.get(username=agent_name))
        creator = http.ensure_creator()
        http.remove_created(creator)
        open_ours = Ticket.objects.filter(status__in=ours_open_statuses()).count()
        total_ours = Ticket.objects.count()
    with http.using_database(args.peer_database):
        peer_markers = peer_max_ids()
    values = {
        "line": AGENT_LINE,
        "queue_id": data["queue_ids"][AGENT_LINE],
        "our_number": data["picked_number"],
        "peer_id": data["picked_index"] + 1,
        "datatables": "",
    }
    # Collected into a directory kept between runs: collectstatic then only copies what changed.
    static_root = str(PEER_DIR / "static")
    ours_env = http.server_env(args.peer_ours_database, static_root)
    if static_is_fresh(Path(static_root)):
        print(f"static files in {static_root} are up to date", flush=True)
    else:
        print("collectstatic with helpdesk.settings.production", flush=True)
        asgi.collectstatic(ours_env)
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as temp:
        temp_dir = Path(temp)
        with (
            http.served(ours_env, temp_dir) as (ours_port, ours_command, _log, _pid),
            serve_peer(temp_dir) as (peer_port, peer_command),
            server_logs_on_failure(temp_dir),
        ):
            session = http.log_in(ours_port, agent_name, BENCH_PASSWORD)
            token = http.api_authorization(ours_port, agent_name, BENCH_PASSWORD)
            creator_token = http.api_authorization(ours_port, creator.username, BENCH_PASSWORD)
            peer_cookies = form_log_in(peer_port, "/helpdesk/login/", agent_name, BENCH_PASSWORD)
            peer_cookie = f"sessionid={peer_cookies['sessionid']}; csrftoken={peer_cookies['csrftoken']}"
            # The ticket list's rows come from the URL its page names (DataTables' ajax source).
            _status, _headers, page = request(
                peer_port,
                "GET",
                f"/helpdesk/tickets/?queue={values['queue_id']}&status=1&status=2",
                headers={"Cookie": peer_cookie},
            )
            found = re.search(r"datatables_ticket_list/([A-Za-z0-9_=-]+)", page)
            if not found:
                raise PeerError("django-helpdesk's ticket list names no datatables_ticket_list URL")
            values["datatables"] = found.group(1)
            sides = {
                "ours": Side(
                    port=ours_port,
                    headers={"Cookie": session},
                    api_headers={"Authorization": token},
                    create_headers={"Authorization": creator_token, "Content-Type": "application/json"},
                    create_body=ours_body(),
                ),
                "peer": Side(
                    port=peer_port,
                    headers={"Cookie": peer_cookie},
                    api_headers={"Cookie": peer_cookie, "Accept": "application/json"},
                    create_headers={
                        "Cookie": peer_cookie,
                        "X-CSRFToken": peer_cookies["csrftoken"],
                        "Content-Type": "application/json",
                        "Accept": "application/json",
                    },
                    create_body=peer_body(values["queue_id"]),
                ),
            }
            slow: set[str] = set()
            for call in calls:
                entry: dict = {"name": call.name, "kind": call.kind, "parts": {}, "probe_ms": {}}
                for side_name in ("ours", "peer"):
                    side = sides[side_name]
                    for index, part in enumerate(getattr(call, side_name)):
                        path = part.path.format(**values)
                        # The faster of two: the first request of a call may fill caches.
                        seconds = min(probe(side, part, path)[0] for _ in range(2))
                        entry["probe_ms"][f"{side_name}#{index}"] = round(seconds * 1000, 1)
                        if seconds > SLOW_SECONDS:
                            slow.add(f"{call.key}:{side_name}#{index}")
                levels = CONNECTIONS
                for count in levels:
                    for round_index in range(args.peer_rounds):
                        for side_name in ("ours", "peer"):
                            side = sides[side_name]
                            for index, part in enumerate(getattr(call, side_name)):
                                path = part.path.format(**values)
                                key = f"{side_name}#{index}@{count}"
                                too_slow = f"{call.key}:{side_name}#{index}" in slow
                                if too_slow and count > 1:
                                    continue
                                if too_slow:
                                    run = sequential(side, part, path, budget=args.peer_duration)
                                else:
                                    run = wrk_run(wrk, side, part, path, count, args, temp_dir)
                                entry["parts"].setdefault(key, []).append(run)
                                print(
                                    f"  {call.name:34} {side_name:4} c={count} round {round_index + 1}: "
                                    f"{run['requests_per_second']:8,.1f} req/s  p50 {run['p50_ms']:8.1f} ms  "
                                    f"p99 {run['p99_ms']:8.1f} ms  errors {run['errors']}"
                                    + (" (one at a time)" if run["sequential"] else ""),
                                    flush=True,
                                )
                results["calls"][call.key] = entry
                if call.kind == "create":
                    with http.using_database(args.peer_ours_database):
                        http.remove_created(creator)
                    with http.using_database(args.peer_database):
                        peer_cleanup(peer_markers)
            peer_server = shlex.join(peer_command)
            ours_server = ours_command[-1]
    # Queries per request, in-process, once the servers are gone (the creations cleaned up after).
    with http.using_database(args.peer_ours_database):
        ours_counts = ours_queries(calls, values, agent, creator, token, creator_token)
        http.remove_created(creator)
    with http.using_database(args.peer_database):
        peer_counts = peer_queries(calls, values, agent_name, slow)
        peer_cleanup(peer_markers)
    for call in calls:
        results["calls"][call.key]["queries"] = {"ours": ours_counts.get(call.key), "peer": peer_counts.get(call.key)}
    sweep = None if args.no_sweep else measure_sweeps(args)
    load_after = lists.load_average()
    connections.close_all()
    results.update(
        {
            "tickets": total_ours,
            "open": open_ours,
            "seed": args.peer_seed,
            "peer_version": version,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine,
            "load_before": load_before,
            "load_after": load_after,
            "cores": os.cpu_count(),
            "duration": args.peer_duration,
            "warmup": args.peer_warmup,
            "rounds": args.peer_rounds,
            "wrk": http.wrk_version(wrk),
            "ours_server": ours_server,
            "peer_server": peer_server,
            "agent": agent_name,
            "values": values,
            "sweep": sweep,
            "partial": bool(only) or args.no_sweep,
        }
    )
    return results


def static_is_fresh(static_root: Path) -> bool:
    """Whether an earlier collectstatic's manifest is newer than every static file of the project
    (collecting takes minutes on a busy machine, even when nothing changed)."""
    manifest = static_root / "staticfiles.json"
    if not manifest.exists():
        return False
    collected = manifest.stat().st_mtime
    for directory in BASE_DIR.glob("*/static"):
        for path in directory.rglob("*"):
            if path.is_file() and path.stat().st_mtime > collected:
                return False
    return True


def call_summaries(results: dict) -> list[dict]:
    """Per call: the Figures of each product at each connection count (parts combined)."""
    out = []
    for call in CALLS:
        entry = results["calls"].get(call.key)
        if entry is None:
            continue
        connections: dict[int, dict[str, Figures | None]] = {}
        for count in CONNECTIONS:
            pair: dict[str, Figures | None] = {}
            for side_name in ("ours", "peer"):
                parts = [
                    median_figures(entry["parts"].get(f"{side_name}#{index}@{count}", []))
                    for index in range(len(getattr(call, side_name)))
                ]
                pair[side_name] = combine(parts)
            connections[count] = pair
        out.append(
            {"key": call.key, "name": call.name, "kind": call.kind, "connections": connections,
             "queries": entry.get("queries", {})}
        )  # fmt: skip
    return out


def requests_text(call: Call, values: dict) -> str:
    def side(parts: tuple[Part, ...]) -> str:
        return " then ".join(f"`{part.method} {part.path.format(**values)}`" for part in parts)

    return f"{call.name}: ours {side(call.ours)}; django-helpdesk {side(call.peer)}"


def render(results: dict, command: str) -> str:
    from bench.report import end_marker, markdown_table, start_marker

    calls = call_summaries(results)
    sweep = results.get("sweep")
    busy = ""
    try:
        load = max(float(results["load_before"].split("/")[0]), float(results["load_after"].split("/")[0]))
        if load > (results.get("cores") or 1):
            busy = (
                f" **The machine was busy** (load average up to {load:.1f} on {results['cores']} cores, shared with "
                "other work): absolute figures are inflated for both products; the ratios, measured in the same "
                "rounds, say more than the milliseconds."
            )
    except (KeyError, ValueError):
        pass
    parts = [
        "## Side by side with django-helpdesk",
        f"- Command: `{command}`\n- Date: {results['date']}\n- Machine: {results['machine']}\n"
        f"- Load average before and after: {results['load_before']} and {results['load_after']}",
        f"The same data set in both products: {results['tickets']:,} tickets with three messages each "
        f"({results['tickets'] * 3:,} messages; seed {results['seed']}), {results['open']:,} of them open and "
        f"waiting for an agent, for {customer_count(results['tickets']):,} customers and "
        f"{len(agent_usernames())} agents in {len(queue_codes())} queues (our lines; django-helpdesk queues with "
        f"`escalate_days={ESCALATE_DAYS}`). It is generated once from the seed (`bench.peer.generate`) and written "
        "with COPY into both: ours through the `load` benchmark's paths (reserved ids and numbers), "
        f"django-helpdesk {results['peer_version']} (installed from PyPI into `.data/peer/venv`) into `auth_user`, "
        "`helpdesk_ticket` and `helpdesk_followup`, its queues and user settings made by its own code.",
        f"Ours: `{results['ours_server']}` (docker-compose.yml's `web` command, settings "
        "`helpdesk.settings.production`). django-helpdesk: "
        f"`{results['peer_server']}` (a generated project, DEBUG off, persistent database connections, "
        "mail to a backend that sends nothing). Both on the same PostgreSQL, each in a database of its own. The agent "
        f"{results['agent']} signs in through each product's login form; our API calls carry the agent's token, "
        "creation a customer's (our API files tickets for customers), django-helpdesk's API (which only staff may "
        "use) the agent's session with its CSRF token. "
        f"{results['wrk']}, {results['warmup']} s warm-up then {results['duration']} s per run; "
        f"{results['rounds']} rounds per call and connection count, ours and django-helpdesk taking turns; the "
        'table gives the medians of the rounds. "queries" are the SQL statements of one request counted '
        "in-process (`django.test.Client`, `connection.execute_wrapper`, DEBUG off) in each product's own "
        "environment." + busy,
        "The requests:\n\n"
        + "\n".join(f"- {requests_text(call, results['values'])}" for call in CALLS if call.key in results["calls"]),
        "django-helpdesk's ticket list page is an empty table that fetches its rows from "
        "`datatables_ticket_list` after loading: its figures add the two requests (latencies summed, req/s as "
        "page views). Its API has no queue filter, so its list is every open ticket the agent may see; and its "
        "`TicketViewSet.get_queryset` reads each of them (a query per ticket for custom fields) before paging. "
        "A call whose single request took over "
        f'{SLOW_SECONDS:g} s is measured one request at a time for {results["duration"]} s ("seq.", p99 is the '
        "slowest) and not with 8 connections.",
        markdown_table(TABLE_COLUMNS, table_rows(calls)),
    ]
    if sweep:
        parts.append(
            f"The sweeps over all open tickets, timed in each product's own process ({sweep['rounds']} rounds each, "
            "taking turns, medians; statements counted with `connection.execute_wrapper`). Ours: "
            "`sla.services.sla_sweep()` as the beat task calls it, repeated until it finds nothing due, with every "
            "open ticket's resolution deadline passed an hour before (a warning and a breach each, the breach "
            'escalated as the SLA policy says). django-helpdesk: `call_command("escalate_tickets")`, every open '
            f"ticket older than the queues' `escalate_days={ESCALATE_DAYS}` and never escalated (its priority "
            "raised, the escalation mail rendered, a follow-up and a ticket change written). Then each runs again "
            "with nothing due. Between rounds everything the sweeps wrote is removed and the tickets put back.\n\n"
            + markdown_table(SWEEP_COLUMNS, sweep_rows(sweep))
        )
    parts.append("Goals, on this run's figures:\n\n" + "\n".join(goal_lines(calls, sweep)))
    body = "\n\n".join(parts)
    return f"{start_marker('peer')}\n{body}\n{end_marker('peer')}"


def save(results: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = RESULTS_DIR / f"{results['tickets']}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    return path


def main(argv: list[str] | None = None) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    django.setup()
    from bench import report
    from bench.registry import BenchmarkError

    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__.splitlines()[0])
    add_arguments(parser)
    raw = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(raw)
    if args.peer_tickets < 100 or args.peer_duration < 1 or args.peer_rounds < 1 or args.peer_sweep_rounds < 1:
        parser.error("--peer-tickets must be at least 100, the durations and rounds at least 1")
    command = shlex.join(["python", "-m", "bench.peer", *raw])
    started = time.monotonic()
    try:
        results = measure(args)
    except (PeerError, BenchmarkError, subprocess.CalledProcessError) as exc:
        print(f"\npeer FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"results: {save(results)} ({time.monotonic() - started:.0f} s)", flush=True)
    section = render(results, command)
    print(section)
    if results["partial"] or args.no_write:
        print("partial run or --no-write: docs/benchmarks.md left as it was")
        return 0
    report.write_section("peer", section)
    print(f"peer: section written to {report.DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
