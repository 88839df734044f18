"""The estimated wait: the queue's own model (queues.estimate) and what the customer is told."""

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.estimate import DEFAULT_PROBABILITY, Overtaking, regularized_gamma, wait_range
from queues.models import QueuePolicy
from queues.selectors import (
    ESTIMATE_PACE,
    ESTIMATE_ROSTER,
    WaitInputs,
    estimate_inputs,
    line_measurements,
    queue_estimate,
    queue_position,
)
from shifts.models import Shift, ShiftException
from tickets import services
from tickets.models import Ticket
from tickets.tests.helpers import make_ticket

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MON = dt.datetime(2026, 11, 30, tzinfo=MSK)  # a Monday


def hours(h: float) -> dt.timedelta:
    return dt.timedelta(hours=h)


def steady(per_hour: float, days: float = 7):
    return [((NOW, NOW + dt.timedelta(days=days)), per_hour)]


# --- the model, pure ---------------------------------------------------------------------


def test_the_gamma_function_is_the_erlang_and_exponential_where_they_are_known():
    assert regularized_gamma(1, 2) == pytest.approx(1 - math.exp(-2))
    # Erlang(3) at x: 1 - e^-x (1 + x + x²/2)
    x = 2.5
    assert regularized_gamma(3, x) == pytest.approx(1 - math.exp(-x) * (1 + x + x * x / 2))
    assert regularized_gamma(400, 400) == pytest.approx(0.5, abs=0.02)
    assert regularized_gamma(5, 0) == 0


def test_with_exponential_handling_the_first_in_the_queue_waits_an_exponential_time():
    # Three items an hour: the next completion comes after an exponential wait with a mean of 20 minutes.
    found = wait_range(now=NOW, ahead=0, capacity=steady(3), service_cv2=1.0)
    tail = (1 - DEFAULT_PROBABILITY) / 2
    assert found.low_minutes == pytest.approx(-20 * math.log(1 - tail), abs=0.05)
    assert found.high_minutes == pytest.approx(-20 * math.log(tail), abs=0.05)
    assert found.probability == DEFAULT_PROBABILITY
    assert found.opens_at is None


def test_the_range_grows_with_the_items_ahead_and_narrows_relative_to_it():
    ranges = [wait_range(now=NOW, ahead=ahead, capacity=steady(3), service_cv2=0.75) for ahead in (0, 2, 20, 60)]
    lows = [r.low_minutes for r in ranges]
    assert lows == sorted(lows)
    ratios = [r.high_minutes / r.low_minutes for r in ranges]
    assert ratios == sorted(ratios, reverse=True)
    # 61 items at 20 minutes each: about 20 hours.
    assert ranges[-1].low_minutes < 61 * 20 < ranges[-1].high_minutes


def test_beyond_five_items_ahead_the_range_is_at_most_a_doubling_and_says_its_lower_chance():
    wide = wait_range(now=NOW, ahead=4, capacity=steady(3), service_cv2=1.0)
    assert wide.high_minutes > 2 * wide.low_minutes and wide.probability == DEFAULT_PROBABILITY
    narrowed = wait_range(now=NOW, ahead=5, capacity=steady(3), service_cv2=1.0)
    assert narrowed.high_minutes == pytest.approx(2 * narrowed.low_minutes)
    assert 0.5 < narrowed.probability < DEFAULT_PROBABILITY


def test_more_agents_on_duty_later_shorten_the_wait():
    flat = wait_range(now=NOW, ahead=8, capacity=steady(3))
    reinforced = wait_range(
        now=NOW, ahead=8, capacity=[((NOW, NOW + hours(1)), 3), ((NOW + hours(1), NOW + hours(200)), 9)]
    )
    assert reinforced.median_minutes < flat.median_minutes
    assert reinforced.median_minutes > 60  # the first hour still runs at the slower pace


def test_agents_coming_on_duty_each_take_an_item_at_once():
    plain = wait_range(now=NOW, ahead=8, capacity=steady(3))
    # A shift change in an hour: three agents hand over to three others, who each take one at once.
    handover = wait_range(now=NOW, ahead=8, capacity=steady(3), starting=[NOW + hours(1)] * 3)
    assert handover.median_minutes < plain.median_minutes - 40
    # Agents who came on duty before now are no news.
    assert wait_range(now=NOW, ahead=8, capacity=steady(3), starting=[NOW, NOW - hours(1)]) == plain


def test_arrivals_with_more_head_start_overtake_only_within_the_bound():
    everybody_ahead = Overtaking(arrivals_per_hour=[6] * 24, share_above=[1.0] * 240 + [0.0])
    alone = wait_range(now=NOW, ahead=3, capacity=steady(6))
    overtaken = wait_range(now=NOW, ahead=3, capacity=steady(6), overtaking=everybody_ahead)
    assert overtaken.median_minutes > alone.median_minutes + 30
    # A ticket that has waited the whole bound cannot be overtaken any more.
    waited_out = wait_range(now=NOW, ahead=3, capacity=steady(6), overtaking=everybody_ahead, waited_minutes=240)
    assert waited_out.median_minutes == pytest.approx(alone.median_minutes)
    # Nobody arriving with more head start than this ticket's own: nobody overtakes.
    nobody = Overtaking(arrivals_per_hour=[6] * 24, share_above=[1.0] * 60 + [0.0] * 181)
    same = wait_range(now=NOW, ahead=3, capacity=steady(6), overtaking=nobody, credit_minutes=60)
    assert same.median_minutes == pytest.approx(alone.median_minutes)


