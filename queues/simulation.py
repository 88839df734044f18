"""A month of support load replayed under three queue orders, in memory and without a database.

The same arrivals, customers and handling times go through:

- ``fifo``: first come, first served; no boosts;
- ``strict``: the highest customer weight first (the raw sum of the weight's parts, no cap),
  oldest first among equals; a boost puts the ticket at the absolute front ("to the
  front") or right behind the first ticket, with no limit;
- ``virtual``: this product's order, ascending ``queued_at - credit`` with the credit
  in [0, max_credit]; boosts as in ``queues.services`` (front or behind the first, both
  capped by the bound).

Agents work around the clock; each ticket occupies an agent for its handling time divided
by the agents' availability (the share of their time spent on this queue; the rest goes to
follow-up replies, chats, calls and breaks). A ticket's wait is from its arrival until an
agent takes it. The weights come from ``queues.policy.customer_weight`` with an unsaved
default ``QueuePolicy`` (its bound set to the run's) and per-plan averages computed from the
simulated population.
"""

from __future__ import annotations

import abc
import bisect
import datetime as dt
import heapq
import itertools
import math
import random
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

from helpdesk.demo_profile import HOUR_WEIGHTS, PLANS, SUPPORT_LEVEL, WEEKDAY_WEIGHTS
from queues.models import BoostKind, QueuePolicy
from queues.policy import customer_weight

DISCIPLINES = ("fifo", "strict", "virtual")
DISCIPLINE_TITLES = {
    "fifo": "FIFO (first come, first served)",
    "strict": "Strict weight order (highest weight first, boosts unbounded)",
    "virtual": "Virtual time (queued_at - credit, credit and boosts within the bound)",
}
# Report classes, each ticket in the first that applies.
CLASSES = ("boosting", "problematic", "new", "high-value", "ordinary")
CLASS_NOTES = {
    "boosting": "customer buys a boost when at position > 3",
    "problematic": "flagged problematic",
    "new": "customer for less than 3 months",
    "high-value": "top 10% of tickets by customer weight",
    "ordinary": "everyone else",
}
NEW_CUSTOMER_DAYS = 90
HIGH_VALUE_SHARE = 0.10
BOOST_FROM_POSITION = 4  # a willing customer buys when their position is above 3
BOOST_RECHECK_MINUTES = 30  # ... looking on arrival and then every half hour while waiting
FRONT_SHARE_OF_BOOSTS = 0.4  # the rest buy the cheaper "right behind the first"
HANDLING_SIGMA = 0.75  # lognormal spread of handling times
URGENCIES = (("normal", 0.86), ("high", 0.11), ("critical", 0.03))
TICK = 1e-6  # minutes; the smallest step between two order keys
START = dt.date(2026, 11, 2)  # a Monday


@dataclass(frozen=True)
class SimulationConfig:
    requests_per_month: int = 3300
    agents: int = 4
    days: int = 30
    seed: int = 1
    max_credit: int = 240
    boost_share: float = 0.05
    handling_minutes: float = 15.0
    availability: float = 0.7
    customers: int = 2000


@dataclass(frozen=True)
class SimCustomer:
    customer_since: dt.date
    spend_12m: float
    requests_12m: int
    is_vip: bool
    is_problematic: bool
    support_plan_id: int
    support_plan: SimpleNamespace
    habit: float


@dataclass
class SimTicket:
    idx: int
    arrival: float  # minutes from the start of the month
    customer: int
    urgency: str
    handling: float  # minutes of work
    occupancy: float  # minutes an agent is taken off the queue
    will_boost: bool
    boost_kind: str
    customer_weight: int  # sum of the weight's parts without urgency, uncapped
    raw_weight: int  # with urgency, uncapped: the strict order's key
    credit: int  # with urgency, within [0, max_credit]: the virtual order's head start
    is_new: bool
    is_problematic: bool
    klass: str = "ordinary"


