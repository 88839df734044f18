"""What the ticket pages, the lists and filing through the API cost in queries.

Each figure is the count after the pages stopped asking the same thing several times: the
agent's lines once per request (helpdesk.request_cache), the assignee's name and whether
access data is stored with the ticket, the thread's files with the ticket's own, the
incident link in one query, the caller's profile with the API token, the route in one
query, an event and its outbox row in one statement. The old code needs more, so these
fail if it comes back.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AgentProfile, ApiToken, CustomerProfile
from accounts.services import api_token_issue
from accounts.tests.factories import OrganisationFactory, PlanFactory
from helpdesk.request_cache import RequestCacheMiddleware
from queues.models import LineMembership, RoutingRule
from queues.tests.factories import LineFactory
from tickets import events, selectors, services
from tickets.models import Category, EventKind, EventOutbox, Message, TicketEvent, Urgency

pytestmark = pytest.mark.django_db

# A query of its own for whether access data is stored (now read with the ticket).
READ_SECRET = ('SELECT "tickets_ticketsecret"', 'SELECT 1 AS "a" FROM "tickets_ticketsecret"')


@pytest.fixture
def worked_ticket(settings, tmp_path, line, agent, customer):
    """A ticket as the pages usually show it: taken by the agent, a few messages with files, a
    note, access data, the customer in an organisation with a plan."""
    settings.MEDIA_ROOT = tmp_path
    AgentProfile.objects.filter(user=agent).update(display_name="Anna")
    CustomerProfile.objects.filter(user=customer).update(support_plan=PlanFactory(code="business", level=2))
    customer.organisation = OrganisationFactory()
    customer.save()
    ticket = services.ticket_create(
        customer=customer,
        subject="VPS down",
        body="It does not answer.",
        access_data="root / hunter2",
        attachments=[SimpleUploadedFile("boot.log", b"kernel panic", content_type="text/plain")],
    )
    services.ticket_take(ticket=ticket, agent=agent)
    for number in range(3):
        services.message_add(
            ticket=ticket,
            author=agent,
            body=f"Looking, step {number}.",
            attachments=[SimpleUploadedFile(f"step{number}.txt", b"output", content_type="text/plain")],
        )
        services.message_add(ticket=ticket, author=customer, body=f"Thanks {number}.")
    services.message_add(ticket=ticket, author=agent, body="Internal.", kind=Message.Kind.NOTE)
    return ticket


def count(client, url, **extra) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(captured.captured_queries), [query["sql"] for query in captured.captured_queries]


def test_the_workspace_ticket_page_reads_the_agents_lines_once(client, agent, worked_ticket):
    client.force_login(agent)
    client.get(reverse("desk-ticket", args=[worked_ticket.number]))
    queries, sql = count(client, reverse("desk-ticket", args=[worked_ticket.number]))
    # 35 before, on the benchmark's ticket: the lines read five times, the assignee's name, the
    # access data, the customer again for the card, the ticket's files apart from the thread's,
    # the incident link twice.
    assert queries <= 26
    assert sum('FROM "queues_linemembership"' in statement for statement in sql) == 1
    assert not any(statement.startswith(READ_SECRET) for statement in sql)
    assert sum('FROM "tickets_attachment"' in statement for statement in sql) == 1
    assert sum('FROM "status_incidentticket"' in statement for statement in sql) == 1
    page = client.get(reverse("desk-ticket", args=[worked_ticket.number]))
    assert page.context["has_access_data"] is True and page.context["is_line_member"] is True
    assert [file.original_name for file in page.context["ticket_files"]] == ["boot.log"]
    files = [[file.original_name for file in message.attachments.all()] for message in page.context["thread"]]
    assert files[:2] == [["step0.txt"], []]
    assert page.context["thread"][-1].kind == Message.Kind.NOTE


def test_the_panel_ticket_page_reads_the_ticket_with_what_it_shows(client, customer, worked_ticket):
    client.force_login(customer)
    client.get(reverse("panel-ticket", args=[worked_ticket.number]))
    queries, sql = count(client, reverse("panel-ticket", args=[worked_ticket.number]))
    assert queries <= 9  # 12 before
    assert not any(statement.startswith(READ_SECRET) for statement in sql)
    page = client.get(reverse("panel-ticket", args=[worked_ticket.number]))
    assert page.context["has_access_data"] is True
    assert all(message.kind != Message.Kind.NOTE for message in page.context["thread"])


@pytest.mark.parametrize(("who", "most"), [("customer", 5), ("agent", 10)])
def test_a_ticket_through_the_api(who, most, request, worked_ticket):
    user = request.getfixturevalue(who)
    _token, key = api_token_issue(user=user, name="script")
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    url = reverse("api:ticket-detail", args=[worked_ticket.number])
    client.get(url)
    # 9 (customer) and 14 (agent) before.
    queries, sql = count(client, url)
    assert queries <= most
    assert not any('FROM "accounts_customerprofile"' in statement for statement in sql)
    data = client.get(url).json()
    assert data["has_access_data"] is True
    assert [file["name"] for file in data["attachments"]] == ["boot.log"]
    assert [file["name"] for file in data["messages"][0]["attachments"]] == ["step0.txt"]
    assert (data["messages"][-1]["kind"] == Message.Kind.NOTE) is (who == "agent")


def test_the_lists_read_the_lines_and_their_counts_once(client, agent, customer, worked_ticket):
    client.force_login(agent)
    client.get(reverse("desk-tickets"))
    queries, sql = count(client, reverse("desk-tickets"))
    # 14 before: the lines read three times, the list counted apart from the views.
    assert queries <= 11
    assert sum('FROM "queues_linemembership"' in statement for statement in sql) == 1
    assert sum('FROM "queues_line"' in statement for statement in sql) == 1
    _token, key = api_token_issue(user=customer, name="script")
    api = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    api.get(reverse("api:ticket-list"))
    assert count(api, reverse("api:ticket-list"))[0] <= 3  # 4 before: the customer's profile


def test_filing_through_the_api_reads_the_route_once_and_writes_the_event_with_its_outbox(line, customer):
    CustomerProfile.objects.filter(user=customer).update(support_plan=PlanFactory(code="standard", level=1))
    _token, key = api_token_issue(user=customer, name="script")
    ApiToken.objects.update(last_used_at=None)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    body = {"subject": "VPS down", "body": "It does not answer.", "category": "tech_simple", "urgency": "normal"}
    client.post(reverse("api:ticket-list"), data=json.dumps(body), content_type="application/json")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse("api:ticket-list"), data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201
    sql = [query["sql"] for query in captured.captured_queries]
    # 15 before (test_volume_reads; the savepoint and its release included): the route in two
    # queries, the profile read again, the event and its outbox row in two statements. (Served,
    # the live update after the commit no longer reads the creator's name either.)
    assert len(sql) <= 12, "\n".join(sql)
    assert sum('FROM "queues_line"' in statement for statement in sql) == 1
    assert not any('FROM "accounts_customerprofile"' in statement for statement in sql)
    assert not any('FROM "accounts_agentprofile"' in statement for statement in sql)
    event = TicketEvent.objects.get(ticket__number=response.json()["number"], kind=EventKind.CREATED)
    assert EventOutbox.objects.filter(event=event).exists()


def test_the_route_prefers_the_rule_for_the_urgency_then_any_then_the_first_tier(line):
    department = LineFactory(code="sales", name="Sales", kind="department", level=None)
    second = LineFactory(code="second-line", name="Second line", level=2)
    assert services.route(category=Category.BILLING, urgency=Urgency.HIGH) == line
    RoutingRule.objects.create(category=Category.BILLING, urgency="", line=department)
    assert services.route(category=Category.BILLING, urgency=Urgency.HIGH) == department
    RoutingRule.objects.create(category=Category.BILLING, urgency=Urgency.HIGH, line=second)
    assert services.route(category=Category.BILLING, urgency=Urgency.HIGH) == second
    assert services.route(category=Category.BILLING, urgency=Urgency.NORMAL) == department
    second.is_active = False
    second.save()
    assert services.route(category=Category.BILLING, urgency=Urgency.HIGH) == department


def test_an_event_written_with_its_outbox_row_is_a_saved_event(line, agent, customer):
    ticket = services.ticket_create(customer=customer, subject="VPS down", body="It does not answer.")
    with CaptureQueriesContext(connection) as captured:
        event = events.status_changed(ticket, agent, old="new", new="in_progress", reason="")
    assert len(captured.captured_queries) == 1
    assert event.pk is not None and not event._state.adding
    stored = TicketEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.actor_id, stored.data, stored.created_at) == (
        event.kind,
        agent.id,
        event.data,
        event.created_at,
    )
    assert EventOutbox.objects.filter(event_id=event.pk).exists()


def test_the_lines_read_once_per_request_are_read_again_once_a_membership_changes(line, agent):
    other = LineFactory(code="second-line", name="Second line", level=2)
    seen = []

    def view(request):
        seen.append(selectors.member_line_ids(agent))
        with CaptureQueriesContext(connection) as again:
            seen.append(selectors.member_line_ids(agent))
        seen.append(len(again.captured_queries))
        LineMembership.objects.create(line=other, user=agent)
        seen.append(selectors.member_line_ids(agent))

    RequestCacheMiddleware(view)(None)
    assert seen[:3] == [[line.id], [line.id], 0]
    assert sorted(seen[3]) == sorted([line.id, other.id])
    # Outside a request nothing is kept.
    LineMembership.objects.filter(line=other, user=agent).delete()
    assert selectors.member_line_ids(agent) == [line.id]
