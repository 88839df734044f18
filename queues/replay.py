"""A trace of support load replayed through the product's own services, as customers live it.

Where `queues.simulation` compares queue orders in memory, this module measures the product
itself: every ticket of a trace is filed with `tickets.services.ticket_create` at its arrival,
agents on duty by a roster (`shifts`) take with `ticket_take_next` and resolve with
`ticket_resolve` when their handling time is up, willing customers buy boosts through
`queues.services.boost_buy` when one is offered, and the customer's page is read with
`queues.selectors` when the ticket is queued and at random moments while it waits. The clock
is moved with time-machine, so the audit trail, the measured handling times and arrival
rates are those the product would have recorded. It writes to the database it runs in:
`manage.py simulate_queue --trace` creates a database of its own for it.

The trace is a CSV file, one ticket a row (`TRACE_COLUMNS`); the roster another (`ROSTER_COLUMNS`):
weekly shifts and exceptions per agent. `make_trace` and `make_roster` generate both, with the
demo provider's rhythm and population (`queues.simulation`) and a target utilisation.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.test.utils import override_settings

from accounts.models import CustomerProfile, Plan, Role, User
from helpdesk.demo_profile import HOUR_WEIGHTS, WEEKDAY_WEIGHTS
from queues import selectors as queue_selectors
from queues import services as queue_services
from queues.models import BoostKind, BoostPrice, Line, LineMembership, QueuePolicy, RoutingRule
from queues.simulation import HANDLING_SIGMA, URGENCIES, SimulationConfig, make_customers, percentile
from shifts import policy as shift_policy
from shifts import selectors as shift_selectors
from shifts import services as shift_services
from shifts.models import ShiftException
from tickets import services as ticket_services
from tickets.models import Category, Ticket

TRACE_COLUMNS = (
    "arrival",  # ISO 8601 with an offset: when the ticket is filed
    "customer",  # any key: rows with the same key are the same customer
    "customer_since",  # ISO date
    "spend_12m",  # the customer's spend over 12 months
    "requests_12m",  # the customer's requests over 12 months
    "vip",  # 0 or 1
    "problematic",  # 0 or 1
    "plan_level",  # support plan level, 0 (self-service) to 3 (enterprise)
    "urgency",  # normal, high, critical
    "handling_minutes",  # the agent's time the ticket takes once taken
    "boost",  # front, behind_first, or empty: the boost the customer would buy
    "boost_after_minutes",  # when the customer looks to buy it, after the arrival (empty: never)
)
ROSTER_COLUMNS = (
    "agent",  # any key: rows with the same key are the same agent
    "kind",  # shift, or an exception kind: holiday, vacation, sick, absence, extra
    "weekday",  # shifts: 0 = Monday
    "starts_at",  # shifts: HH:MM local time; exceptions: ISO 8601 with an offset
    "ends_at",
    "time_zone",  # shifts: the zone of their local times
)
SHIFT = "shift"
TIME_ZONE = "Europe/Moscow"
START = dt.datetime(2026, 11, 2, tzinfo=ZoneInfo(TIME_ZONE))  # a Monday
LINE_CODE = "replay"
# Three eight-hour shifts around the clock, Moscow time (as the demo's first line).
SHIFTS = (("night", dt.time(0), dt.time(8)), ("day", dt.time(8), dt.time(16)), ("evening", dt.time(16), dt.time(0)))
NEW_CUSTOMER_DAYS = 90
HIGH_VALUE_SHARE = 0.10
CLASSES = ("boosting", "problematic", "new", "high-value", "ordinary")
POSITION_BANDS = ((1, 1), (2, 5), (6, 20), (21, 10**9))
BOOST_PRICES = {BoostKind.FRONT: Decimal(200), BoostKind.BEHIND_FIRST: Decimal(50)}


# --- the files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceRow:
    arrival: dt.datetime
    customer: str
    customer_since: dt.date
    spend_12m: float
    requests_12m: int
    vip: bool
    problematic: bool
    plan_level: int
    urgency: str
    handling_minutes: float
    boost: str = ""
    boost_after_minutes: float | None = None


@dataclass(frozen=True)
class RosterRow:
    agent: str
    kind: str
    weekday: int | None
    starts_at: str
    ends_at: str
    time_zone: str = TIME_ZONE


class TraceError(ValueError):
    """A trace or roster file that cannot be read: the message says which row and why."""


def _rows(path: Path, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise TraceError(f"{path}: missing columns {', '.join(missing)}")
        yield from enumerate(reader, start=2)


def read_trace(path: Path) -> list[TraceRow]:
    rows = []
    for number, row in _rows(path, TRACE_COLUMNS):
        try:
            arrival = dt.datetime.fromisoformat(row["arrival"])
            if arrival.tzinfo is None:
                raise ValueError("the arrival needs a UTC offset")
            boost = row["boost"].strip()
            if boost and boost not in BoostKind.values:
                raise ValueError(f"unknown boost {boost!r}")
            if row["urgency"] not in {u for u, _ in URGENCIES}:
                raise ValueError(f"unknown urgency {row['urgency']!r}")
            after = row["boost_after_minutes"].strip()
            rows.append(
                TraceRow(
                    arrival=arrival,
                    customer=row["customer"],
                    customer_since=dt.date.fromisoformat(row["customer_since"]),
                    spend_12m=float(row["spend_12m"]),
                    requests_12m=int(row["requests_12m"]),
                    vip=row["vip"] == "1",
                    problematic=row["problematic"] == "1",
                    plan_level=int(row["plan_level"]),
                    urgency=row["urgency"],
                    handling_minutes=float(row["handling_minutes"]),
                    boost=boost,
                    boost_after_minutes=float(after) if boost and after else None,
                )
            )
        except (KeyError, ValueError) as error:
            raise TraceError(f"{path}, row {number}: {error}") from error
    return sorted(rows, key=lambda r: r.arrival)


def write_trace(path: Path, rows: Iterable[TraceRow]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRACE_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r.arrival.isoformat(timespec="seconds"),
                    r.customer,
                    r.customer_since.isoformat(),
                    f"{r.spend_12m:.2f}",
                    r.requests_12m,
                    int(r.vip),
                    int(r.problematic),
                    r.plan_level,
                    r.urgency,
                    f"{r.handling_minutes:.2f}",
                    r.boost,
                    "" if r.boost_after_minutes is None else f"{r.boost_after_minutes:.1f}",
                ]
            )


def read_roster(path: Path) -> list[RosterRow]:
    rows = []
    for number, row in _rows(path, ROSTER_COLUMNS):
        try:
            kind = row["kind"].strip()
            if kind == SHIFT:
                weekday = int(row["weekday"])
                if not 0 <= weekday <= 6:
                    raise ValueError("the weekday is 0 (Monday) to 6")
                dt.time.fromisoformat(row["starts_at"]), dt.time.fromisoformat(row["ends_at"])
                ZoneInfo(row["time_zone"] or TIME_ZONE)
                rows.append(RosterRow(row["agent"], kind, weekday, row["starts_at"], row["ends_at"], row["time_zone"]))
            elif kind in ShiftException.Kind.values:
                for value in (row["starts_at"], row["ends_at"]):
                    if dt.datetime.fromisoformat(value).tzinfo is None:
                        raise ValueError("an exception's times need a UTC offset")
                rows.append(RosterRow(row["agent"], kind, None, row["starts_at"], row["ends_at"], ""))
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (KeyError, ValueError) as error:
            raise TraceError(f"{path}, row {number}: {error}") from error
    return rows


def write_roster(path: Path, rows: Iterable[RosterRow]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROSTER_COLUMNS)
        for r in rows:
            writer.writerow(
                [r.agent, r.kind, "" if r.weekday is None else r.weekday, r.starts_at, r.ends_at, r.time_zone]
            )


# --- the generator ------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceConfig:
    requests_per_month: int = 3300
    days: int = 30
    seed: int = 1
    customers: int = 2000
    agents: int = 11
    utilisation: float = 0.85  # handling time over the agent time rostered
    boost_share: float = 0.05
    sick_days: int = 3  # absences known to the roster, spread over the period


def make_roster(config: TraceConfig) -> list[RosterRow]:
    """The agents split across three shifts around the clock in proportion to the arrivals
    each shift sees (at least two at night, so that every night is covered), each agent five
    days a week with two days off in a row, the days off spread over the week; and a few
    sick days."""
    demand = [sum(HOUR_WEIGHTS[h % 24] for h in range(s.hour, s.hour + 8)) for _n, s, _e in SHIFTS]
    counts = [2] + [0, 0]
    rest = max(0, config.agents - 2)
    shares = [d / sum(demand[1:]) * rest for d in demand[1:]]
    counts[1:] = [math.floor(s) for s in shares]
    for index in sorted(range(2), key=lambda i: shares[i] - counts[i + 1], reverse=True)[: rest - sum(counts[1:])]:
        counts[index + 1] += 1
    rows = []
    number = 0
    for (name, starts_at, ends_at), count in zip(SHIFTS, counts, strict=True):
        for i in range(count):
            number += 1
            agent = f"{name}-{i + 1}"
            first_off = round(i * 7 / count) % 7
            days_off = {first_off, (first_off + 1) % 7}
            for weekday in range(7):
                if weekday not in days_off:
                    rows.append(
                        RosterRow(
                            agent, SHIFT, weekday, starts_at.strftime("%H:%M"), ends_at.strftime("%H:%M"), TIME_ZONE
                        )
                    )
    rng = random.Random(f"roster:{config.seed}")  # noqa: S311 - a simulation, not security
    agents = sorted({r.agent for r in rows})
    for _ in range(config.sick_days):
        agent = rng.choice(agents)
        day = START + dt.timedelta(days=rng.randrange(max(1, config.days)))
        rows.append(
            RosterRow(
                agent, ShiftException.Kind.SICK, None, day.isoformat(), (day + dt.timedelta(days=1)).isoformat(), ""
            )
        )
    return rows


def roster_records(roster: list[RosterRow]) -> tuple[list[shift_policy.WeeklyShift], list[shift_policy.ShiftException]]:
    """The roster as `shifts.policy` records, agents numbered in order of appearance, line 1."""
    numbers: dict[str, int] = {}
    shifts, exceptions = [], []
    for r in roster:
        agent = numbers.setdefault(r.agent, len(numbers) + 1)
        if r.kind == SHIFT:
            shifts.append(
                shift_policy.WeeklyShift(
                    agent_id=agent,
                    line_id=1,
                    weekday=r.weekday or 0,
                    starts_at=dt.time.fromisoformat(r.starts_at),
                    ends_at=dt.time.fromisoformat(r.ends_at),
                    time_zone=r.time_zone or TIME_ZONE,
                )
            )
        else:
            exceptions.append(
                shift_policy.ShiftException(
                    agent_id=agent,
                    line_id=1 if r.kind == ShiftException.Kind.EXTRA else None,
                    starts_at=dt.datetime.fromisoformat(r.starts_at),
                    ends_at=dt.datetime.fromisoformat(r.ends_at),
                    absent=r.kind != ShiftException.Kind.EXTRA,
                )
            )
    return shifts, exceptions


def rostered_minutes(roster: list[RosterRow], start: dt.datetime, end: dt.datetime) -> float:
    shifts, exceptions = roster_records(roster)
    steps = shift_policy.staffing(shift_policy.duty_intervals(shifts, exceptions, start, end, line_id=1), start, end)
    return shift_policy.agent_hours(steps, start, end) * 60


def make_trace(config: TraceConfig, roster: list[RosterRow]) -> list[TraceRow]:
    """A month of tickets with the demo provider's weekly and daily rhythm and population
    (`queues.simulation.make_customers`), handling times lognormal with the mean that makes
    the handling time `utilisation` of the agent time rostered."""
    population = make_customers(SimulationConfig(customers=config.customers, seed=config.seed))
    habits = list(itertools.accumulate(c.habit for c in population))
    rng = random.Random(f"trace:{config.seed}:{config.requests_per_month}")  # noqa: S311 - a simulation
    mean_daily = config.requests_per_month * 12 / 365
    mean_weekday = sum(WEEKDAY_WEIGHTS) / 7
    drafts = []
    for day in range(config.days):
        date = (START + dt.timedelta(days=day)).date()
        expected = mean_daily * WEEKDAY_WEIGHTS[date.weekday()] / mean_weekday
        for _ in range(max(0, round(rng.gauss(expected, math.sqrt(expected))))):
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            arrival = START + dt.timedelta(days=day, hours=hour, seconds=rng.random() * 3600)
            customer = min(bisect.bisect_left(habits, rng.random() * habits[-1]), len(population) - 1)
            urgency = rng.choices([u for u, _ in URGENCIES], weights=[w for _, w in URGENCIES])[0]
            unit = rng.lognormvariate(-HANDLING_SIGMA * HANDLING_SIGMA / 2, HANDLING_SIGMA)  # mean 1
            boost, after = "", None
            if rng.random() < config.boost_share:
                boost = BoostKind.FRONT if rng.random() < 0.4 else BoostKind.BEHIND_FIRST
                after = rng.random() * 60
            drafts.append((arrival, customer, urgency, unit, str(boost), after))
    drafts.sort(key=lambda d: d[0])
    end = START + dt.timedelta(days=config.days)
    # Scaled so that the handling time is exactly `utilisation` of the time rostered.
    units = sum(d[3] for d in drafts) or 1.0
    mean = config.utilisation * rostered_minutes(roster, START, end) / units
    rows = []
    for arrival, customer, urgency, unit, boost, after in drafts:
        c = population[customer]
        rows.append(
            TraceRow(
                arrival=arrival,
                customer=str(customer + 1),
                customer_since=c.customer_since,
                spend_12m=c.spend_12m,
                requests_12m=c.requests_12m,
                vip=c.is_vip,
                problematic=c.is_problematic,
                plan_level=c.support_plan.level,
                urgency=urgency,
                handling_minutes=round(unit * mean, 2),
                boost=boost,
                boost_after_minutes=after,
            )
        )
    return rows


# --- the replay ---------------------------------------------------------------------------


@dataclass
class Estimate:
    """What the customer's page said at one moment, and the old estimate beside it."""

    ticket: int
    at: dt.datetime
    at_queueing: bool
    position: int
    low: int | None
    high: int | None
    probability: float | None
    closed: bool
    pace_low: int | None = None  # the previous estimate: position / measured pace, 0.7x to 1.5x
    pace_high: int | None = None
    inputs: queue_selectors.WaitInputs | None = None  # what the model was given, to weigh variants of it


