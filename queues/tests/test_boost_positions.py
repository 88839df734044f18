"""A boost is sold only when it moves the ticket: every position at which one could be offered.

For each place in a queue of six (and for a bound that stops the boost short), both kinds:
what the panel offers, what the quote says, and what buying does. A boost that would leave
the ticket where it is is neither offered nor charged, whatever credit it would add.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache

from accounts.tests.factories import CustomerFactory
from helpdesk.errors import Conflict
from queues.models import BalanceEntry, BoostKind, BoostPrice, QueuePolicy
from queues.selectors import boost_offers, boost_quote, queue_position
from queues.services import balance_credit, boost_buy
from tickets.models import Ticket
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MAX_CREDIT = 240
QUEUE_LENGTH = 6
# Where each kind takes the ticket; a ticket already there (or ahead) gains nothing.
TARGET = {BoostKind.FRONT: 1, BoostKind.BEHIND_FIRST: 2}


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def setup(settings, line):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pos"}}
    cache.clear()
    QueuePolicy.objects.create(max_credit_minutes=MAX_CREDIT)
    BoostPrice.objects.create(kind=BoostKind.FRONT, price=Decimal(200))
    BoostPrice.objects.create(kind=BoostKind.BEHIND_FIRST, price=Decimal(50))
    yield
    cache.clear()


def plain_customer():
    """No plan, spend or flags: no head start, so the queue is in order of arrival."""
    return CustomerFactory(profile__customer_since=T0.date())


def queue_with_mine_at(position: int, gap_minutes: float = 5) -> tuple[Ticket, object, list[Ticket]]:
    """A queue of QUEUE_LENGTH tickets, `gap_minutes` apart, the buyer's at `position`."""
    buyer = plain_customer()
    balance_credit(customer=buyer, amount=Decimal(1000), description="top-up")
    tickets = []
    for place in range(1, QUEUE_LENGTH + 1):
        with time_machine.travel(at(place * gap_minutes), tick=False):
            tickets.append(make_ticket(buyer if place == position else plain_customer()))
    return tickets[position - 1], buyer, tickets


@pytest.mark.parametrize("kind", [BoostKind.FRONT, BoostKind.BEHIND_FIRST])
@pytest.mark.parametrize("position", range(1, QUEUE_LENGTH + 1))
def test_a_boost_is_offered_and_charged_only_when_it_moves_the_ticket(position, kind):
    mine, buyer, tickets = queue_with_mine_at(position)
    moves = position > TARGET[kind]
    with time_machine.travel(at(60), tick=False):
        offered = {offer["kind"]: offer["quote"] for offer in boost_offers(Ticket.objects.get(pk=mine.pk), buyer)}
        quote = boost_quote(ticket=Ticket.objects.get(pk=mine.pk), customer=buyer, kind=kind)
        assert quote.position_now == position
        if moves:
            assert kind in offered
            assert (quote.position_after, offered[kind].position_after) == (TARGET[kind], TARGET[kind])
            assert quote.credit_minutes > 0
            boost_buy(ticket=mine, customer=buyer, kind=kind, idempotency_key=f"k-{position}-{kind}")
            assert queue_position(ticket=Ticket.objects.get(pk=mine.pk)) == TARGET[kind]
            assert BalanceEntry.objects.filter(customer=buyer, kind=BalanceEntry.Kind.CHARGE).count() == 1
        else:
            assert kind not in offered
            assert quote.position_after == position
            assert quote.credit_minutes == 0
            key_before = Ticket.objects.get(pk=mine.pk).virtual_time
            with pytest.raises(Conflict) as error:
                boost_buy(ticket=mine, customer=buyer, kind=kind, idempotency_key=f"k-{position}-{kind}")
            assert error.value.code == "nothing_to_gain"
            assert not BalanceEntry.objects.filter(customer=buyer, kind=BalanceEntry.Kind.CHARGE).exists()
            assert Ticket.objects.get(pk=mine.pk).virtual_time == key_before
    # Nobody else moved relative to each other.
    others = [t for t in tickets if t.pk != mine.pk]
    with time_machine.travel(at(60), tick=False):
        places = [queue_position(ticket=Ticket.objects.get(pk=t.pk)) for t in others]
    assert places == sorted(places)


@pytest.mark.parametrize("kind", [BoostKind.FRONT, BoostKind.BEHIND_FIRST])
@pytest.mark.parametrize("position", range(2, QUEUE_LENGTH + 1))
def test_a_boost_the_bound_stops_before_it_passes_anyone_is_not_sold(position, kind):
    # Tickets an hour apart: the bound lets the buyer's ticket pass those queued less than
    # 240 minutes earlier, and no further.
    mine, buyer, _tickets = queue_with_mine_at(position, gap_minutes=300)
    with time_machine.travel(at(position * 300 + 1), tick=False):
        offered = {offer["kind"] for offer in boost_offers(Ticket.objects.get(pk=mine.pk), buyer)}
        quote = boost_quote(ticket=Ticket.objects.get(pk=mine.pk), customer=buyer, kind=kind)
        # Every ticket ahead was queued 300 minutes or more earlier: the bound keeps them all ahead.
        assert quote.position_after == position
        assert quote.credit_minutes == 0
        assert kind not in offered
        with pytest.raises(Conflict) as error:
            boost_buy(ticket=mine, customer=buyer, kind=kind, idempotency_key=f"capped-{position}-{kind}")
        assert error.value.code == "nothing_to_gain"
    assert not BalanceEntry.objects.filter(customer=buyer, kind=BalanceEntry.Kind.CHARGE).exists()
