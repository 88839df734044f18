"""Collision warnings on the workspace's reply form: a reply is refused, with a warning and the
draft kept, when someone else wrote since the page was opened; sending it again sends it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory
from helpdesk.errors import Conflict
from queues.models import RoutingRule
from tickets import services
from tickets.models import Message
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db
SEEN = re.compile(r'name="seen" value="(\d+)"')


@pytest.fixture
def ticket(line, customer):
    RoutingRule.objects.get_or_create(category="general", defaults={"line": line})
    return make_ticket(customer)


@pytest.fixture
def colleague(line):
    user = AgentFactory(username="agent-b", first_name="Boris", last_name="Petrov")
    line.memberships.create(user=user)
    return user


def open_page(client, ticket) -> int:
    """The ticket's page; the last message it shows, as its reply form carries it."""
    page = client.get(reverse("desk-ticket", args=[ticket.number]))
    assert page.status_code == 200
    return int(SEEN.search(page.content.decode()).group(1))


def reply(client, ticket, body, seen):
    data = {"body": body, "kind": Message.Kind.PUBLIC}
    if seen is not None:
        data["seen"] = seen
    return client.post(reverse("desk-ticket-reply", args=[ticket.number]), data)


def test_refused_with_a_warning_when_a_colleague_replied_since(client, agent, colleague, ticket):
    client.force_login(agent)
    seen = open_page(client, ticket)
    theirs = services.message_add(ticket=ticket, author=colleague, body="I restarted the server for you.")

    answer = reply(client, ticket, "Let me restart the server.", seen)

    assert answer.status_code == 409
    html = answer.content.decode()
    assert 'data-testid="collision"' in html
    assert f"{colleague.display_name} wrote on this ticket since you opened it" in html
    assert "I restarted the server for you." in html  # the new message is on the page
    assert "Let me restart the server." in html  # the draft is kept
    assert "Send anyway" in html
    assert int(SEEN.search(html).group(1)) == theirs.id  # sending again confirms
    assert not Message.objects.filter(ticket=ticket, author=agent).exists()


def test_refused_when_the_customer_wrote_since(client, agent, customer, ticket):
    client.force_login(agent)
    seen = open_page(client, ticket)
    services.message_add(ticket=ticket, author=customer, body="Never mind, it works now.")

    answer = reply(client, ticket, "We are looking into it.", seen)

    assert answer.status_code == 409
    assert f"{customer.display_name} wrote on this ticket since you opened it" in answer.content.decode()
    assert not Message.objects.filter(ticket=ticket, author=agent).exists()


def test_sent_when_confirmed_after_seeing_the_new_message(client, agent, colleague, ticket):
    client.force_login(agent)
    seen = open_page(client, ticket)
    services.message_add(ticket=ticket, author=colleague, body="I restarted the server for you.")
    refused = reply(client, ticket, "Let me restart the server.", seen)
    confirmed_seen = int(SEEN.search(refused.content.decode()).group(1))

    answer = reply(client, ticket, "Let me restart the server.", confirmed_seen)

    assert answer.status_code == 302
    assert Message.objects.filter(ticket=ticket, author=agent, body="Let me restart the server.").count() == 1


def test_sent_at_once_when_nothing_new_was_written(client, agent, colleague, ticket):
    services.message_add(ticket=ticket, author=colleague, body="Earlier note", kind=Message.Kind.NOTE)
    client.force_login(agent)
    seen = open_page(client, ticket)
    # The agent's own writing elsewhere (another tab) is no collision.
    services.message_add(ticket=ticket, author=agent, body="My own note", kind=Message.Kind.NOTE)

    answer = reply(client, ticket, "Here is the fix.", seen)

    assert answer.status_code == 302
    assert Message.objects.filter(ticket=ticket, author=agent, body="Here is the fix.").exists()


def test_the_service_refuses_a_write_after_an_unseen_message(agent, colleague, ticket):
    first = services.message_add(ticket=ticket, author=colleague, body="Done.")
    with pytest.raises(Conflict) as refused:
        services.message_add(ticket=ticket, author=agent, body="Doing it.", seen=first.id - 1)
    assert refused.value.code == "replied_since"
    assert services.message_add(ticket=ticket, author=agent, body="Doing it.", seen=first.id).pk


def test_the_api_refuses_the_same_way_and_sends_when_confirmed(client, agent, colleague, ticket):
    first = services.message_add(ticket=ticket, author=colleague, body="Done.")
    client.force_login(agent)
    url = f"/api/v1/tickets/{ticket.number}/messages/"

    refused = client.post(url, {"body": "Doing it.", "seen": first.id - 1}, content_type="application/json")
    assert refused.status_code == 409
    assert refused.json()["error"] == "replied_since"
    assert colleague.display_name in refused.json()["detail"]

    sent = client.post(url, {"body": "Doing it.", "seen": first.id}, content_type="application/json")
    assert sent.status_code == 201
    assert client.post(url, {"body": "Without a mark"}, content_type="application/json").status_code == 201
