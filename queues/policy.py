"""The weighted queue's arithmetic: a customer's weight, order keys, escalation credit.

Pure policy: these functions read what they need (the policy row, the customer's profile,
the plan's average) and set fields on the ticket in memory; they write nothing. The ticket
services (`tickets.services`) call them and save.

A ticket's weight is a head start in time: `virtual_time = queued_at - credit`, with the
credit between 0 and the policy's `max_credit_minutes`. Agents take tickets in ascending
`virtual_time`. Aging is linear, so the order never needs recomputing, and a ticket can be
overtaken only by tickets queued at most `max_credit_minutes` after it. A boost or an
escalation buys more credit, never more than that bound.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Avg
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile, User
from queues.models import QueuePolicy
from tickets.models import Status, Ticket, Urgency

WAITING_STATUSES = (Status.NEW, Status.WAITING_AGENT)
PLAN_AVERAGE_CACHE_SECONDS = 3600
# A ticket linked to an incident (tickets.services.ticket_link_incident) is parked: its order key
# is pushed this far ahead, so it waits behind every ordinary ticket of its line and the parked
# ones keep their weighted order among themselves. Enqueueing, reweighing and escalating keep a
# parked ticket parked; unlinking moves it back to its place.
PARK_OFFSET = dt.timedelta(days=36500)

# The names of the parts of a weight (Ticket.weight_parts), for people.
WEIGHT_PART_LABELS = {
    "tenure": _("years with us"),
    "spend": _("spend over 12 months"),
    "frequency": _("requests compared with the plan's average"),
    "vip": _("VIP"),
    "problematic": _("problematic"),
    "plan": _("support plan level"),
    "urgency": _("urgency"),
    "boost": _("paid boost"),
}


def is_waiting(ticket: Ticket) -> bool:
    return ticket.status in WAITING_STATUSES and ticket.assignee_id is None


def is_parked(ticket: Ticket) -> bool:
    """Whether the ticket waits behind the ordinary queue (linked to an incident)."""
    if ticket.virtual_time is None or ticket.queued_at is None:
        return False
    return ticket.virtual_time - ticket.queued_at > PARK_OFFSET / 2


def _order_key(queued_at: dt.datetime, credit_minutes: int, *, parked: bool) -> dt.datetime:
    key = queued_at - dt.timedelta(minutes=credit_minutes)
    return key + PARK_OFFSET if parked else key


def queue_park(*, ticket: Ticket) -> list[str]:
    """Move the ticket behind every ordinary ticket of its line. Returns the changed fields."""
    if ticket.virtual_time is None or is_parked(ticket):
        return []
    ticket.virtual_time = ticket.virtual_time + PARK_OFFSET
    return ["virtual_time"]


def queue_unpark(*, ticket: Ticket) -> list[str]:
    """Back to the place its weight gives it. Returns the changed fields."""
    if ticket.virtual_time is None or not is_parked(ticket):
        return []
    ticket.virtual_time = ticket.virtual_time - PARK_OFFSET
    return ["virtual_time"]


@dataclass(frozen=True)
class Weight:
    parts: dict[str, int]  # name -> minutes (may be negative)
    credit_minutes: int  # the sum, kept within [0, max_credit]
    max_credit_minutes: int


def plan_average_requests(plan_id: int | None) -> float:
    """Average requests in 12 months among customers on the same plan (cached for an hour)."""
    key = f"queues:plan-average-requests:{plan_id}"
    value = cache.get(key)
    if value is None:
        value = CustomerProfile.objects.filter(support_plan_id=plan_id).aggregate(avg=Avg("requests_12m"))["avg"] or 0.0
        cache.set(key, value, PLAN_AVERAGE_CACHE_SECONDS)
    return float(value)


def customer_weight(
    *,
    profile: CustomerProfile | None,
    urgency: str,
    policy: QueuePolicy,
    today: dt.date,
    plan_average: float | None = None,
) -> Weight:
    """The parts of a ticket's head start: tenure, spend, how often the customer asks compared
    with others on the plan, flags, the plan's level and the urgency."""
    parts: dict[str, int] = {}
    if profile is not None:
        years = max(0.0, (today - profile.customer_since).days / 365.25)
        parts["tenure"] = round(min(years, policy.max_tenure_years) * policy.minutes_per_year_of_tenure)
        spend = float(profile.spend_12m or 0)
        parts["spend"] = round(policy.minutes_per_spend_decade * max(0.0, math.log10(1 + spend / 1000)))
        average = plan_average if plan_average is not None else plan_average_requests(profile.support_plan_id)
        if average > 0:
            # Asking half as often as the plan's average earns one step; twice as often costs one.
            ratio = (profile.requests_12m + 1) / (average + 1)
            steps = max(-2.0, min(2.0, -math.log2(ratio)))
            parts["frequency"] = round(steps * policy.minutes_per_frequency_step)
        if profile.is_vip:
            parts["vip"] = policy.vip_minutes
        if profile.is_problematic:
            parts["problematic"] = -policy.problematic_minutes
        if profile.support_plan_id and profile.support_plan is not None:
            parts["plan"] = profile.support_plan.level * policy.minutes_per_plan_level
    if urgency == Urgency.HIGH:
        parts["urgency"] = policy.high_urgency_minutes
    elif urgency == Urgency.CRITICAL:
        parts["urgency"] = policy.critical_urgency_minutes
    total = sum(parts.values())
    credit = max(0, min(policy.max_credit_minutes, total))
    return Weight(parts=parts, credit_minutes=credit, max_credit_minutes=policy.max_credit_minutes)


