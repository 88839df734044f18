"""Computing and storing the daily figures: one filing day at a time, the changed days, today live.

A filing day's rows are rebuilt from the tickets filed that day, with their history, stints
and SLA records (`reports.facts` adds them up); the rows never hold today, which the pages
compute live (`live_today`). `refresh` finds what changed since its last run from the ids of
the events, SLA records and tickets added since (they only ever grow) and rebuilds the filing
days those belong to, and the fairness of the days their takes happened on. This module
writes only the reports' own tables.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Role
from helpdesk import bulk
from queues.models import Line
from reports.facts import Accumulator, Event, Record, Stint, TicketFacts, add_tickets
from reports.fairness import overtaking
from reports.models import DailyFairness, DailyFlow, DailyLineTime, DailyStats, RefreshState
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
    written = _copy(DailyStats, ((_dims(key), values) for key, values in acc.stats.items()))
    written += _copy(DailyFlow, (({**_dims(key), "to_line_id": key[8]}, values) for key, values in acc.flows.items()))
    written += _copy(DailyLineTime, ((_dims(key), values) for key, values in acc.line_time.items()))
    return written


def write_cohorts(days: Iterable[dt.date], *, today: dt.date | None = None) -> int:
    """Rebuild the rows of the tickets filed on these local days (never today); returns rows written."""
    today = today or local_today()
    written = 0
    for day in sorted(set(days)):
        if day >= today:
            continue
        start, end = day_bounds(day)
        acc = compute(Ticket.objects.filter(created_at__gte=start, created_at__lt=end), keep=lambda d: d < today)
        with transaction.atomic():
            for model in (DailyStats, DailyFlow, DailyLineTime):
                model.objects.filter(created_day=day).delete()
            written += _write(acc)
    return written


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
        written += write_cohorts([day], today=today)
        write_fairness([day], today=today)
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
    return (
        TicketEvent.objects.aggregate(m=Max("id"))["m"] or 0,
        SlaRecord.objects.aggregate(m=Max("id"))["m"] or 0,
        Ticket.objects.aggregate(m=Max("id"))["m"] or 0,
    )


def live_today(*, now: dt.datetime | None = None) -> Accumulator:
    """Today's part of every figure, from the tickets filed or touched today; cached until anything
    is added (a new event, SLA record or ticket changes the key), so it stays exact."""
    now = now or timezone.now()
    today = local_today(now)
    key = "reports:live:%s:%s:%s:%s" % (today.isoformat(), *_watermarks())  # noqa: UP031 - a cache key
    cached = cache.get(key)
    if cached is not None:
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
    return acc
