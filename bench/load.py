"""`load`: fill the database with a year of tickets and their conversations through COPY.

The data is shaped like a hosting provider's helpdesk: most tickets are closed, a few
percent are still open, technical questions dominate, billing goes to finance and
pre-sale questions to sales, escalated tickets sit on the higher tiers, a minority of
customers file most of the tickets. Everything is generated from a seed, so two loads
of the same size are alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import queue as queue_module
import random
import time
from collections.abc import Iterator
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.models import AgentProfile, CustomerProfile, Role, User
from bench.fixtures import ensure_lines, migrate, missing_columns
from bench.registry import BenchmarkError, Result, register
from helpdesk.bulk import copy_rows, reserve_ids, reserve_ticket_numbers
from queues.models import LineMembership
from tickets.models import Category, Channel, Message, Status, Ticket, Urgency

DEFAULT_TICKETS = 1_000_000
DEFAULT_CUSTOMERS = 20_000
DEFAULT_JOBS = min(8, os.cpu_count() or 1)
# Tickets generated, then copied, per round; each round is one transaction. Large
# enough that the per-round costs (reserving ids, committing) vanish, small enough that
# the round's messages held in memory stay a few tens of megabytes.
BATCH_TICKETS = 10_000
PROGRESS_EVERY_SECONDS = 5.0

CUSTOMER_PREFIX = "bench-customer-"
AGENT_PREFIX = "bench-agent-"
# Anyone may log in as a generated user to look around a loaded database.
BENCH_PASSWORD = "bench-password"  # noqa: S105 - a known password for throwaway benchmark users

DAY = 86_400.0
HOUR = 3_600.0
HISTORY_DAYS = 365
# Younger tickets may still be open; older ones have almost all been closed.
RECENT_DAYS = 14
AUTO_CLOSE_DAYS = 3

AGENTS_PER_LINE = {"first-line": 24, "consultants": 14, "administrators": 10, "finance": 6, "sales": 6}

# category: (share, line it is handled by)
CATEGORIES = {
    Category.GENERAL: (14, "first-line"),
    Category.PRESALE: (6, "sales"),
    Category.BILLING: (12, "finance"),
    Category.TECH_SIMPLE: (30, "first-line"),
    Category.TECH_MEDIUM: (18, "consultants"),
    Category.TECH_COMPLEX: (10, "administrators"),
    Category.HARDWARE: (3, "administrators"),
    Category.ADMIN_WORK: (7, "administrators"),
}
CHANNELS = {
    Channel.PANEL: 45,
    Channel.EMAIL: 25,
    Channel.CHAT: 15,
    Channel.FORM: 8,
    Channel.PHONE: 5,
    Channel.API: 2,
}
URGENCIES = {Urgency.NORMAL: 85, Urgency.HIGH: 12, Urgency.CRITICAL: 3}
# How fast the first answer comes, in seconds: (shortest, longest).
FIRST_RESPONSE = {Urgency.NORMAL: (900, 8 * HOUR), Urgency.HIGH: (600, 1.5 * HOUR), Urgency.CRITICAL: (120, 1200)}
OLD_STATUSES = {Status.CLOSED: 970, Status.RESOLVED: 25, Status.WAITING_CUSTOMER: 5}
RECENT_STATUSES = {
    Status.NEW: 8,
    Status.WAITING_AGENT: 10,
    Status.IN_PROGRESS: 12,
    Status.WAITING_CUSTOMER: 10,
    Status.RESOLVED: 25,
    Status.CLOSED: 35,
}
# Public replies in a conversation (agent first, then taking turns with the customer).
REPLY_COUNTS = {1: 20, 2: 40, 3: 30, 4: 10}
NOTE_SHARE = 0.12
AUTO_CLOSE_SHARE = 0.25
# Ticket activity by hour of the day (UTC; the customers are mostly in UTC+3).
HOURS = {hour: (1 if hour < 4 or hour > 19 else 3 if 5 <= hour <= 15 else 2) for hour in range(24)}

SERVICES = (
    "VPS vps-{n}.example.net",
    "dedicated server srv-{n}",
    "hosting account h{n}",
    "domain example-{n}.ru",
    "cloud project cp-{n}",
    "mail domain mail-{n}.example.com",
)
SUBJECTS = {
    Category.GENERAL: ("Question about {service}", "How do I change the contact e-mail?", "Where is my invoice?"),
    Category.PRESALE: ("Which plan fits a shop with 5,000 visitors a day?", "Do you offer a trial VPS?"),
    Category.BILLING: ("Payment for {service} not credited", "Please send a closing document", "Refund request"),
    Category.TECH_SIMPLE: ("Cannot log in to the panel", "SSL certificate for {service}", "DNS records for {service}"),
    Category.TECH_MEDIUM: ("{service} is slow", "Mail from {service} lands in spam", "Backup of {service} failed"),
    Category.TECH_COMPLEX: ("{service} does not boot", "Kernel panic on {service}", "Packet loss to {service}"),
    Category.HARDWARE: ("Disk errors on {service}", "Please replace a failed disk in {service}"),
    Category.ADMIN_WORK: ("Install PostgreSQL 15 on {service}", "Move a site to {service}", "Set up nginx"),
}
BODIES = {
    "default": (
        "Hello,\n\nSince this morning {service} behaves oddly. Could you have a look?\n\nThanks",
        "Good afternoon!\n\nWe need help with {service}. Details:\n\n- started yesterday evening\n"
        "- nothing was changed on our side\n- the monitoring shows timeouts\n\nRegards",
        "Hi, the problem with {service} is back, see the previous request. Please check it urgently.",
    ),
    Category.BILLING: (
        "Hello,\n\nI paid the invoice for {service} two days ago but the balance has not changed. "
        "The payment order is attached.\n\nBest regards",
        "Please send the closing documents for last quarter for {service}.",
    ),
    Category.PRESALE: (
        "Hello! We are moving from another provider and consider {service}. "
        "What are the limits and is migration included?",
    ),
}
AGENT_REPLIES = (
    "Hello! Thank you for the request, we are looking into it.",
    "We have checked the server: the disk was full. We cleaned up the logs, please check now.",
    "The DNS records have been updated; changes take up to 24 hours to propagate.",
    "The payment has been credited, thank you for waiting.",
    "Please send the exact time of the problem and the output of `traceroute` to the server.",
    "The certificate has been issued and installed. The site now opens over HTTPS.",
    "We have restarted the service and added monitoring. Let us know if it happens again.",
    "The work is done: PostgreSQL 15 is installed, the password is in the control panel.",
)
CUSTOMER_REPLIES = (
    "Thank you, it works now!",
    "Still the same, the site does not open.",
    "Here is the traceroute:\n\n```\n1  10.0.0.1  0.4 ms\n2  * * *\n```",
    "The problem happened at about 14:30 Moscow time.",
    "Thanks, you can close the request.",
    "Any news?",
)
NOTES = (
    "Checked the node, load is normal. Escalating if it repeats.",
    "Customer is on the old tariff, offered to migrate.",
    "Related to the network incident on the 3rd.",
)
AUTO_CLOSE_MESSAGE = "The request was closed automatically: no answer for 3 days after it was resolved."
FIRST_NAMES = ("Ivan", "Olga", "Sergey", "Anna", "Dmitry", "Elena", "Alexey", "Maria", "John", "Emma")
LAST_NAMES = ("Ivanov", "Petrova", "Smirnov", "Kuznetsova", "Popov", "Volkova", "Smith", "Brown", "Lebedev")

TICKET_COLUMNS = (
    "id", "number", "subject", "body", "category", "service", "channel", "urgency", "status", "line_id",
    "assignee_id", "customer_id", "organisation_id", "language", "created_at", "updated_at",
    "last_activity_at", "first_response_at", "resolved_at", "closed_at", "solved_at_first_level",
    "line_entered_at",
)  # fmt: skip
MESSAGE_COLUMNS = ("ticket_id", "author_id", "kind", "body", "created_at")
USER_COLUMNS = (
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
    "is_staff", "is_active", "date_joined", "role", "organisation_id", "language",
)  # fmt: skip
PROFILE_COLUMNS = (
    "user_id", "customer_since", "lifetime_spend", "spend_12m", "support_plan_id", "admin_package_id",
    "requests_total", "requests_12m", "is_vip", "is_problematic", "can_see_organisation_tickets",
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tickets", type=int, default=DEFAULT_TICKETS, help=f"tickets in the database (default {DEFAULT_TICKETS:,})"
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=DEFAULT_CUSTOMERS,
        help=f"generated customers the tickets belong to (default {DEFAULT_CUSTOMERS:,})",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        help=f"loader processes (default {DEFAULT_JOBS}, the number of cores up to 8)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="empty the ticket and message tables first (TRUNCATE ... CASCADE)"
    )


def weighted_table(weights: dict, size: int = 1000) -> tuple:
    """A lookup table for `table[int(random() * size)]`: far cheaper per row than random.choices."""
    total = sum(weights.values())
    table = []
    for value, weight in weights.items():
        # Plain strings rather than enum members: cheaper to compare and to write out.
        table += [getattr(value, "value", value)] * round(size * weight / total)
    table += [table[-1]] * (size - len(table))
    return tuple(table[:size])


def check_columns(table: str, columns: tuple[str, ...]) -> None:
    missing = missing_columns(table, columns)
    if missing:
        raise BenchmarkError(
            f"{table} has NOT NULL columns without a database default that the loader does not fill: "
            f"{', '.join(missing)}. Add them to bench/load.py (or give the fields a db_default)."
        )


def count_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - table names are our own constants
        return cursor.fetchone()[0]


def ensure_agents(lines: dict, password: str) -> dict[str, list[int]]:
    """A team of generated agents per line, created once and reused: the ids by line code."""
    wanted = {f"{AGENT_PREFIX}{code}-{i:02d}": code for code, size in AGENTS_PER_LINE.items() for i in range(size)}
    existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    new_users = [
        User(
            username=username,
            password=password,
            role=Role.AGENT,
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=LAST_NAMES[i % len(LAST_NAMES)],
            email=f"{username}@bench.invalid",
        )
        for i, username in enumerate(wanted)
        if username not in existing
    ]
    if new_users:
        with transaction.atomic():
            created = User.objects.bulk_create(new_users)
            AgentProfile.objects.bulk_create(
                [AgentProfile(user=user, display_name=user.get_full_name(), languages=["ru", "en"]) for user in created]
            )
            LineMembership.objects.bulk_create(
                [LineMembership(line=lines[wanted[user.username]], user=user) for user in created]
            )
    by_line: dict[str, list[int]] = {code: [] for code in AGENTS_PER_LINE}
    for user_id, username in User.objects.filter(username__in=wanted).values_list("id", "username"):
        by_line[wanted[username]].append(user_id)
    return by_line


def ensure_customers(count: int, password: str, rng: random.Random, now: dt.datetime) -> tuple[list[int], int]:
    """Generated customers `bench-customer-00001`...: the ids of the first `count`, and how many were new."""
    names = [f"{CUSTOMER_PREFIX}{i:06d}" for i in range(1, count + 1)]
    existing = dict(User.objects.filter(username__startswith=CUSTOMER_PREFIX).values_list("username", "id"))
    missing = [name for name in names if name not in existing]
    if missing:
        check_columns(User._meta.db_table, USER_COLUMNS)
        check_columns(CustomerProfile._meta.db_table, PROFILE_COLUMNS)
        ids = reserve_ids(User._meta.db_table, len(missing))
        joined = [now - dt.timedelta(days=rng.uniform(30, 5 * 365)) for _ in missing]
        users = (
            (
                user_id, password, None, False, name, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES),
                f"{name}@bench.invalid", False, True, joined_at, Role.CUSTOMER, None,
                "ru" if rng.random() < 0.7 else "en",
            )
            for user_id, name, joined_at in zip(ids, missing, joined, strict=True)
        )  # fmt: skip
        profiles = (
            (
                user_id, joined_at.date(), Decimal(rng.randrange(0, 2_000_000)) / 100,
                Decimal(rng.randrange(0, 500_000)) / 100, None, None, 0, 0,
                rng.random() < 0.02, rng.random() < 0.03, False,
            )
            for user_id, joined_at in zip(ids, joined, strict=True)
        )  # fmt: skip
        with transaction.atomic():
            copy_rows(User._meta.db_table, USER_COLUMNS, users)
            copy_rows(CustomerProfile._meta.db_table, PROFILE_COLUMNS, profiles)
        existing.update(zip(missing, ids, strict=True))
    return [existing[name] for name in names], len(missing)


class TicketFactory:
    """Generates ticket rows and, on the side, their messages.

    Written for speed: about 40 values per ticket, a few million tickets, so lookups go
    through precomputed tables and local names rather than random.choices and attributes.
    """

    def __init__(self, *, rng: random.Random, now: dt.datetime, lines: dict, agents: dict, customers: list[int]):
        self.rng = rng
        self.now = now.timestamp()
        self.customers = customers
        self.categories = weighted_table({category: share for category, (share, _line) in CATEGORIES.items()})
        self.line_of = {category: lines[code].pk for category, (_share, code) in CATEGORIES.items()}
        # Solved at the first level: yes on the first line, no once escalated, and the
        # question does not arise in the departments.
        first_level = {"first-line": True, "consultants": False, "administrators": False}
        self.solved_first_of_line = {lines[code].pk: first_level.get(code) for code in lines}
        self.agents_of_line = {lines[code].pk: tuple(ids) for code, ids in agents.items()}
        self.channels = weighted_table(CHANNELS)
        self.urgencies = weighted_table(URGENCIES)
        self.old_statuses = weighted_table(OLD_STATUSES)
        self.recent_statuses = weighted_table(RECENT_STATUSES)
        self.reply_counts = weighted_table(REPLY_COUNTS)
        self.hours = weighted_table(HOURS, size=240)

    def tickets(self, ids: list[int], numbers: list[int], messages: list) -> Iterator[tuple]:
        """Yield ticket rows for `ids`; append their messages' rows to `messages`."""
        rng = self.rng
        random_ = rng.random
        randrange = rng.randrange
        expovariate = rng.expovariate
        fromtimestamp = dt.datetime.fromtimestamp
        utc = dt.UTC
        now = self.now
        customers, n_customers = self.customers, len(self.customers)
        categories, channels, urgencies = self.categories, self.channels, self.urgencies
        old_statuses, recent_statuses, reply_counts, hours = (
            self.old_statuses,
            self.recent_statuses,
            self.reply_counts,
            self.hours,
        )
        line_of, agents_of_line, solved_first_of_line = self.line_of, self.agents_of_line, self.solved_first_of_line
        add_message = messages.append
        public, note, system = Message.Kind.PUBLIC, Message.Kind.NOTE, Message.Kind.SYSTEM
        closed, resolved, new = Status.CLOSED, Status.RESOLVED, Status.NEW
        waiting_agent, waiting_customer = Status.WAITING_AGENT, Status.WAITING_CUSTOMER
        default_bodies = BODIES["default"]

        for ticket_id, number in zip(ids, numbers, strict=True):
            # Somewhat more tickets lately: the customer base grows.
            age = random_() if random_() < 0.7 else 1.0 - random_() ** 0.5
            day = int(age * HISTORY_DAYS)
            created = now - day * DAY
            created = created - created % DAY + hours[int(random_() * 240)] * HOUR + random_() * HOUR
            if created > now:
                created = now - random_() * HOUR
            age_days = (now - created) / DAY
            category = categories[int(random_() * 1000)]
            urgency = urgencies[int(random_() * 1000)]
            status = (recent_statuses if age_days < RECENT_DAYS else old_statuses)[int(random_() * 1000)]
            line_id = line_of[category]
            # A minority of customers file most tickets.
            customer_id = customers[int(n_customers * random_() ** 1.5)]
            service = SERVICES[randrange(6)].format(n=randrange(1000, 99999))
            subjects = SUBJECTS[category]
            bodies = BODIES.get(category, default_bodies)
            subject = subjects[randrange(len(subjects))].format(service=service)
            body = bodies[randrange(len(bodies))].format(service=service)
            agent_id = None if status == new else agents_of_line[line_id][randrange(len(agents_of_line[line_id]))]

            # The conversation: the agent answers first, then they take turns.
            if status == new:
                replies = 0
            else:
                replies = reply_counts[int(random_() * 1000)]
                if status == waiting_agent:
                    replies += replies % 2  # the customer spoke last
                elif status in (waiting_customer, resolved) and replies % 2 == 0:
                    replies -= 1  # the agent spoke last
            low, high = FIRST_RESPONSE[urgency]
            moment = created
            first_response = None
            for turn in range(replies):
                moment += low + random_() * (high - low) if turn == 0 else 600 + expovariate(1 / (4 * HOUR))
                if moment > now:
                    moment = now
                if turn % 2 == 0:
                    if first_response is None:
                        first_response = moment
                    add_message((ticket_id, agent_id, public, AGENT_REPLIES[randrange(8)], fromtimestamp(moment, utc)))
                else:
                    add_message(
                        (ticket_id, customer_id, public, CUSTOMER_REPLIES[randrange(6)], fromtimestamp(moment, utc))
                    )
                if turn == 0 and random_() < NOTE_SHARE:
                    add_message(
                        (ticket_id, agent_id, note, NOTES[randrange(3)], fromtimestamp(min(now, moment + 60), utc))
                    )
            if status == new and random_() < 0.15:
                moment = min(now, moment + expovariate(1 / HOUR))
                add_message((ticket_id, customer_id, public, CUSTOMER_REPLIES[5], fromtimestamp(moment, utc)))
            last_activity = moment

            resolved_at = closed_at = solved_first = None
            if status in (resolved, closed):
                resolved_at = last_activity
                solved_first = solved_first_of_line[line_id]
            if status == closed:
                if random_() < AUTO_CLOSE_SHARE:
                    closed_at = min(now, resolved_at + AUTO_CLOSE_DAYS * DAY)
                    add_message((ticket_id, None, system, AUTO_CLOSE_MESSAGE, fromtimestamp(closed_at, utc)))
                    last_activity = closed_at
                else:
                    closed_at = min(now, resolved_at + expovariate(1 / (6 * HOUR)))
            updated = closed_at if closed_at is not None and closed_at > last_activity else last_activity

            yield (
                ticket_id, number, subject, body, category, service, channels[int(random_() * 1000)],
                urgency, status, line_id, agent_id, customer_id, None,
                "ru" if random_() < 0.7 else "en",
                fromtimestamp(created, utc), fromtimestamp(updated, utc), fromtimestamp(last_activity, utc),
                None if first_response is None else fromtimestamp(first_response, utc),
                None if resolved_at is None else fromtimestamp(resolved_at, utc),
                None if closed_at is None else fromtimestamp(closed_at, utc),
                # Tickets are generated in the line that solved them: there since they were filed.
                solved_first, fromtimestamp(created, utc),
            )  # fmt: skip


