"""Phone calls logged by an agent on the customer's behalf."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from helpdesk.errors import DomainError
from queues.models import RoutingRule
from tickets import services
from tickets.models import Channel, EventKind, PhoneCall, Status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def routing(line):
    RoutingRule.objects.create(category="general", line=line)


def test_a_call_becomes_a_phone_ticket_with_its_duration(agent, customer):
    call = services.call_log(
        agent=agent, customer=customer, duration=dt.timedelta(minutes=4), summary="Cannot reach the VPS\nsince noon"
    )
    ticket = call.ticket
    assert (ticket.channel, ticket.subject, ticket.customer) == (Channel.PHONE, "Cannot reach the VPS", customer)
    assert call.duration == dt.timedelta(minutes=4)
    event = ticket.events.get(kind=EventKind.CALL)
    assert (event.actor, event.data["seconds"]) == (agent, 240)


def test_a_call_about_an_existing_ticket_is_the_customers_message_on_it(agent, customer):
    ticket = services.ticket_create(customer=customer, subject="Mail", body="No mail")
    services.message_add(ticket=ticket, author=agent, body="Can you check?", wait_for_customer=True)
    call = services.call_log(
        agent=agent,
        customer=customer,
        duration=dt.timedelta(seconds=90),
        summary="Checked, still broken",
        ticket=ticket,
    )
    ticket.refresh_from_db()
    assert call.message.author == customer and call.message.body == "Checked, still broken"
    assert ticket.status == Status.WAITING_AGENT
    assert ticket.next_response_due is None or ticket.next_response_due > call.created_at


def test_calls_are_refused_with_clear_reasons(agent, customer):
    other = services.ticket_create(customer=customer, subject="Mail", body="x")
    with pytest.raises(DomainError) as too_long:
        services.call_log(agent=agent, customer=customer, duration=dt.timedelta(hours=9), summary="x")
    assert too_long.value.field == "duration"
    from accounts.tests.factories import CustomerFactory

    with pytest.raises(DomainError) as wrong:
        services.call_log(
            agent=agent, customer=CustomerFactory(), duration=dt.timedelta(minutes=1), summary="x", ticket=other
        )
    assert wrong.value.code == "wrong_customer"
    assert not PhoneCall.objects.exists()


def test_agent_logs_a_call_from_the_workspace(client, agent, customer):
    client.force_login(agent)
    response = client.post(
        reverse("desk-log-call"),
        {"customer": customer.username, "minutes": "2.5", "category": "general", "summary": "Asked about invoices"},
    )
    call = PhoneCall.objects.get()
    assert response["Location"] == reverse("desk-ticket", args=[call.ticket.number])
    assert call.duration == dt.timedelta(minutes=2.5)


def test_calls_through_the_api_are_for_staff(agent, customer):
    staff, client = APIClient(), APIClient()
    staff.force_authenticate(agent)
    client.force_authenticate(customer)
    body = {"customer": customer.username, "duration_seconds": 60, "summary": "Wants a refund"}
    assert client.post(reverse("api:call-list"), body, format="json").status_code == 403
    created = staff.post(reverse("api:call-list"), body, format="json")
    assert created.status_code == 201
    assert created.json()["duration_seconds"] == 60
