"""The weighted queue through the ticket services: order, keeping the place, positions and waits."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache

from accounts.tests.factories import AgentFactory, CustomerFactory, PlanFactory
from queues.models import QueuePolicy
from queues.selectors import PACE_MIN_TAKES, line_pace, queue_estimate, queue_position
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import EventKind, Status, Ticket, TicketEvent, Urgency
from tickets.services import ticket_take_next
from tickets.tests.helpers import events_of, make_ticket, ticket_in_status

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MAX_CREDIT = 240


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def local_cache(settings):
    """A private cache, so a plan's cached average from another test cannot leak in."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "queue"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def policy(db):
    return QueuePolicy.objects.create(max_credit_minutes=MAX_CREDIT)


@pytest.fixture
def line2(db):
    return LineFactory(code="second-line", name="Second line", level=2)


@pytest.fixture
def colleagues(line):
    """Two more agents of the first line."""
    users = [AgentFactory(username=f"agent-{name}") for name in ("b", "c")]
    for user in users:
        line.memberships.create(user=user)
    return users


def plain_customer(username=None):
    """A new customer with no plan, no spend and no flags: no head start."""
    fields = {"profile__customer_since": T0.date()}
    if username:
        fields["username"] = username
    return CustomerFactory(**fields)


def valuable_customer(username=None):
    """Four years with us, VIP, a level-2 plan and 9,000 spent: 24 + 60 + 40 + 20 = 144 minutes."""
    plan = PlanFactory(code="business", level=2)
    fields = {
        "profile__customer_since": T0.date() - dt.timedelta(days=1461),
        "profile__is_vip": True,
        "profile__support_plan": plan,
        "profile__spend_12m": Decimal(9_000),
    }
    if username:
        fields["username"] = username
    return CustomerFactory(**fields)


def create_at(minutes: float, customer, **kwargs) -> Ticket:
    with time_machine.travel(at(minutes), tick=False):
        return make_ticket(customer, **kwargs)


def take_at(minutes: float, agent, **kwargs) -> Ticket | None:
    with time_machine.travel(at(minutes), tick=False):
        return ticket_take_next(agent=agent, **kwargs)


