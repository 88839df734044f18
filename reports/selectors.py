"""The manager's figures for a period and filters: stored rows summed, today's part added live.

Each figure reads the rows of `reports.models` (written by `reports.cube`) up to yesterday
and the live accumulator for today, with the same filters, and adds them up. A figure that
does not need the period day by day reads the period's whole months from the monthly tables
and only the days at its edges from the daily ones (a partial month is either its days, or
the month less the days outside the period, whichever reads fewer days): the sums are the
same, since a month's rows are its days' rows summed. Definitions of every figure are in
docs/reports.md. Only management may read them (`require_management`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, DateTimeField, F, Min, Model, Sum, When
from django.db.models.functions import Least
from django.utils import timezone

from accounts.models import User
from accounts.permissions import can_enter
from helpdesk.errors import PermissionDenied
from queues.models import Boost, Line, QueuePolicy
from queues.policy import WAITING_STATUSES
from queues.selectors import CUSTOMER_CLASSES
from reports import buckets, cube, erlang
from reports.facts import Accumulator
from reports.models import (
    AgentDailyStats,
    AgentMonthlyStats,
    DailyFairness,
    DailyFlow,
    DailyLineTime,
    DailyStats,
    MonthlyLineTime,
    MonthlyStats,
)
from shifts import policy as shift_policy
from shifts import selectors as shift_selectors
from tickets import selectors as ticket_selectors
from tickets.models import OPEN_STATUSES, Ticket

DIMENSIONS = ("line", "plan", "urgency", "channel", "category")
KEY_INDEX = {"day": 0, "created_day": 1, "line": 2, "plan": 3, "urgency": 4, "channel": 5, "category": 6, "agent": 7}
ABOUT_TO_BREACH = dt.timedelta(hours=1)
BREACHING_LIMIT = 50


def require_management(user: User) -> None:
    if not can_enter(user, "manage"):
        raise PermissionDenied("Only managers, quality reviewers and administrators may read the reports.")


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # inclusive
    line: int | None = None
    plan: int | None = None
    urgency: str | None = None
    channel: str | None = None
    category: str | None = None
    agent: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dims(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in DIMENSIONS if getattr(self, name) not in (None, "")}


def default_filters(today: dt.date | None = None, days: int = 30) -> Filters:
    today = today or cube.local_today()
    return Filters(start=today - dt.timedelta(days=days - 1), end=today)


# --- summing stored and live rows ----------------------------------------------------------------


@dataclass
class Sums:
    """Sums of measures by group, from the stored rows and today's live ones."""

    groups: dict[tuple, dict[str, object]] = field(default_factory=dict)

    def add(self, group: tuple, name: str, value, sign: int = 1) -> None:
        row = self.groups.setdefault(group, {})
        if isinstance(value, list):
            current = row.get(name)
            if current is None:
                row[name] = [sign * v for v in value]
            else:
                row[name] = [a + sign * b for a, b in zip(current, value, strict=True)]
        else:
            row[name] = (row.get(name) or 0) + sign * (value or 0)

    def total(self) -> dict[str, object]:
        whole = Sums()
        for values in self.groups.values():
            for name, value in values.items():
                whole.add((), name, value)
        return whole.groups.get((), {})

    def rolled(self, key) -> Sums:
        out = Sums()
        for group, values in self.groups.items():
            for name, value in values.items():
                out.add(key(group), name, value)
        return out


@dataclass(frozen=True)
class Tables:
    """Where a kind of row is stored: daily and monthly, every ticket's and per agent."""

    daily: type[Model]
    monthly: type[Model] | None
    agent_daily: type[Model]
    agent_monthly: type[Model] | None


TABLES = {
    DailyStats: Tables(DailyStats, MonthlyStats, AgentDailyStats, AgentMonthlyStats),
    DailyLineTime: Tables(DailyLineTime, MonthlyLineTime, DailyLineTime, MonthlyLineTime),
    DailyFlow: Tables(DailyFlow, None, DailyFlow, None),
}


# Before any stored day, and the first day of a month (so nothing lies before it in its month).
EARLIEST = dt.date(1, 2, 1)


