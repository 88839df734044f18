"""The starvation bound, as a property: no ticket is ever taken after one queued more than
`max_credit_minutes` later, whatever the customers' weights and the boosts they buy."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import CustomerFactory, PlanFactory
from helpdesk.errors import Conflict
from queues.models import BoostKind, BoostPrice, QueuePolicy
from queues.services import balance_credit, boost_buy
from tickets.models import Ticket, Urgency
from tickets.services import ticket_take_next
from tickets.tests.helpers import make_ticket

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MAX = 240

DB_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def violations(order: list[tuple[int, float]], bound: float) -> list[tuple[int, int]]:
    """Pairs (earlier, later) in `order` of (id, arrival) where the earlier-served ticket
    arrived more than `bound` after the later-served one."""
    found = []
    for index, (ticket_id, arrival) in enumerate(order):
        for before_id, before_arrival in order[:index]:
            if before_arrival > arrival + bound:
                found.append((before_id, ticket_id))
    return found


# --- property 1: the ordering rule itself ---------------------------------------------

arrivals_and_credits = st.lists(
    st.tuples(st.integers(min_value=0, max_value=4 * MAX), st.integers(min_value=0, max_value=MAX)),
    min_size=1,
    max_size=60,
)


@settings(database=None)
@given(arrivals_and_credits)
def test_ordering_by_arrival_minus_credit_respects_the_bound(tickets):
    keyed = [(arrival - credit, ticket_id, arrival) for ticket_id, (arrival, credit) in enumerate(tickets)]
    order = [(ticket_id, arrival) for _key, ticket_id, arrival in sorted(keyed)]
    assert violations(order, MAX) == []


@settings(database=None)
@given(arrivals_and_credits, st.integers(min_value=0, max_value=MAX))
def test_a_lower_bound_is_respected_with_credits_held_to_it(tickets, bound):
    keyed = [(arrival - min(credit, bound), i, arrival) for i, (arrival, credit) in enumerate(tickets)]
    order = [(ticket_id, arrival) for _key, ticket_id, arrival in sorted(keyed)]
    assert violations(order, bound) == []


def test_the_checker_finds_a_ticket_overtaken_beyond_the_bound():
    # Without the cap, a credit of MAX + 1 minutes lets a later ticket jump an earlier one.
    assert violations([(2, MAX + 1), (1, 0)], MAX) == [(2, 1)]
    assert violations([(2, MAX), (1, 0)], MAX) == []


# --- property 2: the real queue -------------------------------------------------------

customer_profiles = st.fixed_dictionaries(
    {
        "vip": st.booleans(),
        "problematic": st.booleans(),
        "spend": st.sampled_from([0, 500, 9_000, 250_000, 5_000_000]),
        "tenure_days": st.integers(min_value=0, max_value=20 * 366),
        "requests": st.sampled_from([0, 3, 40]),
        "plan_level": st.sampled_from([None, 0, 1, 2, 3]),
    }
)

ticket_specs = st.lists(
    st.fixed_dictionaries(
        {
            # Minutes and seconds after T0: arrivals are not whole minutes apart.
            "arrival_seconds": st.integers(min_value=0, max_value=3 * MAX * 60),
            "urgency": st.sampled_from(Urgency.values),
            "profile": customer_profiles,
            "boost": st.booleans(),
        }
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def local_cache(settings):
    """A private cache, so a plan's cached average from another test cannot leak in."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "starvation"}
    }
    cache.clear()
    yield
    cache.clear()


class RollBack(Exception):
    """Ends an example and undoes its rows, so examples do not see each other's tickets."""


def make_customer(profile: dict, n: int):
    fields = {
        "profile__is_vip": profile["vip"],
        "profile__is_problematic": profile["problematic"],
        "profile__spend_12m": Decimal(profile["spend"]),
        "profile__customer_since": T0.date() - dt.timedelta(days=profile["tenure_days"]),
        "profile__requests_12m": profile["requests"],
    }
    if profile["plan_level"] is not None:
        level = profile["plan_level"]
        fields["profile__support_plan"] = PlanFactory(code=f"level-{level}", level=level)
    return CustomerFactory(username=f"starving-{n}", **fields)


def fill_queue(specs: list[dict], max_credit: int) -> list[Ticket]:
    QueuePolicy.objects.all().delete()
    QueuePolicy.objects.create(max_credit_minutes=max_credit)
    tickets = []
    for n, spec in enumerate(specs):
        customer = make_customer(spec["profile"], n)
        with time_machine.travel(T0 + dt.timedelta(seconds=spec["arrival_seconds"]), tick=False):
            tickets.append(make_ticket(customer, urgency=spec["urgency"]))
    return tickets


def drain(agent, now: dt.datetime) -> list[Ticket]:
    taken = []
    with time_machine.travel(now, tick=False):
        while (ticket := ticket_take_next(agent=agent)) is not None:
            taken.append(ticket)
    return taken


def assert_bound_holds(taken: list[Ticket], tickets: list[Ticket], max_credit: int) -> None:
    assert sorted(t.pk for t in taken) == sorted(t.pk for t in tickets)
    stored = {t.pk: t for t in Ticket.objects.filter(pk__in=[t.pk for t in taken])}
    for ticket in stored.values():
        assert 0 <= ticket.credit_minutes <= max_credit
        # The key is at most the head start paid for ahead of the arrival, and never beyond the bound.
        assert ticket.queued_at - dt.timedelta(minutes=ticket.credit_minutes) <= ticket.virtual_time
        assert ticket.virtual_time >= ticket.queued_at - dt.timedelta(minutes=max_credit)
    order = [(t.pk, stored[t.pk].queued_at.timestamp() / 60) for t in taken]
    assert violations(order, max_credit) == []


def end_of(specs: list[dict]) -> dt.datetime:
    return T0 + dt.timedelta(seconds=max(spec["arrival_seconds"] for spec in specs) + 60)


@pytest.mark.django_db
@DB_SETTINGS
@given(specs=ticket_specs, max_credit=st.sampled_from([30, 120, MAX]))
def test_the_queue_never_serves_a_ticket_after_one_queued_beyond_the_bound(line, agent, local_cache, specs, max_credit):
    try:
        with transaction.atomic():
            tickets = fill_queue(specs, max_credit)
            taken = drain(agent, end_of(specs))
            assert_bound_holds(taken, tickets, max_credit)
            raise RollBack
    except RollBack:
        pass


@pytest.mark.django_db
@DB_SETTINGS
@given(specs=ticket_specs, max_credit=st.sampled_from([30, 120, MAX]))
def test_boosts_never_break_the_bound(line, agent, local_cache, specs, max_credit):
    try:
        with transaction.atomic():
            BoostPrice.objects.create(kind=BoostKind.FRONT, price=Decimal(100))
            tickets = fill_queue(specs, max_credit)
            now = end_of(specs)
            with time_machine.travel(now, tick=False):
                for n, (spec, ticket) in enumerate(zip(specs, tickets, strict=True)):
                    if not spec["boost"]:
                        continue
                    balance_credit(customer=ticket.customer, amount=Decimal(100), description="top-up")
                    try:
                        boost_buy(
                            ticket=ticket, customer=ticket.customer, kind=BoostKind.FRONT, idempotency_key=f"b{n}"
                        )
                    except Conflict as error:
                        assert error.code == "nothing_to_gain"
            taken = drain(agent, now + dt.timedelta(minutes=1))
            assert_bound_holds(taken, tickets, max_credit)
            raise RollBack
    except RollBack:
        pass
