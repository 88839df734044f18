"""The live workspace in Chromium against uvicorn (WebSockets), in English and in Russian:
two agents on one ticket see each other, the second is warned before replying after the
first replied, and the ticket list shows a new ticket without a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tests.e2e import asgi_live
from tests.e2e import conftest as e2e
from tickets.models import Message
from tickets.tests.helpers import make_ticket

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Chromium at /usr/bin/chromium"),
]

# The browser and the uvicorn server (tests/e2e), as fixtures of this module.
browser = e2e.browser
asgi_live_server = asgi_live.asgi_live_server
asgi_page = asgi_live.asgi_page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCALES = {"en": "en-US", "ru": "ru-RU"}
SEND_ANYWAY = {"en": "Send anyway", "ru": "Всё равно отправить"}


def signed_in(open_page, user, language: str, server_url: str, *, width: int = 1366):
    """A page of `user`'s own browser, signed in through a session made for them."""
    client = Client()
    client.force_login(user)
    page = open_page(locale=LOCALES[language], viewport={"width": width, "height": 900})
    page.context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server_url},
            {"name": "django_language", "value": language, "url": server_url},
        ]
    )
    return page


def live(page) -> None:
    page.locator('[data-testid="live-bar"][data-state="live"]').wait_for()


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.fixture
def desk(transactional_db):
    line = LineFactory(code="first-line", name="First line", name_ru="Первая линия", level=1)
    RoutingRule.objects.create(category="general", line=line)
    anna = AgentFactory(username="anna", first_name="Anna", last_name="Ivanova", language="en")
    boris = AgentFactory(username="boris", first_name="Boris", last_name="Petrov", language="en")
    for agent in (anna, boris):
        line.memberships.create(user=agent)
    customer = CustomerFactory(username="olga", first_name="Olga", last_name="Smirnova")
    ticket = make_ticket(customer, subject="Website answers 502 since the morning")
    return {"line": line, "anna": anna, "boris": boris, "customer": customer, "ticket": ticket}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_second_agent_sees_the_first_and_is_warned_before_replying(language, desk, asgi_page, asgi_live_server):
    ticket, anna, boris = desk["ticket"], desk["anna"], desk["boris"]
    url = f"/desk/tickets/{ticket.number}/"
    first = signed_in(asgi_page, anna, language, asgi_live_server.url)
    first.goto(url)
    live(first)
    second = signed_in(asgi_page, boris, language, asgi_live_server.url)
    second.goto(url)
    live(second)

    # Each sees the other on the page; typing shows.
    presence = second.get_by_test_id("presence")
    presence.filter(has_text=anna.display_name).wait_for()
    first.get_by_test_id("presence").filter(has_text=boris.display_name).wait_for()
    second.locator("#id_body").fill("Let me check the web server")
    first.locator(".live-typing", has_text=boris.display_name).wait_for()
    shoot(second, f"live-presence-{language}")

    # The first agent replies; the second's page shows it and warns at once...
    first.locator("#id_body").fill("The web server was restarted; it answers again.")
    with first.expect_navigation():
        first.get_by_test_id("reply-form").locator("button[type=submit]").click()
    second.locator('[data-live-region="thread"]', has_text="it answers again").wait_for()
    warning = second.locator("[data-live-collision]")
    warning.wait_for()
    assert anna.display_name in warning.inner_text()

    # ...and the server refuses the second's reply until it is confirmed.
    second.locator("#id_body").fill("I am restarting the web server now.")
    with second.expect_navigation():
        second.get_by_test_id("reply-form").locator("button[type=submit]").click()
    collision = second.get_by_test_id("collision")
    assert anna.display_name in collision.inner_text()
    assert second.locator("#id_body").input_value() == "I am restarting the web server now."
    assert not Message.objects.filter(ticket=ticket, author=boris).exists()
    live(second)
    shoot(second, f"live-collision-{language}")
    second.set_viewport_size({"width": 375, "height": 800})
    collision.scroll_into_view_if_needed()
    shoot(second, f"live-collision-{language}-375")
    second.set_viewport_size({"width": 1366, "height": 900})

    send = second.get_by_test_id("reply-form").locator("button[type=submit]")
    assert send.inner_text().strip() == SEND_ANYWAY[language] or send.inner_text().strip() == SEND_ANYWAY["en"]
    with second.expect_navigation():
        send.click()
    assert Message.objects.filter(ticket=ticket, author=boris, body="I am restarting the web server now.").exists()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_ticket_list_shows_a_new_ticket_without_a_reload(language, desk, asgi_page, asgi_live_server):
    page = signed_in(asgi_page, desk["anna"], language, asgi_live_server.url)
    page.goto("/desk/tickets/")
    live(page)
    page.evaluate("window.__sameDocument = true")

    filed = make_ticket(desk["customer"], subject="Mail bounces from our domain")

    row = page.get_by_test_id("ticket-list").locator("tr", has_text=f"{filed.number}")
    row.wait_for()
    assert "Mail bounces from our domain" in row.inner_text()
    assert page.evaluate("window.__sameDocument") is True  # no reload
    shoot(page, f"live-list-{language}")
    page.set_viewport_size({"width": 375, "height": 800})
    shoot(page, f"live-list-{language}-375")


def test_the_page_says_when_live_updates_are_paused(desk, asgi_page, asgi_live_server):
    page = signed_in(asgi_page, desk["anna"], "en", asgi_live_server.url)
    page.goto(f"/desk/tickets/{desk['ticket'].number}/")
    live(page)
    # The server goes away: the socket closes and the page says so while it tries again.
    asgi_live_server.process.terminate()
    asgi_live_server.process.wait(timeout=15)
    state = page.locator('[data-testid="live-bar"][data-state="paused"]')
    state.wait_for()
    assert re.search(r"paused", state.inner_text())