def copy_batches(factory: TicketFactory, count: int, progress) -> None:
    """COPY `count` tickets and their messages in rounds, reporting each round to `progress`."""
    done = 0
    while done < count:
        size = min(BATCH_TICKETS, count - done)
        messages: list[tuple] = []
        # One transaction per round: the deferred foreign-key checks of the messages run
        # at commit, when their tickets are in place.
        with transaction.atomic():
            ids = reserve_ids(Ticket._meta.db_table, size)
            numbers = reserve_ticket_numbers(size)
            tickets = copy_rows(Ticket._meta.db_table, TICKET_COLUMNS, factory.tickets(ids, numbers, messages))
            written = copy_rows(Message._meta.db_table, MESSAGE_COLUMNS, messages)
        done += tickets
        progress(tickets, written)


def load_worker(count: int, seed: int, factory_kwargs: dict, queue) -> None:
    """One loader process: its own connection, its own random stream."""
    factory = TicketFactory(rng=random.Random(seed), **factory_kwargs)  # noqa: S311 - test data, not secrets
    copy_batches(factory, count, lambda tickets, messages: queue.put((tickets, messages)))
    connection.close()


def load_tickets(count: int, *, jobs: int, seed: int, factory_kwargs: dict) -> tuple[int, int]:
    """Load `count` tickets with `jobs` processes; returns (tickets, messages) written.

    Generating rows in Python and writing them in PostgreSQL take about the same time, and
    one process does them in turn; several processes keep every core busy.
    """
    tickets_done = messages_done = 0
    started = last_report = time.monotonic()

    def report(tickets: int, messages: int, *, final: bool = False) -> None:
        nonlocal tickets_done, messages_done, last_report
        tickets_done += tickets
        messages_done += messages
        now = time.monotonic()
        if final or now - last_report >= PROGRESS_EVERY_SECONDS:
            last_report = now
            elapsed = max(now - started, 1e-9)
            print(
                f"  {tickets_done:>10,} / {count:,} tickets, {messages_done:>10,} messages, {elapsed:6.1f}s: "
                f"{tickets_done / elapsed:,.0f} tickets/s, {messages_done / elapsed:,.0f} messages/s, "
                f"{(tickets_done + messages_done) / elapsed:,.0f} rows/s",
                flush=True,
            )

    if jobs == 1:
        factory = TicketFactory(rng=random.Random(seed), **factory_kwargs)  # noqa: S311 - test data, not secrets
        copy_batches(factory, count, report)
        report(0, 0, final=True)
        return tickets_done, messages_done

    # Forked children must not share the parent's connection: each opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    shares = [count // jobs + (1 if index < count % jobs else 0) for index in range(jobs)]
    workers = [
        context.Process(target=load_worker, args=(share, seed * 1000 + index, factory_kwargs, queue), daemon=True)
        for index, share in enumerate(shares)
        if share
    ]
    for worker in workers:
        worker.start()
    try:
        while any(worker.is_alive() for worker in workers) or not queue.empty():
            try:
                report(*queue.get(timeout=0.5))
            except queue_module.Empty:
                continue
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join()
    failed = [worker.exitcode for worker in workers if worker.exitcode != 0]
    if failed:
        raise BenchmarkError(f"{len(failed)} loader process(es) failed (exit codes {failed}); see the errors above")
    report(0, 0, final=True)
    return tickets_done, messages_done


