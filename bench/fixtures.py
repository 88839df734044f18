"""What every benchmark needs in the database: the schema and the support lines."""

from __future__ import annotations

import datetime as dt
import json
import random
import time

from django.core.management import call_command
from django.db import connection, transaction

from queues.models import Line

# (code, name, Russian name, kind, level, next line): the three tiers and two departments.
LINES = (
    ("first-line", "First line", "Первая линия", Line.Kind.TIER, 1, "consultants"),
    ("consultants", "Consultants", "Консультанты", Line.Kind.TIER, 2, "administrators"),
    ("administrators", "Administrators", "Администраторы", Line.Kind.TIER, 3, None),
    ("finance", "Finance", "Финансовый отдел", Line.Kind.DEPARTMENT, None, None),
    ("sales", "Sales", "Отдел продаж", Line.Kind.DEPARTMENT, None, None),
)


def migrate() -> None:
    """Bring the schema up to date, so a freshly created database works as it is."""
    call_command("migrate", interactive=False, verbosity=0)


def ensure_lines() -> dict[str, Line]:
    """The lines by code; existing ones (e.g. from the demo data) are used as they are."""
    lines = {}
    for position, (code, name, name_ru, kind, level, _next) in enumerate(LINES):
        lines[code], _created = Line.objects.get_or_create(
            code=code,
            defaults={"name": name, "name_ru": name_ru, "kind": kind, "level": level, "position": position},
        )
    for code, *_rest, next_code in LINES:
        line = lines[code]
        if next_code and line.next_line_id is None:
            line.next_line = lines[next_code]
            line.save(update_fields=["next_line"])
    return lines


def missing_columns(table: str, columns: list[str] | tuple[str, ...]) -> list[str]:
    """Columns of `table` that COPY would leave NULL although they may not be.

    A model field added later with only a Python-side default has no database default, so
    a COPY that does not name it fails; this names the column instead of a bare error.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s
              AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'
            """,
            [table],
        )
        required = {row[0] for row in cursor.fetchall()}
    return sorted(required - set(columns))


# --- lines the benchmarks fill with tickets of their own ------------------------------------

# Departments (no level), so routing never sends a ticket there and no first-line timer runs.
BENCH_LINES = {
    "bench-queue": ("Benchmark: queue", "Бенчмарк: очередь"),
    "bench-sla": ("Benchmark: SLA", "Бенчмарк: SLA"),
    "bench-sla-2": ("Benchmark: SLA, second level", "Бенчмарк: SLA, второй уровень"),
}
OUTBOX_TABLE = "tickets_eventoutbox"
EVENT_TABLE = "tickets_ticketevent"


def ensure_bench_line(code: str) -> Line:
    """A department of the benchmark's own (active, so its agents can take from it)."""
    name, name_ru = BENCH_LINES[code]
    line, _created = Line.objects.get_or_create(
        code=code,
        defaults={"name": name, "name_ru": name_ru, "kind": Line.Kind.DEPARTMENT, "level": None, "position": 90},
    )
    if not line.is_active:
        line.is_active = True
        line.save(update_fields=["is_active"])
    return line


def foreign_events() -> int:
    """Ticket events of tickets outside the benchmarks' own lines."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FROM "{EVENT_TABLE}" event
            JOIN tickets_ticket ticket ON ticket.id = event.ticket_id
            JOIN queues_line line ON line.id = ticket.line_id
            WHERE line.code <> ALL(%s)
            """,  # noqa: S608 - our own table name
            [list(BENCH_LINES)],
        )
        return cursor.fetchone()[0]


