"""Paid boosts: the quote, the purchase, the ledger, idempotency, the bound and the billing hook."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction

from accounts.tests.factories import CustomerFactory, PlanFactory
from helpdesk.errors import Conflict, DomainError, NotFound
from queues.models import BalanceEntry, Boost, BoostKind, BoostPrice, QueuePolicy
from queues.selectors import balance_of, boost_quote, queue_position
from queues.services import balance_credit, boost_buy
from queues.tests.factories import LineFactory
from tickets import events, services
from tickets.models import EventKind, Status, Ticket, TicketEvent, Urgency
from tickets.services import ticket_take_next
from tickets.tests.helpers import events_of, make_ticket

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MAX_CREDIT = 240
FRONT_PRICE = Decimal("200.00")
BEHIND_FIRST_PRICE = Decimal("50.00")
BUSINESS_FRONT_PRICE = Decimal("120.00")

BILLING_CALLS: list = []


def record_billing_call(entry) -> None:
    """The provider's billing, as the tests see it."""
    BILLING_CALLS.append(entry)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def local_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "boosts"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def billing_calls():
    BILLING_CALLS.clear()
    yield BILLING_CALLS
    BILLING_CALLS.clear()


@pytest.fixture(autouse=True)
def policy(db):
    return QueuePolicy.objects.create(max_credit_minutes=MAX_CREDIT)


@pytest.fixture
def business(db):
    return PlanFactory(code="business", level=2)


@pytest.fixture(autouse=True)
def prices(db, business):
    return {
        "front": BoostPrice.objects.create(kind=BoostKind.FRONT, price=FRONT_PRICE),
        "behind_first": BoostPrice.objects.create(kind=BoostKind.BEHIND_FIRST, price=BEHIND_FIRST_PRICE),
        "business_front": BoostPrice.objects.create(plan=business, kind=BoostKind.FRONT, price=BUSINESS_FRONT_PRICE),
    }


def plain_customer(**fields):
    """A new customer with no plan, spend or flags: no head start of their own."""
    return CustomerFactory(**({"profile__customer_since": T0.date()} | fields))


@pytest.fixture
def buyer(db):
    customer = plain_customer(username="buyer")
    balance_credit(customer=customer, amount=Decimal(500), description="top-up", reference="payment:1")
    return customer


def create_at(minutes: float, customer, **kwargs) -> Ticket:
    with time_machine.travel(at(minutes), tick=False):
        return make_ticket(customer, **kwargs)


