"""The live workspace's sockets (chat.live) through helpdesk.asgi (origin check, session,
routing) on the real Redis channel layer, fed by chat.broadcast once ticket services commit."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from accounts.tests.factories import AgentFactory, CustomerFactory, ManagerFactory
from chat import broadcast, live
from queues.models import LineMembership, RoutingRule
from queues.tests.factories import LineFactory
from tickets import events, services
from tickets.models import EventKind, Message
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://localhost"


def run(scenario, *args):
    return async_to_sync(scenario)(*args)


def cookie_of(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Live:
    """A live socket of one page, with a buffer of frames read past."""

    def __init__(self, path: str, *, cookie: bytes | None = None, origin: bytes | None = ORIGIN):
        from helpdesk.asgi import application

        headers = [(b"host", b"localhost")]
        if origin is not None:
            headers.append((b"origin", origin))
        if cookie:
            headers.append((b"cookie", cookie))
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        self.frames: list[dict] = []

    async def connect(self):
        return await self.comm.connect(timeout=10)

    async def send(self, **frame) -> None:
        await self.comm.send_to(text_data=json.dumps(frame))

    async def expect(self, frame_type: str, timeout: float = 10, **match) -> dict:
        for index, frame in enumerate(self.frames):
            if frame.get("type") == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return self.frames.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {frame_type} {match} frame; got {self.frames}")
            output = await self.comm.receive_output(timeout=left)
            if output["type"] == "websocket.close":
                raise AssertionError(
                    f"closed ({output.get('code')}) before a {frame_type} {match} frame; got {self.frames}"
                )
            frame = json.loads(output["text"])
            if frame.get("type") == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.frames.append(frame)

    async def closed_with(self, timeout: float = 5) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            output = await self.comm.receive_output(timeout=max(0.01, deadline - loop.time()))
            if output["type"] == "websocket.close":
                return output.get("code")
            self.frames.append(json.loads(output["text"]))

    async def quiet(self, timeout: float = 0.5) -> bool:
        return await self.comm.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.comm.disconnect()


async def opened(path: str, user) -> Live:
    sock = Live(path, cookie=await database_sync_to_async(cookie_of)(user))
    connected, code = await sock.connect()
    assert connected, code
    return sock


def desk_ticket(number: int) -> str:
    return f"/ws/live/desk/tickets/{number}/"


def panel_ticket(number: int) -> str:
    return f"/ws/live/panel/tickets/{number}/"


@pytest.fixture
def routed(line):
    RoutingRule.objects.get_or_create(category="general", defaults={"line": line})
    return line


@pytest.fixture
def colleague(routed):
    user = AgentFactory(username="agent-b", first_name="Boris", last_name="Petrov")
    routed.memberships.create(user=user)
    return user


@pytest.fixture
def stranger(db):
    """An agent of another line only."""
    user = AgentFactory(username="fin-agent")
    LineFactory(code="finance", name="Finance", level=None, kind="department").memberships.create(user=user)
    return user


def test_the_broadcaster_is_registered_for_every_ticket_event():
    assert broadcast.publish in events.EVENT_HOOKS


# --- pushes after commit ---------------------------------------------------------------------------


def test_an_agent_on_a_ticket_page_hears_the_customers_reply_once_it_commits(routed, agent, customer):
    ticket = make_ticket(customer)

    async def scenario():
        sock = await opened(desk_ticket(ticket.number), agent)
        await database_sync_to_async(services.message_add)(ticket=ticket, author=customer, body="Any news?")
        frame = await sock.expect("ticket", kind=EventKind.MESSAGE)
        assert frame["ticket"] == ticket.number
        assert frame["message_kind"] == Message.Kind.PUBLIC
        assert frame["actor_name"] == customer.display_name
        assert frame["mine"] is False
        await sock.close()

    run(scenario)


def test_nothing_is_pushed_while_the_transaction_is_open_nor_when_it_rolls_back(routed, agent, customer):
    ticket = make_ticket(customer)

    def reply_then_fail():
        with transaction.atomic():
            services.message_add(ticket=ticket, author=customer, body="Rolled back")
            raise RuntimeError("the request failed")

    def reply_and_wait(ready, release):
        with transaction.atomic():
            services.message_add(ticket=ticket, author=customer, body="Slow request")
            ready.set()
            release.wait(10)

    async def scenario():
        import threading

        sock = await opened(desk_ticket(ticket.number), agent)
        with pytest.raises(RuntimeError):
            await database_sync_to_async(reply_then_fail)()
        assert await sock.quiet(0.5)

        ready, release = threading.Event(), threading.Event()
        loop = asyncio.get_running_loop()
        writer = loop.run_in_executor(None, reply_and_wait, ready, release)
        await loop.run_in_executor(None, ready.wait, 10)
        assert await sock.quiet(0.5)  # written, not committed: nobody hears of it yet
        release.set()
        await writer
        await sock.expect("ticket", kind=EventKind.MESSAGE)
        await sock.close()

    run(scenario)


def test_the_list_hears_a_new_ticket_in_the_agents_line_and_not_in_another(routed, agent, stranger, customer):
    async def scenario():
        mine = await opened("/ws/live/desk/", agent)
        theirs = await opened("/ws/live/desk/", stranger)
        ticket = await database_sync_to_async(make_ticket)(customer)
        frame = await mine.expect("ticket", kind=EventKind.CREATED)
        assert frame["ticket"] == ticket.number
        assert await theirs.quiet(0.5)
        await mine.close()
        await theirs.close()

    run(scenario)


def test_the_list_hears_a_ticket_taken_by_a_colleague_through_take_next(routed, agent, colleague, customer):
    ticket = make_ticket(customer)

    async def scenario():
        sock = await opened("/ws/live/desk/", agent)
        taken = await database_sync_to_async(services.ticket_take_next)(agent=colleague)
        assert taken.pk == ticket.pk
        frame = await sock.expect("ticket", kind=EventKind.ASSIGN)
        assert frame["ticket"] == ticket.number and frame["actor_name"] == colleague.display_name
        await sock.expect("ticket", kind=EventKind.STATUS)
        await sock.close()

    run(scenario)


def test_management_hears_every_line(routed, stranger, customer):
    manager = ManagerFactory(username="boss")

    async def scenario():
        sock = await opened("/ws/live/desk/", manager)
        ticket = await database_sync_to_async(make_ticket)(customer)
        assert (await sock.expect("ticket", kind=EventKind.CREATED))["ticket"] == ticket.number
        await sock.close()

    run(scenario)


def test_a_broken_channel_layer_never_fails_the_write(routed, agent, customer, monkeypatch, caplog):
    ticket = make_ticket(customer)

    class Broken:
        async def group_send(self, group, message):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: Broken())
    monkeypatch.setattr(broadcast._Pause, "until", 0.0)
    with caplog.at_level(logging.WARNING, logger="chat.broadcast"):
        message = services.message_add(ticket=ticket, author=customer, body="Still there?")
    assert Message.objects.filter(pk=message.pk).exists()
    assert "live updates not sent (ConnectionError: Redis is down)" in caplog.text
    # Paused after the failure: the next writes do not try again at once.
    assert broadcast.send([("live.ticket.1", {"type": "live.ticket"})]) is False
    monkeypatch.setattr(broadcast._Pause, "until", 0.0)


# --- presence -------------------------------------------------------------------------------------


def test_two_agents_on_one_ticket_see_each_other_and_who_is_typing(routed, agent, colleague, customer):
    ticket = make_ticket(customer)

    async def scenario():
        first = await opened(desk_ticket(ticket.number), agent)
        second = await opened(desk_ticket(ticket.number), colleague)
        seen_by_first = await first.expect("presence")
        assert seen_by_first["viewers"] == [{"name": colleague.display_name, "typing": False}]
        seen_by_second = await second.expect("presence")
        assert seen_by_second["viewers"] == [{"name": agent.display_name, "typing": False}]

        await second.send(type="typing")
        typing = await first.expect("presence")
        assert typing["viewers"] == [{"name": colleague.display_name, "typing": True}]

        await second.close()
        gone = await first.expect("presence")
        assert gone["viewers"] == []
        await first.close()

    run(scenario)


def test_presence_expires_when_the_heartbeat_stops(routed, agent, colleague, customer, monkeypatch):
    monkeypatch.setattr(live, "PRESENCE_TTL_SECONDS", 1)
    monkeypatch.setattr(live, "SWEEP_SECONDS", 0.2)
    ticket = make_ticket(customer)

    async def scenario():
        first = await opened(desk_ticket(ticket.number), agent)
        # A page that vanished without closing its socket: only its announcement is left.
        await get_channel_layer().group_send(
            broadcast.ticket_group(ticket.pk),
            {"type": "live.presence", "channel": "elsewhere", "user": colleague.pk, "name": "Boris", "typing": False},
        )
        assert (await first.expect("presence"))["viewers"] == [{"name": "Boris", "typing": False}]
        assert (await first.expect("presence", timeout=5))["viewers"] == []
        await first.close()

    run(scenario)


# --- who may connect ----------------------------------------------------------------------------------


def test_refused_to_a_customer_another_lines_agent_anonymous_and_a_foreign_origin(routed, agent, stranger, customer):
    ticket = make_ticket(customer)
    someone_else = CustomerFactory(username="someone-else")

    async def refused(path, user=None, origin=ORIGIN):
        cookie = await database_sync_to_async(cookie_of)(user) if user is not None else None
        sock = Live(path, cookie=cookie, origin=origin)
        connected, _code = await sock.connect()
        return not connected

    async def scenario():
        assert await refused(desk_ticket(ticket.number), customer)
        assert await refused("/ws/live/desk/", customer)
        assert await refused(desk_ticket(ticket.number), stranger)
        assert await refused(desk_ticket(ticket.number))
        assert await refused("/ws/live/desk/")
        assert await refused(panel_ticket(ticket.number))
        assert await refused(desk_ticket(ticket.number), agent, origin=b"http://evil.example")
        assert await refused(panel_ticket(ticket.number), agent)  # the panel is the customers'
        assert await refused(panel_ticket(ticket.number), someone_else)
        # ...while the right people get in.
        assert not await refused(desk_ticket(ticket.number), agent)
        assert not await refused(panel_ticket(ticket.number), customer)

    run(scenario)


def test_an_agent_whose_ticket_leaves_for_another_line_is_told_and_disconnected(routed, agent, stranger, customer):
    ticket = make_ticket(customer)
    manager = ManagerFactory(username="boss")
    finance = LineMembership.objects.get(user=stranger).line

    async def scenario():
        sock = await opened(desk_ticket(ticket.number), agent)
        await database_sync_to_async(services.ticket_transfer)(
            ticket=ticket, actor=manager, to_line=finance, reason="billing question"
        )
        assert (await sock.expect("gone"))["ticket"] == ticket.number
        assert await sock.closed_with() == live.CLOSE_REFUSED

    run(scenario)


# --- frames from the page ------------------------------------------------------------------------------


def test_an_oversized_frame_closes_the_socket(routed, agent, customer):
    ticket = make_ticket(customer)

    async def scenario():
        sock = await opened(desk_ticket(ticket.number), agent)
        await sock.send(type="here", padding="x" * live.FRAME_MAX_BYTES)
        assert await sock.closed_with() == live.CLOSE_TOO_LARGE

    run(scenario)


def test_a_flood_of_presence_frames_is_limited_then_closed(routed, agent, customer):
    ticket = make_ticket(customer)

    async def scenario():
        sock = await opened(desk_ticket(ticket.number), agent)
        for _ in range(live.RATE_BURST + 1):
            await sock.send(type="typing")
        assert (await sock.expect("error"))["code"] == "rate_limited"
        for _ in range(live.FLOOD_LIMIT):
            await sock.send(type="typing")
        assert await sock.closed_with() == live.CLOSE_FLOODING

    run(scenario)


def test_binary_and_malformed_frames_close_the_socket(routed, agent, customer):
    ticket = make_ticket(customer)

    async def scenario():
        sock = await opened(desk_ticket(ticket.number), agent)
        await sock.comm.send_to(bytes_data=b"\x00\x01")
        assert await sock.closed_with() == live.CLOSE_BAD_FRAME
        sock = await opened(desk_ticket(ticket.number), agent)
        await sock.comm.send_to(text_data="[1, 2")
        assert await sock.closed_with() == live.CLOSE_BAD_FRAME

    run(scenario)


# --- the customer's page ------------------------------------------------------------------------------------


def test_the_customers_place_in_the_queue_updates_when_a_ticket_ahead_is_taken(routed, agent, customer):
    other = CustomerFactory(username="customer-z")
    ahead = make_ticket(other, subject="First in the queue")
    mine = make_ticket(customer, subject="Second in the queue")

    async def scenario():
        sock = await opened(panel_ticket(mine.number), customer)
        assert (await sock.expect("queue"))["position"] == 2
        await database_sync_to_async(services.ticket_take)(ticket=ahead, agent=agent)
        assert (await sock.expect("queue"))["position"] == 1
        # Nothing about the other customer's ticket itself reached this page.
        assert all(frame.get("ticket") in (None, mine.number) for frame in sock.frames)
        await sock.close()

    run(scenario)


def test_the_customer_hears_a_reply_but_never_an_internal_note(routed, agent, customer):
    ticket = make_ticket(customer)

    async def scenario():
        sock = await opened(panel_ticket(ticket.number), customer)
        await sock.expect("queue")
        await database_sync_to_async(services.message_add)(
            ticket=ticket, author=agent, body="Internal: check the logs", kind=Message.Kind.NOTE
        )
        assert await sock.quiet(0.7)
        await database_sync_to_async(services.message_add)(ticket=ticket, author=agent, body="We are on it.")
        frame = await sock.expect("ticket", kind=EventKind.MESSAGE)
        assert set(frame) == {"type", "ticket", "kind"}  # no names, no text
        await sock.close()

    run(scenario)
