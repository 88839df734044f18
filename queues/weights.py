"""A customer's weight in the queue, as a head start in minutes that explains itself."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Avg
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile
from queues.models import QueuePolicy

PLAN_AVERAGE_CACHE_SECONDS = 3600

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
    *, profile: CustomerProfile | None, urgency: str, policy: QueuePolicy, today, plan_average: float | None = None
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
        if profile.support_plan_id:
            parts["plan"] = profile.support_plan.level * policy.minutes_per_plan_level
    if urgency == "high":
        parts["urgency"] = policy.high_urgency_minutes
    elif urgency == "critical":
        parts["urgency"] = policy.critical_urgency_minutes
    total = sum(parts.values())
    credit = max(0, min(policy.max_credit_minutes, total))
    return Weight(parts=parts, credit_minutes=credit, max_credit_minutes=policy.max_credit_minutes)
