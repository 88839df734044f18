"""Giving a ticket to another customer account (an e-mail sender recognised as one): one
service that locks, checks who asks, writes the history and re-targets the queue and the SLA."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import AgentFactory, CustomerFactory, PlanFactory
from helpdesk.errors import DomainError, NotFound, PermissionDenied
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from sla.models import SlaTarget
from tickets import services
from tickets.events import system_reason
from tickets.models import EventKind, EventOutbox, ReplyTemplate, SystemReason, Ticket
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def premium(db):
    plan = PlanFactory(code="premium", level=3)
    SlaTarget.objects.create(
        plan=None, urgency="normal", first_response_minutes=240, next_response_minutes=240, resolution_minutes=2400
    )
    SlaTarget.objects.create(
        plan=plan, urgency="normal", first_response_minutes=30, next_response_minutes=60, resolution_minutes=600
    )
    customer = CustomerFactory(username="premium-customer")
    customer.customer_profile.support_plan = plan
    customer.customer_profile.save()
    return customer


@pytest.fixture
def placeholder(db):
    """An unknown e-mail sender: an inactive customer account without a profile."""
    user = User.objects.create(username="email-0123abcd", role="customer", is_active=False)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def unknown_senders_ticket(line, placeholder, premium):
    RoutingRule.objects.create(category="general", line=line)
    with time_machine.travel(T0, tick=False):
        return make_ticket(placeholder, allow_inactive=True, channel="email")


def test_a_sender_recognised_as_a_premium_customer_gets_the_premium_targets(unknown_senders_ticket, premium, agent):
    ticket = unknown_senders_ticket
    assert ticket.first_response_due == T0 + dt.timedelta(minutes=240)  # the default commitment
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        services.ticket_change_customer(ticket=ticket, actor=agent, customer=premium, reason="Known sender.")
    ticket.refresh_from_db()
    assert ticket.customer == premium
    # As a new ticket of that customer: 30 minutes from filing, ten of them already gone.
    assert ticket.sla_commitment["first_response"] == 30
    assert ticket.first_response_due == T0 + dt.timedelta(minutes=30)
    with time_machine.travel(T0, tick=False):
        fresh = make_ticket(premium)
    assert fresh.first_response_due == ticket.first_response_due
    # The queue weighs the new customer too (the plan's level).
    assert ticket.weight_parts.get("plan") == 3 * 20
    assert ticket.sla_next_check_at <= ticket.first_response_due


def test_the_change_is_in_the_history_with_who_and_why(unknown_senders_ticket, placeholder, premium, agent):
    reason = system_reason(SystemReason.SENDER_LINKED, address="olga@newcomer.example")
    services.ticket_change_customer(ticket=unknown_senders_ticket, actor=agent, customer=premium, reason=reason)
    (event,) = unknown_senders_ticket.events.filter(kind=EventKind.CUSTOMER)
    assert event.actor == agent
    assert (event.data["old"], event.data["new"]) == (placeholder.username, premium.username)
    assert event.data["reason_code"] == SystemReason.SENDER_LINKED
    assert event.data["reason"] == "E-mail from olga@newcomer.example recognised as this customer's."
    assert not EventOutbox.objects.filter(event=event).exists()  # nobody is e-mailed about it


def test_only_staff_of_the_line_may_change_the_customer(unknown_senders_ticket, placeholder, premium, manager):
    stranger = AgentFactory(username="stranger")
    LineFactory(code="elsewhere").memberships.create(user=stranger)
    with pytest.raises(PermissionDenied):
        services.ticket_change_customer(ticket=unknown_senders_ticket, actor=stranger, customer=premium, reason="x")
    with pytest.raises(NotFound):
        services.ticket_change_customer(ticket=unknown_senders_ticket, actor=premium, customer=premium, reason="x")
    unknown_senders_ticket.refresh_from_db()
    assert unknown_senders_ticket.customer == placeholder
    assert not unknown_senders_ticket.events.filter(kind=EventKind.CUSTOMER).exists()
    # Management may.
    services.ticket_change_customer(ticket=unknown_senders_ticket, actor=manager, customer=premium, reason="x")
    assert Ticket.objects.get(pk=unknown_senders_ticket.pk).customer == premium


def test_the_new_customer_must_be_an_active_customer(unknown_senders_ticket, agent):
    with pytest.raises(DomainError) as refused:
        services.ticket_change_customer(ticket=unknown_senders_ticket, actor=agent, customer=agent, reason="x")
    assert refused.value.code == "not_a_customer"
    gone = CustomerFactory(username="gone", is_active=False)
    with pytest.raises(DomainError):
        services.ticket_change_customer(ticket=unknown_senders_ticket, actor=agent, customer=gone, reason="x")


# --- the workspace's ticket page ---------------------------------------------------------------


def _desk_page_queries(client, ticket) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("desk-ticket", args=[ticket.number]))
    assert response.status_code == 200
    return len(queries)


def test_the_desk_ticket_page_costs_the_same_queries_with_one_template_or_ten(client, customer, line, agent):
    RoutingRule.objects.create(category="general", line=line)
    ticket = make_ticket(customer)
    client.force_login(agent)
    for n in range(10):
        ReplyTemplate.objects.create(line=line, code=f"t{n}", language="en", title=f"T{n}", body="Hi {customer_name}")
        if n == 0:
            _desk_page_queries(client, ticket)  # warm the caches of the first request
            with_one = _desk_page_queries(client, ticket)
    with_ten = _desk_page_queries(client, ticket)
    assert with_ten == with_one
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert page.count(f"Hi {customer.get_full_name() or customer.username}") >= 10


def test_the_apis_templates_cost_the_same_queries_with_one_template_or_ten(customer, line, agent):
    RoutingRule.objects.create(category="general", line=line)
    ticket = make_ticket(customer)
    api = APIClient()
    api.force_authenticate(user=agent)
    url = reverse("api:ticket-templates", args=[ticket.number])
    counts = []
    for n in range(10):
        ReplyTemplate.objects.create(line=line, code=f"t{n}", language="en", title=f"T{n}", body="#{ticket_number}")
        if n in (0, 9):
            api.get(url)  # warm the caches of the first request
            with CaptureQueriesContext(connection) as queries:
                response = api.get(url)
            counts.append(len(queries))
    assert [row["rendered"] for row in response.json()] == [f"#{ticket.number}"] * 10
    assert counts[0] == counts[1]