@dataclass(frozen=True)
class Piece:
    """Stored rows to add (sign 1) or take away (-1): the days `ranges` of the daily table, or
    the months of the monthly one (ranges of the first days of months)."""

    monthly: bool
    ranges: tuple[tuple[dt.date, dt.date], ...]
    sign: int = 1


def _month_end(month: dt.date) -> dt.date:
    return cube.next_month(month) - dt.timedelta(days=1)


def _days(ranges) -> int:
    return sum((last - first).days + 1 for first, last in ranges)


def pieces(first: dt.date | None, last: dt.date, *, today: dt.date, months: bool) -> list[Piece]:
    """The stored rows of the days `first`..`last` (None: since the beginning) as whole months
    and days at the edges. Stored days end yesterday, so a month counts as whole when the
    period holds every one of its days stored so far."""
    first = first or EARLIEST
    last = min(last, today - dt.timedelta(days=1))
    if first > last:
        return []
    if not months:
        return [Piece(False, ((first, last),))]
    first_month, last_month = cube.month_start(first), cube.month_start(last)
    plus: list[tuple[dt.date, dt.date]] = []
    minus: list[tuple[dt.date, dt.date]] = []
    whole_first, whole_last = first_month, last_month
    for month in sorted({first_month, last_month}):
        stored_end = min(_month_end(month), today - dt.timedelta(days=1))
        inside = (max(first, month), min(last, stored_end))
        outside = [r for r in ((month, first - dt.timedelta(days=1)), (last + dt.timedelta(days=1), stored_end))]
        outside = [(a, b) for a, b in outside if a <= b and a >= month and b <= stored_end]
        if not outside:
            continue  # every stored day of the month is in the period
        if _days([inside]) <= _days(outside):
            plus.append(inside)
            if month == first_month:
                whole_first = cube.next_month(month)
            if month == last_month:
                whole_last = cube.month_start(month - dt.timedelta(days=1))
        else:
            minus.extend(outside)
    found = []
    if whole_first <= whole_last:
        found.append(Piece(True, ((whole_first, whole_last),)))
    if plus:
        found.append(Piece(False, tuple(plus)))
    if minus:
        found.append(Piece(False, tuple(minus), -1))
    return found


def _select(
    tables: Tables,
    piece: Piece,
    f: Filters,
    *,
    by: str,
    columns: list[str],
    measures: tuple[str, ...],
    arrays: dict[str, int],
) -> tuple[str, list]:
    """The SQL summing one piece's rows, grouped by `columns`: written out rather than built by the
    ORM, whose expressions cost more to compile than the sums of a hundred array elements cost
    to run."""
    if piece.monthly:
        model = tables.agent_monthly if f.agent else tables.monthly
    else:
        model = tables.agent_daily if f.agent else tables.daily
    assert model is not None  # noqa: S101 - pieces() gives monthly pieces only where there are monthly rows
    sums = [f"SUM({name})::bigint" for name in measures]
    sums += [
        "ARRAY[" + ", ".join(f"COALESCE(SUM({name}[{i}]), 0)" for i in range(1, size + 1)) + "]"
        for name, size in arrays.items()
    ]
    where = ["(" + " OR ".join(f"{by} BETWEEN %s AND %s" for _range in piece.ranges) + ")"]
    params: list = [day for pair in piece.ranges for day in pair]
    if f.agent:
        where.append("agent_id = %s")
        params.append(f.agent)
    else:
        where.append("agent_id IS NULL")
    for name, value in f.dims().items():
        where.append(f"{name}_id = %s" if name in ("line", "plan") else f"{name} = %s")
        params.append(value)
    sql = f"SELECT {', '.join([*columns, *sums])} FROM {model._meta.db_table} WHERE {' AND '.join(where)}"  # noqa: S608
    if columns:
        sql += f" GROUP BY {', '.join(columns)}"
    return sql, params


def _live(f: Filters) -> Accumulator | None:
    today = cube.local_today()
    if not (f.start <= today <= f.end):
        return None
    return cube.live_today()