@dataclass(frozen=True)
class Workload:
    config: SimulationConfig
    tickets: list[SimTicket]

    @property
    def offered_load(self) -> float:
        """Agent time asked for, against agent time available over the period."""
        capacity = self.config.agents * self.config.days * 1440
        return sum(t.occupancy for t in self.tickets) / capacity if capacity else 0.0

    @property
    def peak_hour_load(self) -> float:
        """The same ratio in the busiest hour of the day (e.g. 11:00-12:00), over all days."""
        per_hour = [0.0] * 24
        for t in self.tickets:
            per_hour[int(t.arrival // 60) % 24] += t.occupancy
        return max(per_hour) / (self.config.agents * 60 * self.config.days) if self.config.days else 0.0

    @property
    def busiest_hour_load(self) -> float:
        """The same ratio in the single busiest hour of the period."""
        per_hour: dict[int, float] = {}
        for t in self.tickets:
            hour = int(t.arrival // 60)
            per_hour[hour] = per_hour.get(hour, 0.0) + t.occupancy
        return max(per_hour.values(), default=0.0) / (self.config.agents * 60)


@dataclass
class DisciplineResult:
    discipline: str
    waits: list[float]
    starts: list[float]
    boosts_bought: int = 0
    boosts_capped: int = 0
    max_queue: int = 0
    overtaken_by: list[float] = field(default_factory=list)  # per ticket: latest later arrival served first

    @property
    def max_overtaken_by(self) -> float:
        return max(self.overtaken_by, default=0.0)


@dataclass(frozen=True)
class ClassStats:
    name: str
    tickets: int
    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True)
class SimulationReport:
    config: SimulationConfig
    workload: Workload
    results: dict[str, DisciplineResult]
    lowest_class: str

    def class_stats(self, discipline: str) -> list[ClassStats]:
        waits = self.results[discipline].waits
        rows = []
        for name in (*CLASSES, "all"):
            values = [waits[t.idx] for t in self.workload.tickets if name == "all" or t.klass == name]
            rows.append(
                ClassStats(
                    name=name,
                    tickets=len(values),
                    p50=percentile(values, 50),
                    p90=percentile(values, 90),
                    p99=percentile(values, 99),
                    max=max(values, default=0.0),
                )
            )
        return rows

    def stats(self, discipline: str, klass: str) -> ClassStats:
        return next(s for s in self.class_stats(discipline) if s.name == klass)

    def max_extra_wait(self, discipline: str, klass: str | None = None) -> float:
        """The most any ticket (of the class) waited longer than under FIFO."""
        fifo, other = self.results["fifo"].waits, self.results[discipline].waits
        return max(
            (other[t.idx] - fifo[t.idx] for t in self.workload.tickets if klass is None or t.klass == klass),
            default=0.0,
        )


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[rank]


# --- the workload -------------------------------------------------------------------


def make_customers(config: SimulationConfig) -> list[SimCustomer]:
    """A population shaped like the demo provider's: exponential tenure (mean ~2.5 years),
    lognormal spend, Pareto request habits, 3% VIP, 4% problematic, four support levels."""
    rng = random.Random(f"customers:{config.seed}")  # noqa: S311 - a simulation, not security
    support_plans = [p for p in PLANS if p[2] == SUPPORT_LEVEL]
    plan_ids = {p[0]: i + 1 for i, p in enumerate(support_plans)}
    customers = []
    for _ in range(config.customers):
        tenure_days = int(min(365 * 12, rng.expovariate(1 / 900)))
        spend = round(rng.lognormvariate(8.5, 1.2), 2)
        habit = rng.paretovariate(1.6)
        plan = rng.choices(support_plans, weights=[p[8] for p in support_plans])[0]
        flags = rng.random()
        customers.append(
            SimCustomer(
                customer_since=START - dt.timedelta(days=tenure_days),
                spend_12m=spend,
                requests_12m=int(habit * 4),
                is_vip=flags < 0.03,
                is_problematic=0.03 <= flags < 0.07,
                support_plan_id=plan_ids[plan[0]],
                support_plan=SimpleNamespace(level=plan[3]),
                habit=habit,
            )
        )
    return customers


def make_workload(config: SimulationConfig) -> Workload:
    """The month's tickets in arrival order, with everything every discipline needs."""
    customers = make_customers(config)
    policy = QueuePolicy(max_credit_minutes=config.max_credit)
    plan_requests: dict[int, list[int]] = {}
    for c in customers:
        plan_requests.setdefault(c.support_plan_id, []).append(c.requests_12m)
    plan_average = {plan: sum(v) / len(v) for plan, v in plan_requests.items()}
    cumulative_habits = list(itertools.accumulate(c.habit for c in customers))

    rng = random.Random(f"arrivals:{config.seed}:{config.requests_per_month}")  # noqa: S311 - a simulation
    mean_daily = config.requests_per_month * 12 / 365
    mean_weekday = sum(WEEKDAY_WEIGHTS) / 7
    sigma = HANDLING_SIGMA
    mu = math.log(config.handling_minutes) - sigma * sigma / 2
    drafts = []
    for day in range(config.days):
        date = START + dt.timedelta(days=day)
        expected = mean_daily * WEEKDAY_WEIGHTS[date.weekday()] / mean_weekday
        for _ in range(max(0, round(rng.gauss(expected, math.sqrt(expected))))):
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            arrival = day * 1440 + hour * 60 + rng.random() * 60
            customer = bisect.bisect_left(cumulative_habits, rng.random() * cumulative_habits[-1])
            customer = min(customer, len(customers) - 1)
            urgency = rng.choices([u for u, _ in URGENCIES], weights=[w for _, w in URGENCIES])[0]
            handling = rng.lognormvariate(mu, sigma)
            will_boost = rng.random() < config.boost_share
            kind = BoostKind.FRONT if rng.random() < FRONT_SHARE_OF_BOOSTS else BoostKind.BEHIND_FIRST
            drafts.append((arrival, date, customer, urgency, handling, will_boost, str(kind)))
    drafts.sort(key=lambda d: d[0])

    tickets = []
    for idx, (arrival, date, customer_idx, urgency, handling, will_boost, kind) in enumerate(drafts):
        customer = customers[customer_idx]
        average = plan_average[customer.support_plan_id]
        base = customer_weight(profile=customer, urgency="normal", policy=policy, today=date, plan_average=average)
        full = customer_weight(profile=customer, urgency=urgency, policy=policy, today=date, plan_average=average)
        tickets.append(
            SimTicket(
                idx=idx,
                arrival=arrival,
                customer=customer_idx,
                urgency=urgency,
                handling=handling,
                occupancy=handling / config.availability,
                will_boost=will_boost,
                boost_kind=kind,
                customer_weight=sum(base.parts.values()),
                raw_weight=sum(full.parts.values()),
                credit=full.credit_minutes,
                is_new=(date - customer.customer_since).days < NEW_CUSTOMER_DAYS,
                is_problematic=customer.is_problematic,
            )
        )
    _classify(tickets)
    return Workload(config=config, tickets=tickets)


def _classify(tickets: list[SimTicket]) -> None:
    weights = sorted((t.customer_weight for t in tickets), reverse=True)
    cut = weights[max(0, math.ceil(len(weights) * HIGH_VALUE_SHARE) - 1)] if weights else 0
    for t in tickets:
        if t.will_boost:
            t.klass = "boosting"
        elif t.is_problematic:
            t.klass = "problematic"
        elif t.is_new:
            t.klass = "new"
        elif t.customer_weight >= cut:
            t.klass = "high-value"
        else:
            t.klass = "ordinary"


# --- the queue disciplines ----------------------------------------------------------


class _Order(abc.ABC):
    """Order keys (lower is taken first; the ticket index breaks ties) and boosts."""

    boosts = True

    def __init__(self, config: SimulationConfig):
        self.config = config

    @abc.abstractmethod
    def key(self, ticket: SimTicket) -> float:
        """The ticket's order key on arrival."""

    def boost(self, ticket: SimTicket, key: float, others: list[tuple[float, int]]) -> tuple[float, bool]:
        """The ticket's new key and whether the bound capped it; `others` is the queue in order
        without the ticket. An order without boosts keeps the key."""
        return key, False


class _Fifo(_Order):
    boosts = False

    def key(self, ticket):
        return ticket.arrival


class _Strict(_Order):
    # Weight dominates, then arrival: weights are whole minutes and arrivals < 10**6 minutes.
    SCALE = 10**6

    def key(self, ticket):
        return -ticket.raw_weight * self.SCALE + ticket.arrival

    def boost(self, ticket, key, others):
        head = others[0][0]
        if ticket.boost_kind == BoostKind.FRONT:
            return head - 1.0, False
        second = others[1][0] if len(others) > 1 else head + 2.0
        return head + min(1.0, (second - head) / 2), False


class _Virtual(_Order):
    def key(self, ticket):
        return ticket.arrival - ticket.credit

    def boost(self, ticket, key, others):
        # As queues.services._boost_target: aim just before (or right after) the head,
        # never further than max_credit ahead of the ticket's own arrival.
        head = others[0][0]
        wanted = head - TICK if ticket.boost_kind == BoostKind.FRONT else head + TICK
        if ticket.boost_kind == BoostKind.BEHIND_FIRST and len(others) > 1 and others[1][0] <= wanted:
            wanted = others[1][0] - TICK
        if wanted >= key:
            return key, False
        floor = ticket.arrival - self.config.max_credit
        target = max(wanted, floor)
        # Whole minutes are charged to the credit; the order key is the exact target.
        needed = math.ceil(ticket.arrival - target - 1e-9)
        added = max(0, min(self.config.max_credit, needed) - ticket.credit)
        if added <= 0:  # already there: nothing to pay for
            return key, False
        return target, wanted < floor


ORDERS = {"fifo": _Fifo, "strict": _Strict, "virtual": _Virtual}


def run_discipline(workload: Workload, discipline: str) -> DisciplineResult:
    """A discrete-event run: arrivals join the queue (or go straight to an idle agent); an
    agent who finishes takes the first ticket in the discipline's order; a customer willing
    to pay looks at their position on arrival and every `BOOST_RECHECK_MINUTES` after, and
    buys one boost when it is above 3."""
    config = workload.config
    order = ORDERS[discipline](config)
    tickets = workload.tickets
    n = len(tickets)
    waits = [0.0] * n
    starts = [0.0] * n
    start_order: list[int] = []
    result = DisciplineResult(discipline=discipline, waits=waits, starts=starts)
    queue: list[tuple[float, int]] = []  # (key, idx), kept sorted
    entries: dict[int, tuple[float, int]] = {}  # willing customers' waiting, unboosted tickets
    busy: list[float] = []  # finish times
    checks: list[tuple[float, int]] = []  # (time, idx): a willing customer looks at the position
    idle = config.agents

    def start(idx: int, now: float) -> None:
        starts[idx] = now
        waits[idx] = now - tickets[idx].arrival
        start_order.append(idx)
        heapq.heappush(busy, now + tickets[idx].occupancy)

    def look(idx: int, now: float) -> None:
        entry = entries.get(idx)
        if entry is None:  # taken meanwhile, or boosted already
            return
        position = bisect.bisect_left(queue, entry)
        if position + 1 < BOOST_FROM_POSITION:
            heapq.heappush(checks, (now + BOOST_RECHECK_MINUTES, idx))
            return
        del queue[position]
        new_key, capped = order.boost(tickets[idx], entry[0], queue)
        # Sold only when it moves the ticket (queues.selectors.boost_quote), whatever credit it adds.
        if new_key < entry[0] and bisect.bisect_left(queue, (new_key, idx)) < position:
            entry = (new_key, idx)
            result.boosts_bought += 1
            result.boosts_capped += capped
            del entries[idx]
        else:  # nothing to gain (already there, or the bound keeps everyone ahead): look again later
            entries[idx] = entry
            heapq.heappush(checks, (now + BOOST_RECHECK_MINUTES, idx))
        bisect.insort(queue, entry)

    i = 0
    while i < n or busy:
        next_arrival = tickets[i].arrival if i < n else math.inf
        next_check = checks[0][0] if checks else math.inf
        if busy and busy[0] <= min(next_arrival, next_check):
            now = heapq.heappop(busy)
            if queue:
                _key, idx = queue.pop(0)
                entries.pop(idx, None)
                start(idx, now)
            else:
                idle += 1
        elif next_check <= next_arrival:
            now, idx = heapq.heappop(checks)
            look(idx, now)
        else:
            ticket = tickets[i]
            i += 1
            if idle:
                idle -= 1
                start(ticket.idx, ticket.arrival)
                continue
            entry = (order.key(ticket), ticket.idx)
            bisect.insort(queue, entry)
            result.max_queue = max(result.max_queue, len(queue))
            if order.boosts and ticket.will_boost:
                entries[ticket.idx] = entry
                look(ticket.idx, ticket.arrival)
    # Overtaken-by: for each ticket, how much later than it arrived the latest ticket taken
    # before it (the latest arrival among everything started earlier).
    overtaken = [0.0] * n
    latest = -math.inf
    for idx in start_order:
        overtaken[idx] = max(0.0, latest - tickets[idx].arrival)
        latest = max(latest, tickets[idx].arrival)
    result.overtaken_by = overtaken
    return result


def simulate(config: SimulationConfig) -> SimulationReport:
    workload = make_workload(config)
    results = {name: run_discipline(workload, name) for name in DISCIPLINES}
    # The lowest class: the one with the lowest median customer weight (boosters aside).
    medians = {
        name: percentile([t.customer_weight for t in workload.tickets if t.klass == name], 50)
        for name in CLASSES
        if name != "boosting" and any(t.klass == name for t in workload.tickets)
    }
    lowest = min(medians, key=lambda name: (medians[name], CLASSES.index(name))) if medians else "ordinary"
    return SimulationReport(config=config, workload=workload, results=results, lowest_class=lowest)


def with_load(config: SimulationConfig, requests_per_month: int) -> SimulationConfig:
    return replace(config, requests_per_month=requests_per_month)


# --- the report ---------------------------------------------------------------------


def _minutes(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def format_report(report: SimulationReport) -> str:
    """Markdown: the run's parameters and load, a table per discipline, and the checks."""
    c, w = report.config, report.workload
    fifo, strict, virtual = (report.results[name] for name in DISCIPLINES)
    lowest = report.lowest_class
    lines = [
        f"### {c.requests_per_month:,} requests a month, {c.agents} agents",
        "",
        f"- Command: `python manage.py simulate_queue --requests-per-month {c.requests_per_month} "
        f"--agents {c.agents} --days {c.days} --seed {c.seed} --max-credit {c.max_credit} "
        f"--boost-share {c.boost_share:g} --handling-minutes {c.handling_minutes:g} "
        f"--availability {c.availability:g}"
        f"{'' if c.customers == SimulationConfig.customers else f' --customers {c.customers}'}`",
        f"- {len(w.tickets):,} tickets over {c.days} days from {c.customers:,} customers; handling time "
        f"lognormal with mean {c.handling_minutes:g} min; agents on duty around the clock, "
        f"{c.availability:.0%} of their time on this queue.",
        f"- Offered load: {w.offered_load:.0%} of agent time over the period, {w.peak_hour_load:.0%} in the "
        f"busiest hour of the day on average, {w.busiest_hour_load:.0%} in the single busiest hour.",
        f"- Tickets that waited at all: FIFO {_share_waited(fifo):.0%}; longest queue: "
        f"{fifo.max_queue} (FIFO), {strict.max_queue} (strict), {virtual.max_queue} (virtual time).",
        f"- Boosts bought: strict {strict.boosts_bought}, virtual time {virtual.boosts_bought} "
        f"({virtual.boosts_capped} stopped short by the bound).",
        "",
    ]
    for name in DISCIPLINES:
        result = report.results[name]
        lines += [
            f"**{DISCIPLINE_TITLES[name]}**",
            "",
            "| class | tickets | p50 min | p90 min | p99 min | max min |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for s in report.class_stats(name):
            label = f"{s.name} ({CLASS_NOTES[s.name]})" if s.name in CLASS_NOTES else s.name
            lines.append(
                f"| {label} | {s.tickets:,} | {_minutes(s.p50)} | {_minutes(s.p90)} | "
                f"{_minutes(s.p99)} | {_minutes(s.max)} |"
            )
        lines += ["", f"Worst overtaken-by gap: {_minutes(result.max_overtaken_by)} min.", ""]
    low_fifo, low_strict, low_virtual = (report.stats(name, lowest).max for name in DISCIPLINES)
    high_virtual, ordinary_virtual = report.stats("virtual", "high-value"), report.stats("virtual", "ordinary")
    lines += [
        f"Checks (lowest class: **{lowest}**, the lowest median customer weight; bound {c.max_credit} min):",
        "",
        f"- Virtual time: no ticket was overtaken by one that arrived more than "
        f"{_minutes(virtual.max_overtaken_by)} min after it "
        f"({'within' if virtual.max_overtaken_by <= c.max_credit else 'BEYOND'} the {c.max_credit} min bound); "
        f"strict order: {_minutes(strict.max_overtaken_by)} min.",
        f"- Worst wait of the {lowest} class: FIFO {_minutes(low_fifo)}, virtual time {_minutes(low_virtual)} "
        f"({_signed(low_virtual - low_fifo)} against FIFO), strict order {_minutes(low_strict)} min.",
        f"- The most any single ticket waited longer than under FIFO: virtual time "
        f"{_minutes(report.max_extra_wait('virtual'))} min, strict order "
        f"{_minutes(report.max_extra_wait('strict'))} min.",
        f"- Median wait under virtual time: high-value {_minutes(high_virtual.p50)}, "
        f"ordinary {_minutes(ordinary_virtual.p50)} min; p90 {_minutes(high_virtual.p90)} against "
        f"{_minutes(ordinary_virtual.p90)} min.",
        "",
    ]
    return "\n".join(lines)


def _share_waited(result: DisciplineResult) -> float:
    return sum(1 for w in result.waits if w > 0) / len(result.waits) if result.waits else 0.0


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "−") + _minutes(abs(value)) + " min"


def format_load_check(config: SimulationConfig, loads: list[int], availabilities: list[float]) -> str:
    """How often a queue forms under FIFO at each load and availability: the reason for the
    availability the comparison runs with."""
    lines = [
        "| requests a month | availability | tickets | offered load | busiest hour of the day | "
        "tickets that waited | p90 wait min | max wait min | longest queue |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for requests in loads:
        for availability in availabilities:
            workload = make_workload(replace(config, requests_per_month=requests, availability=availability))
            fifo = run_discipline(workload, "fifo")
            lines.append(
                f"| {requests:,} | {availability:.0%} | {len(workload.tickets):,} | {workload.offered_load:.0%} | "
                f"{workload.peak_hour_load:.0%} | {_share_waited(fifo):.0%} | "
                f"{_minutes(percentile(fifo.waits, 90))} | {_minutes(max(fifo.waits, default=0.0))} | "
                f"{fifo.max_queue} |"
            )
    return "\n".join(lines) + "\n"
