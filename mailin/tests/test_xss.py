"""Markup in subjects, bodies, file names and display names is inert on the ticket pages."""

import pytest

from mailin import services
from mailin.models import Outcome
from mailin.tests.helpers import load, simple
from tickets.tests.helpers import active_markup

pytestmark = pytest.mark.django_db


def assert_inert(html: str) -> None:
    assert active_markup(html) == []


def test_markup_in_mail_is_inert_on_the_desk_and_panel_pages(deliver, client, customer, agent):
    first = deliver(load("xss.eml"))
    assert first.outcome == Outcome.UNMATCHED_TICKET_CREATED
    ticket = first.ticket
    reply = deliver(
        simple(
            sender='"<svg onload=alert(9)>" <mallory@evil.example>',
            subject=f"Re: [#{ticket.number}] <script>alert(10)</script>",
            body='<script>alert(11)</script>\n<a href="javascript:alert(12)">x</a>\n[y](javascript:alert(13))',
        )
    )
    assert reply.outcome == Outcome.THREADED
    attachment_names = [a.original_name for a in ticket.attachments.all()]
    assert "<img src=x onerror=alert(7)>.txt" in attachment_names  # kept, shown escaped

    client.force_login(agent)
    for url in (f"/desk/tickets/{ticket.number}/", "/desk/tickets/"):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert_inert(html)
    html = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;" in html  # shown, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the sender's display name, as text
    assert "&lt;img src=x onerror=alert(7)&gt;.txt" in html  # the file name, as text

    # Linked to the customer's account, the ticket shows on their panel.
    services.link_sender(inbound_message=first, customer=customer, actor=agent)
    client.force_login(customer)
    for url in (f"/panel/tickets/{ticket.number}/", "/panel/tickets/"):
        response = client.get(url)
        assert response.status_code == 200
        assert_inert(response.content.decode())
    html = client.get(f"/panel/tickets/{ticket.number}/").content.decode()
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;" in html
    # The reply's author is the sender's placeholder, named after the first mail's display name.
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_api_returns_text_not_markup_decisions(client, mailbox, agent):
    from mailin.tests.helpers import via_endpoint

    inbound, _status, body = via_endpoint(client, load("xss.eml"))
    # The outcome is JSON; the subject is data, escaped by whoever renders it.
    assert body["subject"] == '<script>alert("subject")</script> <img src=x onerror=alert(2)>'
    assert inbound.ticket is not None
