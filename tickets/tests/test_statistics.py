"""Statistics the planner needs to pick the open tickets' indexes (migration 0025)."""

import json

import pytest
from django.db import connection
from django.utils import timezone

from tickets.models import OPEN_SLA_DUE, OPEN_STATUSES, Status, Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _estimate(queryset) -> int:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def test_the_nearest_running_deadline_has_statistics_of_its_own(line, customer):
    """The "breaching today" view filters the open tickets by their nearest running deadline. The partial
    index on that expression has statistics, which PostgreSQL does not use for estimates: it
    guessed a third of the open tickets and read them all. The expression's own statistics say
    how many have a deadline at all."""
    for _ in range(60):
        TicketFactory(line=line, customer=customer, status=Status.IN_PROGRESS)
    Ticket.objects.update(first_response_due=None, next_response_due=None, resolution_due=None)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")

    due = Ticket.objects.filter(status__in=OPEN_STATUSES).alias(due=OPEN_SLA_DUE).filter(due__lte=timezone.now())

    assert list(due) == []
    assert _estimate(due) <= 2
    assert _estimate(Ticket.objects.filter(status__in=OPEN_STATUSES)) >= 50