def _live_match(key: tuple, f: Filters, by: str) -> bool:
    if not f.start <= key[KEY_INDEX[by]] <= f.end:
        return False
    if key[7] != (f.agent or None):
        return False
    return all(key[KEY_INDEX[name]] == value for name, value in f.dims().items())


def _stored_sums(
    sums: Sums,
    model,
    f: Filters,
    *,
    first: dt.date | None,
    last: dt.date,
    by: str,
    group: tuple[str, ...],
    measures: tuple[str, ...],
    arrays: dict[str, int],
    months: bool,
) -> None:
    tables = TABLES[model]
    columns = [f"{name}_id" if name in ("line", "plan", "to_line") else name for name in group]
    today = cube.local_today()
    with connection.cursor() as cursor:
        for piece in pieces(first, last, today=today, months=months and tables.monthly is not None):
            cursor.execute(*_select(tables, piece, f, by=by, columns=columns, measures=measures, arrays=arrays))
            for row in cursor.fetchall():
                key = tuple(row[: len(columns)])
                values = row[len(columns) :]
                for index, name in enumerate(measures):
                    sums.add(key, name, values[index], piece.sign)
                for index, name in enumerate(arrays, start=len(measures)):
                    sums.add(key, name, list(values[index]), piece.sign)


def _sum(
    model,
    f: Filters,
    *,
    by: str,
    group: tuple[str, ...],
    measures: tuple[str, ...],
    arrays: dict[str, int] | None = None,
    live_table: str = "stats",
    by_month: bool = False,
) -> Sums:
    """Sums of `measures` (and of each element of `arrays`) grouped by `group` (key fields).

    The whole months of the period come from the monthly rows unless the group holds a day:
    then only when the caller rolls the days up to months itself (`by_month`), since the
    monthly rows' days are the first days of their months."""
    arrays = arrays or {}
    sums = Sums()
    months = by_month or not ({"day", "created_day"} & set(group))
    _stored_sums(
        sums, model, f, first=f.start, last=f.end, by=by, group=group, measures=measures, arrays=arrays, months=months
    )
    live = _live(f)
    if live is not None:
        table = getattr(live, live_table)
        for key, values in table.items():
            if not _live_match(key, f, by):
                continue
            group_key = tuple(key[8] if name == "to_line" else key[KEY_INDEX[name]] for name in group)
            for name in measures:
                sums.add(group_key, name, values.get(name, 0))
            for name, size in arrays.items():
                sums.add(group_key, name, values.get(name) or [0] * size)
    return sums


def _share(part, whole) -> float | None:
    return None if not whole else part / whole


def _minutes(seconds, count) -> float | None:
    return None if not count else seconds / count / 60


def _bucket_of_period(f: Filters):
    """Series by day for a month or two, by week up to about half a year, by month beyond."""
    if f.days <= 62:
        return "day", lambda d: d
    if f.days <= 200:
        return "week", lambda d: d - dt.timedelta(days=d.weekday())
    return "month", lambda d: d.replace(day=1)


# --- the SLA dashboard -----------------------------------------------------------------------------

SLA_MEASURES = (
    "created", "first_responses", "first_response_seconds", "fr_met", "fr_breached", "nr_met", "nr_breached",
    "res_met", "res_breached", "resolved", "resolution_seconds", "handled", "handling_seconds", "reopened",
    "transferred",
)  # fmt: skip
EVENT_MEASURES = (
    "fr_breaches", "nr_breaches", "res_breaches", "fr_warnings", "nr_warnings", "res_warnings", "opened",
    "closed_out", "takes",
)  # fmt: skip
HISTS = {"first_response_hist": buckets.SIZE, "resolution_hist": buckets.SIZE}


