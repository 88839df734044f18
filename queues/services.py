"""The weighted queue: order keys, taking the next ticket, positions, waits and paid boosts.

A ticket's weight is a head start in time: `virtual_time = queued_at - credit`, with the
credit between 0 and the policy's `max_credit_minutes`. Agents take tickets in ascending
`virtual_time`. Aging is linear, so the order never needs recomputing, and a ticket can be
overtaken only by tickets queued at most `max_credit_minutes` after it. A boost buys more
credit, never more than that bound.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import uuid
import weakref
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import DEFERRED, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile, User
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from queues import billing
from queues.models import BalanceEntry, Boost, BoostKind, BoostPrice, Line, LineMembership, QueuePolicy
from queues.weights import customer_weight
from tickets.models import EventKind, Status, Ticket, TicketEvent

WAITING_STATUSES = (Status.NEW, Status.WAITING_AGENT)
# Pace windows for the estimated wait, shortest first; the first with enough takes is used.
PACE_WINDOWS_HOURS = (1, 4, 24)
PACE_MIN_TAKES = 5


def waiting_in(line_id: int):
    return Ticket.objects.filter(line_id=line_id, status__in=WAITING_STATUSES, assignee__isnull=True)


def is_waiting(ticket: Ticket) -> bool:
    return ticket.status in WAITING_STATUSES and ticket.assignee_id is None


def _profile(customer_id: int) -> CustomerProfile | None:
    return CustomerProfile.objects.select_related("support_plan").filter(user_id=customer_id).first()


def queue_enqueue(*, ticket: Ticket, now: dt.datetime) -> list[str]:
    """(Re)place the ticket at the end of its line's queue, with its weight as a head start.

    Called by the ticket services when a ticket starts waiting anew: created, transferred to
    another line, answered by the customer, reopened. Boosts bought for an earlier wait do
    not carry over. Returns the changed fields; the caller saves."""
    policy = QueuePolicy.current()
    weight = customer_weight(
        profile=_profile(ticket.customer_id), urgency=ticket.urgency, policy=policy, today=timezone.localdate(now)
    )
    ticket.queued_at = now
    ticket.credit_minutes = weight.credit_minutes
    ticket.weight_parts = weight.parts
    ticket.virtual_time = now - dt.timedelta(minutes=weight.credit_minutes)
    return ["queued_at", "credit_minutes", "weight_parts", "virtual_time"]


def queue_reweigh(*, ticket: Ticket) -> list[str]:
    """Recompute the credit after an input changed (urgency), keeping the place in time and
    any boost bought for this wait."""
    if ticket.queued_at is None:
        return []
    policy = QueuePolicy.current()
    weight = customer_weight(
        profile=_profile(ticket.customer_id), urgency=ticket.urgency, policy=policy, today=timezone.localdate()
    )
    parts = dict(weight.parts)
    boost = int(ticket.weight_parts.get("boost", 0))
    if boost:
        parts["boost"] = boost
    credit = max(0, min(policy.max_credit_minutes, sum(parts.values())))
    ticket.weight_parts = parts
    ticket.credit_minutes = credit
    ticket.virtual_time = ticket.queued_at - dt.timedelta(minutes=credit)
    return ["credit_minutes", "weight_parts", "virtual_time"]


def agent_line_ids(agent: User) -> list[int]:
    return list(LineMembership.objects.filter(user=agent, line__is_active=True).values_list("line_id", flat=True))


# One statement: pick, lock, assign and record. Per membership line (LATERAL), the first
# waiting ticket in queue order from the partial index `tickets_waiting_queue`, locked with
# SKIP LOCKED so that concurrent agents never wait for each other nor get the same ticket;
# of those, the earliest. The history (ASSIGN, then STATUS) and the outbox rows for the
# notifications are written by the same statement, so the take is one round trip, atomic
# on its own. Tickets whose administration work waits for the customer to accept an extra
# charge are left in the queue: nobody can work on them yet.
TAKE_NEXT_SQL = """
WITH candidate AS (
    SELECT waiting.id, waiting.status, waiting.line_code
    FROM queues_linemembership membership
    JOIN queues_line line ON line.id = membership.line_id AND line.is_active
    CROSS JOIN LATERAL (
        SELECT ticket.id, ticket.status, ticket.virtual_time, line.code AS line_code
        FROM tickets_ticket ticket
        WHERE ticket.line_id = membership.line_id
          AND ticket.status IN (__WAITING__)
          AND ticket.assignee_id IS NULL
          AND ticket.package_task <> 'extra_pending'
        ORDER BY ticket.virtual_time, ticket.id
        LIMIT 1
        FOR UPDATE OF ticket SKIP LOCKED
    ) waiting
    WHERE membership.user_id = %(agent)s AND (%(line)s::bigint IS NULL OR membership.line_id = %(line)s::bigint)
    ORDER BY waiting.virtual_time, waiting.id
    LIMIT 1
), taken AS (
    UPDATE tickets_ticket ticket
    SET assignee_id = %(agent)s, status = 'in_progress', updated_at = %(now)s
    FROM candidate
    WHERE ticket.id = candidate.id
    RETURNING ticket.id, ticket.number, ticket.status, ticket.assignee_id, ticket.line_id, ticket.customer_id,
              ticket.urgency, ticket.queued_at, ticket.virtual_time, ticket.credit_minutes, ticket.updated_at,
              ticket.resolution_paused_minutes IS NOT NULL
              OR (ticket.sla_commitment = '{}'::jsonb AND EXISTS (SELECT 1 FROM sla_slatarget)) AS sla_stale,
              candidate.status AS old_status, candidate.line_code
), history AS (
    INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, data, created_at)
    SELECT id, 'assign', %(agent)s,
           jsonb_build_object('old', NULL, 'new', %(username)s::text, 'line', line_code), %(now)s
    FROM taken
    UNION ALL
    SELECT id, 'status', %(agent)s,
           jsonb_build_object('old', old_status, 'new', 'in_progress', 'reason', ''), %(now)s
    FROM taken
    RETURNING id, kind
), outbox AS (
    INSERT INTO tickets_eventoutbox (event_id, created_at)
    SELECT id, %(now)s FROM history WHERE kind = ANY(%(dispatch)s::text[])
)
SELECT sla_stale, id, number, status, assignee_id, line_id, customer_id, urgency, queued_at, virtual_time,
       credit_minutes, updated_at
