"""Chat test helpers: sockets through the project's own ASGI application (origin check,
session authentication and routing included), on the real Redis channel layer."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from accounts.tests.factories import AgentFactory, CustomerFactory
from chat.models import ChatSettings
from queues.models import RoutingRule
from queues.tests.factories import LineFactory

ORIGIN = b"http://localhost"


@pytest.fixture(autouse=True)
def _clean_cache():
    from django.core.cache import cache

    from chat import models

    cache.clear()
    models._SETTINGS_CACHE.clear()


@pytest.fixture
def chat_line(line):
    """The first line handles chats; general tickets are routed to it."""
    RoutingRule.objects.get_or_create(category="general", defaults={"line": line})
    ChatSettings.objects.create(line=line)
    return line


@pytest.fixture
def other_line(db):
    return LineFactory(code="finance", name="Finance", kind="department", level=None)


@pytest.fixture
def agent_b(chat_line):
    user = AgentFactory(username="agent-b", first_name="Boris")
    chat_line.memberships.create(user=user)
    return user


@pytest.fixture
def finance_agent(other_line):
    user = AgentFactory(username="fin-agent")
    other_line.memberships.create(user=user)
    return user


@pytest.fixture
def customer_b(db):
    return CustomerFactory(username="customer-b")


class WebsocketCommunicator(ApplicationCommunicator):
    """channels.testing's WebsocketCommunicator, cut down: importing channels.testing pulls in
    daphne (its live-server test case), which the project does not install outside `make bench`."""

    def __init__(self, application, path: str, headers=None):
        scope = {"type": "websocket", "path": path, "query_string": b"", "headers": headers or [], "subprotocols": []}
        super().__init__(application, scope)

    async def connect(self, timeout: float = 1):
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept"
        return True, response.get("subprotocol")

    async def send_to(self, text_data: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text_data})

    async def receive_from(self, timeout: float = 1) -> str:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return response["text"]

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def application():
    from helpdesk.asgi import application as app

    return app


class Socket:
    """A WebsocketCommunicator with JSON helpers and a buffer of frames read past."""

    def __init__(self, *, cookie: bytes | None = None, origin: bytes | None = ORIGIN):
        headers = [(b"host", b"localhost")]
        if origin is not None:
            headers.append((b"origin", origin))
        if cookie:
            headers.append((b"cookie", cookie))
        self.comm = WebsocketCommunicator(application(), "/ws/chat/", headers=headers)
        self.frames: list[dict] = []

    async def connect(self) -> bool:
        connected, _ = await self.comm.connect(timeout=10)
        if connected:
            hello = await self.next()
            assert hello["type"] == "hello"
        return connected

    async def send(self, **frame) -> None:
        await self.comm.send_to(text_data=json.dumps(frame))

    async def send_raw(self, text: str) -> None:
        await self.comm.send_to(text_data=text)

    async def next(self, timeout: float = 10) -> dict:
        if self.frames:
            return self.frames.pop(0)
        return json.loads(await self.comm.receive_from(timeout=timeout))

    async def expect(self, kind: str, timeout: float = 10, **match) -> dict:
        """The first frame of this type (and these values); frames skipped stay buffered."""
        for index, frame in enumerate(self.frames):
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return self.frames.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {kind} {match} frame; got {self.frames}")
            frame = json.loads(await self.comm.receive_from(timeout=left))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.frames.append(frame)

    async def messages_until(self, count: int, timeout: float = 10) -> list[dict]:
        """`count` chat messages (in the order received)."""
        found = []
        while len(found) < count:
            found.append((await self.expect("message", timeout=timeout))["message"])
        return found

    async def quiet(self, timeout: float = 0.3) -> bool:
        return await self.comm.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.comm.disconnect()