def sla_summary(*, user: User, filters: Filters) -> dict:
    require_management(user)
    t = _sum(DailyStats, filters, by="created_day", group=(), measures=SLA_MEASURES, arrays=HISTS).total()
    get = lambda name: t.get(name) or 0  # noqa: E731
    fr_hist = t.get("first_response_hist") or buckets.empty()
    res_hist = t.get("resolution_hist") or buckets.empty()
    targets = {}
    for code, name in (("fr", "first_response"), ("nr", "next_response"), ("res", "resolution")):
        met, breached = get(f"{code}_met"), get(f"{code}_breached")
        targets[name] = {"met": met, "breached": breached, "share_met": _share(met, met + breached)}
    return {
        "created": get("created"),
        "targets": targets,
        "first_responses": get("first_responses"),
        "first_response_mean_minutes": _minutes(get("first_response_seconds"), get("first_responses")),
        "first_response_median_minutes": buckets.percentile(fr_hist, 0.5),
        "first_response_p90_minutes": buckets.percentile(fr_hist, 0.9),
        "resolved": get("resolved"),
        "resolution_mean_minutes": _minutes(get("resolution_seconds"), get("resolved")),
        "resolution_median_minutes": buckets.percentile(res_hist, 0.5),
        "handled": get("handled"),
        "handling_mean_minutes": _minutes(get("handling_seconds"), get("handled")),
        "reopened": get("reopened"),
        "transferred": get("transferred"),
    }


def _baseline_backlog(f: Filters) -> int:
    """Tickets open at the start of the period: everything opened minus closed before it."""
    sums = Sums()
    _stored_sums(
        sums, DailyStats, f, first=None, last=f.start - dt.timedelta(days=1), by="day", group=(),
        measures=("opened", "closed_out"), arrays={}, months=True,
    )  # fmt: skip
    totals = sums.total()
    return (totals.get("opened") or 0) - (totals.get("closed_out") or 0)


def sla_series(*, user: User, filters: Filters) -> dict:
    """Breaches and warnings by target, and the backlog, over the period (by day, week or month)."""
    require_management(user)
    unit, bucket = _bucket_of_period(filters)
    by_day = _sum(DailyStats, filters, by="day", group=("day",), measures=EVENT_MEASURES, by_month=unit == "month")
    rolled = by_day.rolled(lambda key: (bucket(key[0]),))
    backlog = _baseline_backlog(filters)
    rows = []
    seen = sorted({bucket(filters.start + dt.timedelta(days=i)) for i in range(filters.days)})
    for start in seen:
        values = rolled.groups.get((start,), {})
        # The backlog at the end of each bucket.
        backlog += (values.get("opened") or 0) - (values.get("closed_out") or 0)
        rows.append({"period": start, **{name: values.get(name) or 0 for name in EVENT_MEASURES}, "backlog": backlog})
    return {"unit": unit, "rows": rows}


def breaching(*, user: User, filters: Filters, now: dt.datetime | None = None) -> dict:
    """Open tickets past a deadline now, and those whose deadline comes within the hour."""
    require_management(user)
    now = now or timezone.now()
    soon = now + ABOUT_TO_BREACH
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    for name, value in filters.dims().items():
        if name == "plan":
            tickets = tickets.filter(customer__customer_profile__support_plan_id=value)
        else:
            tickets = tickets.filter(**{f"{name}_id" if name == "line" else name: value})
    if filters.agent:
        tickets = tickets.filter(assignee_id=filters.agent)
    running = ("new", "waiting_agent", "in_progress")
    # The earliest running deadline of each open ticket (LEAST skips the clocks not running).
    earliest = Least(
        Case(When(first_response_at__isnull=True, then=F("first_response_due"))),
        F("next_response_due"),
        Case(When(status__in=running, then=F("resolution_due"))),
        output_field=DateTimeField(),
    )
    tickets = tickets.annotate(earliest_due=earliest).order_by("earliest_due", "id")
    # Each list in the order of its deadlines, the most overdue first: the open tickets' earliest
    # deadlines are found and sorted in the database from the partial indexes of the open tickets
    # (`tickets_open_due` on this very expression, `tickets_open_workspace` with the deadlines),
    # and only the tickets shown are then read whole.
    lists = (("now", {"earliest_due__lte": now}), ("soon", {"earliest_due__gt": now, "earliest_due__lt": soon}))
    chosen = {
        name: list(tickets.filter(**due_in).values_list("id", flat=True)[:BREACHING_LIMIT]) for name, due_in in lists
    }
    shown = Ticket.objects.select_related("line").in_bulk([i for ids in chosen.values() for i in ids])
    found: dict[str, list[dict]] = {"now": [], "soon": []}
    for name, ids in chosen.items():
        for ticket_id in ids:
            t = shown[ticket_id]
            dues = []
            if t.first_response_at is None and t.first_response_due:
                dues.append(("first_response", t.first_response_due))
            if t.next_response_due:
                dues.append(("next_response", t.next_response_due))
            if t.status in running and t.resolution_due:
                dues.append(("resolution", t.resolution_due))
            target, due = min(dues, key=lambda item: item[1])
            found[name].append({"ticket": t, "target": target, "due": due, "overdue": due <= now})
    return found


