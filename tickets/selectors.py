"""Read queries shared by pages and the API, always scoped by who is asking."""

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from queues.models import Line
from tickets.models import OPEN_STATUSES, Status, Ticket


def ticket_list_for_customer(*, user: User) -> QuerySet[Ticket]:
    """The customer's own tickets, plus their organisation's when the profile allows it."""
    scope = Q(customer=user)
    profile = getattr(user, "customer_profile", None)
    if user.organisation_id and profile is not None and profile.can_see_organisation_tickets:
        scope |= Q(organisation_id=user.organisation_id)
    return Ticket.objects.filter(scope).select_related("line").order_by("-last_activity_at", "-id")


def ticket_counts_for_customer(*, user: User) -> dict[str, int]:
    counts = (
        ticket_list_for_customer(user=user)
        .order_by()
        .aggregate(
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            waiting_for_you=Count("id", filter=Q(status=Status.WAITING_CUSTOMER)),
            resolved=Count("id", filter=Q(status=Status.RESOLVED)),
        )
    )
    return counts


def line_overview(*, lines: QuerySet[Line]) -> QuerySet[Line]:
    """Lines with the number of tickets in each open status, in one query."""
    return lines.annotate(
        waiting=Count("tickets", filter=Q(tickets__status__in=[Status.NEW, Status.WAITING_AGENT])),
        in_progress=Count("tickets", filter=Q(tickets__status=Status.IN_PROGRESS)),
        waiting_customer=Count("tickets", filter=Q(tickets__status=Status.WAITING_CUSTOMER)),
    ).order_by("position", "code")


def lines_for_agent(*, user: User) -> QuerySet[Line]:
    if user.is_management:
        return Line.objects.filter(is_active=True)
    return Line.objects.filter(is_active=True, memberships__user=user)


def tickets_assigned_to(*, user: User, limit: int = 20) -> list[Ticket]:
    return list(
        Ticket.objects.filter(assignee=user, status__in=OPEN_STATUSES)
        .select_related("line", "customer")
        .order_by("last_activity_at")[:limit]
    )