def customer_profile_of(ticket: Ticket) -> CustomerProfile | None:
    """The ticket's customer's profile with its support plan: the one the service that files
    the ticket loaded already (cached on `ticket.customer`), or read now."""
    if Ticket.customer.is_cached(ticket) and User.customer_profile.is_cached(ticket.customer):
        profile = getattr(ticket.customer, "customer_profile", None)
        if profile is None or profile.support_plan_id is None or CustomerProfile.support_plan.is_cached(profile):
            return profile
    return CustomerProfile.objects.select_related("support_plan").filter(user_id=ticket.customer_id).first()


def queue_enqueue(
    *,
    ticket: Ticket,
    now: dt.datetime,
    policy: QueuePolicy | None = None,
    plan_averages: dict[int | None, float] | None = None,
) -> list[str]:
    """(Re)place the ticket at the end of its line's queue, with its weight as a head start.

    For a ticket that starts waiting anew: created, transferred to another line, answered by
    the customer, reopened. Boosts bought for an earlier wait do not carry over. Returns the
    changed fields; the caller saves. `policy`: the queue policy already read, else read now;
    `plan_averages`: plan id -> its average requests, filled as read (a bulk caller's memo)."""
    policy = policy or QueuePolicy.current()
    profile = customer_profile_of(ticket)
    average = None
    if plan_averages is not None and profile is not None:
        if profile.support_plan_id not in plan_averages:
            plan_averages[profile.support_plan_id] = plan_average_requests(profile.support_plan_id)
        average = plan_averages[profile.support_plan_id]
    weight = customer_weight(
        profile=profile, urgency=ticket.urgency, policy=policy, today=timezone.localdate(now), plan_average=average
    )
    parked = is_parked(ticket)
    ticket.queued_at = now
    ticket.credit_minutes = weight.credit_minutes
    ticket.weight_parts = weight.parts
    ticket.virtual_time = _order_key(now, weight.credit_minutes, parked=parked)
    return ["queued_at", "credit_minutes", "weight_parts", "virtual_time"]


def queue_reweigh(*, ticket: Ticket) -> list[str]:
    """Recompute the credit after an input changed (urgency, customer), keeping the place in
    time and any boost bought for this wait. Returns the changed fields; the caller saves."""
    if ticket.queued_at is None:
        return []
    policy = QueuePolicy.current()
    weight = customer_weight(
        profile=customer_profile_of(ticket), urgency=ticket.urgency, policy=policy, today=timezone.localdate()
    )
    parts = dict(weight.parts)
    boost = int(ticket.weight_parts.get("boost", 0))
    if boost:
        parts["boost"] = boost
    credit = max(0, min(policy.max_credit_minutes, sum(parts.values())))
    ticket.weight_parts = parts
    ticket.credit_minutes = credit
    ticket.virtual_time = _order_key(ticket.queued_at, credit, parked=is_parked(ticket))
    return ["credit_minutes", "weight_parts", "virtual_time"]


def queue_escalate(*, ticket: Ticket, minutes: int, policy: QueuePolicy | None = None) -> int:
    """More head start for an overdue ticket (an SLA escalation), within the bound; returns the
    minutes actually added. The changed fields are ESCALATION_FIELDS; the caller saves."""
    policy = policy or QueuePolicy.current()
    added = max(0, min(minutes, policy.max_credit_minutes - ticket.credit_minutes))
    if added == 0 or ticket.queued_at is None:
        return 0
    parts = dict(ticket.weight_parts)
    parts["escalation"] = int(parts.get("escalation", 0)) + added
    parked = is_parked(ticket)
    ticket.weight_parts = parts
    ticket.credit_minutes += added
    ticket.virtual_time = _order_key(ticket.queued_at, ticket.credit_minutes, parked=parked)
    return added


ESCALATION_FIELDS = ["credit_minutes", "virtual_time", "weight_parts"]


def boost_target(
    ticket: Ticket, *, head: dt.datetime | None, second: dt.datetime | None, front: bool, policy: QueuePolicy
) -> tuple[dt.datetime, int, bool]:
    """The order key a boost would give, the credit it adds, and whether the bound caps it.

    `head` and `second`: the order keys of the first two other tickets waiting in the line;
    `front`: to the front, else right behind the first."""
    if head is None or ticket.virtual_time is None or ticket.queued_at is None:
        return ticket.virtual_time, 0, False  # type: ignore[return-value]
    tick = dt.timedelta(microseconds=1)
    wanted = head - tick if front else head + tick
    if not front and second is not None and second <= wanted:
        wanted = second - tick
    if wanted >= ticket.virtual_time:
        return ticket.virtual_time, 0, False
    floor = ticket.queued_at - dt.timedelta(minutes=policy.max_credit_minutes)
    target = max(wanted, floor)
    # Whole minutes for the books; the order key itself is the exact target.
    credit_needed = math.ceil((ticket.queued_at - target).total_seconds() / 60)
    added = max(0, min(policy.max_credit_minutes, credit_needed) - ticket.credit_minutes)
    return target, added, wanted < floor


def queue_boost(*, ticket: Ticket, minutes: int, order_key: dt.datetime) -> list[str]:
    """A bought boost: its minutes join the weight, and the ticket takes the exact order key
    quoted (not whole minutes, so "behind the first" never passes the first). Returns the
    changed fields; the caller saves."""
    parts = dict(ticket.weight_parts)
    parts["boost"] = int(parts.get("boost", 0)) + minutes
    ticket.weight_parts = parts
    ticket.credit_minutes += minutes
    ticket.virtual_time = order_key
    return ["credit_minutes", "virtual_time", "weight_parts"]