FROM taken
""".replace("__WAITING__", ", ".join(f"'{status}'" for status in WAITING_STATUSES))
# The Ticket fields the statement returns after `sla_stale`, in order.
TAKE_NEXT_FIELDS = (
    "id", "number", "status", "assignee_id", "line_id", "customer_id", "urgency", "queued_at", "virtual_time",
    "credit_minutes", "updated_at",
)  # fmt: skip


TAKE_NEXT_PARAMETERS = (
    ("agent", "bigint"), ("line", "bigint"), ("now", "timestamptz"), ("username", "text"), ("dispatch", "text[]"),
)  # fmt: skip
TAKE_NEXT_EXECUTE = "EXECUTE helpdesk_take_next (" + ", ".join(["%s"] * len(TAKE_NEXT_PARAMETERS)) + ")"
# Prepared on a connection's second take (planning the statement costs about as much as running
# it): a connection opened for one request and closed after it never pays for the PREPARE.
_connections_seen: weakref.WeakSet = weakref.WeakSet()
_connections_prepared: weakref.WeakSet = weakref.WeakSet()


def _run_take_next(db, params: dict) -> tuple | None:
    """The statement's row (sla_stale, then TAKE_NEXT_FIELDS), or None when nothing was taken."""
    db.ensure_connection()
    raw = db.connection
    if not settings.HELPDESK_PREPARED_STATEMENTS or raw not in _connections_seen:
        _connections_seen.add(raw)
        with db.cursor() as cursor:
            cursor.execute(TAKE_NEXT_SQL, params)
            return cursor.fetchone()
    if raw not in _connections_prepared:
        body = TAKE_NEXT_SQL
        for number, (name, _type) in enumerate(TAKE_NEXT_PARAMETERS, start=1):
            body = body.replace(f"%({name})s", f"${number}")
        types = ", ".join(sql_type for _name, sql_type in TAKE_NEXT_PARAMETERS)
        with db.cursor() as cursor:
            cursor.execute(f"PREPARE helpdesk_take_next ({types}) AS {body}")
        _connections_prepared.add(raw)
    values = [params[name] for name, _type in TAKE_NEXT_PARAMETERS]
    if db.queries_logged:
        with db.cursor() as cursor:
            cursor.execute(TAKE_NEXT_EXECUTE, values)
            return cursor.fetchone()
    # Nobody records the queries: psycopg2's cursor straight away, with Django's error classes
    # (Django's cursor wrapper cost a tenth of the take's p99 with 16 agents taking back to back).
    with db.wrap_database_errors, raw.cursor() as cursor:
        cursor.execute(TAKE_NEXT_EXECUTE, values)
        return cursor.fetchone()