def refetch(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def queue(line, buyer):
    """Two tickets ahead of the buyer's, all queued within the bound."""
    head = create_at(0, plain_customer())
    second = create_at(5, plain_customer())
    mine = create_at(10, buyer)
    return head, second, mine


def buy(ticket, customer, kind=BoostKind.FRONT, key="click-1", minutes=15):
    with time_machine.travel(at(minutes), tick=False):
        return boost_buy(ticket=ticket, customer=customer, kind=kind, idempotency_key=key)


def quote(ticket, customer, kind=BoostKind.FRONT, minutes=15):
    with time_machine.travel(at(minutes), tick=False):
        return boost_quote(ticket=refetch(ticket), customer=customer, kind=kind)


def charges(customer=None):
    entries = BalanceEntry.objects.filter(kind=BalanceEntry.Kind.CHARGE)
    return list(entries.filter(customer=customer) if customer else entries)


# --- quote ---------------------------------------------------------------------------


def test_the_quote_tells_the_position_now_and_after_and_the_price(queue, buyer):
    _head, _second, mine = queue
    offer = quote(mine, buyer)
    assert (offer.position_now, offer.position_after) == (3, 1)
    assert (offer.price, offer.currency) == (FRONT_PRICE, "RUB")
    assert offer.credit_minutes == 11  # 10 minutes behind the head, and a moment more
    assert offer.capped is False
    assert offer.max_credit_minutes == MAX_CREDIT
    assert offer.balance == Decimal(500)


def test_a_quote_charges_nothing_and_moves_nothing(queue, buyer):
    _head, _second, mine = queue
    quote(mine, buyer)
    assert charges() == []
    assert refetch(mine).virtual_time == mine.virtual_time
    assert not Boost.objects.exists()


def test_a_plan_with_its_own_price_is_quoted_that_price(line, business):
    customer = plain_customer(profile__support_plan=business)
    create_at(0, plain_customer())
    mine = create_at(5, customer)
    assert quote(mine, customer).price == BUSINESS_FRONT_PRICE
    # No plan price for this kind: the default.
    assert quote(mine, customer, kind=BoostKind.BEHIND_FIRST).price == BEHIND_FIRST_PRICE


def test_a_customer_without_a_plan_price_is_quoted_the_default(queue, buyer):
    assert quote(queue[2], buyer).price == FRONT_PRICE


def test_a_boost_without_any_price_is_not_offered(queue, buyer, prices):
    prices["behind_first"].delete()
    with pytest.raises(DomainError) as error:
        quote(queue[2], buyer, kind=BoostKind.BEHIND_FIRST)
    assert error.value.code == "boost_not_offered"


def test_an_unknown_kind_of_boost_is_refused(queue, buyer):
    with pytest.raises(DomainError) as error:
        quote(queue[2], buyer, kind="skip_everyone")
    assert error.value.code == "invalid"


# --- buying --------------------------------------------------------------------------


def test_buying_front_moves_the_ticket_to_position_one(queue, buyer):
    head, second, mine = queue
    boost = buy(mine, buyer)
    mine.refresh_from_db()
    assert queue_position(ticket=mine) == 1
    assert queue_position(ticket=refetch(head)) == 2
    assert queue_position(ticket=refetch(second)) == 3
    assert boost.kind == BoostKind.FRONT
    assert boost.credit_minutes == 11
    assert boost.price == FRONT_PRICE
    assert mine.credit_minutes == 11
    assert mine.weight_parts["boost"] == 11
    assert mine.queued_at == at(10)  # the place in time is kept; only the head start grows
    # Just ahead of the head, and no further than the whole minutes paid for.
    assert at(10) - dt.timedelta(minutes=11) <= mine.virtual_time < refetch(head).virtual_time


def test_buying_charges_the_ledger_once(queue, buyer):
    boost = buy(queue[2], buyer)
    [entry] = charges(buyer)
    assert entry.amount == -FRONT_PRICE
    assert entry.reference == "boost:click-1"
    assert entry.currency == "RUB"
    assert boost.ledger_entry == entry
    assert balance_of(buyer) == Decimal(300)


def test_buying_writes_a_boost_event(queue, buyer):
    _head, _second, mine = queue
    buy(mine, buyer)
    [event] = events_of(mine, EventKind.BOOST)
    assert event.actor == buyer
    assert event.data == {"boost": "front", "price": "200.00", "minutes": 11, "old": 3, "new": 1}
    assert event.created_at == at(15)


def test_the_boosted_ticket_is_taken_next(queue, buyer, agent):
    buy(queue[2], buyer)
    with time_machine.travel(at(20), tick=False):
        assert ticket_take_next(agent=agent).pk == queue[2].pk


def test_behind_first_puts_the_ticket_at_position_two(line, buyer):
    head = create_at(0, plain_customer())
    create_at(5, plain_customer())
    create_at(8, plain_customer())
    mine = create_at(10, buyer)
    offer = quote(mine, buyer, kind=BoostKind.BEHIND_FIRST)
    assert (offer.position_now, offer.position_after, offer.price) == (4, 2, BEHIND_FIRST_PRICE)
    buy(mine, buyer, kind=BoostKind.BEHIND_FIRST)
    assert queue_position(ticket=refetch(mine)) == 2
    assert queue_position(ticket=refetch(head)) == 1
    assert balance_of(buyer) == Decimal(450)


def test_behind_first_stays_behind_the_head_when_times_are_not_whole_minutes_apart(line, buyer):
    head = create_at(0, plain_customer())
    create_at(5, plain_customer())
    mine = create_at(10.5, buyer)  # 10 minutes 30 seconds after the head
    offer = quote(mine, buyer, kind=BoostKind.BEHIND_FIRST, minutes=11)
    assert offer.position_after == 2
    buy(mine, buyer, kind=BoostKind.BEHIND_FIRST, minutes=11)
    assert queue_position(ticket=refetch(head)) == 1
    assert queue_position(ticket=refetch(mine)) == 2


def test_the_head_cannot_buy_its_way_further_forward(queue, buyer):
    head, _second, _mine = queue
    customer = head.customer
    balance_credit(customer=customer, amount=Decimal(500), description="top-up")
    with pytest.raises(Conflict) as error:
        buy(head, customer)
    assert error.value.code == "nothing_to_gain"
    assert charges(customer) == []


# --- idempotency ---------------------------------------------------------------------


def test_the_same_key_twice_returns_the_same_boost_and_charges_once(queue, buyer):
    _head, _second, mine = queue
    first = buy(mine, buyer, key="double-click")
    second = buy(mine, buyer, key="double-click", minutes=16)
    assert second.pk == first.pk
    assert Boost.objects.count() == 1
    assert len(charges(buyer)) == 1
    assert balance_of(buyer) == Decimal(300)
    assert len(events_of(mine, EventKind.BOOST)) == 1
    assert refetch(mine).credit_minutes == 11


def test_the_same_key_for_another_ticket_is_a_conflict(queue, buyer):
    _head, _second, mine = queue
    other = create_at(12, buyer)
    buy(mine, buyer, key="reused")
    with pytest.raises(Conflict) as error:
        buy(other, buyer, key="reused")
    assert error.value.code == "idempotency_conflict"
    assert len(charges(buyer)) == 1
    assert refetch(other).virtual_time == other.virtual_time


def test_the_same_key_for_another_kind_is_a_conflict(queue, buyer):
    _head, _second, mine = queue
    buy(mine, buyer, key="reused")
    with pytest.raises(Conflict) as error:
        buy(mine, buyer, kind=BoostKind.BEHIND_FIRST, key="reused")
    assert error.value.code == "idempotency_conflict"
    assert len(charges(buyer)) == 1


@pytest.mark.parametrize("key", ["", "   ", "k" * 101])
def test_a_boost_needs_a_usable_idempotency_key(queue, buyer, key):
    with pytest.raises(DomainError) as error:
        buy(queue[2], buyer, key=key)
    assert error.value.field == "idempotency_key"
    assert charges() == []


# --- refusals ------------------------------------------------------------------------


def test_insufficient_balance_is_refused_and_nothing_is_charged(line):
    poor = plain_customer(username="poor")
    balance_credit(customer=poor, amount=Decimal(100), description="top-up")
    create_at(0, plain_customer())
    mine = create_at(10, poor)
    with pytest.raises(DomainError) as error:
        buy(mine, poor)
    assert error.value.code == "insufficient_balance"
    assert charges() == []
    assert not Boost.objects.exists()
    assert balance_of(poor) == Decimal(100)
    after = refetch(mine)
    assert (after.virtual_time, after.credit_minutes, after.weight_parts) == (
        mine.virtual_time,
        mine.credit_minutes,
        mine.weight_parts,
    )
    assert queue_position(ticket=after) == 2
    assert events_of(mine, EventKind.BOOST) == []


def test_a_customer_without_any_balance_cannot_buy(line):
    customer = plain_customer()
    create_at(0, plain_customer())
    mine = create_at(10, customer)
    with pytest.raises(DomainError) as error:
        buy(mine, customer)
    assert error.value.code == "insufficient_balance"
    assert balance_of(customer) == Decimal(0)


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.WAITING_CUSTOMER])
def test_a_ticket_not_waiting_cannot_be_boosted(queue, buyer, agent, status):
    _head, _second, mine = queue
    with time_machine.travel(at(12), tick=False):
        if status == Status.IN_PROGRESS:
            services.ticket_take(ticket=mine, agent=agent)
        else:
            services.message_add(ticket=mine, author=agent, body="Which server?", wait_for_customer=True)
            services.ticket_release(ticket=mine, agent=agent)
    assert refetch(mine).status == status
    with pytest.raises(Conflict) as error:
        quote(mine, buyer)
    assert error.value.code == "not_waiting"
    with pytest.raises(Conflict) as error:
        buy(mine, buyer)
    assert error.value.code == "not_waiting"
    assert charges() == []


