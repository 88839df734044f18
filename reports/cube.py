"""Computing and storing the daily figures: one filing day at a time, the changed days, today live.

A filing day's rows are rebuilt from the tickets filed that day, with their history, stints
and SLA records (`reports.facts` adds them up); the rows never hold today, which the pages
compute live (`live_today`). `refresh` finds what changed since its last run from the ids of
the events, SLA records and tickets added since (they only ever grow) and rebuilds the filing
days those belong to, and the fairness of the days their takes happened on. The monthly rows
follow every rebuilt day in the same transaction (its old rows taken away, its new ones
added); `rebuild` rolls whole months up from their days. This module writes only the
reports' own tables.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Role
from helpdesk import bulk
from queues.models import Line
from reports.facts import Accumulator, Event, Record, Stint, TicketFacts, add_tickets
from reports.fairness import overtaking
from reports.models import (
    AgentDailyStats,
    AgentMonthlyStats,
    DailyFairness,
    DailyFlow,
    DailyLineTime,
    DailyStats,
    MonthlyLineTime,
    MonthlyStats,
    RefreshState,
)
from sla.models import SlaRecord
from tickets.models import EventKind, LineStint, Message, ReplyTemplate, Ticket, TicketEvent

logger = logging.getLogger(__name__)

EVENT_KINDS = (EventKind.CREATED, EventKind.STATUS, EventKind.ASSIGN, EventKind.TRANSFER, EventKind.MESSAGE)
LIVE_CACHE_SECONDS = 600
PLACEHOLDER = re.compile(r"\\\{[a-z_]+\\\}")


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_today(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(zone()).date()


def day_bounds(first: dt.date, last: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the local days first..last (a day across a DST change is 23 or 25 hours)."""
    tz = zone()
    last = last or first
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return start, end


def line_ids() -> dict[str, int]:
    return dict(Line.objects.values_list("code", "id"))


# --- loading -----------------------------------------------------------------------------------


def _template_patterns() -> list[re.Pattern]:
    """A reply template's text with its placeholders standing for any words."""
    patterns = []
    for body in ReplyTemplate.objects.filter(is_active=True).values_list("body", flat=True):
        patterns.append(re.compile(PLACEHOLDER.sub(".+?", re.escape(body.strip())), re.DOTALL))
    return patterns


def load_facts(tickets: QuerySet[Ticket]) -> list[TicketFacts]:
    """The tickets with everything the figures read: history, stints, SLA records."""
    rows = tickets.values_list(
        "id", "created_at", "line_id", "status", "urgency", "channel", "category", "customer_id", "assignee_id",
        "customer__customer_profile__support_plan_id", "first_response_at", "resolved_at",
        "solved_at_first_level", "sla_commitment", "next_response_due",
    )  # fmt: skip
    facts: dict[int, TicketFacts] = {}
    for row in rows:
        facts[row[0]] = TicketFacts(
            id=row[0], created_at=row[1], line_id=row[2], status=row[3], urgency=row[4], channel=row[5],
            category=row[6], customer_id=row[7], assignee_id=row[8], plan_id=row[9], first_response_at=row[10],
            resolved_at=row[11], solved_at_first_level=row[12], has_sla=bool(row[13]), next_response_due=row[14],
        )  # fmt: skip
    if not facts:
        return []
    ids = tickets.values("id")
    events = TicketEvent.objects.filter(ticket_id__in=ids, kind__in=EVENT_KINDS).values_list(
        "ticket_id", "kind", "created_at", "actor_id", "actor__role", "data"
    )
    for ticket_id, kind, at, actor_id, role, data in events:
        staff = role is not None and role != Role.CUSTOMER
        facts[ticket_id].events.append(Event(kind, at, actor_id, staff, data or {}))
    for ticket_id, line_id, entered, left in LineStint.objects.filter(ticket_id__in=ids).values_list(
        "ticket_id", "line_id", "entered_at", "left_at"
    ):
        facts[ticket_id].stints.append(Stint(line_id, entered, left))
    for ticket_id, kind, target, due, line_id, at in SlaRecord.objects.filter(ticket_id__in=ids).values_list(
        "ticket_id", "kind", "target", "due_at", "line_id", "created_at"
    ):
        facts[ticket_id].records.append(Record(kind, target, due, line_id, at))
    _mark_templated(facts)
    return list(facts.values())