def line_clocks(*, user: User, filters: Filters) -> list[dict]:
    """Per line: the time it held the period's tickets, and the part on tickets that breached."""
    require_management(user)
    sums = _sum(
        DailyLineTime,
        filters,
        by="created_day",
        group=("line",),
        measures=("tickets", "seconds", "breached_tickets", "breached_seconds"),
        live_table="line_time",
    )
    names = _line_names()
    total_breached = sum((v.get("breached_seconds") or 0) for v in sums.groups.values())
    rows = []
    for (line_id,), v in sums.groups.items():
        rows.append(
            {
                "line": names.get(line_id, line_id),
                "line_id": line_id,
                "tickets": v.get("tickets") or 0,
                "hours": (v.get("seconds") or 0) / 3600,
                "breached_tickets": v.get("breached_tickets") or 0,
                "breached_hours": (v.get("breached_seconds") or 0) / 3600,
                "share_of_breached_time": _share(v.get("breached_seconds") or 0, total_breached),
            }
        )
    return sorted(rows, key=lambda r: -r["breached_hours"])


def _line_names() -> dict[int, Line]:
    return {line.id: line for line in Line.objects.all()}


def line_overview_now() -> list[dict]:
    """Per active line: tickets waiting, in progress and waiting for the customer right now."""
    # Counted from the index on (line, status, ...), never a join of the lines with all their tickets.
    return list(ticket_selectors.line_overview(lines=Line.objects.filter(is_active=True)))


# --- load ------------------------------------------------------------------------------------------


def heatmap(*, user: User, filters: Filters) -> dict:
    """Requests by weekday (Monday first) and local hour, summed over the period."""
    require_management(user)
    sums = _sum(
        DailyStats, filters, by="created_day", group=("created_day",), measures=("created",),
        arrays={"created_by_hour": 24},
    )  # fmt: skip
    grid = [[0] * 24 for _ in range(7)]
    for (day,), values in sums.groups.items():
        for hour, count in enumerate(values.get("created_by_hour") or []):
            grid[day.weekday()][hour] += count
    peak = max((max(row) for row in grid), default=0)
    return {"grid": grid, "peak": peak, "total": sum(map(sum, grid))}


def monthly(*, user: User, filters: Filters) -> list[dict]:
    """By month of filing: requests, mean and median first response (FirstVDS's history table)."""
    require_management(user)
    sums = _sum(
        DailyStats,
        filters,
        by="created_day",
        group=("created_day",),
        measures=("created", "first_responses", "first_response_seconds", "resolved"),
        arrays={"first_response_hist": buckets.SIZE},
        by_month=True,
    ).rolled(lambda key: (key[0].replace(day=1),))
    rows = []
    for (month,), v in sorted(sums.groups.items()):
        rows.append(
            {
                "month": month,
                "created": v.get("created") or 0,
                "first_responses": v.get("first_responses") or 0,
                "first_response_mean_minutes": _minutes(v.get("first_response_seconds") or 0, v.get("first_responses")),
                "first_response_median_minutes": buckets.percentile(v.get("first_response_hist") or [], 0.5),
                "resolved": v.get("resolved") or 0,
            }
        )
    return rows