def test_another_customers_ticket_is_not_found(queue, buyer):
    head, _second, _mine = queue
    with pytest.raises(NotFound):
        quote(head, buyer)
    with pytest.raises(NotFound):
        buy(head, buyer)
    assert charges() == []
    assert refetch(head).virtual_time == head.virtual_time
    assert events_of(head, EventKind.BOOST) == []


# --- the starvation bound ------------------------------------------------------------


def test_front_is_capped_by_the_bound_when_the_head_waited_longer(line, buyer):
    head = create_at(0, plain_customer())
    middle = create_at(200, plain_customer())
    mine = create_at(300, buyer)  # the head was queued 300 > 240 minutes earlier
    offer = quote(mine, buyer, minutes=301)
    assert offer.capped is True
    assert offer.credit_minutes == MAX_CREDIT
    assert (offer.position_now, offer.position_after) == (3, 2)
    buy(mine, buyer, minutes=301)
    mine.refresh_from_db()
    assert mine.credit_minutes == MAX_CREDIT
    assert mine.virtual_time == at(300 - MAX_CREDIT)
    assert queue_position(ticket=refetch(head)) == 1
    assert queue_position(ticket=mine) == 2
    assert queue_position(ticket=refetch(middle)) == 3


def test_a_boost_adds_only_what_the_bound_leaves_above_the_own_credit(line, business):
    vip = plain_customer(profile__is_vip=True, profile__support_plan=business)  # 60 + 40 minutes
    balance_credit(customer=vip, amount=Decimal(500), description="top-up")
    head = create_at(0, plain_customer())
    middle = create_at(150, plain_customer())  # passed: queued within the bound before the boost's place
    mine = create_at(300, vip)
    assert mine.credit_minutes == 100
    offer = quote(mine, vip, minutes=301)
    assert offer.capped is True
    assert offer.credit_minutes == MAX_CREDIT - 100
    assert (offer.position_now, offer.position_after) == (3, 2)
    buy(mine, vip, minutes=301)
    mine.refresh_from_db()
    assert mine.credit_minutes == MAX_CREDIT
    assert mine.weight_parts["boost"] == MAX_CREDIT - 100
    assert queue_position(ticket=refetch(head)) == 1
    assert queue_position(ticket=refetch(middle)) == 3