def refetch(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- ordering ------------------------------------------------------------------------


def test_a_new_ticket_is_queued_at_creation_with_its_weight(line):
    ticket = create_at(0, valuable_customer())
    assert ticket.queued_at == T0
    assert ticket.credit_minutes == 144
    assert ticket.weight_parts == {"tenure": 24, "spend": 20, "vip": 60, "plan": 40}
    assert ticket.virtual_time == T0 - dt.timedelta(minutes=144)


def test_a_ticket_of_a_customer_without_value_has_no_head_start(line):
    ticket = create_at(0, plain_customer())
    assert ticket.credit_minutes == 0
    assert ticket.virtual_time == ticket.queued_at == T0


def test_a_valuable_customer_created_later_within_the_credit_difference_is_taken_first(line, agent):
    plain = create_at(0, plain_customer())
    valuable = create_at(140, valuable_customer())  # 140 < 144 - 0
    taken = take_at(141, agent)
    assert taken.pk == valuable.pk
    assert take_at(142, agent).pk == plain.pk


def test_a_valuable_customer_created_after_the_credit_difference_waits(line, agent):
    plain = create_at(0, plain_customer())
    valuable = create_at(150, valuable_customer())  # 150 > 144
    assert take_at(151, agent).pk == plain.pk
    assert take_at(152, agent).pk == valuable.pk


def test_a_ticket_queued_more_than_the_bound_earlier_is_always_taken_first(line, agent):
    plain = create_at(0, plain_customer())
    urgent_vip = create_at(MAX_CREDIT + 1, valuable_customer(), urgency=Urgency.CRITICAL)
    assert urgent_vip.credit_minutes == MAX_CREDIT  # 144 + 120, held at the bound
    assert take_at(MAX_CREDIT + 2, agent).pk == plain.pk
    assert take_at(MAX_CREDIT + 3, agent).pk == urgent_vip.pk


def test_tickets_are_taken_in_ascending_virtual_time(line, agent):
    tickets = [
        create_at(0, plain_customer()),
        create_at(10, plain_customer(), urgency=Urgency.HIGH),  # key -20
        create_at(20, valuable_customer()),  # key -124
        create_at(30, plain_customer(), urgency=Urgency.CRITICAL),  # key -90
        create_at(40, plain_customer()),  # key 40
    ]
    expected = [t.pk for t in sorted(tickets, key=lambda t: (t.virtual_time, t.pk))]
    taken = [take_at(50 + i, agent).pk for i in range(len(tickets))]
    assert taken == expected
    assert take_at(60, agent) is None


def test_equal_keys_are_taken_in_creation_order(line, agent):
    first = create_at(0, plain_customer())
    second = create_at(0, plain_customer())
    assert first.virtual_time == second.virtual_time
    assert take_at(1, agent).pk == first.pk
    assert take_at(2, agent).pk == second.pk


def test_taking_next_assigns_the_agent_and_writes_the_events(line, agent):
    ticket = create_at(0, plain_customer())
    taken = take_at(5, agent)
    ticket.refresh_from_db()
    assert taken.pk == ticket.pk
    assert ticket.assignee == agent
    assert ticket.status == Status.IN_PROGRESS
    [assign] = events_of(ticket, EventKind.ASSIGN)
    assert assign.actor == agent
    assert assign.data == {"old": None, "new": agent.username, "line": line.code}
    assert assign.created_at == at(5)
    [status] = events_of(ticket, EventKind.STATUS)
    assert (status.data["old"], status.data["new"]) == (Status.NEW, Status.IN_PROGRESS)


def test_taking_next_from_an_empty_queue_returns_none_and_writes_nothing(line, agent):
    assert take_at(0, agent) is None
    assert not TicketEvent.objects.exists()


def test_taking_next_only_looks_at_the_agents_lines(line, line2, agent):
    other = create_at(0, plain_customer())
    services_transfer_at(1, other, agent, line2)
    assert take_at(2, agent) is None
    assert refetch(other).assignee is None


def test_a_ticket_waiting_for_the_customer_is_not_taken_next(line, agent, customer):
    ticket_in_status(Status.WAITING_CUSTOMER, customer=customer, agent=agent)
    assert take_at(0, agent) is None


# --- keeping or losing the place -----------------------------------------------------


def services_transfer_at(minutes, ticket, actor, to_line):
    with time_machine.travel(at(minutes), tick=False):
        return services.ticket_transfer(ticket=ticket, actor=actor, to_line=to_line, reason="needs the second line")


def test_release_returns_the_ticket_to_the_same_place(line, agent):
    first = create_at(0, valuable_customer())
    create_at(1, plain_customer())
    create_at(2, plain_customer())
    before = refetch(first)
    assert queue_position(ticket=before) == 1
    assert take_at(10, agent).pk == first.pk
    assert queue_position(ticket=refetch(first)) is None
    with time_machine.travel(at(60), tick=False):
        services.ticket_release(ticket=first, agent=agent, reason="shift change")
    after = refetch(first)
    assert after.status == Status.WAITING_AGENT
    assert after.assignee is None
    assert after.queued_at == before.queued_at == T0
    assert after.virtual_time == before.virtual_time
    assert after.credit_minutes == before.credit_minutes
    assert queue_position(ticket=after) == 1
    assigns = events_of(first, EventKind.ASSIGN)
    assert [(e.data["old"], e.data["new"]) for e in assigns] == [(None, agent.username), (agent.username, None)]


def test_a_released_ticket_is_taken_before_later_ones(line, agent, colleagues):
    first = create_at(0, plain_customer())
    second = create_at(1, plain_customer())
    take_at(10, agent)
    with time_machine.travel(at(20), tick=False):
        services.ticket_release(ticket=first, agent=agent)
    assert take_at(21, colleagues[0]).pk == first.pk
    assert take_at(22, colleagues[1]).pk == second.pk


def test_a_transfer_requeues_at_the_transfer_time_in_the_new_line(line, line2, agent):
    ticket = create_at(0, plain_customer())
    already_there = create_at(5, plain_customer())
    services_transfer_at(10, already_there, agent, line2)
    services_transfer_at(20, ticket, agent, line2)
    ticket.refresh_from_db()
    assert ticket.line == line2
    assert ticket.status == Status.WAITING_AGENT
    assert ticket.queued_at == at(20)
    assert ticket.virtual_time == at(20)
    assert queue_position(ticket=ticket) == 2  # its age in the first line does not come along
    assert queue_position(ticket=refetch(already_there)) == 1
    [transfer] = events_of(ticket, EventKind.TRANSFER)
    assert (transfer.data["old"], transfer.data["new"]) == (line.code, line2.code)


def test_a_transfer_of_a_taken_ticket_puts_it_back_in_a_queue(line, line2, agent):
    ticket = create_at(0, plain_customer())
    take_at(5, agent)
    services_transfer_at(30, ticket, agent, line2)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert ticket.queued_at == at(30)
    assert queue_position(ticket=ticket) == 1


def test_a_customer_reply_to_a_ticket_waiting_for_them_requeues_it(line, agent, customer):
    with time_machine.travel(at(0), tick=False):
        ticket = ticket_in_status(Status.WAITING_CUSTOMER, customer=customer, agent=agent)
    meanwhile = create_at(30, plain_customer())
    assert queue_position(ticket=ticket) is None
    with time_machine.travel(at(60), tick=False):
        services.message_add(ticket=ticket, author=customer, body="It is server web-3.")
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_AGENT
    assert ticket.assignee is None
    assert ticket.queued_at == at(60)
    assert ticket.virtual_time == at(60) - dt.timedelta(minutes=ticket.credit_minutes)
    assert queue_position(ticket=ticket) == 2
    assert queue_position(ticket=refetch(meanwhile)) == 1
    status = events_of(ticket, EventKind.STATUS)[-1]
    assert (status.data["old"], status.data["new"]) == (Status.WAITING_CUSTOMER, Status.WAITING_AGENT)


def test_reopening_an_unassigned_resolved_ticket_requeues_it(line, agent, customer):
    with time_machine.travel(at(0), tick=False):
        ticket = ticket_in_status(Status.RESOLVED, customer=customer, agent=agent)
    with time_machine.travel(at(90), tick=False):
        services.ticket_reopen(ticket=ticket, customer=customer, body="Still down.")
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_AGENT
    assert ticket.queued_at == at(90)
    assert queue_position(ticket=ticket) == 1


def test_raising_the_urgency_adds_credit_without_moving_queued_at(line, agent):
    earlier = create_at(0, plain_customer())
    ticket = create_at(10, plain_customer())
    assert queue_position(ticket=ticket) == 2
    with time_machine.travel(at(20), tick=False):
        services.ticket_set_urgency(ticket=ticket, actor=agent, urgency=Urgency.HIGH, reason="customers affected")
    ticket.refresh_from_db()
    assert ticket.queued_at == at(10)
    assert ticket.credit_minutes == 30
    assert ticket.weight_parts["urgency"] == 30
    assert ticket.virtual_time == at(10) - dt.timedelta(minutes=30)
    assert queue_position(ticket=ticket) == 1
    assert queue_position(ticket=refetch(earlier)) == 2
    [event] = events_of(ticket, EventKind.URGENCY)
    assert (event.data["old"], event.data["new"]) == (Urgency.NORMAL, Urgency.HIGH)


def test_lowering_the_urgency_takes_the_credit_back(line, agent):
    ticket = create_at(0, plain_customer(), urgency=Urgency.CRITICAL)
    assert ticket.credit_minutes == 120
    with time_machine.travel(at(5), tick=False):
        services.ticket_set_urgency(ticket=ticket, actor=agent, urgency=Urgency.NORMAL, reason="only one site")
    ticket.refresh_from_db()
    assert ticket.queued_at == T0
    assert ticket.credit_minutes == 0
    assert "urgency" not in ticket.weight_parts
    assert ticket.virtual_time == T0


# --- positions -----------------------------------------------------------------------


def test_positions_run_from_one_in_virtual_time_order(line):
    tickets = [
        create_at(0, plain_customer()),
        create_at(5, valuable_customer()),
        create_at(10, plain_customer(), urgency=Urgency.HIGH),
        create_at(15, plain_customer()),
    ]
    in_order = sorted(tickets, key=lambda t: (t.virtual_time, t.pk))
    assert [queue_position(ticket=t) for t in in_order] == [1, 2, 3, 4]
    assert [t.pk for t in in_order] == [tickets[1].pk, tickets[2].pk, tickets[0].pk, tickets[3].pk]


def test_positions_close_up_when_the_head_is_taken(line, agent):
    tickets = [create_at(i, plain_customer()) for i in range(3)]
    take_at(10, agent)
    assert [queue_position(ticket=refetch(t)) for t in tickets] == [None, 1, 2]


def test_positions_count_only_the_tickets_own_line(line, line2, agent):
    other = create_at(0, plain_customer())
    services_transfer_at(1, other, agent, line2)
    ticket = create_at(2, plain_customer())
    assert queue_position(ticket=ticket) == 1
    assert queue_position(ticket=refetch(other)) == 1


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.RESOLVED, Status.CLOSED])
def test_a_ticket_that_is_not_waiting_has_no_position(line, agent, customer, status):
    ticket = ticket_in_status(status, customer=customer, agent=agent)
    assert queue_position(ticket=ticket) is None


