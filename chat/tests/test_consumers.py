"""The chat's socket end to end through helpdesk.asgi (origin check, session, routing) on the
real Redis channel layer: the bot, the queue, the agents' actions, the rules of who may speak,
the rate limit and the size caps, and delivery by number."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from chat import services
from chat.models import Chat, ChatEvent, ChatMessage, ChatSettings, ChatStatus
from chat.policy import Participant
from chat.tests.conftest import Socket, session_cookie
from knowledge.tests.factories import article
from sla.models import BusinessCalendar
from tickets.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario, *args):
    return async_to_sync(scenario)(*args)


def visitor_chat(name="Vera", email="vera@example.com", language="en"):
    started = services.chat_start(user=None, name=name, email=email, language=language)
    return started.chat, started.token


async def join_visitor(chat, token, last_seq=0) -> Socket:
    sock = Socket()
    assert await sock.connect()
    await sock.send(type="join", chat=chat.pk, token=token, last_seq=last_seq)
    await sock.expect("joined", chat=chat.pk)
    return sock


async def agent_socket(user) -> Socket:
    sock = Socket(cookie=await database_sync_to_async(session_cookie)(user))
    assert await sock.connect()
    return sock


@pytest.fixture
def articles(db):
    article(
        "apache-down",
        title_en="Apache does not start: AH00072",
        body_en="Port 80 is taken by nginx. Stop nginx or move Apache to another port.",
    )
    article("mail-setup", title_en="Setting up mail in Outlook", body_en="IMAP port 993, SMTP port 465.")


def test_the_bot_answers_with_articles(chat_line, articles):
    chat, token = visitor_chat()

    async def scenario():
        sock = await join_visitor(chat, token)
        greeting = (await sock.messages_until(1))[0]
        assert greeting["author_kind"] == "bot" and greeting["seq"] == 1
        await sock.send(type="send", chat=chat.pk, client_id="c-1", body="apache does not start AH00072")
        ack = await sock.expect("ack")
        assert ack["seq"] == 2 and ack["duplicate"] is False
        mine, answer = await sock.messages_until(2)
        assert mine["body"] == "apache does not start AH00072" and mine["author_kind"] == "customer"
        assert answer["author_kind"] == "bot" and answer["seq"] == 3
        titles = [a["title"] for a in answer["data"]["articles"]]
        assert titles[0] == "Apache does not start: AH00072"
        assert answer["data"]["articles"][0]["url"].endswith("/help/hosting/apache-down/")
        await sock.close()

    run(scenario)
    assert Chat.objects.get(pk=chat.pk).status == ChatStatus.BOT  # it knew: nobody else needed


def test_the_bot_shows_active_incidents_in_its_greeting(chat_line):
    from status.models import Incident

    Incident.objects.create(title="Moscow data centre: packet loss", severity="major", state="investigating")
    from status.selectors import status_version  # noqa: F401 - the cache key moves with the rows

    chat, token = visitor_chat()
    greeting = ChatMessage.objects.get(chat=chat, seq=1)
    assert [i["title"] for i in greeting.data["incidents"]] == ["Moscow data centre: packet loss"]


def test_dont_know_hands_on_to_the_queue_and_positions_move_live(chat_line, articles, agent):
    first, first_token = visitor_chat(name="First", email="first@example.com")
    second, second_token = visitor_chat(name="Second", email="second@example.com")

    async def scenario():
        one = await join_visitor(first, first_token)
        two = await join_visitor(second, second_token)
        await one.send(type="send", chat=first.pk, client_id="q", body="do you sell gift cards for christmas")
        answer = [m for m in await one.messages_until(4) if m["author_kind"] == "bot"][-1]
        assert answer["data"].get("handoff") is True and "don't know" in answer["body"]
        state = await one.expect("state")
        while state["state"]["status"] != "waiting":
            state = await one.expect("state")
        assert state["state"]["position"] == 1
        await two.send(type="handoff", chat=second.pk, ref=7)
        await two.expect("ok", ref=7)
        state = await two.expect("state")
        assert state["state"]["status"] == "waiting" and state["state"]["position"] == 2

        console = await agent_socket(agent)
        await console.send(type="console")
        frame = await console.expect("console")
        assert [w["chat"] for w in frame["waiting"]] == [first.pk, second.pk]
        await console.send(type="accept", chat=first.pk, ref=1)
        await console.expect("ok", ref=1)
        # The second visitor moves up without asking.
        state = await two.expect("state")
        while state["state"]["position"] != 1:
            state = await two.expect("state")
        frame = await console.expect("console")
        assert [w["chat"] for w in frame["waiting"]] == [second.pk]
        for sock in (one, two, console):
            await sock.close()

    run(scenario)
    assert ChatEvent.objects.filter(chat=first, kind="handoff").exists()
    assert ChatEvent.objects.filter(chat=first, kind="accepted", actor=agent).exists()


def test_outside_working_hours_the_visitor_leaves_a_message_that_becomes_a_ticket(chat_line):
    chat_line.calendar = BusinessCalendar.objects.create(name="Never")  # no working intervals at all
    chat_line.save()
    chat, token = visitor_chat(email="night@example.com")

    async def scenario():
        sock = await join_visitor(chat, token)
        await sock.send(type="handoff", chat=chat.pk, ref=1)
        await sock.expect("ok", ref=1)
        state = await sock.expect("state")
        assert state["state"]["offline"] is True and state["state"]["status"] == "bot"
        await sock.send(type="leave_message", chat=chat.pk, body="My site is down since midnight", ref=2)
        done = await sock.expect("ok", ref=2)
        await sock.close()
        return done["ticket"]

    number = run(scenario)
    chat.refresh_from_db()
    assert chat.status == ChatStatus.CLOSED and chat.ticket.number == number
    assert chat.ticket.channel == Channel.CHAT and "My site is down since midnight" in chat.ticket.body
    assert chat.ticket.sender_verified is False  # a typed address proves nothing


def test_accept_talk_transfer_convert_and_rate(chat_line, agent, agent_b, customer):
    started = services.chat_start(user=customer, language="en")
    chat = started.chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))

    async def scenario():
        cust = Socket(cookie=await database_sync_to_async(session_cookie)(customer))
        assert await cust.connect()
        await cust.send(type="join", chat=chat.pk, last_seq=0)
        await cust.expect("joined")
        a = await agent_socket(agent)
        b = await agent_socket(agent_b)
        await a.send(type="accept", chat=chat.pk, ref=1)
        await a.expect("ok", ref=1)
        await a.send(type="join", chat=chat.pk, last_seq=0)
        await a.expect("joined")
        await a.send(type="send", chat=chat.pk, client_id="a-1", body="Hello, how can I help?")
        await a.expect("ack")
        got = [m for m in await cust.messages_until(4) if m["author_kind"] == "agent"]
        assert got and got[0]["body"] == "Hello, how can I help?"
        await cust.send(type="send", chat=chat.pk, client_id="c-1", body="My VPS needs a kernel update")
        await cust.expect("ack")
        # Transfer to a colleague: they are told and take over.
        await a.send(type="transfer", chat=chat.pk, agent=agent_b.pk, ref=2)
        await a.expect("ok", ref=2)
        assigned = await b.expect("assigned")
        assert assigned["chat"] == chat.pk
        await b.send(type="join", chat=chat.pk, last_seq=0)
        await b.expect("joined")
        # The old agent may no longer speak; the new one may.
        await a.send(type="send", chat=chat.pk, client_id="a-2", body="still here?", ref=3)
        refused = await a.expect("error", ref=3)
        assert refused["code"] == "not_in_chat"
        await b.send(type="convert", chat=chat.pk, subject="Kernel update on VPS", ref=4)
        converted = await b.expect("ok", ref=4)
        state = await cust.expect("state")
        while state["state"]["status"] != "closed":
            state = await cust.expect("state")
        assert state["state"]["ticket"] == converted["ticket"]
        await cust.send(type="rate", chat=chat.pk, rating="like", comment="Quick and clear", ref=5)
        await cust.expect("ok", ref=5)
        for sock in (cust, a, b):
            await sock.close()
        return converted["ticket"]

    number = run(scenario)
    chat.refresh_from_db()
    assert chat.ticket.number == number and chat.status == ChatStatus.CLOSED
    assert chat.rating == "like" and chat.rating_comment == "Quick and clear"
    bodies = list(chat.ticket.messages.order_by("created_at", "id").values_list("body", flat=True))
    assert "Hello, how can I help?" in bodies and "My VPS needs a kernel update" in bodies
    agent_message = chat.ticket.messages.get(body="Hello, how can I help?")
    assert agent_message.author == agent and agent_message.kind == Message.Kind.PUBLIC
    assert chat.ticket.customer == customer and chat.ticket.channel == Channel.CHAT
    kinds = list(ChatEvent.objects.filter(chat=chat).values_list("kind", flat=True))
    for kind in ("started", "handoff", "accepted", "transferred", "converted", "rated"):
        assert kind in kinds


def test_transfer_to_another_line_requeues_there(chat_line, agent, other_line, finance_agent, customer):
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    services.chat_accept(chat_id=chat.pk, who=Participant(user=agent))

    async def scenario():
        fin = await agent_socket(finance_agent)
        await fin.send(type="console")
        assert (await fin.expect("console"))["waiting"] == []
        a = await agent_socket(agent)
        await a.send(type="transfer", chat=chat.pk, line=other_line.pk, ref=1)
        await a.expect("ok", ref=1)
        frame = await fin.expect("console")
        assert [w["chat"] for w in frame["waiting"]] == [chat.pk]
        await fin.send(type="accept", chat=chat.pk, ref=2)
        await fin.expect("ok", ref=2)
        await fin.close()
        await a.close()

    run(scenario)
    chat.refresh_from_db()
    assert chat.line == other_line and chat.agent == finance_agent and chat.status == ChatStatus.ACTIVE


def test_refusals(chat_line, agent, customer, customer_b, finance_agent):
    theirs = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=theirs.pk, who=Participant(user=customer))
    visitor, token = visitor_chat()

    async def scenario():
        # Another customer's chat: not found, and nothing of it is sent.
        other = Socket(cookie=await database_sync_to_async(session_cookie)(customer_b))
        assert await other.connect()
        await other.send(type="join", chat=theirs.pk, ref=1)
        assert (await other.expect("error", ref=1))["code"] == "chat_not_found"
        await other.send(type="send", chat=theirs.pk, client_id="x", body="hi", ref=2)
        assert (await other.expect("error", ref=2))["code"] == "chat_not_found"
        # A visitor's token is good for its own chat only.
        await other.send(type="join", chat=theirs.pk, token=token, ref=3)
        assert (await other.expect("error", ref=3))["code"] == "chat_not_found"
        await other.close()
        # A forged token.
        forged = Socket()
        assert await forged.connect()
        await forged.send(type="join", chat=visitor.pk, token=f"{visitor.pk}:{'0' * 32}:AAAA:BBBB", ref=4)
        assert (await forged.expect("error", ref=4))["code"] == "bad_token"
        await forged.send(type="send", chat=visitor.pk, client_id="f", body="hello", ref=5)
        assert (await forged.expect("error", ref=5))["code"] == "chat_not_found"
        await forged.close()
        # An agent of another line can neither see nor accept the chat.
        fin = await agent_socket(finance_agent)
        await fin.send(type="join", chat=theirs.pk, ref=6)
        assert (await fin.expect("error", ref=6))["code"] == "chat_not_found"
        await fin.send(type="accept", chat=theirs.pk, ref=7)
        assert (await fin.expect("error", ref=7))["code"] == "chat_not_found"
        await fin.close()
        # A customer cannot open the agents' console.
        cust = Socket(cookie=await database_sync_to_async(session_cookie)(customer))
        assert await cust.connect()
        await cust.send(type="console", ref=8)
        assert (await cust.expect("error", ref=8))["code"] == "permission_denied"
        await cust.send(type="accept", chat=theirs.pk, ref=9)
        assert (await cust.expect("error", ref=9))["code"] == "permission_denied"
        await cust.close()

    run(scenario)
    assert not ChatMessage.objects.filter(body__in=["hi", "hello"]).exists()
    assert Chat.objects.get(pk=theirs.pk).status == ChatStatus.WAITING


def test_a_foreign_origin_is_refused(chat_line):
    async def scenario():
        foreign = Socket(origin=b"https://evil.example.com")
        assert await foreign.connect() is False
        missing_host = Socket(origin=b"http://localhost.evil.example.com")
        assert await missing_host.connect() is False
        ours = Socket()
        assert await ours.connect() is True
        await ours.close()

    run(scenario)


def test_rate_limit(chat_line):
    ChatSettings.objects.filter(line=chat_line).update(messages_per_minute=10, bot_enabled=False)
    chat, token = visitor_chat()

    async def scenario():
        sock = await join_visitor(chat, token)
        answers = []
        for index in range(25):
            await sock.send(type="send", chat=chat.pk, client_id=f"m-{index}", body=f"message {index}", ref=index)
        for _ in range(25):
            frame = await sock.next()
            while frame["type"] not in ("ack", "error"):
                frame = await sock.next()
            answers.append(frame)
        await sock.close()
        return answers

    answers = run(scenario)
    refused = [a for a in answers if a["type"] == "error"]
    accepted = [a for a in answers if a["type"] == "ack"]
    assert refused and all(a["code"] == "rate_limited" for a in refused)
    assert len(accepted) <= 6  # the burst (the join used one frame of it)
    assert ChatMessage.objects.filter(chat=chat, author_kind="customer").count() == len(accepted)


def test_oversize_frames_and_messages_are_refused(chat_line):
    ChatSettings.objects.filter(line=chat_line).update(max_message_chars=100, bot_enabled=False)
    chat, token = visitor_chat()

    async def scenario():
        sock = await join_visitor(chat, token)
        await sock.send(type="send", chat=chat.pk, client_id="big", body="x" * 20_000, ref=1)
        # Refused before it is read, so the answer cannot name the frame's ref.
        assert (await sock.expect("error"))["code"] == "too_large"
        await sock.send(type="send", chat=chat.pk, client_id="long", body="y" * 101, ref=2)
        long = await sock.expect("error", ref=2)
        assert long["code"] == "too_long" and long["field"] == "body"
        await sock.send(type="send", chat=chat.pk, client_id="ok", body="y" * 100, ref=3)
        assert (await sock.expect("ack", ref=3))["seq"] == 1
        await sock.send_raw("not json at all")
        assert (await sock.expect("error"))["code"] == "invalid"
        await sock.close()

    run(scenario)
    assert list(ChatMessage.objects.filter(chat=chat).values_list("client_id", flat=True)) == ["ok"]


def test_a_resend_is_not_a_duplicate(chat_line):
    ChatSettings.objects.filter(line=chat_line).update(bot_enabled=False)
    chat, token = visitor_chat()

    async def scenario():
        sock = await join_visitor(chat, token)
        await sock.send(type="send", chat=chat.pk, client_id="same", body="hello", ref=1)
        first = await sock.expect("ack", ref=1)
        await sock.send(type="send", chat=chat.pk, client_id="same", body="hello", ref=2)
        again = await sock.expect("ack", ref=2)
        assert (first["seq"], first["duplicate"]) == (1, False)
        assert (again["seq"], again["duplicate"]) == (1, True)
        await sock.messages_until(1)
        assert await sock.quiet()  # the resend is not broadcast again
        await sock.close()

    run(scenario)
    assert ChatMessage.objects.filter(chat=chat).count() == 1


def test_typing_and_read_marks_reach_the_other_side(chat_line, agent, customer):
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    services.chat_accept(chat_id=chat.pk, who=Participant(user=agent))

    async def scenario():
        cust = Socket(cookie=await database_sync_to_async(session_cookie)(customer))
        assert await cust.connect()
        await cust.send(type="join", chat=chat.pk)
        await cust.expect("joined")
        a = await agent_socket(agent)
        await a.send(type="join", chat=chat.pk)
        await a.expect("joined")
        await cust.send(type="typing", chat=chat.pk)
        typing = await a.expect("typing")
        assert typing["side"] == "customer" and typing["chat"] == chat.pk
        await a.send(type="send", chat=chat.pk, client_id="a1", body="Checking your server now")
        seq = (await a.expect("ack"))["seq"]
        await cust.send(type="read", chat=chat.pk, seq=seq, ref=1)
        await cust.expect("ok", ref=1)
        read = await a.expect("read")
        assert read["field"] == "customer_read_seq" and read["seq"] == seq
        await cust.close()
        await a.close()

    run(scenario)
    assert Chat.objects.get(pk=chat.pk).customer_read_seq == ChatMessage.objects.filter(chat=chat).count()


def test_reconnect_in_the_middle_of_a_burst_gets_every_message_once_and_in_order(chat_line, agent, customer):
    ChatSettings.objects.filter(line=chat_line).update(messages_per_minute=6000)
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    services.chat_accept(chat_id=chat.pk, who=Participant(user=agent))
    burst = 60

    async def scenario():
        cust = Socket(cookie=await database_sync_to_async(session_cookie)(customer))
        assert await cust.connect()
        await cust.send(type="join", chat=chat.pk)
        await cust.expect("joined")
        seen = [m["seq"] for m in await cust.messages_until(chat.last_seq + 2)]  # greeting, queue, joined
        a = await agent_socket(agent)
        for index in range(burst):
            await a.send(type="send", chat=chat.pk, client_id=f"b-{index}", body=f"line {index}")
        # The customer's page reads part of the burst and loses its socket.
        seen += [m["seq"] for m in await cust.messages_until(15)]
        await cust.close()
        for _ in range(burst):
            await a.expect("ack", timeout=20)
        # Back, with the last number it saw.
        again = Socket(cookie=await database_sync_to_async(session_cookie)(customer))
        assert await again.connect()
        await again.send(type="join", chat=chat.pk, last_seq=seen[-1])
        await again.expect("joined")
        total = await database_sync_to_async(lambda: Chat.objects.get(pk=chat.pk).last_seq)()
        seen += [m["seq"] for m in await again.messages_until(total - seen[-1])]
        assert await again.quiet(0.5)
        await again.close()
        await a.close()
        return seen, total

    seen, total = run(scenario)
    assert seen == list(range(1, total + 1))
    assert ChatMessage.objects.filter(chat=chat, author_kind="agent").count() == burst