def update_profile_counts() -> None:
    """Give the generated customers' profiles the request counts their tickets imply."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_customerprofile AS profile
            SET requests_total = counts.total, requests_12m = counts.recent
            FROM (
                SELECT customer_id, count(*) AS total,
                       count(*) FILTER (WHERE created_at > now() - interval '12 months') AS recent
                FROM tickets_ticket GROUP BY customer_id
            ) AS counts
            JOIN accounts_user AS customer ON customer.id = counts.customer_id
            WHERE profile.user_id = counts.customer_id AND customer.username LIKE %s
            """,
            [CUSTOMER_PREFIX + "%"],
        )


def database_sizes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_size_pretty(pg_database_size(current_database())),
                   pg_size_pretty(pg_total_relation_size('tickets_ticket')),
                   pg_size_pretty(pg_total_relation_size('tickets_message'))
            """
        )
        database, tickets, messages = cursor.fetchone()
    return {"database": database, "tickets": tickets, "messages": messages}


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "—"


@register("load", title="Bulk load", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """Fill the database with N tickets and their messages through COPY."""
    if args.tickets < 0 or args.customers < 1 or args.jobs < 1:
        raise BenchmarkError("--tickets must be at least 0, --customers and --jobs at least 1")
    migrate()
    if args.reset:
        print("--reset: emptying tickets_message and tickets_ticket", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE tickets_message, tickets_ticket CASCADE")
    existing = count_rows(Ticket._meta.db_table)
    if existing >= args.tickets:
        note = (
            f"The database already holds {existing:,} tickets (asked for {args.tickets:,}): nothing loaded. "
            "Use --reset to load again."
        )
        return Result(notes=[note], skipped=True)
    to_load = args.tickets - existing
    check_columns(Ticket._meta.db_table, TICKET_COLUMNS)
    check_columns(Message._meta.db_table, MESSAGE_COLUMNS)

    rng = random.Random(args.seed)  # noqa: S311 - test data, not secrets
    now = timezone.now()
    lines = ensure_lines()
    password = make_password(BENCH_PASSWORD)
    agents = ensure_agents(lines, password)

    started = time.monotonic()
    customers, new_customers = ensure_customers(args.customers, password, rng, now)
    customers_seconds = time.monotonic() - started
    print(f"customers: {new_customers:,} created, {len(customers):,} in use ({customers_seconds:.1f}s)", flush=True)

    print(f"loading {to_load:,} tickets ({existing:,} already there)", flush=True)
    factory_kwargs = {"now": now, "lines": lines, "agents": agents, "customers": customers}
    started = time.monotonic()
    tickets, messages = load_tickets(to_load, jobs=args.jobs, seed=args.seed, factory_kwargs=factory_kwargs)
    load_seconds = time.monotonic() - started

    started = time.monotonic()
    update_profile_counts()
    profiles_seconds = time.monotonic() - started
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    analyze_seconds = time.monotonic() - started
    sizes = database_sizes()
    total = customers_seconds + load_seconds + profiles_seconds + analyze_seconds

    rows = [
        ("customers (users + profiles)", f"{new_customers * 2:,}", f"{customers_seconds:.1f}",
         rate(new_customers * 2, customers_seconds)),
        ("tickets", f"{tickets:,}", f"{load_seconds:.1f}", rate(tickets, load_seconds)),
        ("messages", f"{messages:,}", f"{load_seconds:.1f}", rate(messages, load_seconds)),
        ("tickets + messages", f"{tickets + messages:,}", f"{load_seconds:.1f}",
         rate(tickets + messages, load_seconds)),
        ("profile request counts (UPDATE)", f"{len(customers):,}", f"{profiles_seconds:.1f}", ""),
        ("ANALYZE", "", f"{analyze_seconds:.1f}", ""),
        ("total", "", f"{total:.1f}", ""),
    ]  # fmt: skip
    notes = [
        f"{tickets:,} tickets with {messages:,} messages ({messages / max(tickets, 1):.2f} per ticket) over "
        f"{HISTORY_DAYS} days, for {len(customers):,} customers and {sum(map(len, agents.values()))} agents, "
        f"written with PostgreSQL COPY by {args.jobs} processes in transactions of {BATCH_TICKETS:,} tickets "
        f"(seed {args.seed}). "
        "Tickets and messages are generated and copied in the same rounds (a round's messages need "
        "its tickets), so their rates share one wall-clock time. Indexes and foreign keys stay in place "
        "during the load.",
    ]
    summary = [
        f"Loading {tickets:,} tickets took {load_seconds:.0f} s ({rate(tickets, load_seconds)} tickets/s, "
        f"{rate(tickets + messages, load_seconds)} rows/s with the messages); {total:.0f} s in all. "
        f"Database size afterwards: {sizes['database']} (tickets {sizes['tickets']}, messages "
        f"{sizes['messages']}, indexes included).",
    ]
    return Result(columns=("step", "rows", "seconds", "rows/s"), rows=rows, notes=notes, summary=summary)
