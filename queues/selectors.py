"""Reads of the weighted queue for the pages and the API."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile, User
from helpdesk.errors import Conflict, DomainError, NotFound
from queues.estimate import MAX_RATIO, NARROW_FROM_AHEAD, CapacityStep, Overtaking, wait_range
from queues.models import BalanceEntry, Boost, BoostKind, BoostPrice, Line, LineMembership, QueuePolicy
from queues.policy import WAITING_STATUSES, boost_target, is_waiting
from shifts.policy import next_opening
from shifts.policy import staffing as staffing_steps
from shifts.selectors import line_duty, line_has_roster
from tickets.models import EventKind, Status, Ticket, TicketEvent

# Pace windows for the estimated wait, shortest first; the first with enough takes is used.
PACE_WINDOWS_HOURS = (1, 4, 24)
PACE_MIN_TAKES = 5


def waiting_in(line_id: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(line_id=line_id, status__in=WAITING_STATUSES, assignee__isnull=True)


def active_line_ids(agent: User) -> list[int]:
    """The active lines the agent takes tickets from."""
    return list(LineMembership.objects.filter(user=agent, line__is_active=True).values_list("line_id", flat=True))


def queue_position(*, ticket: Ticket) -> int | None:
    """1 for the next ticket to be taken in its line; None when it is not waiting."""
    if not is_waiting(ticket) or ticket.virtual_time is None:
        return None
    ahead = (
        waiting_in(ticket.line_id)
        # `virtual_time <= ...` bounds the index range (PostgreSQL does not turn the OR into one),
        # so the count reads only the entries ahead of the ticket, not the whole line's.
        .filter(virtual_time__lte=ticket.virtual_time)
        .filter(Q(virtual_time__lt=ticket.virtual_time) | Q(virtual_time=ticket.virtual_time, id__lt=ticket.id))
        .count()
    )
    return ahead + 1


@dataclass(frozen=True)
class WaitEstimate:
    """The wait as a range with the chance it holds, or when a closed line opens; never a promise."""

    low_minutes: int | None
    high_minutes: int | None
    takes_per_hour: float | None  # the line's capacity now: measured pace, or agents on duty / handling time
    window_hours: int | None  # the window the pace was measured over (lines without a roster)
    probability: float | None = None  # the model's chance that the wait falls within the range
    opens_at: dt.datetime | None = None  # closed now, or closing before the ticket is likely reached
    closes_at: dt.datetime | None = None  # when an open line closes first, in that case
    likely_from: dt.datetime | None = None
    likely_until: dt.datetime | None = None
    basis: str | None = None  # ESTIMATE_ROSTER or ESTIMATE_PACE
    agents_on_duty: int | None = None
    handling_minutes: float | None = None

    @property
    def enough_data(self) -> bool:
        return self.low_minutes is not None

    @property
    def percent(self) -> int | None:
        return round(self.probability * 100) if self.probability is not None else None

    @property
    def closed(self) -> bool:
        """Told by when the line opens rather than by minutes."""
        return self.opens_at is not None


ESTIMATE_ROSTER, ESTIMATE_PACE = "roster", "pace"
# How far ahead the roster is read for an estimate; a wait beyond it is not estimated.
ESTIMATE_HORIZON = dt.timedelta(days=14)
# The measurements behind the estimate: handling times over two weeks (the latest takes),
# arrivals over four; recomputed once an hour per line.
HANDLING_WINDOW = dt.timedelta(days=14)
HANDLING_MAX_TAKES = 2000
HANDLING_MIN_TAKES = 10
HANDLING_LONGEST = dt.timedelta(hours=8)  # a ticket left in progress overnight is not handling time
ARRIVALS_WINDOW = dt.timedelta(days=28)
MEASUREMENTS_CACHE_SECONDS = 3600


def line_pace(*, line: Line, now: dt.datetime | None = None) -> tuple[float | None, int | None]:
    """Tickets taken per hour in the line, over the shortest recent window with enough takes."""
    now = now or timezone.now()
    for hours in PACE_WINDOWS_HOURS:
        takes = (
            TicketEvent.objects.filter(
                kind=EventKind.ASSIGN,
                created_at__gte=now - dt.timedelta(hours=hours),
                created_at__lte=now,
                data__line=line.code,
            )
            .exclude(data__new=None)
            .count()
        )  # a release records new=None
        if takes >= PACE_MIN_TAKES:
            return takes / hours, hours
    return None, None


@dataclass(frozen=True)
class LineMeasurements:
    """What the line's audit trail says about its handling times and its arrivals."""

    handling_minutes: float | None  # agent time per take (overlapping tickets of one agent counted once)
    handling_cv2: float  # squared coefficient of variation of the handling times
    takes: int
    arrivals_per_hour: tuple[float, ...] | None  # by hour of the day, local time; None: too little history
    share_above: tuple[float, ...]  # index x: share of arrivals with more than x minutes of head start
    arrivals_days: float