@dataclass
class Replayed:
    row: TraceRow
    klass: str = "ordinary"
    ticket_id: int = 0
    queued_at: dt.datetime | None = None
    taken_at: dt.datetime | None = None
    customer_weight: int = 0
    boosted: bool = False


@dataclass
class ReplayResult:
    tickets: list[Replayed]
    estimates: list[Estimate]
    takes: int = 0
    takes_not_smallest_key: int = 0
    boosts_bought: int = 0
    boosts_not_offered: int = 0
    rostered_minutes: float = 0.0
    handled_minutes: float = 0.0
    max_credit: int = 240
    overtaken_by: list[float] = field(default_factory=list)

    @property
    def utilisation(self) -> float:
        return self.handled_minutes / self.rostered_minutes if self.rostered_minutes else 0.0


def _classify(items: list[Replayed]) -> None:
    weights = sorted((r.customer_weight for r in items), reverse=True)
    cut = weights[max(0, math.ceil(len(weights) * HIGH_VALUE_SHARE) - 1)] if weights else 0
    for r in items:
        if r.row.boost:
            r.klass = "boosting"
        elif r.row.problematic:
            r.klass = "problematic"
        elif (r.row.arrival.date() - r.row.customer_since).days < NEW_CUSTOMER_DAYS:
            r.klass = "new"
        elif r.customer_weight >= cut:
            r.klass = "high-value"
        else:
            r.klass = "ordinary"


