"""The chat's REST API and pages: the same services as the socket, the same refusals."""

import pytest
from django.urls import reverse

from chat import services
from chat.models import Chat, ChatEvent, ChatStatus
from chat.policy import Participant
from tickets.models import EventOutbox, TicketEvent

pytestmark = pytest.mark.django_db


def test_a_visitor_starts_talks_and_rates_through_the_api(client, chat_line, agent):
    answer = client.post(
        reverse("api:chat-list"), {"name": "Vera", "email": "vera@example.com", "language": "ru"},
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 201
    started = answer.json()
    chat_id, token = started["id"], started["token"]
    assert started["status"] == "bot" and token
    headers = {"HTTP_X_CHAT_TOKEN": token}
    posted = client.post(reverse("api:chat-messages", args=[chat_id]), {"body": "Здравствуйте", "client_id": "v1"},
                         content_type="application/json", **headers)  # fmt: skip
    assert posted.status_code == 201 and posted.json()["message"]["seq"] == 2
    again = client.post(reverse("api:chat-messages", args=[chat_id]), {"body": "Здравствуйте", "client_id": "v1"},
                        content_type="application/json", **headers)  # fmt: skip
    assert again.status_code == 200 and again.json()["duplicate"] is True
    client.post(reverse("api:chat-handoff", args=[chat_id]), **headers)
    missed = client.get(reverse("api:chat-messages", args=[chat_id]), {"after": 1}, **headers).json()
    assert [m["seq"] for m in missed] == list(range(2, len(missed) + 2))
    # Without the token, or with another chat's, nothing.
    assert client.get(reverse("api:chat-detail", args=[chat_id])).status_code == 404
    forged = client.get(reverse("api:chat-detail", args=[chat_id]), HTTP_X_CHAT_TOKEN=token + "x")
    assert forged.status_code == 404 and forged.json()["error"] == "bad_token"
    # The agent accepts, the visitor rates.
    client.force_login(agent)
    accepted = client.post(reverse("api:chat-accept", args=[chat_id]))
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    assert [c["id"] for c in client.get(reverse("api:chat-list")).json()["results"]] == [chat_id]
    client.logout()
    rated = client.post(reverse("api:chat-rate", args=[chat_id]), {"rating": "dislike", "comment": "Slow"},
                        content_type="application/json", **headers)  # fmt: skip
    assert rated.status_code == 200 and rated.json()["rating"] == "dislike"
    chat = Chat.objects.get(pk=chat_id)
    assert (chat.rating, chat.rating_comment, chat.language) == ("dislike", "Slow", "ru")


def test_the_api_refuses_other_lines_and_other_customers(client, chat_line, customer, customer_b, finance_agent):
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    client.force_login(finance_agent)
    assert client.post(reverse("api:chat-accept", args=[chat.pk])).status_code == 404
    assert client.get(reverse("api:chat-list")).json()["results"] == []
    client.force_login(customer_b)
    assert client.get(reverse("api:chat-detail", args=[chat.pk])).status_code == 404
    assert client.post(reverse("api:chat-close", args=[chat.pk])).status_code == 404
    assert Chat.objects.get(pk=chat.pk).status == ChatStatus.WAITING


def test_transfer_convert_and_close_through_the_api(client, chat_line, agent, agent_b, customer):
    chat = services.chat_start(user=customer).chat
    services.chat_post(chat_id=chat.pk, who=Participant(user=customer), body="Backups fail", client_id="c1")
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    client.force_login(agent)
    client.post(reverse("api:chat-accept", args=[chat.pk]))
    moved = client.post(reverse("api:chat-transfer", args=[chat.pk]), {"agent": agent_b.pk},
                        content_type="application/json")  # fmt: skip
    assert moved.status_code == 200 and moved.json()["agent"] == agent_b.pk
    assert (
        client.post(reverse("api:chat-convert", args=[chat.pk]), {}, content_type="application/json").status_code == 403
    )
    client.force_login(agent_b)
    converted = client.post(reverse("api:chat-convert", args=[chat.pk]), {"subject": "Backups fail"},
                            content_type="application/json")  # fmt: skip
    assert converted.status_code == 200 and converted.json()["ticket"]
    ticket = Chat.objects.get(pk=chat.pk).ticket
    transcript = TicketEvent.objects.filter(ticket=ticket, kind="message", data__transcript=True)
    bodies = list(ticket.messages.order_by("created_at", "id").values_list("body", flat=True))
    assert bodies[0].startswith("Bot: ") and bodies[1] == "Backups fail"  # the greeting, then the question
    assert transcript.count() == len(bodies) and not EventOutbox.objects.filter(event__in=transcript).exists()
    closed = client.post(reverse("api:chat-close", args=[chat.pk]))
    assert closed.status_code == 409 and closed.json()["error"] == "chat_closed"
    assert list(ChatEvent.objects.filter(chat=chat).values_list("kind", flat=True)) == [
        "started", "handoff", "accepted", "transferred", "converted",
    ]  # fmt: skip


def test_pages_by_area(client, chat_line, customer, agent):
    assert client.get(reverse("chat")).status_code == 200  # the public widget, no login
    assert client.get(reverse("panel-chat")).status_code == 302
    client.force_login(customer)
    page = client.get(reverse("panel-chat"))
    assert page.status_code == 200 and b'id="chat-widget"' in page.content and b'data-mode="panel"' in page.content
    assert client.get(reverse("desk-chat")).status_code == 403
    client.force_login(agent)
    console = client.get(reverse("desk-chat"))
    assert console.status_code == 200 and b'id="chat-console"' in console.content


def test_the_console_shows_the_customers_tickets_and_templates(client, chat_line, agent, customer):
    from tickets.models import ReplyTemplate
    from tickets.services import ticket_create

    ticket = ticket_create(customer=customer, subject="Old problem", body="It broke.")
    ReplyTemplate.objects.create(line=chat_line, code="hi", language="en", title="Greeting",
                                 body="Hello {customer_name}, {agent_name} here.")  # fmt: skip
    chat = services.chat_start(user=customer).chat
    services.chat_handoff(chat_id=chat.pk, who=Participant(user=customer))
    client.force_login(agent)
    data = client.get(reverse("desk-chat-context", args=[chat.pk])).json()
    assert [t["number"] for t in data["tickets"]] == [ticket.number]
    assert (
        data["templates"][0]["body"] == f"Hello {customer.display_name}, {agent.first_name or agent.display_name} here."
    )