def _mark_templated(facts: dict[int, TicketFacts]) -> None:
    solved = [f.id for f in facts.values() if f.solved_at_first_level]
    if not solved:
        return
    patterns = _template_patterns()
    replies: dict[int, list[str]] = defaultdict(list)
    for ticket_id, body in (
        Message.objects.filter(ticket_id__in=solved, kind=Message.Kind.PUBLIC, author__isnull=False)
        .exclude(author__role=Role.CUSTOMER)
        .values_list("ticket_id", "body")
    ):
        replies[ticket_id].append(body.strip())
    for ticket_id in solved:
        bodies = replies.get(ticket_id)
        facts[ticket_id].answered_by_templates = bool(
            bodies and patterns and all(any(p.fullmatch(body) for p in patterns) for body in bodies)
        )


def compute(tickets: QuerySet[Ticket], *, keep: Callable[[dt.date], bool]) -> Accumulator:
    acc = Accumulator(time_zone=settings.TIME_ZONE, line_ids=line_ids(), keep=keep)
    return add_tickets(acc, load_facts(tickets))


# --- storing -----------------------------------------------------------------------------------


def _dims(key: tuple) -> dict:
    day, created_day, line_id, plan_id, urgency, channel, category, agent_id = key[:8]
    return {
        "day": day,
        "created_day": created_day,
        "line_id": line_id,
        "plan_id": plan_id,
        "urgency": urgency,
        "channel": channel,
        "category": category,
        "agent_id": agent_id,
    }