def test_a_ticket_already_at_the_bound_has_nothing_to_buy(line, buyer):
    create_at(0, plain_customer())
    create_at(200, plain_customer())
    mine = create_at(300, buyer)
    buy(mine, buyer, key="first", minutes=301)
    with pytest.raises(Conflict) as error:
        buy(mine, buyer, key="second", minutes=302)
    assert error.value.code == "nothing_to_gain"
    assert len(charges(buyer)) == 1


# --- the boost and later changes -----------------------------------------------------


def test_an_urgency_change_keeps_the_boost(queue, buyer, agent):
    _head, _second, mine = queue
    buy(mine, buyer)
    with time_machine.travel(at(20), tick=False):
        services.ticket_set_urgency(ticket=mine, actor=agent, urgency=Urgency.HIGH, reason="site down")
    mine.refresh_from_db()
    assert mine.weight_parts["boost"] == 11
    assert mine.weight_parts["urgency"] == 30
    assert mine.credit_minutes == 41
    assert mine.queued_at == at(10)


def test_a_boost_does_not_carry_over_to_a_new_wait(queue, buyer, agent):
    _head, _second, mine = queue
    line2 = LineFactory(code="second-line", level=2)
    buy(mine, buyer)
    with time_machine.travel(at(30), tick=False):
        services.ticket_transfer(ticket=mine, actor=agent, to_line=line2, reason="needs the second line")
    mine.refresh_from_db()
    assert "boost" not in mine.weight_parts
    assert mine.credit_minutes == 0
    assert mine.queued_at == at(30)


