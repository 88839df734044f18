"""Many agents pressing "take next" at once: each ticket goes to exactly one of them."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.models import QueuePolicy
from queues.policy import queue_enqueue
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import EventKind, Status, Ticket, TicketEvent
from tickets.services import ticket_take_next
from tickets.tests.factories import TicketFactory

TICKETS = 200
AGENTS = 32
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def local_cache(settings):
    """A private cache, so a plan's cached average from another test cannot leak in."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "concurrency"}
    }
    cache.clear()
    yield
    cache.clear()


def waiting_tickets(line, count: int) -> list[Ticket]:
    QueuePolicy.objects.create()
    customers = [CustomerFactory() for _ in range(10)]
    tickets = []
    for i in range(count):
        ticket = TicketFactory.build(line=line, customer=customers[i % len(customers)], status=Status.NEW)
        queue_enqueue(ticket=ticket, now=T0 + dt.timedelta(seconds=i))
        ticket.save()
        tickets.append(ticket)
    return tickets


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_agents_each_take_different_tickets_until_the_queue_is_empty(local_cache):
    line = LineFactory(code="rush-hour", level=1)
    tickets = waiting_tickets(line, TICKETS)
    agents = [AgentFactory(username=f"rush-{i}") for i in range(AGENTS)]
    for agent in agents:
        line.memberships.create(user=agent)

    start = threading.Barrier(AGENTS)
    taken_by: dict[int, list[int]] = {agent.id: [] for agent in agents}
    errors: list[BaseException] = []

    def work(agent):
        try:
            start.wait(timeout=30)
            while (ticket := ticket_take_next(agent=agent)) is not None:
                taken_by[agent.id].append(ticket.number)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    numbers = [number for got in taken_by.values() for number in got]
    assert len(numbers) == len(set(numbers)) == TICKETS  # nobody got a ticket twice
    assert set(numbers) == {t.number for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])}
    assert sum(1 for got in taken_by.values() if got) > 1  # the work really was shared

    stored = {t.number: t for t in Ticket.objects.all()}
    for agent_id, got in taken_by.items():
        for number in got:
            assert stored[number].assignee_id == agent_id
            assert stored[number].status == Status.IN_PROGRESS
    assigns = Counter(TicketEvent.objects.filter(kind=EventKind.ASSIGN).values_list("ticket__number", flat=True))
    assert assigns == Counter(numbers)  # exactly one assignment event per ticket
    events_by_ticket = {
        number: actor_id
        for number, actor_id in TicketEvent.objects.filter(kind=EventKind.ASSIGN).values_list(
            "ticket__number", "actor_id"
        )
    }
    assert all(events_by_ticket[number] == stored[number].assignee_id for number in numbers)
    assert not Ticket.objects.filter(status__in=[Status.NEW, Status.WAITING_AGENT], assignee__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_take_next_does_not_wait_for_a_colleagues_take_in_progress(local_cache):
    """A take locks only its ticket, not the line: a colleague's take never waits for it."""
    line = LineFactory(code="no-waiting", level=1)
    first, second = waiting_tickets(line, 2)
    me, colleague = AgentFactory(username="me"), AgentFactory(username="colleague")
    for agent in (me, colleague):
        line.memberships.create(user=agent)
    outcome = {}

    def colleague_takes():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
            outcome["ticket"] = ticket_take_next(agent=colleague)
        except Exception as exc:  # the outcome is asserted below
            outcome["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        assert ticket_take_next(agent=me).pk == first.pk  # still being taken: not committed yet
        thread = threading.Thread(target=colleague_takes)
        thread.start()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome.get("error") is None
    assert outcome["ticket"].pk == second.pk


@pytest.mark.django_db(transaction=True)
def test_transfers_between_two_lines_in_opposite_directions_at_once_both_succeed(local_cache, monkeypatch):
    """A transfer locks only its ticket, so two transfers crossing between the same lines cannot deadlock."""
    first_line = LineFactory(code="first", level=1)
    second_line = LineFactory(code="second", level=2)
    [up] = waiting_tickets(first_line, 1)
    down = TicketFactory(line=second_line, customer=up.customer, status=Status.WAITING_AGENT)
    agents = [AgentFactory(username="up-agent"), AgentFactory(username="down-agent")]
    for agent in agents:
        first_line.memberships.create(user=agent)
        second_line.memberships.create(user=agent)

    # Both transfers hold their ticket's lock when they check the reason: meet there.
    both_locked = threading.Barrier(2)
    check_reason = services._clean_text

    def meet_then_check(*args, **kwargs):
        both_locked.wait(timeout=10)
        return check_reason(*args, **kwargs)

    monkeypatch.setattr(services, "_clean_text", meet_then_check)
    errors = []

    def transfer(ticket, agent, to_line):
        try:
            services.ticket_transfer(ticket=ticket, actor=agent, to_line=to_line, reason="wrong line")
        except Exception as exc:  # the outcome is asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=transfer, args=(up, agents[0], second_line)),
        threading.Thread(target=transfer, args=(down, agents[1], first_line)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Ticket.objects.get(pk=up.pk).line == second_line
    assert Ticket.objects.get(pk=down.pk).line == first_line