def test_a_closed_stretch_before_the_likely_turn_is_told_by_the_opening():
    capacity = [
        ((NOW, NOW + hours(0.5)), 4),
        ((NOW + hours(0.5), NOW + hours(16)), 0),
        ((NOW + hours(16), NOW + hours(60)), 4),
    ]
    found = wait_range(now=NOW, ahead=10, capacity=capacity)
    assert found.closes_at == NOW + hours(0.5)
    assert found.opens_at == NOW + hours(16)
    assert found.low_minutes > 16 * 60
    # Reached before the line closes: no opening to tell.
    assert (
        wait_range(
            now=NOW, ahead=0, capacity=[((NOW, NOW + hours(8)), 12), ((NOW + hours(8), NOW + hours(30)), 0)]
        ).opens_at
        is None
    )


def test_no_capacity_in_sight_gives_no_range():
    assert wait_range(now=NOW, ahead=0, capacity=[((NOW, NOW + hours(24)), 0)]) is None
    assert wait_range(now=NOW, ahead=50, capacity=[((NOW, NOW + hours(1)), 3)]) is None


def test_the_same_function_serves_any_items_waiting_for_a_person():
    # A chat waiting for an agent: two chats ahead, two agents, ten minutes a chat.
    found = wait_range(now=NOW, ahead=2, capacity=steady(12), service_cv2=0.5)
    assert found.low_minutes < 15 < found.high_minutes


# --- measured from the audit trail, told to the customer -----------------------------------


@pytest.fixture
def local_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "est"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queue_setup(db, local_cache, line, agent):
    QueuePolicy.objects.create(max_credit_minutes=240)
    second = AgentFactory(username="agent-b")
    line.memberships.create(user=second)
    return [agent, second]


def plain_customer():
    return CustomerFactory(profile__customer_since=dt.date(2026, 1, 1))


def handle(agent, start: dt.datetime, minutes: float) -> Ticket:
    """A ticket filed, taken by `agent` at `start` and resolved `minutes` later."""
    with time_machine.travel(start - dt.timedelta(minutes=1), tick=False):
        ticket = make_ticket(plain_customer())
    with time_machine.travel(start, tick=False):
        services.ticket_take(ticket=ticket, agent=agent)
    with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
        services.ticket_resolve(ticket=ticket, actor=agent)
    return ticket


def office_hours(line, agents, start=dt.time(10), end=dt.time(18)):
    for agent in agents:
        for weekday in range(5):
            Shift.objects.create(
                agent=agent, line=line, weekday=weekday, starts_at=start, ends_at=end, time_zone="Europe/Moscow"
            )


def queue_of(count: int, at: dt.datetime) -> list[Ticket]:
    tickets = []
    for i in range(count):
        with time_machine.travel(at + dt.timedelta(minutes=i), tick=False):
            tickets.append(make_ticket(plain_customer()))
    return tickets


def test_the_handling_time_is_measured_from_take_to_the_end_of_in_progress(queue_setup, line):
    first, second = queue_setup
    morning = MON.replace(hour=10)
    for i in range(6):
        handle(first, morning + dt.timedelta(minutes=30 * i), 20)
        handle(second, morning + dt.timedelta(minutes=30 * i), 40)
    # The second agent's tickets overlap (40 minutes each, taken every 30): busy time counts once.
    measured = line_measurements(line=line, now=MON.replace(hour=14))
    assert measured.takes == 12
    # First agent: 6 × 20 = 120 minutes busy; second: 10:00 to 13:10 without gaps = 190 minutes.
    assert measured.handling_minutes == pytest.approx((120 + 190) / 12)
    assert measured.handling_cv2 > 0


