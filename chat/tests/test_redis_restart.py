"""Redis restarts in the middle of a chat: messages written meanwhile are stored all the same (the
broadcast fails, the row stays); a page that reconnects with its last number, and a socket that
stayed open while the channel layer reconnected, get every message exactly once and in order.
A private redis-server on a free port, so nobody else's Redis is touched."""

from __future__ import annotations

import contextlib
import shutil

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from chat import services
from chat.models import Chat, ChatMessage
from chat.policy import Participant
from chat.tests.conftest import Socket, session_cookie
from tests.stack import PrivateRedis, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on the PATH"),
]


@pytest.fixture
def private_redis(settings):
    redis = PrivateRedis(free_port())
    redis.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "helpdesk.channel_layer.ChannelLayer",
            "CONFIG": {
                "hosts": [
                    {"address": f"redis://127.0.0.1:{redis.port}/0", "socket_timeout": 15, "max_connections": 1000}
                ]
            },
        }
    }
    channel_layers.backends.clear()
    yield redis
    redis.stop()
    channel_layers.backends.clear()


def test_a_redis_restart_loses_no_message_and_clients_resume(private_redis, chat_line, agent, customer):
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    services.chat_accept(chat_id=chat.pk, who=Participant(user=agent))
    customer_side, agent_side = Participant(user=customer), Participant(user=agent)

    async def connect(user, last_seq: int) -> Socket:
        sock = Socket(cookie=await database_sync_to_async(session_cookie)(user))
        assert await sock.connect()
        await sock.send(type="join", chat=chat.pk, last_seq=last_seq)
        await sock.expect("joined")
        return sock

    async def scenario():
        cust = await connect(customer, 0)
        seen = [m["seq"] for m in await cust.messages_until(3)]
        await cust.send(type="send", chat=chat.pk, client_id="before", body="Is my server up?")
        await cust.expect("ack")
        seen += [m["seq"] for m in await cust.messages_until(1)]

        private_redis.stop()
        # While Redis is away the chat goes on through the services (another process, the API):
        # each message is stored; its broadcast fails quietly.
        post = database_sync_to_async(services.chat_post)
        await post(chat_id=chat.pk, who=agent_side, body="Checking now", client_id="during-1")
        await post(chat_id=chat.pk, who=customer_side, body="Thanks", client_id="during-2")
        # The page's socket lost its channel layer; it drops and its page reconnects later.
        with contextlib.suppress(Exception):  # the consumer may already have died with the layer
            await cust.close()
        private_redis.start()
        channel_layers.backends.clear()

        again = await connect(customer, seen[-1])
        total = await database_sync_to_async(lambda: Chat.objects.get(pk=chat.pk).last_seq)()
        seen += [m["seq"] for m in await again.messages_until(total - seen[-1])]
        # And live delivery works again.
        await post(chat_id=chat.pk, who=agent_side, body="All fine again", client_id="after")
        after = (await again.messages_until(1))[0]
        seen.append(after["seq"])
        assert after["body"] == "All fine again"
        await again.close()
        return seen

    seen = async_to_sync(scenario)()
    stored = list(ChatMessage.objects.filter(chat=chat).order_by("seq").values_list("seq", flat=True))
    assert seen == stored == list(range(1, len(stored) + 1))
    assert set(ChatMessage.objects.filter(chat=chat).values_list("client_id", flat=True)) >= {
        "before",
        "during-1",
        "during-2",
        "after",
    }


def test_a_socket_that_stays_open_through_a_redis_restart_catches_up(private_redis, chat_line, agent, customer):
    """The channel layer reconnects by itself and has each socket read what it missed from the
    database: the page never notices, nothing is lost, nothing comes twice."""
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    services.chat_accept(chat_id=chat.pk, who=Participant(user=agent))
    agent_side = Participant(user=agent)
    post = database_sync_to_async(services.chat_post)

    async def scenario():
        cust = Socket(cookie=await database_sync_to_async(session_cookie)(customer))
        assert await cust.connect()
        await cust.send(type="join", chat=chat.pk, last_seq=0)
        await cust.expect("joined")
        seen = [m["seq"] for m in await cust.messages_until(3)]
        private_redis.stop()
        await post(chat_id=chat.pk, who=agent_side, body="Checking now", client_id="during-1")
        await post(chat_id=chat.pk, who=agent_side, body="Still checking", client_id="during-2")
        private_redis.start()  # the same port: the layer's connections come back by themselves
        total = await database_sync_to_async(lambda: Chat.objects.get(pk=chat.pk).last_seq)()
        caught_up = await cust.messages_until(total - seen[-1], timeout=30)
        seen += [m["seq"] for m in caught_up]
        await post(chat_id=chat.pk, who=agent_side, body="All fine again", client_id="after")
        after = (await cust.messages_until(1, timeout=10))[0]
        seen.append(after["seq"])
        assert after["body"] == "All fine again"
        assert await cust.quiet(0.5)
        await cust.close()
        return [m["body"] for m in caught_up], seen

    caught_up, seen = async_to_sync(scenario)()
    assert caught_up == ["Checking now", "Still checking"]
    stored = list(ChatMessage.objects.filter(chat=chat).order_by("seq").values_list("seq", flat=True))
    assert seen == stored == list(range(1, len(stored) + 1))
