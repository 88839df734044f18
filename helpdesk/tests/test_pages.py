"""The three web areas render real data with a bounded number of queries."""

import pytest
from django.urls import reverse

from tickets.models import Status
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_panel_shows_the_customers_own_tickets_only(client, customer, line):
    mine = TicketFactory(customer=customer, line=line, subject="My VPS is down")
    TicketFactory(line=line, subject="Someone else's secret trouble")
    client.force_login(customer)
    html = client.get(reverse("panel")).content.decode()
    assert "My VPS is down" in html
    assert f"#{mine.number}" in html
    assert "secret trouble" not in html


def test_panel_query_count_does_not_grow_with_tickets(client, customer, line, django_assert_max_num_queries):
    TicketFactory.create_batch(3, customer=customer, line=line)
    client.force_login(customer)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("panel"))
    TicketFactory.create_batch(20, customer=customer, line=line)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("panel"))


def test_desk_counts_the_tickets_of_the_agents_lines(client, agent, line):
    TicketFactory.create_batch(3, line=line, status=Status.WAITING_AGENT)
    TicketFactory(line=line, status=Status.IN_PROGRESS, assignee=agent, subject="Mine to fix")
    client.force_login(agent)
    response = client.get(reverse("desk"))
    lines = response.context["lines"]
    assert [(item.code, item.waiting, item.in_progress) for item in lines] == [("first-line", 3, 1)]
    assert "Mine to fix" in response.content.decode()


def test_ticket_numbers_are_human_friendly_and_increasing(line):
    first, second = TicketFactory(line=line), TicketFactory(line=line)
    assert first.number >= 100001
    assert second.number == first.number + 1


def test_manage_shows_every_line(client, manager, line):
    client.force_login(manager)
    response = client.get(reverse("manage"))
    assert [item.code for item in response.context["lines"]] == ["first-line"]


def test_root_sends_people_to_their_area(client, users_by_role):
    client.force_login(users_by_role["customer"])
    assert client.get("/")["Location"] == reverse("panel")
    client.force_login(users_by_role["agent"])
    assert client.get("/")["Location"] == reverse("desk")
    client.force_login(users_by_role["manager"])
    assert client.get("/")["Location"] == reverse("manage")


def test_static_assets_are_served_locally(client):
    response = client.get("/static/helpdesk/vendor/htmx.min.js")
    assert response.status_code == 200