def _takes(line: Line, since: dt.datetime, now: dt.datetime):
    return TicketEvent.objects.filter(
        kind=EventKind.ASSIGN, created_at__gte=since, created_at__lt=now, data__line=line.code
    ).exclude(data__new=None)


def _handling(line: Line, now: dt.datetime) -> tuple[float | None, float, int]:
    """ASSIGN to the next status change out of in progress, per take; the agent's busy time
    (the union of their takes' spans) divided by the takes, and the spread of the spans."""
    done = (
        TicketEvent.objects.filter(
            ticket_id=OuterRef("ticket_id"),
            kind=EventKind.STATUS,
            created_at__gte=OuterRef("created_at"),
            data__old=Status.IN_PROGRESS,
        )
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    rows = list(
        _takes(line, now - HANDLING_WINDOW, now)
        .annotate(done=Subquery(done))
        .filter(done__isnull=False, done__lte=now)
        .order_by("-created_at")
        .values_list("data__new", "created_at", "done")[:HANDLING_MAX_TAKES]
    )
    spans: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    minutes = []
    for agent, start, end in rows:
        end = min(end, start + HANDLING_LONGEST)
        spans.setdefault(str(agent), []).append((start, end))
        minutes.append((end - start).total_seconds() / 60)
    if len(minutes) < HANDLING_MIN_TAKES:
        return None, 1.0, len(minutes)
    busy = 0.0
    for intervals in spans.values():
        reach: dt.datetime | None = None
        for start, end in sorted(intervals):
            if reach is not None and start < reach:
                start = reach
            if end > start:
                busy += (end - start).total_seconds() / 60
            reach = end if reach is None else max(reach, end)
    mean = sum(minutes) / len(minutes)
    variance = sum((m - mean) ** 2 for m in minutes) / (len(minutes) - 1)
    per_take = busy / len(minutes)
    return (per_take if per_take > 0 else None), (variance / (mean * mean) if mean > 0 else 1.0), len(minutes)


def _arrivals(
    line: Line, now: dt.datetime, max_credit: int
) -> tuple[tuple[float, ...] | None, tuple[float, ...], float]:
    """Tickets queued in the line over the last weeks (those taken since, and those waiting):
    the rate per hour of the day and the head starts they had."""
    since = now - ARRIVALS_WINDOW
    arrived = Ticket.objects.filter(line_id=line.id, queued_at__gte=since, queued_at__lt=now).filter(
        Q(id__in=_takes(line, since, now).values("ticket_id")) | Q(status__in=WAITING_STATUSES, assignee__isnull=True)
    )
    zone = timezone.get_default_timezone()
    rows = list(
        arrived.annotate(hour=ExtractHour("queued_at", tzinfo=zone))
        .values("hour", "credit_minutes")
        .annotate(n=Count("id"))
        .values_list("hour", "credit_minutes", "n")
    )
    first = arrived.aggregate(first=Min("queued_at"))["first"]
    total = sum(n for _h, _c, n in rows)
    if not total or first is None:
        return None, (), 0.0
    days = (now - max(first, since)).total_seconds() / 86400
    above = [0] * (max_credit + 1)
    for _hour, credit, n in rows:
        # share_above[x] counts head starts above x: credit c adds to x = 0 .. c-1.
        for x in range(min(credit, max_credit + 1)):
            above[x] += n
    share = tuple(count / total for count in above)
    if days * 24 < 1:
        return None, share, days
    if days < 2:
        # Too little history for a daily rhythm: the average rate at every hour.
        return tuple([total / (days * 24)] * 24), share, days
    per_hour = [0.0] * 24
    for hour, _credit, n in rows:
        per_hour[hour] += n / days
    return tuple(per_hour), share, days


def line_measurements(*, line: Line, now: dt.datetime | None = None) -> LineMeasurements:
    """The line's handling time and arrivals, measured from its audit trail (cached for the hour)."""
    now = now or timezone.now()
    hour = now.astimezone(dt.UTC).strftime("%Y%m%d%H")
    key = f"queues:measured:{connection.settings_dict['NAME']}:{line.id}:{hour}"
    cached = cache.get(key)
    if isinstance(cached, LineMeasurements):
        return cached
    max_credit = QueuePolicy.current().max_credit_minutes
    handling, cv2, takes = _handling(line, now)
    per_hour, share, days = _arrivals(line, now, max_credit)
    measured = LineMeasurements(
        handling_minutes=handling,
        handling_cv2=cv2,
        takes=takes,
        arrivals_per_hour=per_hour,
        share_above=share,
        arrivals_days=days,
    )
    cache.set(key, measured, MEASUREMENTS_CACHE_SECONDS)
    return measured


@dataclass(frozen=True)
class WaitInputs:
    """What an estimate is computed from, read once: `queue_estimate` computes it at once; the
    queue's replay (queues.replay) keeps it to measure the model against the waits that followed."""

    now: dt.datetime
    position: int
    capacity: list[CapacityStep]
    service_cv2: float
    overtaking: Overtaking | None
    credit_minutes: int
    waited_minutes: float
    starting: list[dt.datetime]  # when agents come on duty (each takes a ticket at once)
    opening: dt.datetime | None  # when a line closed now next opens
    shown: dict[str, Any]  # what the page says of the basis: WaitEstimate's fields of that name


def estimate_inputs(
    *, ticket: Ticket, position: int | None = None, now: dt.datetime | None = None
) -> WaitInputs | WaitEstimate:
    """The model's inputs for a waiting ticket, or the estimate itself when there is nothing to
    model (not waiting, nothing measured)."""
    now = now or timezone.now()
    position = position if position is not None else queue_position(ticket=ticket)
    if position is None or ticket.queued_at is None:
        return WaitEstimate(None, None, None, None)
    line = ticket.line
    measured = line_measurements(line=line, now=now)
    capacity: list[CapacityStep]
    shown: dict[str, Any]
    starting: list[dt.datetime] = []
    if line_has_roster(line_id=line.id):
        duty = line_duty(line_id=line.id, start=now, end=now + ESTIMATE_HORIZON)
        staffing = staffing_steps(duty, now, now + ESTIMATE_HORIZON)
        # Who comes on duty takes a ticket at once (a shift change hands over a whole team).
        starting = sorted(start for intervals in duty.values() for start, _end in intervals if start > now)
        on_duty = staffing[0][1] if staffing else 0
        opening = next_opening(staffing, now) if on_duty == 0 else None
        handling = measured.handling_minutes
        if handling is None:
            # A roster but no handling measured yet: a closed line can still say when it opens.
            return WaitEstimate(None, None, None, None, opens_at=opening, basis=ESTIMATE_ROSTER, agents_on_duty=on_duty)
        capacity = [(span, n * 60 / handling) for span, n in staffing]
        shown = {
            "takes_per_hour": round(on_duty * 60 / handling, 1),
            "window_hours": None,
            "basis": ESTIMATE_ROSTER,
            "agents_on_duty": on_duty,
            "handling_minutes": round(handling, 1),
        }
        cv2 = measured.handling_cv2
    else:
        pace, window = line_pace(line=line, now=now)
        if pace is None:
            return WaitEstimate(None, None, None, None, basis=ESTIMATE_PACE)
        opening = None
        capacity = [((now, now + ESTIMATE_HORIZON), pace)]
        shown = {"takes_per_hour": round(pace, 1), "window_hours": window, "basis": ESTIMATE_PACE}
        cv2 = 1.0  # takes counted, not timed: the spread of an exponential
    overtaking = None
    if measured.arrivals_per_hour is not None:
        overtaking = Overtaking(
            arrivals_per_hour=measured.arrivals_per_hour,
            share_above=measured.share_above,
            time_zone=str(timezone.get_default_timezone()),
        )
    return WaitInputs(
        now=now,
        position=position,
        capacity=capacity,
        service_cv2=cv2,
        overtaking=overtaking,
        credit_minutes=ticket.credit_minutes,
        waited_minutes=max(0.0, (now - ticket.queued_at).total_seconds() / 60),
        starting=starting,
        opening=opening,
        shown=shown,
    )


def estimate_from(inputs: WaitInputs) -> WaitEstimate:
    """The range the page shows, in whole minutes, from the model (queues.estimate)."""
    found = wait_range(
        now=inputs.now,
        ahead=inputs.position - 1,
        capacity=inputs.capacity,
        service_cv2=inputs.service_cv2,
        overtaking=inputs.overtaking,
        credit_minutes=inputs.credit_minutes,
        waited_minutes=inputs.waited_minutes,
        starting=inputs.starting,
    )
    if found is None:
        # Not reached within the roster's horizon: say when a closed line next opens, if it does.
        return WaitEstimate(None, None, opens_at=inputs.opening, **inputs.shown)
    low = math.floor(found.low_minutes)
    high = max(low + 1, math.ceil(found.high_minutes))
    if inputs.position - 1 >= NARROW_FROM_AHEAD and low > 0:
        high = min(high, int(MAX_RATIO * low))
    return WaitEstimate(
        low_minutes=low,
        high_minutes=high,
        probability=round(found.probability, 2),
        opens_at=found.opens_at,
        closes_at=found.closes_at,
        likely_from=inputs.now + dt.timedelta(minutes=low),
        likely_until=inputs.now + dt.timedelta(minutes=high),
        **inputs.shown,
    )


def queue_estimate(*, ticket: Ticket, position: int | None = None, now: dt.datetime | None = None) -> WaitEstimate:
    """The wait as a range with the chance it holds (queues.estimate), from the agents on duty
    by the roster, the line's measured handling time, the tickets ahead and the arrivals likely
    to overtake within the bound; or when the line opens, if nobody is on duty before the
    ticket could be reached. Lines without a roster work from their measured pace."""
    found = estimate_inputs(ticket=ticket, position=position, now=now)
    return found if isinstance(found, WaitEstimate) else estimate_from(found)


# --- boosts and the balance ------------------------------------------------------------------


@dataclass(frozen=True)
class BoostQuote:
    kind: str
    price: Decimal
    currency: str
    position_now: int | None
    position_after: int
    credit_minutes: int  # the head start this boost adds
    capped: bool  # the bound stops it short of the requested place
    max_credit_minutes: int
    balance: Decimal
    order_key: dt.datetime  # the ticket's queue order key after the boost

    @property
    def moves(self) -> bool:
        """Whether the boost changes the ticket's place: only then is it offered or charged."""
        return self.credit_minutes > 0 and self.position_now is not None and self.position_after < self.position_now


def boost_price(*, customer: User, kind: str) -> BoostPrice:
    """The plan's price, else the default (the row without a plan)."""
    profile = CustomerProfile.objects.filter(user_id=customer.id).only("support_plan_id").first()
    plan_id = profile.support_plan_id if profile else None
    prices = BoostPrice.objects.filter(kind=kind)
    price = (prices.filter(plan_id=plan_id).first() if plan_id is not None else None) or (
        prices.filter(plan__isnull=True).first()
    )
    if price is None:
        raise DomainError(_("This boost is not offered."), code="boost_not_offered", field="kind")
    return price


def balance_of(customer: User) -> Decimal:
    return BalanceEntry.objects.filter(customer=customer).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def _boost_target(ticket: Ticket, kind: str, policy: QueuePolicy) -> tuple[dt.datetime, int, bool]:
    """The order key the boost would give, the credit it adds, and whether the bound caps it."""
    others = waiting_in(ticket.line_id).exclude(id=ticket.id).order_by("virtual_time", "id")
    head = others.values_list("virtual_time", flat=True).first()
    second = None
    if head is not None and kind == BoostKind.BEHIND_FIRST:
        second = others.values_list("virtual_time", flat=True)[1:2].first()
    return boost_target(ticket, head=head, second=second, front=kind == BoostKind.FRONT, policy=policy)


def boost_quote(*, ticket: Ticket, customer: User, kind: str) -> BoostQuote:
    """What a boost would do now, told honestly before the customer pays."""
    if kind not in BoostKind.values:
        raise DomainError(_("Unknown kind of boost."), code="invalid", field="kind")
    if ticket.customer_id != customer.id:
        raise NotFound(_("No such ticket."))
    if not is_waiting(ticket) or ticket.virtual_time is None:
        raise Conflict(_("Only a ticket waiting in the queue can be moved up."), code="not_waiting")
    policy = QueuePolicy.current()
    price = boost_price(customer=customer, kind=kind)
    position_now = queue_position(ticket=ticket)
    new_key, added, capped = _boost_target(ticket, kind, policy)
    ahead = (
        waiting_in(ticket.line_id)
        .exclude(id=ticket.id)
        .filter(Q(virtual_time__lt=new_key) | Q(virtual_time=new_key, id__lt=ticket.id))
        .count()
    )
    position_after = ahead + 1
    if position_now is None or position_after >= position_now:
        # The credit alone buys nothing the customer can see: behind the first when already
        # second, or a bound that stops the ticket before it passes anyone. Not sold.
        new_key, added, position_after = ticket.virtual_time, 0, position_now or position_after
    return BoostQuote(
        kind=kind,
        price=price.price,
        currency=price.currency,
        position_now=position_now,
        position_after=position_after,
        credit_minutes=added,
        capped=capped,
        max_credit_minutes=policy.max_credit_minutes,
        balance=balance_of(customer),
        order_key=new_key,
    )


def boost_offers(ticket: Ticket, customer: User) -> list[dict]:
    """What each boost would do now; empty when the ticket is not waiting."""
    if not is_waiting(ticket) or ticket.virtual_time is None:
        return []
    offers = []
    for kind, label in BoostKind.choices:
        try:
            quote = boost_quote(ticket=ticket, customer=customer, kind=kind)
        except DomainError:
            continue
        if quote.moves:
            offers.append({"kind": kind, "label": label, "quote": quote, "key": uuid.uuid4().hex})
    return offers


@dataclass(frozen=True)
class QueueStanding:
    """Where a waiting ticket stands: shown to its customer and in the API."""

    line: Line
    position: int | None
    estimate: WaitEstimate
    credit_minutes: int
    weight_parts: dict


def ticket_standing(*, ticket: Ticket, now: dt.datetime | None = None) -> QueueStanding:
    position = queue_position(ticket=ticket)
    return QueueStanding(
        line=ticket.line,
        position=position,
        estimate=queue_estimate(ticket=ticket, position=position, now=now),
        credit_minutes=ticket.credit_minutes,
        weight_parts=dict(ticket.weight_parts or {}),
    )


# Lookups on a ticket, for the customer classes of the managers' queue page.
CUSTOMER_CLASSES: list[tuple[str, dict[str, object]]] = [
    ("vip", {"customer__customer_profile__is_vip": True}),
    ("problematic", {"customer__customer_profile__is_problematic": True}),
    ("enterprise", {"customer__customer_profile__support_plan__level__gte": 3}),
    ("business", {"customer__customer_profile__support_plan__level": 2}),
    ("standard", {"customer__customer_profile__support_plan__level": 1}),
    ("self_service", {"customer__customer_profile__support_plan__level": 0}),
]


def queue_overview(*, now: dt.datetime | None = None) -> list[dict]:
    """Per line: waiting count, oldest wait, the mix of customer classes, boosts bought today."""
    now = now or timezone.now()
    policy = QueuePolicy.current()
    # Only the waiting tickets, grouped by line: the partial index tickets_waiting_queue holds
    # exactly them. Counting them from the lines joined to all their tickets (and every
    # ticket to its customer's profile and plan) read every ticket of every status.
    class_counts = {f"class_{name}": Count("id", filter=Q(**lookups)) for name, lookups in CUSTOMER_CLASSES}
    counted: dict[int, Any] = {
        row["line_id"]: row
        for row in Ticket.objects.filter(status__in=WAITING_STATUSES, assignee__isnull=True)
        .values("line_id")
        .annotate(waiting=Count("id"), oldest=Min("queued_at"), **class_counts)
        .order_by()
    }
    lines = Line.objects.filter(is_active=True).order_by("position", "code")
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    boosts = {
        row["ticket__line_id"]: row
        for row in Boost.objects.filter(created_at__gte=start_of_day)
        .values("ticket__line_id")
        .annotate(count=Count("id"), revenue=Sum("price"))
    }
    overview = []
    for line in lines:
        bought = boosts.get(line.id) or {"count": 0, "revenue": None}
        row = counted.get(line.id, {})
        overview.append(
            {
                "line": line,
                "waiting": row.get("waiting", 0),
                "oldest_wait": (now - row["oldest"]) if row.get("oldest") else None,
                "classes": {name: row.get(f"class_{name}", 0) for name, _lookups in CUSTOMER_CLASSES},
                "boosts_today": bought.get("count", 0),
                "boost_revenue_today": bought.get("revenue") or 0,
                "max_credit_minutes": policy.max_credit_minutes,
            }
        )
    return overview
