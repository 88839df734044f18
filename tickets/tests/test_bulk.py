"""Bulk actions: each goes through its service with its audit event per ticket, and a ticket the
agent may not change is refused alone (partial success, reported ticket by ticket)."""

import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory
from helpdesk.errors import DomainError
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tickets import bulk
from tickets.models import EventKind, Message, Status, Ticket
from tickets.tests.helpers import events_of, make_ticket, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultants(line):
    return LineFactory(code="consultants", name="Consultants", level=2)


@pytest.fixture
def finance():
    return LineFactory(code="finance", name="Finance", kind="department", level=None)


@pytest.fixture
def three(line, customer):
    RoutingRule.objects.create(category="general", line=line)
    return [make_ticket(customer, subject=f"Ticket {n}") for n in range(3)]


@pytest.fixture
def foreign(finance, customer):
    """A ticket of a line the agent is not in, that the agent can still see (they worked on it)."""
    RoutingRule.objects.create(category="billing", line=finance)
    return make_ticket(customer, subject="Invoice", category="billing")


def numbers(tickets):
    return [ticket.number for ticket in tickets]


def test_bulk_take_audits_each_ticket_and_reports_the_refused_one(three, agent):
    other = AgentFactory()
    three[0].line.memberships.create(user=other)
    from tickets import services

    services.ticket_take(ticket=three[2], agent=other)
    result = bulk.bulk_apply(actor=agent, action="take", numbers=numbers(three))
    assert result.done == numbers(three[:2])
    assert list(result.failed) == [three[2].number] and result.failed_codes[three[2].number] == "taken"
    for ticket in three[:2]:
        ticket.refresh_from_db()
        assert ticket.assignee == agent
        assert events_of(ticket, EventKind.ASSIGN)[-1].actor == agent


def test_bulk_transfer_needs_a_reason_and_writes_each_transfer(three, agent, consultants):
    with pytest.raises(DomainError):
        bulk.bulk_apply(actor=agent, action="transfer", numbers=numbers(three[:2]), line="consultants")
    result = bulk.bulk_apply(
        actor=agent, action="transfer", numbers=numbers(three[:2]), line="consultants", reason="Needs a consultant"
    )
    assert result.complete and result.done == numbers(three[:2])
    for ticket in three[:2]:
        transfer = events_of(ticket, EventKind.TRANSFER)[0]
        assert (transfer.data["new"], transfer.data["reason"], transfer.actor) == (
            "consultants",
            "Needs a consultant",
            agent,
        )
    assert Ticket.objects.get(pk=three[2].pk).line.code == "first-line"


def test_bulk_urgency_tag_and_resolve(three, agent):
    result = bulk.bulk_apply(actor=agent, action="urgency", numbers=numbers(three), urgency="high", reason="Outage")
    assert result.complete
    assert all(events_of(t, EventKind.URGENCY)[0].data["new"] == "high" for t in three)
    result = bulk.bulk_apply(actor=agent, action="tag", numbers=numbers(three), tag="Outage-May")
    assert result.complete
    assert all(events_of(t, EventKind.TAG)[0].data["new"] == "outage-may" for t in three)
    result = bulk.bulk_apply(actor=agent, action="resolve", numbers=numbers(three))
    assert result.complete
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in three]).values_list("status", flat=True)) == {
        Status.RESOLVED
    }
    assert all(events_of(t, EventKind.STATUS)[-1].actor == agent for t in three)
    # Resolved ones cannot be resolved again: every ticket refused, each with its reason.
    again = bulk.bulk_apply(actor=agent, action="resolve", numbers=numbers(three))
    assert again.done == [] and set(again.failed_codes.values()) == {"illegal_transition"}


def test_bulk_merge_into_the_chosen_ticket(three, agent):
    result = bulk.bulk_apply(actor=agent, action="merge", numbers=numbers(three), into=three[1].number)
    assert (result.into, result.done) == (three[1].number, [three[0].number, three[2].number])
    for ticket in (three[0], three[2]):
        ticket.refresh_from_db()
        assert (ticket.status, ticket.merged_into_id) == (Status.CLOSED, three[1].pk)
    assert len(events_of(three[1], EventKind.MERGE)) == 2
    with pytest.raises(DomainError):
        bulk.bulk_apply(actor=agent, action="merge", numbers=numbers(three[:1]))


def test_without_permission_each_ticket_is_refused_and_nothing_changes(three, foreign, agent):
    """A ticket of another line the agent once worked on is visible, yet not theirs to change;
    a ticket the agent cannot see at all is 'no such ticket'."""
    outsider = AgentFactory(username="outsider")
    finance_line = foreign.line
    finance_line.memberships.create(user=outsider)
    result = bulk.bulk_apply(actor=outsider, action="resolve", numbers=[foreign.number, *numbers(three[:1])])
    assert result.done == [foreign.number]
    assert result.failed_codes == {three[0].number: "not_found"}
    result = bulk.bulk_apply(actor=agent, action="tag", numbers=[foreign.number, three[0].number], tag="x")
    assert result.done == [three[0].number] and result.failed_codes == {foreign.number: "not_found"}
    Message.objects.create(ticket=foreign, author=agent, kind=Message.Kind.NOTE, body="seen")
    from tickets.models import TicketEvent

    TicketEvent.objects.create(ticket=foreign, kind=EventKind.MESSAGE, actor=agent, data={})
    result = bulk.bulk_apply(actor=agent, action="urgency", numbers=[foreign.number], urgency="high", reason="x")
    assert result.failed_codes == {foreign.number: "permission_denied"}
    assert not events_of(foreign, EventKind.URGENCY)


def test_the_bulk_page_reports_partial_success(client, three, agent):
    client.force_login(agent)
    from tickets import services

    services.ticket_resolve(ticket=three[2], actor=agent)
    response = client.post(
        reverse("desk-tickets-bulk"),
        {
            "action": "resolve",
            "tickets": [str(n) for n in numbers(three)] + ["999999"],
            "next": "/desk/tickets/?view=my-open",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/desk/tickets/?view=my-open"
    page = text_of(client.get(reverse("desk-tickets")).content.decode())
    assert f"Resolve: done for 2 tickets (#{three[0].number}, #{three[1].number})." in page
    assert f"Resolve: not done for #{three[2].number}" in page
    assert "Resolve: not done for #999999: No such ticket." in page


def test_the_bulk_page_refuses_a_foreign_return_address_and_customers(client, three, agent, customer):
    client.force_login(agent)
    response = client.post(
        reverse("desk-tickets-bulk"),
        {"action": "tag", "tag": "a", "tickets": [str(three[0].number)], "next": "https://evil.example/desk/tickets/"},
    )
    assert response["Location"] == "/desk/tickets/"
    client.force_login(customer)
    assert client.post(reverse("desk-tickets-bulk"), {"action": "resolve", "tickets": ["1"]}).status_code == 403