def references_to(table: str) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confrelid = %s::regclass
            ORDER BY 1
            """,
            [table],
        )
        return list(cursor.fetchall())


def clear_bench_events() -> int:
    """Empty the ticket events if every one of them belongs to a benchmark's own tickets.

    Events are immutable: a trigger refuses UPDATE and DELETE, so the benchmarks' events can
    only go with TRUNCATE, and only when the table holds nothing else. Rows of other tables
    that point at events (notifications made for them) go in the same TRUNCATE, again only
    when each of them points at an event. Returns how many events were removed; raises if
    anything else would go with them.
    """
    from bench.registry import BenchmarkError

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{EVENT_TABLE}"')  # noqa: S608 - our own table name
        total = cursor.fetchone()[0]
        if total == 0:
            return 0
        others = foreign_events()
        if others:
            raise BenchmarkError(
                f"{EVENT_TABLE} holds {others:,} events of tickets outside the benchmark lines "
                f"({', '.join(BENCH_LINES)}); the benchmark cannot remove its own without them. "
                "Use a database of its own (python -m bench load --reset)."
            )
        # The notifications' outbox points at events without a constraint (see tickets.EventOutbox).
        referrers = sorted({*references_to(EVENT_TABLE), (OUTBOX_TABLE, "event_id")})
        for table, column in referrers:
            cursor.execute(f'SELECT count(*) FROM {table} WHERE "{column}" IS NULL')  # noqa: S608 - catalog names
            unowned = cursor.fetchone()[0]
            if unowned:
                raise BenchmarkError(
                    f"{table} holds {unowned:,} rows that belong to no ticket event; emptying {EVENT_TABLE} "
                    "would take them along. Use a database of its own (python -m bench load --reset)."
                )
        # Rows pointing at those rows, and so on (received mail naming a notification, its auto-reply),
        # must point at none of them: they are emptied along only when they do not.
        level = referrers
        while level:
            level = sorted({ref for table, _column in level for ref in references_to(table)} - set(referrers))
            for table, column in level:
                cursor.execute(f'SELECT count(*) FROM {table} WHERE "{column}" IS NOT NULL')  # noqa: S608
                pointing = cursor.fetchone()[0]
                if pointing:
                    raise BenchmarkError(
                        f"{table} holds {pointing:,} rows that point at rows emptied with {EVENT_TABLE}. "
                        "Use a database of its own (python -m bench load --reset)."
                    )
            referrers += level
        tables = dict.fromkeys(table for table, _column in referrers)
        cursor.execute("TRUNCATE " + ", ".join([f'"{EVENT_TABLE}"', *tables]))
    return total


def ticket_references() -> list[tuple[str, str]]:
    """(table, column) of every foreign key to tickets_ticket, the events excepted."""
    return [(table, column) for table, column in references_to("tickets_ticket") if table != EVENT_TABLE]


def clear_line_tickets(line: Line) -> int:
    """Delete every ticket of a benchmark line and all that refers to them; returns how many.

    The events go first (see `clear_bench_events`); the other rows referring to the tickets
    (SLA records, messages, stints...) are deleted in the same transaction as the tickets.
    """
    if line.code not in BENCH_LINES:
        raise ValueError(f"{line.code} is not a benchmark line")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket WHERE line_id = %s", [line.id])
        if cursor.fetchone()[0] == 0:
            return 0
        cursor.execute(
            f'SELECT EXISTS (SELECT 1 FROM "{EVENT_TABLE}" event JOIN tickets_ticket ticket '  # noqa: S608
            "ON ticket.id = event.ticket_id WHERE ticket.line_id = %s)",
            [line.id],
        )
        has_events = cursor.fetchone()[0]
    if has_events:
        clear_bench_events()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, column in ticket_references():
            cursor.execute(
                f'DELETE FROM {table} WHERE "{column}" IN (SELECT id FROM tickets_ticket WHERE line_id = %s)',  # noqa: S608
                [line.id],
            )
        cursor.execute("DELETE FROM tickets_ticket WHERE line_id = %s", [line.id])
        return cursor.rowcount


def vacuum_tickets() -> float:
    """VACUUM (ANALYZE) the tickets table, as autovacuum would eventually; returns seconds."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) tickets_ticket")
    return time.monotonic() - started


# --- waiting tickets for the benchmark lines --------------------------------------------------