# --- pace and estimate ---------------------------------------------------------------


def fill_and_take(line, agents, *, waiting: int, takes: int, take_minutes: float) -> list[Ticket]:
    """`waiting` tickets queued before T0, `takes` of them taken around `take_minutes`, by turns."""
    tickets = [create_at(-300 + i, plain_customer()) for i in range(waiting)]
    for i in range(takes):
        assert take_at(take_minutes + i, agents[i % len(agents)]) is not None
    return tickets


def test_pace_says_not_enough_data_with_too_few_takes(line, agent, colleagues):
    fill_and_take(line, [agent, *colleagues], waiting=6, takes=PACE_MIN_TAKES - 1, take_minutes=0)
    assert line_pace(line=line, now=at(10)) == (None, None)


def test_pace_comes_from_the_last_hour_when_it_has_enough_takes(line, agent, colleagues):
    fill_and_take(line, [agent, *colleagues], waiting=8, takes=6, take_minutes=0)
    assert line_pace(line=line, now=at(30)) == (6.0, 1)


def test_pace_falls_back_to_a_longer_window(line, agent, colleagues):
    fill_and_take(line, [agent, *colleagues], waiting=8, takes=3, take_minutes=-120)
    for i in range(3):
        take_at(i, agent)
    # Three takes in the last hour; six in the last four.
    assert line_pace(line=line, now=at(10)) == (1.5, 4)


