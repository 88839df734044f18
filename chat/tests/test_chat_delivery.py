"""Delivery under load (`python -m bench chat`): the sender's own copy comes with its ack, not back
through Redis; a message is stored with few statements; a resend racing its original is found."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import broadcast, live, selectors, services
from chat.consumers import ChatConsumer
from chat.models import ChatMessage, ChatSettings
from chat.policy import Participant
from chat.tests.conftest import Socket, session_cookie
from chat.tests.test_live import Live

pytestmark = pytest.mark.django_db(transaction=True)


def active_chat(chat_line, agent, customer):
    ChatSettings.objects.filter(line=chat_line).update(bot_enabled=False)
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    return services.chat_accept(chat_id=chat.pk, who=Participant(user=agent))


async def joined(user, chat_id: int, last_seq: int) -> Socket:
    sock = Socket(cookie=await database_sync_to_async(session_cookie)(user))
    assert await sock.connect()
    await sock.send(type="join", chat=chat_id, last_seq=last_seq)
    await sock.expect("joined", chat=chat_id)
    return sock


def test_the_sender_gets_its_own_message_with_the_ack_not_through_the_channel_layer(
    chat_line, agent, customer, monkeypatch
):
    chat = active_chat(chat_line, agent, customer)
    sent: list[str] = []

    async def no_broadcast(self, group, event):  # the channel layer delivers nothing
        sent.append(group)

    monkeypatch.setattr(ChatConsumer, "_broadcast", no_broadcast)

    async def scenario():
        cust = await joined(customer, chat.pk, chat.last_seq)
        await cust.send(type="send", chat=chat.pk, client_id="c1", body="Is my site up?", ref=7)
        ack = await cust.next()
        own = await cust.next()
        await cust.close()
        return ack, own

    ack, own = async_to_sync(scenario)()
    assert (ack["type"], ack["ref"], ack["seq"], ack["duplicate"]) == ("ack", 7, chat.last_seq + 1, False)
    assert own["type"] == "message" and own["message"]["seq"] == chat.last_seq + 1
    assert own["message"]["client_id"] == "c1" and own["message"]["body"] == "Is my site up?"
    assert sent == [services.chat_group(chat.pk)]  # the other side still gets it through the layer


def test_the_senders_own_copy_fills_a_gap_first(chat_line, agent, customer, monkeypatch):
    """The agent wrote in between and its broadcast has not reached the customer's socket: the
    customer's page gets the agent's message, then its own, once each and in order."""
    chat = active_chat(chat_line, agent, customer)
    start = chat.last_seq

    async def scenario():
        cust = await joined(customer, chat.pk, start)
        # Stored by another process; its broadcast is lost on the way.
        monkeypatch.setattr(services, "_send", lambda group, payload: None)
        await database_sync_to_async(services.chat_post)(
            chat_id=chat.pk, who=Participant(user=agent), body="Checking", client_id="a1"
        )
        await cust.send(type="send", chat=chat.pk, client_id="c1", body="Thanks")
        await cust.expect("ack")
        got = await cust.messages_until(2)
        assert await cust.quiet(0.5)
        await cust.close()
        return got

    got = async_to_sync(scenario)()
    assert [(m["seq"], m["client_id"]) for m in got] == [(start + 1, "a1"), (start + 2, "c1")]


def test_a_message_is_stored_with_one_locking_read_and_two_writes(chat_line, agent, customer):
    chat = active_chat(chat_line, agent, customer)
    who = Participant(user=customer)
    ChatSettings.cached()
    with CaptureQueriesContext(connection) as queries:
        services.chat_post(chat_id=chat.pk, who=who, body="hello", client_id="q1")
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["BEGIN", "SELECT", "INSERT", "UPDATE", "COMMIT"], queries.captured_queries
    with CaptureQueriesContext(connection) as queries:
        again = services.chat_post(chat_id=chat.pk, who=who, body="hello", client_id="q1")
    assert again.duplicate and ChatMessage.objects.filter(chat=chat, client_id="q1").count() == 1
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["BEGIN", "SELECT", "SELECT", "COMMIT"]


def test_a_resend_that_raced_its_original_is_found_after_the_constraint_refuses_it(
    chat_line, agent, customer, monkeypatch
):
    """The locking read looked for the client id before the original committed (simulated: the
    first read does not see it); the unique constraint refuses the insert, and the post, tried
    once more, answers with the stored message."""
    chat = active_chat(chat_line, agent, customer)
    who = Participant(user=customer)
    first = services.chat_post(chat_id=chat.pk, who=who, body="hello", client_id="r1")
    real = selectors.chat_to_post_in
    calls = []

    def blind_once(**kwargs):
        calls.append(kwargs.get("client_id"))
        if len(calls) == 1:
            kwargs["client_id"] = ""
        return real(**kwargs)

    monkeypatch.setattr(selectors, "chat_to_post_in", blind_once)
    again = services.chat_post(chat_id=chat.pk, who=who, body="hello", client_id="r1")
    assert again.duplicate and again.message.pk == first.message.pk
    assert calls == ["r1", "r1"]
    assert ChatMessage.objects.filter(chat=chat).count() == chat.last_seq + 1


def test_a_live_socket_closes_after_the_layer_reconnected_so_that_its_page_fetches_again(agent):
    """`layer.resync` (helpdesk.channel_layer, after Redis came back): pushes may have been missed."""

    async def scenario():
        sock = Live("/ws/live/desk/", cookie=await database_sync_to_async(session_cookie)(agent))
        connected, _ = await sock.connect()
        assert connected
        await get_channel_layer().group_send(broadcast.agent_group(agent.pk), {"type": "layer.resync"})
        while True:
            output = await sock.comm.receive_output(timeout=10)
            if output["type"] == "websocket.close":
                return output["code"]

    assert async_to_sync(scenario)() == live.CLOSE_RESYNC == 1012