WAITING_COLUMNS = (
    "id", "number", "subject", "body", "category", "service", "channel", "urgency", "status", "line_id",
    "assignee_id", "customer_id", "organisation_id", "language", "created_at", "updated_at", "last_activity_at",
    "line_entered_at", "queued_at", "credit_minutes", "virtual_time", "weight_parts", "sla_commitment",
    "first_response_warn_at", "first_response_due", "resolution_warn_at", "resolution_due",
)  # fmt: skip
# What `sla_update` stores for a ticket under a plan's targets: with it in place, saving a
# ticket looks nothing up (a ticket without one would look for its plan's targets every time).
SLA_COMMITMENT = {"first_response": 60, "next_response": 120, "resolution": 1440, "limited": False,
                  "calendar_24x7": True}  # fmt: skip


def customer_ids(limit: int = 1000) -> list[int]:
    """Customers to file the benchmark's tickets under: the first `limit` by id."""
    from accounts.models import Role, User
    from bench.registry import BenchmarkError

    ids = list(User.objects.filter(role=Role.CUSTOMER).order_by("id").values_list("id", flat=True)[:limit])
    if not ids:
        raise BenchmarkError("the database has no customers: fill it first (python -m bench load)")
    return ids


def insert_waiting_tickets(
    line: Line, count: int, *, now: dt.datetime, seed: int, spread_seconds: float, max_credit_minutes: int
) -> int:
    """COPY `count` tickets waiting in `line` for an agent (status waiting_agent, nobody
    assigned), queued at random moments over the last `spread_seconds` with random credits
    of 0 to `max_credit_minutes`, so their queue order differs from their filing order."""
    from bench.load import check_columns
    from helpdesk.bulk import copy_rows, reserve_ids, reserve_ticket_numbers
    from tickets.models import Ticket

    check_columns(Ticket._meta.db_table, WAITING_COLUMNS)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    customers = customer_ids()
    commitment = json.dumps(SLA_COMMITMENT)

    def rows(ids: list[int], numbers: list[int]):
        for ticket_id, number in zip(ids, numbers, strict=True):
            queued = now - dt.timedelta(seconds=rng.random() * spread_seconds)
            credit = rng.randint(0, max_credit_minutes)
            service = f"vps-{rng.randrange(1000, 99999)}.example.net"
            yield (
                ticket_id, number, f"{service} does not answer", f"Since this morning {service} times out.",
                "tech_simple", service, "panel", "normal", "waiting_agent", line.id, None,
                customers[rng.randrange(len(customers))], None, "ru", queued, queued, queued, queued, queued,
                credit, queued - dt.timedelta(minutes=credit), json.dumps({"tenure": credit}), commitment,
                queued + dt.timedelta(minutes=48), queued + dt.timedelta(minutes=60),
                queued + dt.timedelta(minutes=1152), queued + dt.timedelta(minutes=1440),
            )  # fmt: skip

    written = 0
    while written < count:
        size = min(10_000, count - written)
        with transaction.atomic():
            ids = reserve_ids(Ticket._meta.db_table, size)
            numbers = reserve_ticket_numbers(size)
            written += copy_rows(Ticket._meta.db_table, WAITING_COLUMNS, rows(ids, numbers))
    return written


def ensure_agents(line: Line, prefix: str, count: int) -> list[int]:
    """`count` agents `<prefix>00`... of `line` (created once, then reused): their ids in order."""
    from accounts.models import AgentProfile, Role, User
    from queues.models import LineMembership

    names = [f"{prefix}{index:02d}" for index in range(count)]
    with transaction.atomic():
        existing = dict(User.objects.filter(username__in=names).values_list("username", "id"))
        for name in names:
            if name in existing:
                continue
            user = User(username=name, role=Role.AGENT, first_name="Bench", last_name=name[-2:])
            user.email = f"{name}@bench.invalid"
            user.set_unusable_password()
            user.save()
            AgentProfile.objects.create(user=user, display_name=name, languages=["ru", "en"])
            existing[name] = user.id
        User.objects.filter(id__in=existing.values()).exclude(role=Role.AGENT, is_active=True).update(
            role=Role.AGENT, is_active=True
        )
        for user_id in existing.values():
            LineMembership.objects.get_or_create(line=line, user_id=user_id)
    return [existing[name] for name in names]