def by_dimension(*, user: User, filters: Filters, dimension: str) -> list[dict]:
    """Requests per channel or category, with the first level's share and the automatable ones."""
    require_management(user)
    sums = _sum(
        DailyStats,
        filters,
        by="created_day",
        group=(dimension,),
        measures=("created", "level_known", "solved_first_level", "automatable", "transferred"),
    )
    total = sum((v.get("created") or 0) for v in sums.groups.values())
    rows = [
        {
            "value": key[0],
            "created": v.get("created") or 0,
            "share": _share(v.get("created") or 0, total),
            "solved_first_level": v.get("solved_first_level") or 0,
            "automatable": v.get("automatable") or 0,
        }
        for key, v in sums.groups.items()
    ]
    return sorted(rows, key=lambda r: -r["created"])


def first_level(*, user: User, filters: Filters) -> dict:
    require_management(user)
    t = _sum(
        DailyStats, filters, by="created_day", group=(), measures=("level_known", "solved_first_level", "automatable")
    ).total()
    known, solved = t.get("level_known") or 0, t.get("solved_first_level") or 0
    return {"known": known, "solved": solved, "share": _share(solved, known), "automatable": t.get("automatable") or 0}


def transfer_flows(*, user: User, filters: Filters) -> list[dict]:
    """Transfers between lines in the period: from, to, how many."""
    require_management(user)
    sums = _sum(DailyFlow, filters, by="day", group=("line", "to_line"), measures=("transfers",), live_table="flows")
    names = _line_names()
    rows = [
        {
            "from_line": names.get(a, a),
            "to_line": names.get(b, b),
            "from_id": a,
            "to_id": b,
            "transfers": v["transfers"],
        }
        for (a, b), v in sums.groups.items()
    ]
    return sorted(rows, key=lambda r: -r["transfers"])


# --- fairness -------------------------------------------------------------------------------------


def fairness(*, user: User, filters: Filters, now: dt.datetime | None = None) -> dict:
    """Per line: the oldest waiting ticket per customer class now, the longest overtaking in the
    period against the bound, and the boosts sold in the period with their revenue."""
    require_management(user)
    now = now or timezone.now()
    bound = QueuePolicy.current().max_credit_minutes
    lines = Line.objects.filter(is_active=True).order_by("position", "code")
    if filters.line:
        lines = lines.filter(id=filters.line)
    stored = (
        DailyFairness.objects.filter(day__gte=filters.start, day__lte=filters.end)
        .values("line_id")
        .annotate(takes=Sum("takes"))
    )
    takes = {row["line_id"]: row["takes"] for row in stored}
    worst: dict[int, DailyFairness] = {}
    for row in DailyFairness.objects.filter(day__gte=filters.start, day__lte=filters.end).order_by(
        "line_id", "-max_overtaken_seconds"
    ):
        worst.setdefault(row.line_id, row)
    start, end = cube.day_bounds(filters.start, filters.end)
    boosts = {
        row["ticket__line_id"]: row
        for row in Boost.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("ticket__line_id")
        .annotate(count=Count("id"), revenue=Sum("price"))
    }
    waiting = Ticket.objects.filter(status__in=WAITING_STATUSES, assignee__isnull=True)
    oldest: dict[int, dict[str, dict]] = defaultdict(dict)
    for name, lookups in CUSTOMER_CLASSES:
        for row in waiting.filter(**lookups).values("line_id").annotate(since=Min("queued_at"), count=Count("id")):
            if row["since"] is not None:
                oldest[row["line_id"]][name] = {
                    "minutes": (now - row["since"]).total_seconds() / 60,
                    "count": row["count"],
                }
    rows = []
    for line in lines:
        top = worst.get(line.id)
        overtaken = (top.max_overtaken_seconds / 60) if top else 0
        bought = boosts.get(line.id, {})
        rows.append(
            {
                "line": line,
                "takes": takes.get(line.id, 0),
                "max_overtaken_minutes": overtaken,
                "max_overtaken_day": top.day if top else None,
                "overtaken_ticket_id": top.overtaken_ticket_id if top else None,
                "within_bound": overtaken <= bound,
                "oldest": oldest.get(line.id, {}),
                "boosts": bought.get("count", 0),
                "boost_revenue": bought.get("revenue") or Decimal(0),
            }
        )
    return {"bound_minutes": bound, "classes": [name for name, _ in CUSTOMER_CLASSES], "rows": rows}


