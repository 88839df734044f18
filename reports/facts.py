"""What one ticket contributes to the daily figures, from its row, history, stints and SLA records.

Pure: `reports.cube` loads the rows into the records below and sums the contributions of
many tickets into an `Accumulator`, whose keys are the daily rows of `reports.models`.
Every figure follows a recorded fact: breaches and warnings are the SLA sweep's records,
takes, transfers, reopenings and the time in progress are the audit trail's events, the
first response and the resolution are the ticket's own timestamps. Nothing here recomputes a
deadline.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from reports import buckets

OPEN = ("new", "waiting_agent", "in_progress", "waiting_customer")
DONE = ("resolved", "closed")
TARGETS = {"first_response": "fr", "next_response": "nr", "resolution": "res"}


@dataclass(frozen=True)
class Event:
    kind: str
    at: dt.datetime
    actor_id: int | None
    actor_is_staff: bool
    data: dict


@dataclass(frozen=True)
class Record:
    kind: str  # warning | breach | ...
    target: str
    due_at: dt.datetime
    line_id: int
    at: dt.datetime


@dataclass(frozen=True)
class Stint:
    line_id: int
    entered_at: dt.datetime
    left_at: dt.datetime | None


@dataclass
class TicketFacts:
    id: int
    created_at: dt.datetime
    line_id: int
    status: str
    urgency: str
    channel: str
    category: str
    customer_id: int
    assignee_id: int | None
    plan_id: int | None
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    solved_at_first_level: bool | None
    has_sla: bool
    next_response_due: dt.datetime | None = None
    events: list[Event] = field(default_factory=list)
    stints: list[Stint] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    # Every public reply of the staff was a reply template's text (None: not looked at).
    answered_by_templates: bool | None = None


StatsKey = tuple  # (day, created_day, line_id, plan_id, urgency, channel, category, agent_id)


class Accumulator:
    """Sums of contributions by row key, for DailyStats, DailyFlow and DailyLineTime."""

    def __init__(self, *, time_zone: str, line_ids: dict[str, int], keep: Callable[[dt.date], bool] | None = None):
        self.tz = ZoneInfo(time_zone)
        self.line_ids = line_ids
        # Which `day`s to keep: the stored rows stop before today, the live part is today's.
        self.keep = keep or (lambda day: True)
        self.stats: dict[StatsKey, dict] = defaultdict(dict)
        self.flows: dict[tuple, dict] = defaultdict(dict)
        self.line_time: dict[tuple, dict] = defaultdict(dict)

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.tz)

    def day(self, at: dt.datetime) -> dt.date:
        return at.astimezone(self.tz).date()

    def line_of(self, code: str | None, default: int) -> int:
        return self.line_ids.get(code or "", default)


def _add(row: dict, name: str, value: float = 1) -> None:
    row[name] = row.get(name, 0) + value


def _add_at(row: dict, name: str, index: int, size: int) -> None:
    values = row.get(name)
    if values is None:
        values = row[name] = [0] * size
    values[index] += 1


class _Ticket:
    """One ticket's contributions, keyed for both the every-ticket rows and its agent's rows."""

    def __init__(self, facts: TicketFacts, acc: Accumulator):
        self.t = facts
        self.acc = acc
        self.created_day = acc.day(facts.created_at)
        self.agents = (None,) if facts.assignee_id is None else (None, facts.assignee_id)
        self.stints = sorted(facts.stints, key=lambda s: s.entered_at)
        created = next((e for e in facts.events if e.kind == "created"), None)
        if self.stints:
            self.filed_line = self.stints[0].line_id
        elif created is not None:
            self.filed_line = acc.line_of(created.data.get("line"), facts.line_id)
        else:
            self.filed_line = facts.line_id

    def line_at(self, at: dt.datetime) -> int:
        """The line that held the ticket at `at` (its last stint entered by then)."""
        line = self.filed_line if self.stints else self.t.line_id
        for stint in self.stints:
            if stint.entered_at <= at:
                line = stint.line_id
            else:
                break
        return line

    def _dims(self, day: dt.date, line_id: int) -> tuple:
        t = self.t
        return (day, self.created_day, line_id, t.plan_id, t.urgency, t.channel, t.category)

    def stat(self, day: dt.date, line_id: int, name: str, value: float = 1) -> None:
        if not self.acc.keep(day):
            return
        for agent in self.agents:
            _add(self.acc.stats[(*self._dims(day, line_id), agent)], name, value)

    def stat_at(self, day: dt.date, line_id: int, name: str, index: int, size: int) -> None:
        if not self.acc.keep(day):
            return
        for agent in self.agents:
            _add_at(self.acc.stats[(*self._dims(day, line_id), agent)], name, index, size)

    def cohort(self, line_id: int, name: str, value: float = 1) -> None:
        self.stat(self.created_day, line_id, name, value)

    def at(self, moment: dt.datetime, line_id: int, name: str, value: float = 1) -> None:
        self.stat(self.acc.day(moment), line_id, name, value)

    def flow(self, moment: dt.datetime, from_line: int, to_line: int) -> None:
        day = self.acc.day(moment)
        if not self.acc.keep(day):
            return
        hour = self.acc.local(moment).hour
        for agent in self.agents:
            row = self.acc.flows[(*self._dims(day, from_line), agent, to_line)]
            _add(row, "transfers")
            _add_at(row, "by_hour", hour, 24)

    def held(self, line_id: int, seconds: float, breached: bool) -> None:
        if not self.acc.keep(self.created_day):
            return
        for agent in self.agents:
            row = self.acc.line_time[(*self._dims(self.created_day, line_id), agent)]
            _add(row, "tickets")
            _add(row, "seconds", round(seconds))
            if breached:
                _add(row, "breached_tickets")
                _add(row, "breached_seconds", round(seconds))


def add_ticket(acc: Accumulator, facts: TicketFacts) -> None:
    """Add everything one ticket contributes to the daily rows."""
    me = _Ticket(facts, acc)
    t = facts
    events = sorted(t.events, key=lambda e: e.at)
    filed = me.filed_line

    # Arrivals.
    me.cohort(filed, "created")
    me.stat_at(me.created_day, filed, "created_by_hour", acc.local(t.created_at).hour, 24)
    me.cohort(filed, "opened")

    # The first response and the targets, met or breached as the SLA sweep recorded.
    if t.first_response_at is not None:
        seconds = (t.first_response_at - t.created_at).total_seconds()
        line = me.line_at(t.first_response_at)
        me.cohort(line, "first_responses")
        me.cohort(line, "first_response_seconds", round(seconds))
        me.stat_at(me.created_day, line, "first_response_hist", buckets.bucket_of(seconds), buckets.SIZE)
    breaches = [r for r in t.records if r.kind == "breach" and r.target in TARGETS]
    for record in t.records:
        if record.kind in ("warning", "breach") and record.target in TARGETS:
            plural = "breaches" if record.kind == "breach" else "warnings"
            me.at(record.at, record.line_id, f"{TARGETS[record.target]}_{plural}")
    first_breach = {}
    for record in sorted(breaches, key=lambda r: r.at):
        first_breach.setdefault(record.target, record)
    if "first_response" in first_breach:
        me.cohort(first_breach["first_response"].line_id, "fr_breached")
    elif t.has_sla and t.first_response_at is not None:
        me.cohort(me.line_at(t.first_response_at), "fr_met")
    resolved = t.status in DONE and t.resolved_at is not None
    if "resolution" in first_breach:
        me.cohort(first_breach["resolution"].line_id, "res_breached")
    elif t.has_sla and resolved:
        me.cohort(me.line_at(t.resolved_at), "res_met")
    _next_response_clocks(me, events, [r for r in breaches if r.target == "next_response"])

    # Resolution and the first level.
    if resolved:
        seconds = (t.resolved_at - t.created_at).total_seconds()
        line = me.line_at(t.resolved_at)
        me.cohort(line, "resolved")
        me.cohort(line, "resolution_seconds", round(seconds))
        me.stat_at(me.created_day, line, "resolution_hist", buckets.bucket_of(seconds), buckets.SIZE)
    if t.solved_at_first_level is not None:
        me.cohort(filed, "level_known")
        if t.solved_at_first_level:
            me.cohort(filed, "solved_first_level")
            if t.answered_by_templates:
                me.cohort(filed, "automatable")

    # Status changes: reopenings, the backlog's ins and outs, the time in progress.
    status, since = "new", t.created_at
    handled_lines: set[int] = set()
    reopened = False
    saw_status = False
    for event in events:
        if event.kind == "status":
            saw_status = True
            old, new = event.data.get("old", status), event.data.get("new", status)
            line = me.line_at(event.at)
            if old in DONE and new in OPEN:
                me.at(event.at, line, "opened")
                if not reopened:
                    me.cohort(line, "reopened")
                    reopened = True
            elif old in OPEN and new in DONE:
                me.at(event.at, line, "closed_out")
            if old == "in_progress" and new != "in_progress":
                start_line = me.line_at(since)
                me.cohort(start_line, "handling_seconds", round((event.at - since).total_seconds()))
                if start_line not in handled_lines:
                    handled_lines.add(start_line)
                    me.cohort(start_line, "handled")
            status, since = new, event.at
        elif event.kind == "assign" and event.data.get("new"):
            me.at(event.at, acc.line_of(event.data.get("line"), me.line_at(event.at)), "takes")
        elif event.kind == "transfer":
            from_line = acc.line_of(event.data.get("old"), me.line_at(event.at))
            to_line = acc.line_of(event.data.get("new"), from_line)
            me.flow(event.at, from_line, to_line)
    if not saw_status and resolved:
        # Tickets loaded in bulk without their history: the resolution is their only way out.
        me.at(t.resolved_at, me.line_at(t.resolved_at), "closed_out")
    if any(e.kind == "transfer" for e in events):
        me.cohort(filed, "transferred")

    # The time each line held the ticket (stints that ended), and whether it breached.
    breached = bool(breaches)
    for stint in me.stints:
        if stint.left_at is not None:
            me.held(stint.line_id, (stint.left_at - stint.entered_at).total_seconds(), breached)


def _next_response_clocks(me: _Ticket, events: list[Event], breaches: list[Record]) -> None:
    """Next-response clocks, as the SLA engine runs them: after the first response, the first
    unanswered customer message starts one and the staff's next public reply stops it. A clock
    is breached when the sweep recorded a next-response breach due while it ran."""
    t = me.t
    if not t.has_sla or t.first_response_at is None:
        for record in breaches:
            me.cohort(record.line_id, "nr_breached")
        return
    clocks: list[tuple[dt.datetime, dt.datetime | None]] = []
    started: dt.datetime | None = None
    for event in events:
        if event.kind != "message" or event.data.get("message_kind") != "public":
            continue
        if event.at <= t.first_response_at:
            continue
        from_customer = event.actor_id == t.customer_id or not event.actor_is_staff
        if from_customer and event.actor_id is not None:
            if started is None:
                started = event.at
        elif event.actor_is_staff and started is not None:
            clocks.append((started, event.at))
            started = None
    if started is not None:
        clocks.append((started, None))
    counted = set()
    for start, answered in clocks:
        hit = [
            r
            for r in breaches
            if r.due_at >= start and (answered is None or r.due_at <= answered) and id(r) not in counted
        ]
        if hit:
            counted.update(id(r) for r in hit)
            me.cohort(hit[0].line_id, "nr_breached")
        elif answered is not None:
            me.cohort(me.line_at(answered), "nr_met")
    for record in breaches:
        if id(record) not in counted:
            me.cohort(record.line_id, "nr_breached")


def add_tickets(acc: Accumulator, tickets: Iterable[TicketFacts]) -> Accumulator:
    for facts in tickets:
        add_ticket(acc, facts)
    return acc