class _Replay:
    """The discrete-event loop: arrivals, takes, finished tickets, shift starts, boosts, looks."""

    FINISH, DUTY, ARRIVAL, BOOST, LOOK = range(5)

    def __init__(self, trace, roster, *, max_credit, look_every_minutes, agents_without_roster, seed, clock, progress):
        self.trace, self.roster = trace, roster
        self.look_every = look_every_minutes
        self.rng = random.Random(f"looks:{seed}")  # noqa: S311 - a simulation
        self.clock, self.progress = clock, progress
        self.events: list[tuple[dt.datetime, int, int, int]] = []
        self.arrived = 0  # tickets filed so far
        self.waiting = 0  # filed and not taken
        self.index_of: dict[int, int] = {}  # ticket id -> index in the trace
        self.take_times: list[dt.datetime] = []
        self.sequence = itertools.count()
        self.items = [Replayed(row=row) for row in trace]
        self.result = ReplayResult(tickets=self.items, estimates=[], max_credit=max_credit)
        self.now = trace[0].arrival if trace else START
        self._set_up(max_credit, agents_without_roster)

    # setting up ------------------------------------------------------------------------

    def _set_up(self, max_credit: int, agents_without_roster: int) -> None:
        policy = QueuePolicy.current()
        policy.max_credit_minutes = max_credit
        policy.save(update_fields=["max_credit_minutes"])
        self.line, _created = Line.objects.get_or_create(
            code=LINE_CODE, defaults={"name": "Replay", "kind": Line.Kind.TIER, "level": 1}
        )
        RoutingRule.objects.get_or_create(category=Category.GENERAL, urgency="", defaults={"line": self.line})
        RoutingRule.objects.filter(category=Category.GENERAL, urgency="").update(line=self.line)
        for kind, price in BOOST_PRICES.items():
            BoostPrice.objects.get_or_create(kind=kind, plan=None, defaults={"price": price})
        plans = {
            level: Plan.objects.get_or_create(
                code=f"replay-level-{level}",
                defaults={"name": f"Level {level}", "kind": Plan.Kind.SUPPORT_LEVEL, "level": level},
            )[0]
            for level in range(4)
        }
        self.manager = User.objects.create(username="replay-manager", role=Role.MANAGER, password=make_password(None))
        agent_keys = list(dict.fromkeys(r.agent for r in self.roster)) or [
            f"agent-{i + 1}" for i in range(agents_without_roster)
        ]
        self.agents = {
            key: User(username=f"replay-{key}", role=Role.AGENT, password=make_password(None)) for key in agent_keys
        }
        User.objects.bulk_create(self.agents.values())
        LineMembership.objects.bulk_create([LineMembership(line=self.line, user=a) for a in self.agents.values()])
        for r in self.roster:
            agent = self.agents[r.agent]
            if r.kind == SHIFT:
                shift_services.shift_create(
                    actor=self.manager,
                    agent=agent,
                    line=self.line,
                    weekday=r.weekday or 0,
                    starts_at=dt.time.fromisoformat(r.starts_at),
                    ends_at=dt.time.fromisoformat(r.ends_at),
                    time_zone=r.time_zone or TIME_ZONE,
                )
            else:
                shift_services.exception_create(
                    actor=self.manager,
                    agent=agent,
                    kind=r.kind,
                    starts_at=dt.datetime.fromisoformat(r.starts_at),
                    ends_at=dt.datetime.fromisoformat(r.ends_at),
                    line=self.line if r.kind == ShiftException.Kind.EXTRA else None,
                )
        customers: dict[str, TraceRow] = {}
        for row in self.trace:
            customers.setdefault(row.customer, row)
        users = {
            key: User(username=f"replay-customer-{key}", role=Role.CUSTOMER, password=make_password(None))
            for key in customers
        }
        User.objects.bulk_create(users.values())
        CustomerProfile.objects.bulk_create(
            [
                CustomerProfile(
                    user=users[key],
                    customer_since=row.customer_since,
                    spend_12m=Decimal(str(round(row.spend_12m, 2))),
                    requests_12m=row.requests_12m,
                    is_vip=row.vip,
                    is_problematic=row.problematic,
                    support_plan=plans[max(0, min(3, row.plan_level))],
                )
                for key, row in customers.items()
            ]
        )
        self.customers = users
        # Who is on duty when, for the whole replay and two weeks beyond (tickets left at the end).
        start = self.trace[0].arrival if self.trace else START
        end = (self.trace[-1].arrival if self.trace else START) + dt.timedelta(days=14)
        self.result.rostered_minutes = 0.0
        if self.roster:
            duty = shift_selectors.line_duty(line_id=self.line.id, start=start, end=end)
            last = self.trace[-1].arrival if self.trace else START
            steps = shift_policy.staffing(duty, start, last)
            self.result.rostered_minutes = shift_policy.agent_hours(steps, start, last) * 60
        else:
            duty = {a.id: [(start, end)] for a in self.agents.values()}
            last = self.trace[-1].arrival if self.trace else START
            self.result.rostered_minutes = len(self.agents) * (last - start).total_seconds() / 60
        self.duty = {agent_id: intervals for agent_id, intervals in duty.items()}
        self.by_id = {a.id: a for a in self.agents.values()}
        self.busy: dict[int, int] = {}  # agent id -> index of the ticket in hand
        self.idle_since: dict[int, dt.datetime] = {a.id: start for a in self.agents.values()}
        for agent_id, intervals in self.duty.items():
            for s, _e in intervals:
                self._push(s, self.DUTY, agent_id)
        for index, row in enumerate(self.trace):
            self._push(row.arrival, self.ARRIVAL, index)

    def _push(self, at: dt.datetime, kind: int, data: int) -> None:
        heapq.heappush(self.events, (at, kind, next(self.sequence), data))

    def _on_duty(self, agent_id: int, at: dt.datetime) -> bool:
        intervals = self.duty.get(agent_id, [])
        i = bisect.bisect_right(intervals, (at, dt.datetime.max.replace(tzinfo=dt.UTC))) - 1
        return i >= 0 and intervals[i][0] <= at < intervals[i][1]

    # the loop --------------------------------------------------------------------------

    def run(self) -> ReplayResult:
        day = None
        while self.events:
            at, kind, _seq, data = heapq.heappop(self.events)
            if kind == self.DUTY and self.arrived == len(self.items) and not self.waiting:
                continue  # everything filed has been taken: nothing to take any more
            self.now = at
            self.clock.move_to(at)
            if self.progress and at.astimezone(dt.UTC).date() != day:
                day = at.astimezone(dt.UTC).date()
                self.progress(f"{day}: {self.arrived:,} tickets filed")
            if kind == self.ARRIVAL:
                self._arrive(data)
            elif kind == self.FINISH:
                self._finish(data)
            elif kind == self.DUTY:
                self._take(data)
            elif kind == self.BOOST:
                self._boost(data)
            elif kind == self.LOOK:
                self._look(data, at_queueing=False)
        self._overtaken_by()
        return self.result

    def _arrive(self, index: int) -> None:
        item = self.items[index]
        row = item.row
        ticket = ticket_services.ticket_create(
            customer=self.customers[row.customer],
            subject=f"Replay {index + 1}",
            body="A request from the trace.",
            category=Category.GENERAL,
            urgency=row.urgency,
        )
        self.arrived = index + 1
        self.waiting += 1
        self.index_of[ticket.id] = index
        item.ticket_id = ticket.id
        item.queued_at = ticket.queued_at
        item.customer_weight = sum(v for k, v in (ticket.weight_parts or {}).items() if k != "urgency")
        # Agents on duty with nothing in hand take at once, the longest idle first.
        for agent_id in sorted(self.idle_since, key=lambda a: self.idle_since[a]):
            if item.taken_at is not None:
                break
            self._take(agent_id)
        if item.taken_at is None:
            self._look(index, at_queueing=True)
            if row.boost and row.boost_after_minutes is not None:
                self._push(self.now + dt.timedelta(minutes=row.boost_after_minutes), self.BOOST, index)

    def _take(self, agent_id: int) -> None:
        if agent_id in self.busy or not self._on_duty(agent_id, self.now):
            return
        first = (
            queue_selectors.waiting_in(self.line.id).order_by("virtual_time", "id").values_list("id", flat=True).first()
        )
        if first is None:
            return
        ticket = ticket_services.ticket_take_next(agent=self.by_id[agent_id], line=self.line)
        if ticket is None:
            return
        self.result.takes += 1
        self.result.takes_not_smallest_key += ticket.id != first
        index = self.index_of[ticket.id]
        item = self.items[index]
        item.taken_at = self.now
        self.take_times.append(self.now)
        self.waiting -= 1
        self.busy[agent_id] = index
        self.idle_since.pop(agent_id, None)
        self.result.handled_minutes += item.row.handling_minutes
        self._push(self.now + dt.timedelta(minutes=item.row.handling_minutes), self.FINISH, agent_id)

    def _finish(self, agent_id: int) -> None:
        index = self.busy.pop(agent_id)
        ticket = Ticket.objects.get(pk=self.items[index].ticket_id)
        ticket_services.ticket_resolve(ticket=ticket, actor=self.by_id[agent_id])
        self.idle_since[agent_id] = self.now
        self._take(agent_id)

    def _boost(self, index: int) -> None:
        item = self.items[index]
        if item.taken_at is not None:
            return
        customer = self.customers[item.row.customer]
        ticket = Ticket.objects.select_related("line").get(pk=item.ticket_id)
        offered = {offer["kind"] for offer in queue_selectors.boost_offers(ticket, customer)}
        if item.row.boost not in offered:
            self.result.boosts_not_offered += 1
            return
        queue_services.balance_credit(
            customer=customer, amount=BOOST_PRICES[BoostKind(item.row.boost)], description="replay top-up"
        )
        queue_services.boost_buy(
            ticket=ticket, customer=customer, kind=item.row.boost, idempotency_key=f"replay-{index}"
        )
        item.boosted = True
        self.result.boosts_bought += 1

    def _look(self, index: int, *, at_queueing: bool) -> None:
        item = self.items[index]
        if item.taken_at is not None:
            return
        ticket = Ticket.objects.select_related("line").get(pk=item.ticket_id)
        position = queue_selectors.queue_position(ticket=ticket)
        if position is None:
            return
        inputs = queue_selectors.estimate_inputs(ticket=ticket, position=position, now=self.now)
        if isinstance(inputs, queue_selectors.WaitInputs):
            estimate = queue_selectors.estimate_from(inputs)
        else:
            estimate, inputs = inputs, None
        pace = self._pace()
        pace_low = pace_high = None
        if pace:
            expected = position / pace * 60
            pace_low, pace_high = max(1, math.floor(expected * 0.7)), max(2, math.ceil(expected * 1.5))
        self.result.estimates.append(
            Estimate(
                ticket=index,
                at=self.now,
                at_queueing=at_queueing,
                position=position,
                low=estimate.low_minutes,
                high=estimate.high_minutes,
                probability=estimate.probability,
                closed=estimate.closed,
                pace_low=pace_low,
                pace_high=pace_high,
                inputs=inputs,
            )
        )
        # The customer looks again at a random moment (exponential gaps: every moment alike).
        self._push(self.now + dt.timedelta(minutes=self.rng.expovariate(1 / self.look_every)), self.LOOK, index)

    def _pace(self) -> float | None:
        """`queues.selectors.line_pace` as the previous estimate read it (the takes in the
        shortest of the last 1, 4 or 24 hours with enough of them), counted from the replay's
        own takes rather than queried again."""
        for hours in queue_selectors.PACE_WINDOWS_HOURS:
            since = self.now - dt.timedelta(hours=hours)
            takes = len(self.take_times) - bisect.bisect_left(self.take_times, since)
            if takes >= queue_selectors.PACE_MIN_TAKES:
                return takes / hours
        return None

    def _overtaken_by(self) -> None:
        """For each ticket, how much later than it the latest ticket taken before it was queued."""
        taken = sorted((r for r in self.items if r.taken_at is not None), key=lambda r: (r.taken_at, r.ticket_id))
        latest: dt.datetime | None = None
        gaps = []
        for r in taken:
            assert r.queued_at is not None  # noqa: S101 - filed before taken
            gaps.append(max(0.0, (latest - r.queued_at).total_seconds() / 60) if latest else 0.0)
            latest = r.queued_at if latest is None else max(latest, r.queued_at)
        self.result.overtaken_by = gaps