def _copy(model, rows: Iterable[tuple[dict, dict]]) -> int:
    """COPY rows of `model` given as (dimensions, measures): far cheaper than the ORM's bulk insert
    for rows of arrays (a day at scale has thousands)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    names = [f.attname for f in fields]
    table = (tuple(values.get(name, dims.get(name, defaults[name])) for name in names) for dims, values in rows)
    return bulk.copy_rows(model._meta.db_table, [f.column for f in fields], table)


def _write(acc: Accumulator) -> int:
    # The rows of every ticket and the per-agent copies (key[7], the agent) go to their own tables.
    written = _copy(DailyStats, ((_dims(key), values) for key, values in acc.stats.items() if key[7] is None))
    written += _copy(AgentDailyStats, ((_dims(key), values) for key, values in acc.stats.items() if key[7] is not None))
    written += _copy(DailyFlow, (({**_dims(key), "to_line_id": key[8]}, values) for key, values in acc.flows.items()))
    written += _copy(DailyLineTime, ((_dims(key), values) for key, values in acc.line_time.items()))
    return written


def write_cohorts(days: Iterable[dt.date], *, today: dt.date | None = None, months: bool = True) -> int:
    """Rebuild the rows of the tickets filed on these local days (never today); returns daily rows
    written. The monthly rows take the change in the same transaction (the day's old rows taken
    away, its new ones added), unless the caller rolls whole months up afterwards (`months`)."""
    today = today or local_today()
    written = 0
    for day in sorted(set(days)):
        if day >= today:
            continue
        start, end = day_bounds(day)
        acc = compute(Ticket.objects.filter(created_at__gte=start, created_at__lt=end), keep=lambda d: d < today)
        with transaction.atomic():
            if months:
                _shift_months(day, -1)
            for model in (DailyStats, AgentDailyStats, DailyFlow, DailyLineTime):
                model.objects.filter(created_day=day).delete()
            written += _write(acc)
            if months:
                _shift_months(day, 1)
    return written


# --- the monthly roll-up ------------------------------------------------------------------------

# Each monthly table and the daily one it sums.
ROLLUPS = ((DailyStats, MonthlyStats), (AgentDailyStats, AgentMonthlyStats), (DailyLineTime, MonthlyLineTime))
DIMENSION_COLUMNS = ("line_id", "plan_id", "urgency", "channel", "category", "agent_id")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _rollup_sql(source, target) -> str:
    """INSERT ... SELECT of one filing month's monthly rows: the daily rows summed by the month of
    `day` and the dimensions, arrays element by element."""
    names, values = [], []
    for f in _measures(target):
        names.append(f.column)
        if isinstance(f, ArrayField):
            base = f.base_field.db_type(connection)
            values.append(
                "ARRAY[" + ", ".join(f"COALESCE(SUM({f.column}[{i}]), 0)::{base}" for i in range(1, f.size + 1)) + "]"
            )
        else:
            values.append(f"COALESCE(SUM({f.column}), 0)::{f.db_type(connection)}")
    dims = ", ".join(DIMENSION_COLUMNS)
    return (
        f"INSERT INTO {target._meta.db_table} (day, created_day, {dims}, {', '.join(names)}) "  # noqa: S608
        f"SELECT date_trunc('month', day)::date, %s, {dims}, {', '.join(values)} "
        f"FROM {source._meta.db_table} WHERE created_day >= %s AND created_day < %s "
        f"GROUP BY date_trunc('month', day), {dims}"
    )


# Two arrays added element by element (the monthly row's and the day's change).
ADD_ARRAYS = (
    "ARRAY(SELECT COALESCE(a, 0) + COALESCE(b, 0) "
    "FROM unnest(t.{column}, EXCLUDED.{column}) WITH ORDINALITY AS u(a, b, i) ORDER BY i)"
)


def _measures(model) -> list:
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in ("day", "created_day", *DIMENSION_COLUMNS)
    ]


def _shift_sql(source, target) -> str:
    """Add one filing day's daily rows, times a sign, to the monthly rows with the same key."""
    names, values, updates = [], [], []
    for f in _measures(target):
        names.append(f.column)
        if isinstance(f, ArrayField):
            base = f.base_field.db_type(connection)
            values.append(
                "ARRAY["
                + ", ".join(f"(%(sign)s * COALESCE(SUM({f.column}[{i}]), 0))::{base}" for i in range(1, f.size + 1))
                + "]"
            )
            updates.append(f"{f.column} = " + ADD_ARRAYS.format(column=f.column))
        else:
            values.append(f"(%(sign)s * COALESCE(SUM({f.column}), 0))::{f.db_type(connection)}")
            updates.append(f"{f.column} = t.{f.column} + EXCLUDED.{f.column}")
    dims = ", ".join(DIMENSION_COLUMNS)
    return (
        f"INSERT INTO {target._meta.db_table} AS t (day, created_day, {dims}, {', '.join(names)}) "  # noqa: S608
        f"SELECT date_trunc('month', day)::date, %(month)s, {dims}, {', '.join(values)} "
        f"FROM {source._meta.db_table} WHERE created_day = %(day)s "
        f"GROUP BY date_trunc('month', day), {dims} "
        f"ON CONFLICT ON CONSTRAINT {target._meta.constraints[0].name} DO UPDATE SET {', '.join(updates)}"
    )


def _shift_months(day: dt.date, sign: int) -> None:
    with connection.cursor() as cursor:
        for source, target in ROLLUPS:
            cursor.execute(_shift_sql(source, target), {"sign": sign, "month": month_start(day), "day": day})