# --- staffing forecast ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastTarget:
    share: float = 0.8
    seconds: int = 600
    shrinkage: float = 0.3
    max_occupancy: float = 0.85


def _weekday_counts(f: Filters) -> list[int]:
    counts = [0] * 7
    for i in range(f.days):
        counts[(f.start + dt.timedelta(days=i)).weekday()] += 1
    return counts


def forecast(*, user: User, filters: Filters, target: ForecastTarget = ForecastTarget(), week_start=None) -> dict:
    """Per line and hour of the week: the measured arrivals (filed there or transferred in, an
    average over the period's weeks), the mean time in progress, the agents Erlang C asks for,
    and the agents on duty in the coming week's roster."""
    require_management(user)
    arrivals = _sum(
        DailyStats, filters, by="created_day", group=("line", "created_day"), measures=("created",),
        arrays={"created_by_hour": 24},
    )  # fmt: skip
    transfers_in = _sum(
        DailyFlow, filters, by="day", group=("to_line", "day"), measures=("transfers",),
        arrays={"by_hour": 24}, live_table="flows",
    )  # fmt: skip
    handling = _sum(DailyStats, filters, by="created_day", group=("line",), measures=("handled", "handling_seconds"))
    weeks = _weekday_counts(filters)
    per_hour: dict[int, list[list[float]]] = defaultdict(lambda: [[0.0] * 24 for _ in range(7)])
    for (line_id, day), values in arrivals.groups.items():
        for hour, count in enumerate(values.get("created_by_hour") or []):
            per_hour[line_id][day.weekday()][hour] += count
    for (line_id, day), values in transfers_in.groups.items():
        for hour, count in enumerate(values.get("by_hour") or []):
            per_hour[line_id][day.weekday()][hour] += count
    tz = cube.zone()
    if week_start is None:
        today = cube.local_today()
        week_start = today + dt.timedelta(days=7 - today.weekday())  # next Monday
    lines = Line.objects.filter(is_active=True).order_by("position", "code")
    if filters.line:
        lines = lines.filter(id=filters.line)
    result = []
    for line in lines:
        h = handling.groups.get((line.id,), {})
        handled, seconds = h.get("handled") or 0, h.get("handling_seconds") or 0
        mean_handling = seconds / handled if handled else None
        week_begin = dt.datetime.combine(week_start, dt.time(0), tzinfo=tz)
        steps = shift_selectors.line_staffing(
            line_id=line.id,
            start=week_begin.astimezone(dt.UTC),
            end=(week_begin + dt.timedelta(days=7)).astimezone(dt.UTC),
        )
        cells = []
        for weekday in range(7):
            row = []
            for hour in range(24):
                rate = per_hour[line.id][weekday][hour] / weeks[weekday] if weeks[weekday] else 0.0
                needed = scheduled = None
                if mean_handling:
                    needed, scheduled = erlang.agents_needed(
                        arrivals_per_hour=rate,
                        handling_seconds=mean_handling,
                        target_share=target.share,
                        target_seconds=target.seconds,
                        shrinkage=target.shrinkage,
                        max_occupancy=target.max_occupancy,
                    )
                begin = dt.datetime.combine(week_start + dt.timedelta(days=weekday), dt.time(hour), tzinfo=tz)
                on_duty = shift_policy.agent_hours(
                    steps, begin.astimezone(dt.UTC), (begin + dt.timedelta(hours=1)).astimezone(dt.UTC)
                )
                row.append(
                    {"arrivals": rate, "needed": needed, "scheduled": scheduled, "on_duty": on_duty,
                     "short": scheduled is not None and on_duty + 1e-9 < scheduled}
                )  # fmt: skip
            cells.append(row)
        result.append({"line": line, "handling_minutes": mean_handling / 60 if mean_handling else None, "cells": cells})
    return {"target": target, "week_start": week_start, "lines": result}
