"""Take-next as one statement: several lines, a chosen line, tickets nobody may work on yet,
the history and the outbox it writes, and the SLA clocks it leaves as they were."""

import contextlib
import datetime as dt

import pytest
import time_machine

from accounts.tests.factories import AgentFactory, CustomerFactory, ManagerFactory
from helpdesk.errors import DomainError, PermissionDenied
from queues.tests.factories import LineFactory
from sla.deadlines import sla_update
from sla.models import SlaPolicy, SlaTarget
from tickets import services
from tickets.models import EventKind, EventOutbox, Status, Ticket, TicketEvent, Urgency
from tickets.services import ticket_take_next
from tickets.tests.helpers import events_of, make_ticket

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SLA_FIELDS = (
    "sla_commitment",
    "first_response_due",
    "first_response_warn_at",
    "next_response_due",
    "resolution_due",
    "resolution_warn_at",
    "resolution_paused_minutes",
    "sla_next_check_at",
)


@pytest.fixture
def finance(db):
    return LineFactory(code="finance", name="Finance", level=1)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def filed(minutes: float, line, customer=None, **kwargs) -> Ticket:
    """A ticket filed at T0 + minutes and placed in `line` (no head start: a plain customer)."""
    customer = customer or CustomerFactory(profile__customer_since=T0.date())
    with time_machine.travel(at(minutes), tick=False):
        ticket = make_ticket(customer, **kwargs)
        if ticket.line_id != line.id:
            agent = AgentFactory()
            ticket.line.memberships.create(user=agent)
            services.ticket_transfer(ticket=ticket, actor=agent, to_line=line, reason="its department")
            # The transfer queues it anew at the same instant: the filing time stays the order.
    ticket.refresh_from_db()
    return ticket


def take(minutes: float, agent, **kwargs) -> Ticket | None:
    with time_machine.travel(at(minutes), tick=False):
        return ticket_take_next(agent=agent, **kwargs)


@pytest.fixture
def both_lines_agent(line, finance):
    agent = AgentFactory(username="agent-both")
    line.memberships.create(user=agent)
    finance.memberships.create(user=agent)
    return agent


def test_an_agent_of_two_lines_gets_the_earliest_of_both_in_order(line, finance, both_lines_agent):
    first = filed(0, line)
    second = filed(1, finance)
    third = filed(2, line)
    fourth = filed(3, finance)
    taken = [take(10 + n, both_lines_agent) for n in range(4)]
    assert [ticket.pk for ticket in taken] == [first.pk, second.pk, third.pk, fourth.pk]
    assert take(20, both_lines_agent) is None


def test_a_chosen_line_limits_the_take_to_it(line, finance, both_lines_agent):
    filed(0, line)
    billing = filed(1, finance)
    assert take(5, both_lines_agent, line=finance).pk == billing.pk
    assert take(6, both_lines_agent, line=finance) is None


def test_a_line_the_agent_is_not_in_is_refused(line, finance, agent):
    filed(0, finance)
    with pytest.raises(PermissionDenied):
        take(5, agent, line=finance)
    assert not TicketEvent.objects.filter(kind=EventKind.ASSIGN).exists()


def test_an_agent_of_no_line_is_told_so(line):
    filed(0, line)
    with pytest.raises(DomainError) as caught:
        take(5, AgentFactory(username="nobodys"))
    assert caught.value.code == "no_lines"


def test_customers_cannot_take(line):
    filed(0, line)
    with pytest.raises(PermissionDenied):
        take(5, CustomerFactory())


def test_an_inactive_line_gives_nothing(line, finance, both_lines_agent):
    filed(0, finance)
    finance.is_active = False
    finance.save()
    assert take(5, both_lines_agent) is None


def test_a_manager_takes_from_the_lines_they_belong_to(line):
    manager = ManagerFactory(username="manager-m")
    ticket = filed(0, line)
    with pytest.raises(DomainError):
        take(5, manager)
    line.memberships.create(user=manager)
    assert take(6, manager).pk == ticket.pk


def test_a_ticket_waiting_for_an_accepted_extra_charge_is_left_in_the_queue(line, agent):
    blocked = filed(0, line)
    Ticket.objects.filter(pk=blocked.pk).update(package_task="extra_pending")
    later = filed(1, line)
    assert take(5, agent).pk == later.pk
    assert take(6, agent) is None
    blocked.refresh_from_db()
    assert blocked.assignee is None and blocked.status == Status.NEW


