"""Two helpdesks answering each other's automatic mail: the exchange stops by itself.

The helpdesk sends through a real SMTP server (aiosmtpd) that stands for the other side: a
customer whose registered address is its own helpdesk. That helpdesk answers every e-mail it
gets and quotes its ticket's history, which starts with the message that held a root password.
"""

from __future__ import annotations

import email
import email.policy
import socket
import uuid

import pytest
from aiosmtpd.controller import Controller

from accounts.tests.factories import CustomerFactory
from mailin import services
from mailin.models import AutoReply, InboundMessage, Outcome, Source
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

PEER = "support@peer-helpdesk.example"
FIRST = (
    "Hello,\r\n\r\nour web server stopped answering. Access:\r\n\r\n"
    "Server: 198.51.100.61\r\nLogin: root\r\nPassword: Pe3r!Secret77\r\n\r\nPeer Hosting ops\r\n"
)


class Inbox:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def peer(settings, mailbox):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    # Our mail goes out through the stamping backend, to the peer's server.
    settings.EMAIL_BACKEND = "helpdesk.mail.StampingBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    CustomerFactory(username="peer", email=PEER)
    try:
        yield inbox
    finally:
        controller.stop()


def peer_answer(ours: email.message.EmailMessage, *, marks_its_mail: bool) -> bytes:
    """The other helpdesk's acknowledgement of what it got from us. A careless one strips the
    loop headers, makes a new Message-ID and sends its answer as if a person wrote it."""
    to = str(ours["Reply-To"] or ours["From"])
    lines = [
        f"From: Peer Support <{PEER}>",
        f"To: {to}",
        f"Subject: Re: {ours['Subject']} [Peer #55]",
        f"Message-ID: <{uuid.uuid4().hex}@peer-helpdesk.example>",
        "Date: Tue, 02 Apr 2024 10:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if marks_its_mail:
        lines += ["Auto-Submitted: auto-replied", f"In-Reply-To: {ours['Message-ID']}"]
    body = "Thank you, your request is registered as #55.\r\n\r\n---- Ticket #55 history ----\r\n" + FIRST
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def exchange(inbox: Inbox, *, marks_its_mail: bool, rounds: int = 30) -> int:
    """The peer's first message, then each side answers what it gets; returns the peer's answers."""
    first = (
        f"From: Peer Support <{PEER}>\r\nTo: support@hosting.example\r\nSubject: Web server down\r\n"
        f"Message-ID: <first@peer-helpdesk.example>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{FIRST}"
    ).encode()
    services.receive(first, origin=Source.ENDPOINT)
    answers = 0
    while inbox.received and answers < rounds:
        ours = inbox.received.pop(0)
        services.receive(peer_answer(ours, marks_its_mail=marks_its_mail), origin=Source.ENDPOINT)
        answers += 1
    return answers


def test_a_careless_peer_helpdesk_is_answered_a_few_times_and_then_no_more(peer, settings):
    settings.AUTO_REPLIES_PER_ADDRESS_PER_DAY = 3
    answers = exchange(peer, marks_its_mail=False)
    assert not peer.received  # the exchange ended by itself
    assert answers == 3
    sent = AutoReply.objects.filter(to_address=PEER, status=AutoReply.Status.SENT)
    assert sent.count() == 3
    held = AutoReply.objects.get(status=AutoReply.Status.SUPPRESSED)
    assert "automatic answers went to this address" in held.detail
    # Every message was still filed, on one ticket, without the password in clear.
    ticket = Ticket.objects.get()
    assert InboundMessage.objects.filter(outcome=Outcome.THREADED, ticket=ticket).count() == 3
    assert not Message.objects.filter(body__contains="Pe3r!Secret77").exists()
    assert "Pe3r!Secret77" not in ticket.body


def test_a_peer_that_marks_its_automatic_mail_is_answered_once(peer):
    answers = exchange(peer, marks_its_mail=True)
    assert answers == 1
    assert AutoReply.objects.filter(status=AutoReply.Status.SENT).count() == 1
    assert InboundMessage.objects.filter(outcome=Outcome.IGNORED_AUTO_REPLY).count() == 1


def test_our_own_answer_sent_back_to_us_is_recognised(peer):
    exchange(peer, marks_its_mail=True, rounds=0)
    [ours] = peer.received
    assert ours["Auto-Submitted"] == "auto-generated"
    assert ours["X-Loop"] == "support@helpdesk.localhost"
    # A peer that just bounces our message back to us as it is (a redirect).
    inbound = services.receive(ours.as_bytes(), origin=Source.ENDPOINT)
    assert inbound.outcome == Outcome.IGNORED_LOOP