def roll_up(months: Iterable[dt.date]) -> None:
    """Rebuild the monthly rows of the tickets filed in these months from their daily rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        for month in sorted({month_start(m) for m in months}):
            for source, target in ROLLUPS:
                target.objects.filter(created_day=month).delete()
                cursor.execute(_rollup_sql(source, target), [month, month, next_month(month)])


def compute_fairness(day: dt.date) -> list[DailyFairness]:
    start, end = day_bounds(day)
    stints: dict[int, list[Stint]] = defaultdict(list)
    rows = LineStint.objects.filter(entered_at__lt=end).filter(Q(left_at__isnull=True) | Q(left_at__gt=start))
    for ticket_id, line_id, entered, left in rows.values_list("ticket_id", "line_id", "entered_at", "left_at"):
        stints[ticket_id].append(Stint(line_id, entered, left))
    if not stints:
        return []
    events: dict[int, list[Event]] = defaultdict(list)
    for ticket_id, kind, at, data in TicketEvent.objects.filter(
        ticket_id__in=list(stints), kind__in=(EventKind.STATUS, EventKind.ASSIGN), created_at__lt=end
    ).values_list("ticket_id", "kind", "created_at", "data"):
        events[ticket_id].append(Event(kind, at, None, False, data or {}))
    found = []
    lines_held = {s.line_id for ticket_stints in stints.values() for s in ticket_stints}
    for line_id, code in Line.objects.filter(id__in=lines_held).values_list("id", "code"):
        result = overtaking(line_id=line_id, line_code=code, stints=stints, events=events, start=start, end=end)
        if result.takes:
            found.append(
                DailyFairness(
                    day=day,
                    line_id=line_id,
                    takes=result.takes,
                    max_overtaken_seconds=result.max_seconds,
                    overtaken_ticket_id=result.ticket_id,
                )
            )
    return found


def write_fairness(days: Iterable[dt.date], *, today: dt.date | None = None) -> None:
    today = today or local_today()
    for day in sorted(set(days)):
        if day >= today:
            continue
        rows = compute_fairness(day)
        with transaction.atomic():
            DailyFairness.objects.filter(day=day).delete()
            DailyFairness.objects.bulk_create(rows)


# --- what changed -------------------------------------------------------------------------------


def _local_days(queryset: QuerySet, field: str) -> set[dt.date]:
    return set(
        queryset.annotate(local_day=TruncDate(field, tzinfo=zone())).values_list("local_day", flat=True).distinct()
    )


def refresh(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Rebuild the days that changed since the last run; returns what it did."""
    now = now or timezone.now()
    today = local_today(now)
    with transaction.atomic():
        state = RefreshState.objects.select_for_update().order_by("id").first() or RefreshState.objects.create()
        max_event = TicketEvent.objects.aggregate(m=Max("id"))["m"] or 0
        max_record = SlaRecord.objects.aggregate(m=Max("id"))["m"] or 0
        max_ticket = Ticket.objects.aggregate(m=Max("id"))["m"] or 0
        rolled_over = state.local_day != today
        # After midnight the rows take in what happened on the days the live part showed.
        since_day = day_bounds(state.local_day)[0] if rolled_over and state.local_day else None
        event_floor = state.last_event_id if since_day is None else min(state.last_event_id, _floor_before(since_day))
        new_events = TicketEvent.objects.filter(id__gt=event_floor, id__lte=max_event)
        new_records = SlaRecord.objects.filter(id__gt=state.last_record_id, id__lte=max_record)
        new_tickets = Ticket.objects.filter(id__gt=state.last_ticket_id, id__lte=max_ticket)
        cohorts = _local_days(new_events, "ticket__created_at")
        cohorts |= _local_days(new_records, "ticket__created_at")
        cohorts |= _local_days(new_tickets, "created_at")
        take_days = _local_days(new_events.filter(kind__in=(EventKind.ASSIGN, EventKind.STATUS)), "created_at")
        if since_day is not None:
            cohorts |= _local_days(SlaRecord.objects.filter(created_at__gte=since_day), "ticket__created_at")
            cohorts |= _local_days(Ticket.objects.filter(created_at__gte=since_day), "created_at")
        written = write_cohorts(cohorts, today=today)
        write_fairness(take_days, today=today)
        state.local_day = today
        state.last_event_id, state.last_record_id, state.last_ticket_id = max_event, max_record, max_ticket
        state.refreshed_at = now
        state.save()
    stored = sorted(d for d in cohorts if d < today)
    logger.info("reports refreshed %s filing days and %s days of takes, %s rows", len(stored), len(take_days), written)
    return {"days": len(stored), "take_days": len(take_days), "rows": written}


