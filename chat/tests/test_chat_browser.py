"""The chat in Chromium against uvicorn (WebSockets need the ASGI server): a customer in the
control panel and an agent in the console talk, and each sees the other's message. In English
and in Russian; screenshots of the widget and the console at 1366 and 375 px wide go to
docs/screenshots/chat-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, CustomerFactory
from chat.models import Chat, ChatMessage, ChatSettings, ChatStatus
from knowledge.tests.factories import article
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tests.e2e import asgi_live
from tests.e2e import conftest as e2e

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Chromium at /usr/bin/chromium"),
]

browser = e2e.browser
asgi_live_server = asgi_live.asgi_live_server
asgi_page = asgi_live.asgi_page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCALES = {"en": "en-US", "ru": "ru-RU"}
WIDTHS = (1366, 375)
QUEUED = {"en": "number 1 in the queue", "ru": "1"}


def signed_in(open_page, user, language: str, server_url: str):
    client = Client()
    client.force_login(user)
    page = open_page(locale=LOCALES[language], viewport={"width": 1366, "height": 900})
    page.context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server_url},
            {"name": "django_language", "value": language, "url": server_url},
        ]
    )
    return page


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 780})
        page.wait_for_timeout(150)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=width < 400)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def people(transactional_db):
    line = LineFactory(code="first-line", name="First line", name_ru="Первая линия", level=1)
    RoutingRule.objects.create(category="general", line=line)
    ChatSettings.objects.create(line=line)
    agent = AgentFactory(username="anna", first_name="Anna", last_name="Ivanova")
    line.memberships.create(user=agent)
    customer = CustomerFactory(username="olga", first_name="Olga", last_name="Smirnova")
    article("apache-down", title_en="Apache does not start: AH00072", body_en="Port 80 is taken by nginx.",
            title_ru="Apache не запускается: AH00072", body_ru="Порт 80 занят nginx.")  # fmt: skip
    return {"agent": agent, "customer": customer}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_customer_and_an_agent_chat_and_each_sees_the_others_message(language, people, asgi_page, asgi_live_server):
    agent, customer = people["agent"], people["customer"]
    customer.language = agent.language = language
    customer.save(update_fields=["language"])
    agent.save(update_fields=["language"])
    url = asgi_live_server.url
    errors: list[str] = []

    widget = signed_in(asgi_page, customer, language, url)
    widget.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    widget.goto("/panel/chat/")
    widget.locator("[data-role=start] button[type=submit]").click()
    # The bot greets; it answers from the help centre.
    widget.locator(".chat-msg.from-bot").first.wait_for()
    widget.locator("#chat-input").fill(
        "apache does not start AH00072" if language == "en" else "Apache не запускается AH00072"
    )
    widget.locator("[data-role=compose] button[type=submit]").click()
    widget.locator(".chat-articles a").first.wait_for()
    assert "AH00072" in widget.locator(".chat-articles a").first.inner_text()
    widget.locator("[data-action=handoff]").click()
    widget.locator("[data-role=state]").filter(has_text=QUEUED[language]).wait_for()
    assert widget.locator("[data-role=conn][data-state=online]").count() == 1
    shoot(widget, f"chat-widget-{language}")

    console = signed_in(asgi_page, agent, language, url)
    console.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    console.goto("/desk/chat/")
    console.locator("[data-role=waiting] [data-accept]").first.click()
    console.locator("[data-role=current]").wait_for()
    hello = "Hello Olga, Anna here." if language == "en" else "Здравствуйте, Ольга, это Анна."
    console.locator("#console-input").fill(hello)
    console.locator("[data-role=compose] button[type=submit]").click()

    widget.locator(".chat-msg.from-agent").filter(has_text=hello).wait_for()
    reply = "Thanks! My VPS is slow since this morning." if language == "en" else "Спасибо! VPS тормозит с утра."
    widget.locator("#chat-input").fill(reply)
    widget.locator("[data-role=compose] button[type=submit]").click()
    console.locator(".chat-msg.from-customer").filter(has_text=reply).wait_for()
    console.locator("[data-role=mine] button").first.wait_for()
    shoot(console, f"chat-console-{language}")
    shoot(widget, f"chat-widget-talk-{language}")

    chat = Chat.objects.get(customer=customer)
    assert chat.status == ChatStatus.ACTIVE and chat.agent == agent
    assert list(ChatMessage.objects.filter(chat=chat, author_kind__in=["agent", "customer"])
                .order_by("seq").values_list("body", flat=True))[-2:] == [hello, reply]  # fmt: skip
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