def test_a_ticket_whose_line_closes_before_its_turn_is_told_when_the_line_opens(queue_setup, line, customer):
    agents = queue_setup
    office_hours(line, agents)
    morning = MON.replace(hour=10)
    for i in range(10):
        handle(agents[i % 2], morning + dt.timedelta(minutes=30 * (i // 2)), 30)
    queue_of(9, MON.replace(hour=17, minute=10))
    with time_machine.travel(MON.replace(hour=17, minute=25), tick=False):
        mine = make_ticket(customer)
    evening = MON.replace(hour=17, minute=40)
    with time_machine.travel(evening, tick=False):
        assert queue_position(ticket=mine) == 10
        estimate = queue_estimate(ticket=Ticket.objects.get(pk=mine.pk))
        client = APIClient()
        client.force_authenticate(customer)
        api = client.get(f"/api/v1/tickets/{mine.number}/queue/").json()["estimate"]
        page = Client()
        page.force_login(customer)
        html = page.get(reverse("panel-ticket-standing", args=[mine.number])).content.decode()
    tuesday_ten = (MON + dt.timedelta(days=1)).replace(hour=10)
    inputs = estimate_inputs(ticket=Ticket.objects.get(pk=mine.pk), position=10, now=evening)
    assert isinstance(inputs, WaitInputs)
    assert inputs.starting[:2] == [tuesday_ten, tuesday_ten]  # both agents come back on Tuesday
    assert estimate.basis == ESTIMATE_ROSTER and estimate.agents_on_duty == 2
    assert estimate.closed
    assert estimate.closes_at == MON.replace(hour=18)
    assert estimate.opens_at == tuesday_ten
    assert estimate.likely_from >= tuesday_ten
    assert api["closed"] is True
    assert dt.datetime.fromisoformat(api["opens_at"]) == tuesday_ten
    assert 'data-testid="line-closed"' in html
    assert "10:00" in html
    assert "minutes" not in html.split('data-testid="line-closed"')[1].split("</p>")[0]


def test_a_line_closed_now_says_when_it_opens_even_before_anything_was_measured(queue_setup, line, customer):
    office_hours(line, queue_setup)
    saturday = MON - dt.timedelta(days=2)
    with time_machine.travel(saturday.replace(hour=12), tick=False):
        mine = make_ticket(customer)
        estimate = queue_estimate(ticket=Ticket.objects.get(pk=mine.pk))
    assert estimate.closed and not estimate.enough_data
    assert estimate.opens_at == MON.replace(hour=10)


def test_an_open_line_gives_a_range_from_the_agents_on_duty_and_the_handling_time(queue_setup, line, customer):
    agents = queue_setup
    office_hours(line, agents)
    morning = MON.replace(hour=10)
    for i in range(10):
        handle(agents[i % 2], morning + dt.timedelta(minutes=30 * (i // 2)), 30)
    queue_of(3, MON.replace(hour=13))
    with time_machine.travel(MON.replace(hour=13, minute=5), tick=False):
        mine = make_ticket(customer)
        estimate = queue_estimate(ticket=Ticket.objects.get(pk=mine.pk))
        client = APIClient()
        client.force_authenticate(customer)
        api = client.get(f"/api/v1/tickets/{mine.number}/queue/").json()["estimate"]
    # Two agents at 30 minutes a ticket: four an hour; the fourth in the queue in about an hour.
    assert (estimate.basis, estimate.agents_on_duty, estimate.handling_minutes) == (ESTIMATE_ROSTER, 2, 30.0)
    assert estimate.takes_per_hour == 4.0
    assert not estimate.closed
    assert estimate.low_minutes < 60 < estimate.high_minutes
    assert estimate.probability == DEFAULT_PROBABILITY
    assert (api["low_minutes"], api["high_minutes"], api["probability"]) == (
        estimate.low_minutes,
        estimate.high_minutes,
        DEFAULT_PROBABILITY,
    )


def test_an_absence_takes_the_agent_out_of_the_estimate(queue_setup, line, customer):
    agents = queue_setup
    office_hours(line, agents)
    morning = MON.replace(hour=10)
    for i in range(10):
        handle(agents[i % 2], morning + dt.timedelta(minutes=30 * (i // 2)), 30)
    queue_of(3, MON.replace(hour=13))
    with time_machine.travel(MON.replace(hour=13, minute=5), tick=False):
        mine = make_ticket(customer)
    both = queue_estimate(ticket=Ticket.objects.get(pk=mine.pk), now=MON.replace(hour=13, minute=6))
    ShiftException.objects.create(
        agent=agents[1], kind=ShiftException.Kind.SICK, starts_at=MON.replace(hour=12), ends_at=MON.replace(hour=23)
    )
    alone = queue_estimate(ticket=Ticket.objects.get(pk=mine.pk), now=MON.replace(hour=13, minute=6))
    assert alone.agents_on_duty == 1
    assert alone.low_minutes > both.low_minutes


def test_a_line_without_a_roster_keeps_working_from_its_pace(queue_setup, line, customer):
    agents = queue_setup
    queue_of(12, NOW - hours(5))
    for i in range(6):
        with time_machine.travel(NOW + dt.timedelta(minutes=i), tick=False):
            services.ticket_take_next(agent=agents[i % 2])
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        mine = make_ticket(customer)
    waiting = Ticket.objects.get(pk=mine.pk)
    estimate = queue_estimate(ticket=waiting, now=NOW + dt.timedelta(minutes=30))
    assert estimate.basis == ESTIMATE_PACE and estimate.window_hours == 1
    # Six takes an hour, seven tickets from the front: about 70 minutes.
    assert queue_position(ticket=waiting) == 7
    assert estimate.low_minutes < 70 < estimate.high_minutes
    assert estimate.high_minutes <= 2 * estimate.low_minutes