def rebuild(
    *, since: dt.date, until: dt.date | None = None, progress: Callable[[dt.date, int], None] | None = None
) -> int:
    """Recompute every day from `since` to `until` (yesterday by default); returns rows written."""
    today = local_today()
    until = min(until or today - dt.timedelta(days=1), today - dt.timedelta(days=1))
    marks = _watermarks()
    day, written = since, 0
    while day <= until:
        written += write_cohorts([day], today=today, months=False)
        write_fairness([day], today=today)
        # A month's roll-up once its last day (or the last day rebuilt) is written.
        if day == until or next_month(day) == day + dt.timedelta(days=1):
            roll_up([day])
        if progress:
            progress(day, written)
        day += dt.timedelta(days=1)
    # What was added while the rebuild ran is newer than these marks: the next refresh takes it in.
    state = RefreshState.objects.order_by("id").first() or RefreshState()
    state.last_event_id, state.last_record_id, state.last_ticket_id = marks
    state.local_day = today
    state.refreshed_at = timezone.now()
    state.save()
    return written


# --- today, live ------------------------------------------------------------------------------


def _floor_before(moment: dt.datetime) -> int:
    """The newest event id written before `moment` (read backwards along the primary key: the
    events since are few); every event at or after `moment` lies above it."""
    return TicketEvent.objects.filter(created_at__lt=moment).order_by("-id").values_list("id", flat=True).first() or 0


def _watermarks() -> tuple[int, int, int]:
    """The newest event, SLA record and ticket, in one round trip."""
    tables = (TicketEvent._meta.db_table, SlaRecord._meta.db_table, Ticket._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT MAX(id) FROM {table})" for table in tables))  # noqa: S608
        row = cursor.fetchone()
    return (row[0] or 0, row[1] or 0, row[2] or 0)


# The live part this process read last, by its cache key: a page asks for it once per figure.
_last_live: dict[str, Accumulator] = {}
# Inside `one_snapshot`: today's part as the page read it first, by its day.
_snapshot: ContextVar[dict[dt.date, Accumulator] | None] = ContextVar("reports_live_snapshot", default=None)


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Every figure read inside adds the same today's part, read once: a page of several figures
    (the dashboard sums, series and line clocks; the load page's six tables) asks for the newest
    event, SLA record and ticket once rather than once per figure, and its figures agree with
    each other even when a ticket is filed while it is built."""
    token = _snapshot.set({})
    try:
        yield
    finally:
        _snapshot.reset(token)


def live_today(*, now: dt.datetime | None = None) -> Accumulator:
    """Today's part of every figure, from the tickets filed or touched today; cached until anything
    is added (a new event, SLA record or ticket changes the key), so it stays exact. Inside
    `one_snapshot` it is read once."""
    now = now or timezone.now()
    today = local_today(now)
    snapshot = _snapshot.get()
    if snapshot is None:
        return _live_today(today)
    if today not in snapshot:
        snapshot[today] = _live_today(today)
    return snapshot[today]


def _live_today(today: dt.date) -> Accumulator:
    key = "reports:live:%s:%s:%s:%s" % (today.isoformat(), *_watermarks())  # noqa: UP031 - a cache key
    cached = _last_live.get(key)
    if cached is None:
        cached = cache.get(key)
    if cached is not None:
        _last_live.clear()
        _last_live[key] = cached
        return cached
    start, _end = day_bounds(today)
    floor = _floor_before(start)
    touched = set(Ticket.objects.filter(created_at__gte=start).values_list("id", flat=True))
    touched |= set(TicketEvent.objects.filter(id__gt=floor, created_at__gte=start).values_list("ticket_id", flat=True))
    touched |= set(SlaRecord.objects.filter(created_at__gte=start).values_list("ticket_id", flat=True))
    acc = compute(Ticket.objects.filter(id__in=touched), keep=lambda d: d == today)
    acc.keep = None  # not picklable, and not needed once summed
    acc.tz = None
    cache.set(key, acc, LIVE_CACHE_SECONDS)
    _last_live.clear()
    _last_live[key] = acc
    return acc