@functools.cache
def _take_next_row_template() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Every concrete Ticket field in the model's order, and where its value stands in the
    statement's row (-1: not returned, loaded on first use). With a value for every field,
    Model.from_db builds the ticket without matching names."""
    names = tuple(field.attname for field in Ticket._meta.concrete_fields)
    return names, tuple(TAKE_NEXT_FIELDS.index(name) + 1 if name in TAKE_NEXT_FIELDS else -1 for name in names)


@functools.cache
def _take_next_dispatch() -> list[str]:
    """The kinds among the take's two events that the notifications must look at. The same for
    every take: the agent assigns the ticket to themselves (see tickets.events.needs_dispatch)."""
    from tickets import events

    agent = User(username="agent")
    data = {"old": None, "new": agent.get_username()}
    return [kind for kind in (EventKind.ASSIGN, EventKind.STATUS) if events.needs_dispatch(kind, agent, data)]


def queue_take_next(*, agent: User, line: Line | None = None) -> Ticket | None:
    """Assign the first waiting ticket of the agent's lines (or of `line`) to the agent.

    One statement (TAKE_NEXT_SQL): concurrent agents each get a different ticket and never
    wait for each other. None when the queue is empty. The ticket comes back with its queue
    fields (number, status, assignee, line, customer, order key); the others load on first use.
    The SLA clocks need no change: the ticket goes from waiting to in progress, and both keep
    the same clocks running."""
    from sla.services import sla_update

    if not agent.is_support_staff:
        raise PermissionDenied(_("Only support staff take tickets."))
    now = timezone.now()
    params = {
        "agent": agent.id,
        "line": line.id if line is not None else None,
        "now": now,
        "username": agent.get_username(),
        "dispatch": _take_next_dispatch(),
    }
    # The connection once, not through the `connection` proxy at every use (a take runs back to
    # back with others, and each look-up through the proxy costs about as much as building the row).
    db = connections[DEFAULT_DB_ALIAS]
    row = _run_take_next(db, params)
    if row is None:
        _explain_nothing_taken(agent, line)
        return None
    names, template = _take_next_row_template()
    ticket = Ticket.from_db(db.alias, names, [row[index] if index > 0 else DEFERRED for index in template])
    if row[0]:
        # sla_stale: filed before any service level applied (and one exists now), or paused
        # against the rule: bring it up to date.
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
            fields = sla_update(ticket=ticket, now=now)
            if fields:
                ticket.save(update_fields=sorted(set(fields)))
    return ticket


def _explain_nothing_taken(agent: User, line: Line | None) -> None:
    """Nothing was taken: an empty queue is a plain answer, a missing membership an error."""
    line_ids = agent_line_ids(agent)
    if line is not None and line.id not in line_ids:
        raise PermissionDenied(_("You are not a member of the line “%(line)s”.") % {"line": line.name})
    if not line_ids:
        raise DomainError(_("You are not a member of any line."), code="no_lines")


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
    low_minutes: int | None
    high_minutes: int | None
    takes_per_hour: float | None
    window_hours: int | None

    @property
    def enough_data(self) -> bool:
        return self.takes_per_hour is not None


def line_pace(*, line: Line, now: dt.datetime | None = None) -> tuple[float | None, int | None]:
    """Tickets taken per hour in the line, over the shortest recent window with enough takes."""
    now = now or timezone.now()
    for hours in PACE_WINDOWS_HOURS:
        takes = (
            TicketEvent.objects.filter(
                kind=EventKind.ASSIGN,
                created_at__gte=now - dt.timedelta(hours=hours),
                data__line=line.code,
            )
            .exclude(data__new=None)
            .count()
        )  # a release records new=None
        if takes >= PACE_MIN_TAKES:
            return takes / hours, hours
    return None, None


def queue_estimate(*, ticket: Ticket, position: int | None = None) -> WaitEstimate:
    """The expected wait as a range from the line's measured pace; never a promise."""
    position = position if position is not None else queue_position(ticket=ticket)
    pace, window = line_pace(line=ticket.line)
    if position is None or pace is None:
        return WaitEstimate(None, None, pace, window)
    expected = position / pace * 60
    return WaitEstimate(
        low_minutes=max(1, math.floor(expected * 0.7)),
        high_minutes=max(2, math.ceil(expected * 1.5)),
        takes_per_hour=round(pace, 1),
        window_hours=window,
    )