# --- the billing hook ----------------------------------------------------------------


def billing(callbacks) -> list:
    """The callbacks run after the commit, without the ticket events' hooks (live updates)."""
    return [callback for callback in callbacks if getattr(callback, "func", None) not in events.EVENT_HOOKS]


def test_the_billing_hook_is_called_after_commit(
    queue, buyer, settings, billing_calls, django_capture_on_commit_callbacks
):
    settings.BILLING_HOOK = f"{__name__}.record_billing_call"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        boost = buy(queue[2], buyer)
        assert billing_calls == []  # not before the commit
    assert len(billing(callbacks)) == 1
    [entry] = billing_calls
    assert entry.pk == boost.ledger_entry_id
    assert entry.reference == "boost:click-1"
    assert entry.amount == -FRONT_PRICE


def test_the_billing_hook_is_called_once_for_a_repeated_key(
    queue, buyer, settings, billing_calls, django_capture_on_commit_callbacks
):
    settings.BILLING_HOOK = f"{__name__}.record_billing_call"
    with django_capture_on_commit_callbacks(execute=True):
        buy(queue[2], buyer, key="same")
        buy(queue[2], buyer, key="same")
    assert len(billing_calls) == 1


def test_the_billing_hook_is_not_called_when_the_transaction_rolls_back(
    queue, buyer, settings, billing_calls, django_capture_on_commit_callbacks
):
    settings.BILLING_HOOK = f"{__name__}.record_billing_call"

    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Abort), transaction.atomic():
        buy(queue[2], buyer)
        raise Abort
    assert callbacks == []
    assert billing_calls == []
    assert not Boost.objects.exists()
    assert charges() == []
    assert not TicketEvent.objects.filter(kind=EventKind.BOOST).exists()


def test_the_billing_hook_is_not_called_for_a_refused_purchase(
    line, settings, billing_calls, django_capture_on_commit_callbacks
):
    settings.BILLING_HOOK = f"{__name__}.record_billing_call"
    poor = plain_customer()
    create_at(0, plain_customer())
    mine = create_at(10, poor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(DomainError):
        buy(mine, poor)
    assert callbacks == []
    assert billing_calls == []


def test_without_a_billing_hook_nothing_is_scheduled(queue, buyer, settings, django_capture_on_commit_callbacks):
    settings.BILLING_HOOK = ""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        buy(queue[2], buyer)
    assert billing(callbacks) == []


# --- two clicks at once --------------------------------------------------------------


def wait_for_a_lock_wait(timeout: float = 10.0) -> None:
    """Until another connection of this database waits for a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second click never waited for the first")


@pytest.mark.django_db(transaction=True)
def test_a_second_click_waiting_for_the_first_gets_the_same_boost(line):
    customer = plain_customer(username="clicker")
    balance_credit(customer=customer, amount=Decimal(500), description="top-up")
    create_at(0, plain_customer())
    mine = create_at(10, customer)
    outcome = {}

    def second_click():
        try:
            outcome["boost"] = boost_buy(
                ticket=mine, customer=customer, kind=BoostKind.FRONT, idempotency_key="both-clicks"
            )
        except Exception as exc:  # the outcome is asserted below
            outcome["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        first = boost_buy(ticket=mine, customer=customer, kind=BoostKind.FRONT, idempotency_key="both-clicks")
        thread = threading.Thread(target=second_click)
        thread.start()
        wait_for_a_lock_wait()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(charges(customer)) == 1
    assert outcome.get("error") is None
    assert outcome["boost"].pk == first.pk
