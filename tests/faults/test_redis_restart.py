"""Redis restarted while an agent's workspace and a chat are open in the browser.

The web server (uvicorn, as deployed) runs on a redis-server of this test's own, on a free port,
so nobody else's Redis is touched. With the agent's ticket page, the customer's chat widget and
the agent's chat console open, Redis is killed: the pages say live updates are paused; a chat
message typed meanwhile waits in the page, and a reply the customer sends by another way (the
services, as the API or a second process would) is stored although its broadcast fails. Redis is
started again on the same port: the pages reconnect by themselves and say so, the ticket page
shows the reply made while it was paused, the chat resends what it held, and every message,
before, during and after, is stored once and shown once. (chat/tests/test_redis_restart.py
covers the chat's socket protocol over a restart without a browser.)
"""

from __future__ import annotations

import copy
import os
import shutil
import time

import pytest
from channels.layers import channel_layers
from django.db import connections
from django.test import Client
from django.utils import translation

from accounts.tests.factories import AgentFactory, CustomerFactory
from chat.models import Chat, ChatMessage, ChatSettings, ChatStatus
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.stack import PrivateRedis, Stack, free_port
from tickets import services as ticket_services
from tickets.models import Message
from tickets.tests.helpers import make_ticket

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on the PATH"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium"),
]

# The pages try again after 1, 2, 4 ... s (live bar) and 0.5, 1, 2 ... s (chat), with jitter.
RECONNECT_MS = 45_000
PAUSED = "Live updates are paused: the connection is lost. Reconnecting…"
LIVE = "Live updates are on."


@pytest.fixture
def redis_of_our_own(settings):
    """A redis-server for this test; this process's channel layer uses it too (as the web's)."""
    redis = PrivateRedis(free_port())
    redis.start()
    url = f"redis://127.0.0.1:{redis.port}/0"
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    for host in layers["default"]["CONFIG"]["hosts"]:
        host["address"] = url
    settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    yield redis, url
    redis.stop()
    channel_layers.backends.clear()


@pytest.fixture
def web(redis_of_our_own, tmp_path, transactional_db, settings):
    """uvicorn on the test's database, its cache and channel layer on the private Redis."""
    _redis, url = redis_of_our_own
    # Sessions signed by this process are read there: the same key whatever settings it runs with.
    stack = Stack(tmp_path, env={"REDIS_URL": url, "DJANGO_SECRET_KEY": settings.SECRET_KEY})
    try:
        proc = stack.web("web")
        stack.wait_http(proc)
        yield stack, proc
    finally:
        stack.stop()


@pytest.fixture
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def desk(transactional_db):
    line = LineFactory(code="first-line", name="First line", name_ru="Первая линия", level=1)
    RoutingRule.objects.create(category="general", line=line)
    ChatSettings.objects.create(line=line)
    anna = AgentFactory(username="anna", first_name="Anna", last_name="Ivanova")
    line.memberships.create(user=anna)
    olga = CustomerFactory(username="olga", first_name="Olga", last_name="Smirnova")
    ticket = make_ticket(olga, subject="Website answers 502 since the morning")
    return {"anna": anna, "olga": olga, "ticket": ticket}


def signed_in(browser, url: str, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=url, locale="en-US", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url},
            {"name": "django_language", "value": "en", "url": url},
        ]
    )
    return context.new_page()


def send_from_widget(widget, text: str) -> None:
    widget.locator("#chat-input").fill(text)
    widget.locator("[data-role=compose] button[type=submit]").click()


