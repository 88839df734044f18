"""Reads that must not grow with the number of tickets: the lines' counts, the queue overview,
the API list's count, and what filing a ticket costs in statements."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, CustomerProfile
from accounts.services import api_token_issue
from accounts.tests.factories import CustomerFactory, PlanFactory
from queues import selectors as queue_selectors
from queues.tests.factories import LineFactory
from tickets import selectors, services
from tickets.models import LineStint, Status, Ticket

pytestmark = pytest.mark.django_db


def make(customer, **fields):
    return services.ticket_create(customer=customer, subject="Server does not answer", body="Since an hour.", **fields)


def set_status(ticket, status, **fields):
    Ticket.objects.filter(pk=ticket.pk).update(status=status, **fields)


def test_line_overview_counts_only_open_tickets_per_status(line, agent, customer):
    other = LineFactory(code="second-line", name="Second line", level=2)
    tickets = [make(customer) for _ in range(7)]
    set_status(tickets[1], Status.WAITING_AGENT)
    set_status(tickets[2], Status.IN_PROGRESS, assignee=agent)
    set_status(tickets[3], Status.WAITING_CUSTOMER)
    set_status(tickets[4], Status.RESOLVED)
    set_status(tickets[5], Status.CLOSED)
    Ticket.objects.filter(pk=tickets[6].pk).update(line=other)
    rows = {
        row.code: (row.waiting, row.in_progress, row.waiting_customer)
        for row in selectors.line_overview(lines=selectors.lines_for_agent(user=agent))
    }
    assert rows == {"first-line": (2, 1, 1)}
    every = {row.code: row.waiting for row in selectors.line_overview(lines=selectors.active_lines())}
    assert every == {"first-line": 2, "second-line": 1}


def test_the_workspace_home_reads_as_many_queries_for_many_lines_as_for_one(client, line, agent, customer):
    make(customer)
    client.force_login(agent)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("desk")).status_code == 200
        return len(captured.captured_queries)

    one_line = queries()
    for code in ("a", "b", "c"):
        LineFactory(code=f"line-{code}", name=code, level=2).memberships.create(user=agent)
    make(customer)
    assert queries() == one_line
    response = client.get(reverse("desk"))
    assert [(row.code, row.waiting) for row in response.context["lines"]][0] == ("first-line", 2)


def test_queue_overview_counts_the_waiting_unassigned_tickets_and_their_customers(line, agent, customer):
    vip = CustomerFactory(username="vip")
    CustomerProfile.objects.filter(user=vip).update(is_vip=True, support_plan=PlanFactory(code="business", level=2))
    waiting = [make(customer), make(customer), make(vip)]
    taken = make(customer)
    set_status(taken, Status.IN_PROGRESS, assignee=agent)
    set_status(make(customer), Status.CLOSED)
    LineFactory(code="empty-line", name="Empty", level=2)
    rows = {row["line"].code: row for row in queue_selectors.queue_overview()}
    assert rows["first-line"]["waiting"] == len(waiting)
    assert rows["first-line"]["classes"]["vip"] == 1
    assert rows["first-line"]["classes"]["business"] == 1
    assert rows["first-line"]["oldest_wait"] is not None
    assert (rows["empty-line"]["waiting"], rows["empty-line"]["oldest_wait"]) == (0, None)


def test_queue_overview_reads_as_many_queries_for_many_lines_as_for_one(line, customer):
    make(customer)
    with CaptureQueriesContext(connection) as one_line:
        queue_selectors.queue_overview()
    for code in ("a", "b", "c"):
        LineFactory(code=f"line-{code}", name=code, level=2)
    with CaptureQueriesContext(connection) as four_lines:
        queue_selectors.queue_overview()
    assert len(four_lines.captured_queries) == len(one_line.captured_queries) <= 4


@pytest.fixture
def many_tickets(line, customer):
    tickets = [make(customer) for _ in range(14)]
    return customer, tickets


def test_the_api_list_counts_only_ten_pages_past_the_one_asked_for(many_tickets):
    customer, tickets = many_tickets
    client = APIClient()
    client.force_authenticate(customer)
    # One ticket a page: pages 1 to 11 are counted, and one more to know there are more.
    first = client.get(reverse("api:ticket-list"), {"page_size": 1}).json()
    assert (first["count"], first["count_exact"]) == (12, False)
    assert first["next"] is not None and len(first["results"]) == 1
    last = client.get(reverse("api:ticket-list"), {"page_size": 1, "page": 14}).json()
    assert (last["count"], last["count_exact"], last["next"]) == (14, True, None)
    whole = client.get(reverse("api:ticket-list")).json()
    assert (whole["count"], whole["count_exact"]) == (len(tickets), True)


def test_the_api_list_refuses_pages_that_are_no_page_number(many_tickets):
    customer, _tickets = many_tickets
    client = APIClient()
    client.force_authenticate(customer)
    for page in ("last", "0", "x", "99"):
        assert client.get(reverse("api:ticket-list"), {"page": page}).status_code == 404


def test_filing_through_the_api_takes_a_handful_of_statements(line, customer, django_assert_max_num_queries):
    CustomerProfile.objects.filter(user=customer).update(support_plan=PlanFactory(code="standard", level=1))
    _token, key = api_token_issue(user=customer, name="script")
    ApiToken.objects.update(last_used_at=None)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    body = {"subject": "VPS down", "body": "It does not answer.", "category": "tech_simple", "urgency": "normal"}
    client.post(reverse("api:ticket-list"), data=json.dumps(body), content_type="application/json")
    # 21 statements before: the customer's profile was read twice, the ticket's number read
    # back after the INSERT, the line's next line read lazily, and the answer read back the
    # stint, the files and the access data written a moment before.
    with django_assert_max_num_queries(15):
        response = client.post(reverse("api:ticket-list"), data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201
    data = response.json()
    ticket = Ticket.objects.get(number=data["number"])
    assert data["stints"][0]["line"] == "first-line" and len(data["stints"]) == 1
    assert LineStint.objects.filter(ticket=ticket).count() == 1
    assert (data["attachments"], data["has_access_data"]) == ([], False)


def test_the_answer_to_a_filing_shows_its_access_data_and_files_as_a_later_read_does(
    line, customer, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = APIClient()
    client.force_authenticate(customer)
    body = {"subject": "VPS down", "body": "It does not answer.", "access_data": "root / hunter2"}
    created = client.post(reverse("api:ticket-list"), data=body, format="json").json()
    again = client.get(reverse("api:ticket-detail", args=[created["number"]])).json()
    for key in ("stints", "attachments", "has_access_data", "messages"):
        assert created[key] == again[key], key
    assert created["has_access_data"] is True