# --- boosts --------------------------------------------------------------------------


@dataclass(frozen=True)
class BoostQuote:
    kind: str
    price: Decimal
    currency: str
    position_now: int
    position_after: int
    credit_minutes: int  # the head start this boost adds
    capped: bool  # the bound stops it short of the requested place
    max_credit_minutes: int
    balance: Decimal
    order_key: dt.datetime  # the ticket's queue order key after the boost


def boost_price(*, customer: User, kind: str) -> BoostPrice:
    profile = _profile(customer.id)
    plan_id = profile.support_plan_id if profile else None
    price = BoostPrice.objects.filter(kind=kind, plan_id=plan_id).first() or (
        BoostPrice.objects.filter(kind=kind, plan__isnull=True).first()
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
    if head is None:
        return ticket.virtual_time, 0, False
    tick = dt.timedelta(microseconds=1)
    wanted = head - tick if kind == BoostKind.FRONT else head + tick
    if kind == BoostKind.BEHIND_FIRST:
        second = others.values_list("virtual_time", flat=True)[1:2].first()
        if second is not None and second <= wanted:
            wanted = second - tick
    if wanted >= ticket.virtual_time:
        return ticket.virtual_time, 0, False
    floor = ticket.queued_at - dt.timedelta(minutes=policy.max_credit_minutes)
    target = max(wanted, floor)
    # Whole minutes for the books; the order key itself is the exact target.
    credit_needed = math.ceil((ticket.queued_at - target).total_seconds() / 60)
    added = max(0, min(policy.max_credit_minutes, credit_needed) - ticket.credit_minutes)
    return target, added, wanted < floor


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
    return BoostQuote(
        kind=kind,
        price=price.price,
        currency=price.currency,
        position_now=position_now,
        position_after=ahead + 1,
        credit_minutes=added,
        capped=capped,
        max_credit_minutes=policy.max_credit_minutes,
        balance=balance_of(customer),
        order_key=new_key,
    )


@transaction.atomic
def boost_buy(*, ticket: Ticket, customer: User, kind: str, idempotency_key: str) -> Boost:
    """Charge the balance and move the ticket up. The same key never charges twice."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise DomainError(_("A boost needs an idempotency key of 1 to 100 characters."), field="idempotency_key")
    # Serialise purchases of one customer (the balance check, and a second click that waited
    # for the first must then find the first's boost).
    User.objects.select_for_update().filter(pk=customer.pk).first()
    existing = Boost.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.ticket_id != ticket.id or existing.customer_id != customer.id or existing.kind != kind:
            raise Conflict(_("This idempotency key was used for another purchase."), code="idempotency_conflict")
        return existing
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    quote = boost_quote(ticket=ticket, customer=customer, kind=kind)
    if quote.credit_minutes <= 0:
        raise Conflict(_("Your ticket is already there; nothing to pay for."), code="nothing_to_gain")
    if quote.balance < quote.price:
        raise DomainError(
            _("Your balance is %(balance)s %(currency)s; this boost costs %(price)s %(currency)s.")
            % {"balance": quote.balance, "price": quote.price, "currency": quote.currency},
            code="insufficient_balance",
        )
    try:
        with transaction.atomic():
            entry = BalanceEntry.objects.create(
                customer=customer,
                kind=BalanceEntry.Kind.CHARGE,
                amount=-quote.price,
                currency=quote.currency,
                description=f"Boost ({kind}) for ticket #{ticket.number}",
                reference=f"boost:{key}",
            )
            boost = Boost.objects.create(
                ticket=ticket,
                customer=customer,
                kind=kind,
                price=quote.price,
                credit_minutes=quote.credit_minutes,
                idempotency_key=key,
                ledger_entry=entry,
            )
    except IntegrityError:
        # A concurrent click with the same key won the race: answer with its purchase.
        return Boost.objects.get(idempotency_key=key)
    parts = dict(ticket.weight_parts)
    parts["boost"] = int(parts.get("boost", 0)) + quote.credit_minutes
    ticket.weight_parts = parts
    ticket.credit_minutes += quote.credit_minutes
    # The exact key quoted (not whole minutes), so "behind the first" never passes the first.
    ticket.virtual_time = quote.order_key
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=["weight_parts", "credit_minutes", "virtual_time", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=EventKind.BOOST,
        actor=customer,
        data={
            "boost": kind,
            "price": str(quote.price),
            "minutes": quote.credit_minutes,
            "old": quote.position_now,
            "new": quote.position_after,
        },
    )
    billing.charge_recorded(entry)
    return boost


@transaction.atomic
def balance_credit(*, customer: User, amount: Decimal, description: str, reference: str | None = None) -> BalanceEntry:
    """Money in (a payment from the provider's billing, a goodwill credit)."""
    if amount <= 0:
        raise DomainError(_("A credit must be positive."), field="amount")
    return BalanceEntry.objects.create(
        customer=customer,
        kind=BalanceEntry.Kind.CREDIT,
        amount=amount,
        description=description[:200],
        reference=reference or f"credit:{uuid.uuid4()}",
    )


def queue_escalate(*, ticket: Ticket, minutes: int, policy: QueuePolicy | None = None, save: bool = True) -> int:
    """More head start for an overdue ticket (an SLA escalation), within the bound; returns
    the minutes actually added. The caller holds the ticket's row lock; with `save=False` it
    also writes the changed fields itself (the SLA sweep writes many tickets at once)."""
    policy = policy or QueuePolicy.current()
    added = max(0, min(minutes, policy.max_credit_minutes - ticket.credit_minutes))
    if added == 0 or ticket.queued_at is None:
        return 0
    parts = dict(ticket.weight_parts)
    parts["escalation"] = int(parts.get("escalation", 0)) + added
    ticket.weight_parts = parts
    ticket.credit_minutes += added
    ticket.virtual_time = ticket.queued_at - dt.timedelta(minutes=ticket.credit_minutes)
    if save:
        ticket.save(update_fields=["weight_parts", "credit_minutes", "virtual_time"])
    return added
