"""Reads of the weighted queue for the pages and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from queues.models import Boost, Line, QueuePolicy
from queues.services import WAITING_STATUSES, WaitEstimate, queue_estimate, queue_position
from tickets.models import Ticket


@dataclass(frozen=True)
class QueueStanding:
    """Where a waiting ticket stands: shown to its customer and in the API."""

    line: Line
    position: int | None
    estimate: WaitEstimate
    credit_minutes: int
    weight_parts: dict


def ticket_standing(*, ticket: Ticket) -> QueueStanding:
    position = queue_position(ticket=ticket)
    return QueueStanding(
        line=ticket.line,
        position=position,
        estimate=queue_estimate(ticket=ticket, position=position),
        credit_minutes=ticket.credit_minutes,
        weight_parts=dict(ticket.weight_parts or {}),
    )


CUSTOMER_CLASSES = [
    ("vip", Q(customer__customer_profile__is_vip=True)),
    ("problematic", Q(customer__customer_profile__is_problematic=True)),
    ("enterprise", Q(customer__customer_profile__support_plan__level__gte=3)),
    ("business", Q(customer__customer_profile__support_plan__level=2)),
    ("standard", Q(customer__customer_profile__support_plan__level=1)),
    ("self_service", Q(customer__customer_profile__support_plan__level=0)),
]


def queue_overview(*, now: dt.datetime | None = None) -> list[dict]:
    """Per line: waiting count, oldest wait, the mix of customer classes, boosts bought today."""
    now = now or timezone.now()
    policy = QueuePolicy.current()
    waiting = Q(tickets__status__in=WAITING_STATUSES, tickets__assignee__isnull=True)
    class_counts = {
        f"class_{name}": Count("tickets", filter=waiting & Q(**{f"tickets__{k}": v for k, v in condition.children}))
        for name, condition in CUSTOMER_CLASSES
    }
    lines = (
        Line.objects.filter(is_active=True)
        .annotate(
            waiting=Count("tickets", filter=waiting), oldest=Min("tickets__queued_at", filter=waiting), **class_counts
        )
        .order_by("position", "code")
    )
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    boosts = {
        row["ticket__line_id"]: row
        for row in Boost.objects.filter(created_at__gte=start_of_day)
        .values("ticket__line_id")
        .annotate(count=Count("id"), revenue=Sum("price"))
    }
    overview = []
    for line in lines:
        bought = boosts.get(line.id, {})
        overview.append(
            {
                "line": line,
                "waiting": line.waiting,
                "oldest_wait": (now - line.oldest) if line.oldest else None,
                "classes": {name: getattr(line, f"class_{name}") for name, _condition in CUSTOMER_CLASSES},
                "boosts_today": bought.get("count", 0),
                "boost_revenue_today": bought.get("revenue") or 0,
                "max_credit_minutes": policy.max_credit_minutes,
            }
        )
    return overview