def test_the_workspace_and_a_chat_pause_and_resume_over_a_redis_restart(redis_of_our_own, web, chromium, desk):
    from playwright.sync_api import expect

    redis, _url = redis_of_our_own
    stack, proc = web
    ticket, anna, olga = desk["ticket"], desk["anna"], desk["olga"]
    with translation.override("en"):
        assert translation.gettext(PAUSED) == PAUSED

    # The agent's ticket page, the customer's chat and the agent's console, all live.
    workspace = signed_in(chromium, proc.url, anna)
    workspace.goto(f"/desk/tickets/{ticket.number}/")
    bar = workspace.get_by_test_id("live-bar")
    expect(bar).to_have_attribute("data-state", "live")
    expect(bar).to_contain_text(LIVE)

    widget = signed_in(chromium, proc.url, olga)
    widget.goto("/panel/chat/")
    widget.locator("[data-role=start] button[type=submit]").click()
    widget.locator(".chat-msg.from-bot").first.wait_for()
    widget.locator("[data-action=handoff]").click()
    console = signed_in(chromium, proc.url, anna)
    console.goto("/desk/chat/")
    console.locator("[data-role=waiting] [data-accept]").first.click()
    console.locator("[data-role=current]").wait_for()
    chat = Chat.objects.get(customer=olga)
    assert chat.status == ChatStatus.ACTIVE

    send_from_widget(widget, "before: is my server up?")
    expect(console.locator(".chat-msg.from-customer").filter(has_text="before: is my server up?")).to_have_count(1)
    console.locator("#console-input").fill("before: checking now")
    console.locator("[data-role=compose] button[type=submit]").click()
    expect(widget.locator(".chat-msg.from-agent").filter(has_text="before: checking now")).to_have_count(1)

    # Redis goes away: the workspace's page says its live updates are paused.
    redis.stop()
    expect(bar).to_have_attribute("data-state", "paused", timeout=RECONNECT_MS)
    expect(bar).to_contain_text(PAUSED)
    stack.check_alive("Redis was down")

    # Meanwhile the customer writes in the chat: the socket cannot pass it on without Redis, so the
    # page says the connection is lost and holds the message; and a reply on the ticket, sent by
    # another way (the services, as the API or a second process would), is stored although its
    # push fails.
    send_from_widget(widget, "during: still down here")
    conn = widget.locator("[data-role=conn]")
    expect(conn).to_have_attribute("data-state", "lost", timeout=RECONNECT_MS)
    expect(conn).to_contain_text("Connection lost.")
    assert not ChatMessage.objects.filter(chat=chat, body="during: still down here").exists()
    during = ticket_services.message_add(ticket=ticket, author=olga, body="during: the site is still down")
    assert Message.objects.filter(pk=during.pk).exists()
    assert bar.get_attribute("data-state") == "paused"
    paused_for = time.monotonic()

    # Redis is back on the same port, empty: the pages reconnect by themselves and say so.
    redis.start()
    channel_layers.backends.clear()
    expect(bar).to_have_attribute("data-state", "live", timeout=RECONNECT_MS)
    expect(bar).to_contain_text(LIVE)
    back_after = time.monotonic() - paused_for
    print(f"live again {back_after:.1f} s after Redis was started again")
    expect(widget.locator("[data-role=conn]")).to_have_attribute("data-state", "online")
    expect(console.locator("[data-role=conn]")).to_have_attribute("data-state", "online")

    # The reply made while paused is on the ticket page now, once, without a reload.
    thread = workspace.locator('[data-live-region="thread"]')
    expect(thread.get_by_text("during: the site is still down")).to_have_count(1, timeout=RECONNECT_MS)
    # The widget resent the message it held: stored once, shown once on both sides.
    expect(console.locator(".chat-msg").filter(has_text="during: still down here")).to_have_count(
        1, timeout=RECONNECT_MS
    )

    # Live delivery works again, both ways, and on the ticket page.
    send_from_widget(widget, "after: it works again")
    expect(console.locator(".chat-msg.from-customer").filter(has_text="after: it works again")).to_have_count(1)
    console.locator("#console-input").fill("after: glad to hear")
    console.locator("[data-role=compose] button[type=submit]").click()
    expect(widget.locator(".chat-msg.from-agent").filter(has_text="after: glad to hear")).to_have_count(1)
    workspace.evaluate("window.__sameDocument = true")
    panel = widget.context.new_page()
    panel.goto(f"/panel/tickets/{ticket.number}/")
    reply = panel.get_by_test_id("reply-form")
    reply.locator("#id_body").fill("after: thank you")
    with panel.expect_navigation():
        reply.locator("button[type=submit]").click()
    expect(thread.get_by_text("after: thank you")).to_have_count(1, timeout=RECONNECT_MS)
    assert workspace.evaluate("window.__sameDocument") is True

    # Nothing stored was lost, nothing twice, in order.
    said = ["before: is my server up?", "before: checking now", "during: still down here"]
    said += ["after: it works again", "after: glad to hear"]
    stored = list(
        ChatMessage.objects.filter(chat=chat, author_kind__in=["customer", "agent"])
        .order_by("seq")
        .values_list("body", flat=True)
    )
    assert stored == said
    seqs = list(ChatMessage.objects.filter(chat=chat).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert ChatMessage.objects.filter(chat=chat, body="during: still down here").count() == 1
    for text in said:
        expect(console.locator(".chat-msg").filter(has_text=text)).to_have_count(1)
        expect(widget.locator(".chat-msg").filter(has_text=text)).to_have_count(1)
    bodies = list(Message.objects.filter(ticket=ticket, author=olga).values_list("body", flat=True))
    assert sorted(bodies) == ["after: thank you", "during: the site is still down"]
    stack.check_alive("the pages reconnected")
    assert back_after < RECONNECT_MS / 1000