def test_pace_ignores_takes_older_than_a_day(line, agent, colleagues):
    fill_and_take(line, [agent, *colleagues], waiting=6, takes=6, take_minutes=-25 * 60)
    assert line_pace(line=line, now=at(0)) == (None, None)


def test_pace_counts_only_the_lines_own_takes(line, line2, agent):
    agent2 = AgentFactory(username="agent-second")
    line2.memberships.create(user=agent2)
    tickets = [create_at(-60 + i, plain_customer()) for i in range(6)]
    for i, ticket in enumerate(tickets):
        services_transfer_at(-30 + i, ticket, agent, line2)
    for i in range(6):
        take_at(i, agent2)
    assert line_pace(line=line2, now=at(10)) == (6.0, 1)
    assert line_pace(line=line, now=at(10)) == (None, None)


def test_pace_does_not_count_releases_as_takes(line, agent, colleagues):
    agents = [agent, *colleagues]
    tickets = fill_and_take(line, agents, waiting=6, takes=3, take_minutes=0)
    for i, ticket in enumerate(sorted(tickets, key=lambda t: t.pk)[:2]):
        with time_machine.travel(at(10 + i), tick=False):
            services.ticket_release(ticket=ticket, agent=agents[i])
    # Three takes and two releases: not enough takes to measure a pace.
    assert line_pace(line=line, now=at(20)) == (None, None)


def test_the_estimate_says_not_enough_data_without_a_pace(line):
    ticket = create_at(0, plain_customer())
    with time_machine.travel(at(1), tick=False):
        estimate = queue_estimate(ticket=ticket)
    assert estimate.enough_data is False
    assert (estimate.low_minutes, estimate.high_minutes, estimate.window_hours) == (None, None, None)


def test_the_estimate_of_a_line_without_a_roster_is_a_range_from_its_pace(line, agent, colleagues):
    waiting = fill_and_take(line, [agent, *colleagues], waiting=12, takes=6, take_minutes=0)
    remaining = [t for t in (refetch(t) for t in waiting) if t.assignee_id is None]
    by_position = {queue_position(ticket=t): t for t in remaining}
    assert sorted(by_position) == [1, 2, 3, 4, 5, 6]
    with time_machine.travel(at(30), tick=False):
        third = queue_estimate(ticket=by_position[3])
        sixth = queue_estimate(ticket=by_position[6])
    # Six takes in the last hour: 10 minutes a ticket. Nobody arriving later has more head
    # start, so the third waits for three takes: an Erlang(3) with a mean of 30 minutes,
    # whose central 85% runs from 9.7 to 57.3 minutes.
    assert third.enough_data is True
    assert (third.takes_per_hour, third.window_hours, third.basis) == (6.0, 1, "pace")
    assert (third.low_minutes, third.high_minutes, third.probability) == (9, 58, 0.85)
    # Five ahead: kept to a doubling, with the lower chance that range has.
    assert sixth.low_minutes < 60 < sixth.high_minutes <= 2 * sixth.low_minutes
    assert sixth.probability < 0.85


def test_the_estimate_for_a_ticket_not_waiting_has_no_range(line, agent, colleagues):
    fill_and_take(line, [agent, *colleagues], waiting=6, takes=6, take_minutes=0)
    taken = Ticket.objects.filter(assignee__isnull=False).first()
    with time_machine.travel(at(30), tick=False):
        estimate = queue_estimate(ticket=taken)
    assert (estimate.low_minutes, estimate.high_minutes, estimate.enough_data) == (None, None, False)
