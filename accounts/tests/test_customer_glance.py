"""The customer at a glance: the ticket page's customer panel, the customer page, the lookup
while filing a ticket on a customer's behalf, and who may see them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import selectors
from accounts.models import Plan
from accounts.tests.factories import AgentFactory, CustomerFactory, OrganisationFactory, PlanFactory
from queues.tests.factories import LineFactory
from tickets.events import system_reason
from tickets.models import Category, EventKind, PackageTask, Status, SystemReason, TicketEvent
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich_customer(db):
    organisation = OrganisationFactory(name="Северный ветер")
    customer = CustomerFactory(
        username="wind", first_name="Anna", last_name="Vetrova", email="anna@wind.example", organisation=organisation
    )
    profile = customer.customer_profile
    profile.support_plan = PlanFactory(code="business", name="Business", level=2)
    profile.admin_package = PlanFactory(
        code="admin-basic", name="Admin basic", kind=Plan.Kind.ADMIN_PACKAGE, tasks_per_month=5, level=0
    )
    profile.spend_12m = Decimal("42000")
    profile.is_vip = True
    profile.customer_since = timezone.localdate() - dt.timedelta(days=3 * 365 + 70)
    profile.save()
    return customer


def _tickets(customer, line, count):
    """`count` tickets of the customer: open and closed ones, admin work, and a verdict on each closed one."""
    made = []
    for n in range(count):
        status = Status.WAITING_AGENT if n % 2 == 0 else Status.CLOSED
        ticket = TicketFactory(
            customer=customer,
            line=line,
            status=status,
            category=Category.ADMIN_WORK if n % 3 == 0 else Category.GENERAL,
            package_task=PackageTask.INCLUDED if n % 3 == 0 else "",
        )
        if status == Status.CLOSED:
            code = SystemReason.CONFIRMED if n % 4 == 1 else SystemReason.REOPENED
            TicketEvent.objects.create(
                ticket=ticket, kind=EventKind.STATUS, data={"old": "resolved", "new": "closed", **system_reason(code)}
            )
        made.append(ticket)
    return made


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("count", [1, 20])
def test_customer_card_reads_in_seven_queries_whatever_the_number_of_tickets(
    rich_customer, agent, line, count, django_assert_max_num_queries
):
    _tickets(rich_customer, line, count)
    customer = selectors.customer_visible_to(viewer=agent, customer_id=rich_customer.pk)
    with django_assert_max_num_queries(7):
        card = selectors.customer_card(viewer=agent, customer=customer)
        # Everything the panel shows is loaded: nothing more is read while it renders.
        [(t.line.code, t.assignee) for t in card.open_tickets + card.recent_tickets]
        [v.label for v in card.verdicts]
    assert card.total_count == count
    assert card.open_count == (count + 1) // 2
    assert card.package_tasks_used == len(range(0, count, 3))
    assert card.package_tasks_left == max(0, 5 - len(range(0, count, 3)))


def test_the_ticket_page_costs_the_same_with_one_ticket_of_the_customer_and_with_twenty(
    client, rich_customer, agent, line
):
    first = _tickets(rich_customer, line, 1)[0]
    client.force_login(agent)
    url = reverse("desk-ticket", args=[first.number])
    client.get(url)  # warm what is cached per process (the queue policy, the plans' averages)
    with_one = _page_queries(client, url)
    _tickets(rich_customer, line, 19)
    with_twenty = _page_queries(client, url)
    assert with_one == with_twenty


def test_the_ticket_page_shows_the_customer_panel(client, rich_customer, agent, line):
    tickets = _tickets(rich_customer, line, 6)
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[tickets[0].number])).content.decode()
    assert 'data-testid="customer-card"' in page
    assert "Anna Vetrova" in page and "anna@wind.example" in page and "Северный ветер" in page
    assert "Business" in page and "level 2" in page
    assert "Admin basic" in page and "3 of 5 tasks left this month" in page
    assert "3 years 2 months" in page
    assert "10,000 to 100,000 RUB" in page
    assert "VIP" in page
    # Other open tickets and recent ones link to their pages; the page's own ticket is not repeated.
    assert f"#{tickets[2].number}" in page and f"#{tickets[1].number}" in page
    open_list = page.split('data-testid="customer-open"')[1].split("</ul>")[0]
    assert f"#{tickets[0].number}<" not in open_list
    ratings = page.split('data-testid="customer-ratings"')[1].split("</ul>")[0]
    assert "Confirmed the solution" in ratings and "Reopened: not solved" in ratings
    assert reverse("desk-customer", args=[rich_customer.pk]) in page
    # The weight behind the place in the queue, in the panel.
    assert 'data-testid="weight"' in page


def test_the_customer_page_lists_the_whole_history_paginated(client, rich_customer, agent, line):
    _tickets(rich_customer, line, 25)
    client.force_login(agent)
    url = reverse("desk-customer", args=[rich_customer.pk])
    first = client.get(url).content.decode()
    assert first.count('data-label="Number"') == 20
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('data-label="Number"') == 5
    assert client.get(url, {"page": 3}).status_code == 404
    assert client.get(url, {"page": "x"}).status_code == 404


def test_who_may_see_a_customer(client, rich_customer, agent, manager, line):
    _tickets(rich_customer, line, 1)
    url = reverse("desk-customer", args=[rich_customer.pk])
    api = reverse("api:customer-card", args=[rich_customer.pk])
    # The customer themselves: the workspace is not theirs.
    client.force_login(rich_customer)
    assert client.get(url).status_code == 403
    assert client.get(api).status_code == 403
    # An agent of the line the customer's ticket is in.
    client.force_login(agent)
    assert client.get(url).status_code == 200
    assert client.get(api).json()["customer"]["username"] == "wind"
    # An agent of another line, who never worked on their tickets: no such customer.
    stranger = AgentFactory(username="stranger")
    LineFactory(code="sales").memberships.create(user=stranger)
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    assert client.get(api).status_code == 404
    # Management sees every customer, with or without tickets.
    client.force_login(manager)
    assert client.get(url).status_code == 200
    quiet = CustomerFactory(username="quiet")
    assert client.get(reverse("desk-customer", args=[quiet.pk])).status_code == 200
    # Staff are no customers.
    assert client.get(reverse("desk-customer", args=[agent.pk])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_lookup_finds_a_customer_by_name_email_or_organisation(client, rich_customer, agent):
    CustomerFactory(username="other", first_name="Boris", email="boris@example.net")
    client.force_login(agent)
    lookup = reverse("desk-customer-lookup")
    for query in ["Vetrova", "anna@wind", "северный", "anna vetrova", "WIND"]:
        page = client.get(lookup, {"customer": query}).content.decode()
        assert 'data-login="wind"' in page, query
        assert 'data-login="other"' not in page, query
    assert "No customer matches." in client.get(lookup, {"customer": "nobody-like-this"}).content.decode()
    # Staff are never offered as customers; one letter finds nothing yet.
    assert 'data-login="agent-a"' not in client.get(lookup, {"customer": "agent-a"}).content.decode()
    assert "data-login" not in client.get(lookup, {"customer": "a"}).content.decode()
    # The same through the API.
    hits = client.get(reverse("api:customer-lookup"), {"q": "северный ветер"}).json()
    assert [hit["username"] for hit in hits] == ["wind"]
    assert hits[0]["organisation"] == "Северный ветер" and hits[0]["email"] == "anna@wind.example"
    # The filing form asks the lookup as the agent types.
    form = client.get(reverse("desk-ticket-new")).content.decode()
    assert f'hx-get="{lookup}"' in form and 'hx-trigger="input changed delay:250ms"' in form


def test_customers_cannot_look_customers_up(client, rich_customer, customer):
    client.force_login(customer)
    assert client.get(reverse("desk-customer-lookup"), {"customer": "wind"}).status_code == 403
    assert client.get(reverse("api:customer-lookup"), {"q": "wind"}).status_code == 403


def test_spend_bands():
    assert [selectors.spend_band(Decimal(v)) for v in ["0", "1", "9999.99", "10000", "150000", "2000000"]] == [
        "none",
        "small",
        "small",
        "medium",
        "large",
        "top",
    ]


def test_the_customers_likes_and_dislikes_of_replies_are_among_their_past_ratings(rich_customer, agent, line):
    from quality import services as quality_services
    from tickets import services as ticket_services

    ticket = ticket_services.ticket_create(customer=rich_customer, subject="502", body="The site answers 502.")
    liked = ticket_services.message_add(ticket=ticket, author=agent, body="Restarted PHP-FPM.")
    disliked = ticket_services.message_add(ticket=ticket, author=agent, body="Please wait.")
    quality_services.rating_give(message=liked, customer=rich_customer, verdict="like")
    quality_services.rating_give(
        message=disliked, customer=rich_customer, verdict="dislike", comment="No answer for a day"
    )
    other = CustomerFactory(username="someone-else")
    card = selectors.customer_card(viewer=agent, customer=rich_customer)
    assert [(v.verdict, v.ticket_number, v.comment) for v in card.verdicts] == [
        ("dislike", ticket.number, "No answer for a day"),
        ("like", ticket.number, ""),
    ]
    assert [v.label for v in card.verdicts] == ["Disliked a reply", "Liked a reply"]
    assert selectors.customer_card(viewer=agent, customer=other).verdicts == []
    # A colleague of the line sees the customer, not how they rated someone else's replies.
    colleague = AgentFactory(username="colleague")
    line.memberships.create(user=colleague)
    assert selectors.customer_card(viewer=colleague, customer=rich_customer).verdicts == []