def replay(
    trace: list[TraceRow],
    roster: list[RosterRow],
    *,
    max_credit: int = 240,
    look_every_minutes: float = 30,
    agents_without_roster: int = 4,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Replay the trace through the services in the current database, with the clock moved to
    each event. A roster with no rows means agents on duty around the clock."""
    # The dev extra's time-machine: only this replay moves the clock, the rest of the product
    # (and the in-memory simulation) runs without it.
    import time_machine

    with (
        override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "replay"}}
        ),
        time_machine.travel(trace[0].arrival if trace else START, tick=False) as clock,
    ):
        result = _Replay(
            trace,
            roster,
            max_credit=max_credit,
            look_every_minutes=look_every_minutes,
            agents_without_roster=agents_without_roster,
            seed=seed,
            clock=clock,
            progress=progress,
        ).run()
    _classify(result.tickets)
    return result


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    shown: int  # estimates with a range
    inside: float
    below: float  # waited less than the low end
    above: float  # waited more than the high end
    median_ratio: float  # high / low
    within_double: float  # of those more than five places back: high <= 2 x low
    median_width: float  # high - low, minutes
    stated: float  # the mean probability the page stated


def calibration(result: ReplayResult, *, at_queueing: bool | None, old: bool = False, positions=None) -> Calibration:
    """How the ranges shown held against the waits that followed."""
    inside = below = above = 0
    ratios, widths, stated, far, far_ok = [], [], [], 0, 0
    for e in result.estimates:
        if at_queueing is not None and e.at_queueing != at_queueing:
            continue
        if positions is not None and not positions[0] <= e.position <= positions[1]:
            continue
        low, high = (e.pace_low, e.pace_high) if old else (e.low, e.high)
        taken = result.tickets[e.ticket].taken_at
        if low is None or high is None or taken is None:
            continue
        remaining = (taken - e.at).total_seconds() / 60
        if remaining < low:
            below += 1
        elif remaining > high:
            above += 1
        else:
            inside += 1
        ratios.append(high / low if low > 0 else math.inf)
        widths.append(high - low)
        if not old and e.probability is not None:
            stated.append(e.probability)
        if e.position > 5:
            far += 1
            far_ok += low > 0 and high <= 2 * low
    shown = inside + below + above
    return Calibration(
        shown=shown,
        inside=inside / shown if shown else 0.0,
        below=below / shown if shown else 0.0,
        above=above / shown if shown else 0.0,
        median_ratio=percentile(ratios, 50),
        within_double=far_ok / far if far else 1.0,
        median_width=percentile(widths, 50),
        stated=sum(stated) / len(stated) if stated else 0.0,
    )


def _minutes(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def format_replay(result: ReplayResult, *, command: str, trace_name: str, roster_name: str) -> str:
    """Markdown: the run, waits per class, the bound, and the estimate's calibration."""
    items = result.tickets
    waits = {r.ticket_id: (r.taken_at - r.queued_at).total_seconds() / 60 for r in items if r.taken_at and r.queued_at}
    untaken = sum(1 for r in items if r.taken_at is None)
    at_once = sum(1 for r in items if r.ticket_id in waits and waits[r.ticket_id] == 0)
    shown_at_queueing = {e.ticket for e in result.estimates if e.at_queueing}
    with_range = {e.ticket for e in result.estimates if e.at_queueing and e.low is not None}
    closed = {e.ticket for e in result.estimates if e.at_queueing and e.closed}
    lines = [
        f"- Command: `{command}`",
        f"- Trace `{trace_name}`, roster `{roster_name}`: {len(items):,} tickets, "
        f"{len({r.row.customer for r in items}):,} customers; handling time "
        f"{result.handled_minutes / 60:,.0f} agent-hours "
        f"against {result.rostered_minutes / 60:,.0f} rostered: utilisation {result.utilisation:.2f}.",
        f"- Taken at once (an agent was free): {at_once / len(items):.0%}; waited: {len(shown_at_queueing):,} "
        f"tickets, shown a range on queueing {len(with_range):,}, of which told the line's opening "
        f"{len(closed):,}; never taken: {untaken}.",
        f"- Boosts bought: {result.boosts_bought} (not offered when looked for, the ticket would not move: "
        f"{result.boosts_not_offered}).",
        "",
        "| class | tickets | p50 min | p90 min | p99 min | max min |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in (*CLASSES, "all"):
        values = [waits[r.ticket_id] for r in items if r.ticket_id in waits and (name == "all" or r.klass == name)]
        count = sum(1 for r in items if name == "all" or r.klass == name)
        lines.append(
            f"| {name} | {count:,} | {_minutes(percentile(values, 50))} | {_minutes(percentile(values, 90))} | "
            f"{_minutes(percentile(values, 99))} | {_minutes(max(values, default=0.0))} |"
        )
    worst = max(result.overtaken_by, default=0.0)
    lines += [
        "",
        f"Bound: every take took the smallest key: {'yes' if not result.takes_not_smallest_key else 'NO'} "
        f"({result.takes:,} takes, {result.takes_not_smallest_key} not); no ticket was overtaken by one queued more "
        f"than {_minutes(worst)} min after it ({'within' if worst <= result.max_credit else 'BEYOND'} the "
        f"{result.max_credit} min bound).",
        "",
        "Calibration (the share of actual waits inside the range shown; ratio: high end / low end):",
        "",
        "| estimate | when shown | ranges | inside | below | above | stated chance | median width min | "
        "median ratio | ≤ 2× beyond 5th |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, old in (("queue model", False), ("measured pace (before)", True)):
        for when, flag in (("on queueing", True), ("while waiting", False), ("both", None)):
            c = calibration(result, at_queueing=flag, old=old)
            stated = f"{c.stated:.0%}" if not old else "—"
            lines.append(
                f"| {label} | {when} | {c.shown:,} | {c.inside:.0%} | {c.below:.0%} | {c.above:.0%} | {stated} | "
                f"{_minutes(c.median_width)} | {_minutes(c.median_ratio)} | {c.within_double:.0%} |"
            )
    lines += [
        "",
        "By position (queue model, both moments):",
        "",
        "| position | ranges | inside | below | above | stated chance | median ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for low, high in POSITION_BANDS:
        c = calibration(result, at_queueing=None, positions=(low, high))
        label = str(low) if low == high else (f"{low}-{high}" if high < 10**9 else f"{low}+")
        lines.append(
            f"| {label} | {c.shown:,} | {c.inside:.0%} | {c.below:.0%} | {c.above:.0%} | {c.stated:.0%} | "
            f"{_minutes(c.median_ratio)} |"
        )
    return "\n".join(lines) + "\n"
