"""The demo's customers see an estimate on their waiting tickets: a range, or when the line opens."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import Role
from queues.estimate import DEFAULT_PROBABILITY
from queues.policy import WAITING_STATUSES
from queues.selectors import ESTIMATE_ROSTER, ticket_standing
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")
SMALL = {"customers": 60, "months": 2, "per_month": 600}


def load(until: dt.date) -> None:
    call_command("load_demo", **SMALL, until=until, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 6, 30, 20, 30, tzinfo=MSK),  # a Tuesday evening: consultants gone home
        dt.datetime(2026, 6, 24, 12, 0, tzinfo=MSK),  # a Wednesday noon: every line staffed
    ],
)
def test_every_waiting_ticket_of_a_demo_customer_shows_an_estimate(moment):
    with time_machine.travel(moment, tick=False):
        load(moment.date())
        waiting = list(
            Ticket.objects.filter(
                status__in=WAITING_STATUSES, assignee__isnull=True, customer__role=Role.CUSTOMER
            ).select_related("line")
        )
        standings = {ticket.number: ticket_standing(ticket=ticket) for ticket in waiting}
    assert waiting
    for number, standing in standings.items():
        estimate = standing.estimate
        assert standing.position is not None, number
        assert estimate.basis == ESTIMATE_ROSTER, number  # every demo line has a roster
        assert estimate.enough_data or estimate.closed, (number, estimate)
        if estimate.enough_data:
            assert 0 <= estimate.low_minutes < estimate.high_minutes
            assert 0 < estimate.probability <= DEFAULT_PROBABILITY
    showcase = next(t for t in waiting if t.customer.username == "customer" and t.line.code == "first-line")
    shown = standings[showcase.number].estimate
    assert shown.enough_data and not shown.closed  # the first line works around the clock