def test_the_take_writes_the_same_history_as_taking_by_hand(line, agent):
    colleague = AgentFactory(username="agent-by-hand")
    line.memberships.create(user=colleague)
    by_statement = filed(0, line)
    by_hand = filed(1, line)
    take(5, agent)
    with time_machine.travel(at(5), tick=False):
        services.ticket_take(ticket=by_hand, agent=colleague)

    def history(ticket, who):
        return [
            (event.kind, event.actor_id == who.id, {**event.data, "new": event.data["new"] and "someone"})
            for event in events_of(ticket)
            if event.kind in (EventKind.ASSIGN, EventKind.STATUS)
        ]

    assert history(by_statement, agent) == history(by_hand, colleague)
    [assign] = events_of(by_statement, EventKind.ASSIGN)
    assert assign.data == {"old": None, "new": agent.username, "line": line.code}
    assert assign.created_at == at(5)
    [status] = events_of(by_statement, EventKind.STATUS)
    assert status.data == {"old": Status.NEW, "new": Status.IN_PROGRESS, "reason": ""}


def test_the_status_change_goes_to_the_outbox_and_taking_oneself_does_not(line, agent):
    ticket = filed(0, line)
    EventOutbox.objects.all().delete()  # the filing's own
    take(5, agent)
    waiting = set(EventOutbox.objects.values_list("event__ticket_id", "event__kind"))
    assert waiting == {(ticket.pk, EventKind.STATUS)}


def test_the_returned_ticket_is_the_saved_one(line, agent):
    filed(0, line)
    taken = take(5, agent)
    assert taken.assignee_id == agent.id and taken.status == Status.IN_PROGRESS
    assert taken.updated_at == at(5)
    stored = Ticket.objects.get(pk=taken.pk)
    fields = [field.attname for field in Ticket._meta.concrete_fields]
    assert {name: getattr(taken, name) for name in fields} == {name: getattr(stored, name) for name in fields}


@pytest.fixture
def targets(db):
    SlaPolicy.current()
    for urgency, first, following, whole in (
        (Urgency.NORMAL, 240, 120, 960),
        (Urgency.HIGH, 60, 60, 480),
        (Urgency.CRITICAL, 30, 30, 240),
    ):
        SlaTarget.objects.create(
            urgency=urgency, first_response_minutes=first, next_response_minutes=following, resolution_minutes=whole
        )


@pytest.mark.parametrize("urgency", [Urgency.NORMAL, Urgency.HIGH, Urgency.CRITICAL])
@pytest.mark.parametrize("released", [False, True])
def test_the_sla_clocks_are_what_a_full_update_would_make(targets, line, agent, urgency, released):
    ticket = filed(0, line, urgency=urgency)
    if released:  # waiting for an agent again after a first take
        with time_machine.travel(at(1), tick=False):
            services.ticket_take(ticket=ticket, agent=agent)
            services.ticket_release(ticket=ticket, agent=agent, reason="shift change")
    taken = take(7, agent)
    assert taken.pk == ticket.pk
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.sla_commitment and stored.sla_next_check_at is not None
    # A full update of the taken ticket finds nothing to change.
    assert sla_update(ticket=stored, now=at(7)) == []


def test_a_ticket_filed_before_any_service_level_gets_its_commitment_when_taken(line, agent):
    ticket = filed(0, line)
    assert ticket.sla_commitment == {}
    SlaPolicy.current()
    SlaTarget.objects.create(
        urgency=Urgency.NORMAL, first_response_minutes=60, next_response_minutes=60, resolution_minutes=480
    )
    take(5, agent)
    ticket.refresh_from_db()
    assert ticket.sla_commitment["first_response"] == 60
    assert ticket.first_response_due is not None and ticket.sla_next_check_at is not None


@pytest.mark.parametrize("prepared", [True, False])
def test_the_statement_runs_prepared_or_plain(settings, line, agent, prepared):
    settings.PREPARED_STATEMENTS = prepared
    first, second = filed(0, line), filed(1, line)
    assert take(5, agent).pk == first.pk
    assert take(6, agent).pk == second.pk


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_the_statement_again(line, agent):
    from django.db import connection

    first, second = filed(0, line), filed(1, line)
    assert take(5, agent).pk == first.pk
    connection.close()
    assert take(6, agent).pk == second.pk


@pytest.mark.django_db(transaction=True)
def test_a_connection_prepares_the_statement_on_its_second_take_only(line, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for minutes in range(3):
        filed(minutes, line)
    connection.close()
    statements = []
    for minutes in (5, 6, 7):
        with CaptureQueriesContext(connection) as captured:
            assert take(minutes, agent) is not None
        statements.append([query["sql"].split(None, 1)[0] for query in captured.captured_queries])
    assert statements == [["WITH"], ["PREPARE", "EXECUTE"], ["EXECUTE"]]


@pytest.mark.django_db(transaction=True)
def test_database_errors_on_the_fast_path_come_as_djangos(line, agent):
    from django.db import DatabaseError, connection, transaction

    for minutes in range(3):
        filed(minutes, line)
    take(5, agent)
    take(6, agent)  # the statement is prepared on this connection now
    with pytest.raises(DatabaseError), transaction.atomic():
        # Swallowed: the transaction is aborted in PostgreSQL, and Django does not know.
        with connection.cursor() as cursor, contextlib.suppress(DatabaseError):
            cursor.execute("SELECT 1 / 0")
        take(7, agent)
