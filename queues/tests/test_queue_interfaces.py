"""The queue through the pages and the API: standing, boosts, take-next, overview, balance."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import CustomerFactory
from queues import selectors as queue_selectors
from queues import services as queue_services
from queues.models import BalanceEntry, Boost, BoostKind, BoostPrice
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(line, agent):
    BoostPrice.objects.create(kind=BoostKind.FRONT, price=Decimal(200))
    BoostPrice.objects.create(kind=BoostKind.BEHIND_FIRST, price=Decimal(50))
    start = timezone.now() - dt.timedelta(minutes=30)
    tickets = []
    for i in range(3):
        with time_machine.travel(start + dt.timedelta(minutes=i), tick=False):
            owner = CustomerFactory(username=f"waiting-{i}")
            tickets.append(services.ticket_create(customer=owner, subject=f"Waiting {i}", body="x"))
    return tickets


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_customer_sees_position_and_says_when_there_is_too_little_data(client, queue):
    last = queue[-1]
    client.force_login(last.customer)
    html = client.get(reverse("panel-ticket", args=[last.number])).content.decode()
    assert "You are number 3 in the queue" in html
    assert "not enough recent data" in html
    fragment = client.get(reverse("panel-ticket-standing", args=[last.number])).content.decode()
    assert 'hx-trigger="every 30s"' in fragment


def test_customer_buys_a_boost_from_the_page_once_per_click(client, queue):
    last = queue[-1]
    queue_services.balance_credit(customer=last.customer, amount=Decimal(300), description="top-up")
    client.force_login(last.customer)
    html = client.get(reverse("panel-ticket", args=[last.number])).content.decode()
    assert "puts you at number 1 now" in html
    form = {"kind": "front", "idempotency_key": "click-1"}
    client.post(reverse("panel-ticket-boost", args=[last.number]), form)
    client.post(reverse("panel-ticket-boost", args=[last.number]), form)  # a double click
    assert Boost.objects.filter(ticket=last).count() == 1
    assert queue_selectors.balance_of(last.customer) == Decimal(100)
    last.refresh_from_db()
    assert queue_selectors.queue_position(ticket=last) == 1


def test_a_boost_without_money_is_refused_with_a_clear_message(client, queue):
    last = queue[-1]
    client.force_login(last.customer)
    response = client.post(
        reverse("panel-ticket-boost", args=[last.number]), {"kind": "front", "idempotency_key": "k"}, follow=True
    )
    assert "Your balance is 0" in response.content.decode()
    assert not BalanceEntry.objects.filter(customer=last.customer).exists()


def test_take_next_from_the_workspace_takes_the_head_of_the_queue(client, agent, queue):
    client.force_login(agent)
    response = client.post(reverse("desk-take-next"))
    assert response["Location"] == reverse("desk-ticket", args=[queue[0].number])
    queue[0].refresh_from_db()
    assert (queue[0].assignee, queue[0].status) == (agent, Status.IN_PROGRESS)


def test_manager_queue_page_shows_the_bound_and_the_waiting(client, manager, queue):
    client.force_login(manager)
    response = client.get(reverse("manage-queue"))
    html = response.content.decode()
    assert "Starvation bound" in html and "240 minutes" in html
    (row,) = [r for r in response.context["overview"] if r["line"].code == "first-line"]
    assert row["waiting"] == 3
    assert row["oldest_wait"] >= dt.timedelta(minutes=29)


def test_queue_pages_are_for_their_roles(client, customer, agent, queue):
    client.force_login(customer)
    assert client.get(reverse("manage-queue")).status_code == 403
    assert client.post(reverse("desk-take-next")).status_code == 403
    assert client.get(reverse("panel-ticket-standing", args=[queue[0].number])).status_code == 404
    client.force_login(agent)
    assert client.get(reverse("manage-queue")).status_code == 403


def test_api_standing_quote_buy_and_balance(queue):
    last = queue[-1]
    owner = last.customer
    queue_services.balance_credit(customer=owner, amount=Decimal(100), description="top-up")
    standing = api(owner).get(reverse("api:ticket-queue", args=[last.number])).json()
    assert (standing["position"], standing["line"], standing["estimate"]["enough_data"]) == (3, "first-line", False)
    quote = api(owner).get(reverse("api:ticket-boost", args=[last.number]), {"kind": "behind_first"}).json()
    assert (quote["position_now"], quote["position_after"], quote["price"]) == (3, 2, "50.00")
    bought = api(owner).post(
        reverse("api:ticket-boost", args=[last.number]),
        {"kind": "behind_first", "idempotency_key": "a1"},
        format="json",
    )
    assert bought.status_code == 201
    again = api(owner).post(
        reverse("api:ticket-boost", args=[last.number]),
        {"kind": "behind_first", "idempotency_key": "a1"},
        format="json",
    )
    assert again.json()["id"] == bought.json()["id"]
    balance = api(owner).get(reverse("api:balance")).json()
    assert balance["balance"] == "50.00"
    assert [e["amount"] for e in balance["results"]] == ["-50.00", "100.00"]


def test_api_take_next_gives_each_ticket_once_and_204_when_empty(agent, queue):
    taken = [api(agent).post(reverse("api:queue-take-next"), {}, format="json") for _ in range(4)]
    assert [r.status_code for r in taken] == [200, 200, 200, 204]
    assert [r.json()["number"] for r in taken[:3]] == [t.number for t in queue]


def test_api_queue_overview_is_for_management(agent, manager, queue):
    assert api(agent).get(reverse("api:queue-overview")).status_code == 403
    rows = api(manager).get(reverse("api:queue-overview")).json()
    assert {k: rows[0][k] for k in ("line", "waiting")} == {"line": "first-line", "waiting": 3}
    assert rows[0]["max_credit_minutes"] == 240


def test_agents_cannot_take_next_from_a_line_they_are_not_in(agent, queue):
    LineFactory(code="sales", kind="department", level=None)
    response = api(agent).post(reverse("api:queue-take-next"), {"line": "sales"}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("format_", ["json", "multipart", "form"])
def test_api_take_next_refuses_an_empty_line_and_takes_nothing(agent, queue, format_):
    url = reverse("api:queue-take-next")
    if format_ == "form":
        response = api(agent).post(url, "line=", content_type="application/x-www-form-urlencoded")
    else:
        response = api(agent).post(url, {"line": ""}, format=format_)
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["field"]) == ("blank", "line")
    for ticket in queue:
        ticket.refresh_from_db()
    assert all(ticket.assignee_id is None for ticket in queue)
