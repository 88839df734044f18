"""Which pages carry the live bar, with which socket, and which regions they let it refresh."""

from __future__ import annotations

import pytest
from django.urls import reverse

from queues.models import RoutingRule
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(line, customer):
    RoutingRule.objects.get_or_create(category="general", defaults={"line": line})
    return make_ticket(customer)


def test_the_workspace_pages_carry_the_desk_sockets(client, agent, ticket):
    client.force_login(agent)
    pages = {
        reverse("desk"): ("/ws/live/desk/", ["lines", "assigned"]),
        reverse("desk-tickets"): ("/ws/live/desk/", ["views", "ticket-list"]),
        reverse("desk-ticket", args=[ticket.number]): (
            f"/ws/live/desk/tickets/{ticket.number}/",
            ["meta", "thread", "actions", "history"],
        ),
    }
    for url, (socket, regions) in pages.items():
        html = client.get(url).content.decode()
        assert f'data-live-socket="{socket}"' in html, url
        assert "/static/chat/live.js" in html, url
        for region in regions:
            assert f'data-live-region="{region}"' in html, (url, region)
    detail = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert "data-live-presence" in detail and "data-live-collision" in detail


def test_the_customers_ticket_page_carries_the_panel_socket(client, customer, ticket):
    client.force_login(customer)
    html = client.get(reverse("panel-ticket", args=[ticket.number])).content.decode()
    assert f'data-live-socket="/ws/live/panel/tickets/{ticket.number}/"' in html
    for region in ("meta", "standing", "thread"):
        assert f'data-live-region="{region}"' in html
    assert "data-live-presence" not in html  # customers are not shown who else is looking


def test_the_bar_speaks_russian(client, agent, ticket):
    agent.language = "ru"
    agent.save(update_fields=["language"])
    client.force_login(agent)
    html = client.get(reverse("desk-ticket", args=[ticket.number]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Обновления приостановлены" in html
