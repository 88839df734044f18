"""The contact form proves nothing about the address typed into it.

A stranger who types a customer's address must not read the answers nor write as that
customer: the follow link goes only to the address by e-mail, the ticket is from an
unverified sender until the link is used (agents see it), and the answer to the form is the
same whoever the address belongs to.
"""

import importlib
import re

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, OrganisationFactory
from knowledge.tests.helpers import FOLLOW_LINK, mailed_link
from tickets import services as ticket_services
from tickets.models import EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

PASSWORD = "Tr0ub4dor-&-3"


@pytest.fixture
def victim(db):
    """A customer with a history: another ticket, answered with a new password, with access data."""
    return CustomerFactory(
        username="victim",
        email="Margo@Example.com",
        first_name="Margarita",
        last_name="Ivanova",
        organisation=OrganisationFactory(name="Acme Hosting Ltd"),
    )


@pytest.fixture
def earlier_ticket(victim, agent):
    ticket = ticket_services.ticket_create(
        customer=victim, subject="Reset my panel password", body="Locked out.", access_data="root / s3cret-old"
    )
    ticket_services.message_add(ticket=ticket, author=agent, body=f"Your new password is {PASSWORD}")
    return ticket


def form_ticket() -> Ticket:
    return Ticket.objects.get(channel="form")


def test_a_stranger_typing_a_customers_address_gets_neither_the_link_nor_any_answer(
    submit, client, victim, earlier_ticket, agent
):
    response = submit(email="margo@example.com", name="Olga", subject="Reset my password again")
    assert response.status_code == 200
    page = response.content.decode()
    ticket = form_ticket()
    assert ticket.customer == victim  # filed for the account, as mail from that address would be
    assert "/help/follow/" not in page and not FOLLOW_LINK.search(page)
    assert 'data-testid="follow-link"' not in page
    for secret in (PASSWORD, "s3cret-old", "Margarita", "Ivanova", "Acme", "Reset my panel password", "victim"):
        assert secret not in page
    # An agent answers; the stranger has no way to the answer: the link went only to the account's address.
    ticket_services.message_add(ticket=ticket, author=agent, body="Your new password is N3w-pass-42")
    link = mailed_link("Margo@Example.com")
    assert [m.to for m in mail.outbox if link in m.body] == [["Margo@Example.com"]]
    assert not any("N3w-pass-42" in m.body for m in mail.outbox)
    # Guessing links does not help either.
    assert client.get(reverse("follow", args=[str(ticket.number)])).status_code == 404


def test_the_ticket_is_from_an_unverified_sender_until_the_mailed_link_is_used(submit, client, victim):
    submit(email="margo@example.com")
    ticket = form_ticket()
    assert (ticket.sender_verified, ticket.sender_verified_at) == (False, None)
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SENDER_VERIFIED).exists()

    assert client.get(mailed_link("Margo@Example.com")).status_code == 200
    ticket.refresh_from_db()
    assert ticket.sender_verified and ticket.sender_verified_at is not None
    (event,) = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SENDER_VERIFIED)
    assert event.actor is None and event.data == {"via": "follow_link"}

    # Opening it again changes nothing and writes no second line.
    verified_at = ticket.sender_verified_at
    client.get(mailed_link("Margo@Example.com"))
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SENDER_VERIFIED).count() == 1
    ticket.refresh_from_db()
    assert ticket.sender_verified_at == verified_at


def test_every_form_ticket_starts_unverified_tickets_from_elsewhere_do_not(submit, customer):
    submit(email="nobody-known@example.org")
    assert form_ticket().sender_verified is False
    panel = ticket_services.ticket_create(customer=customer, subject="From the panel", body="Signed in.")
    assert panel.sender_verified is True and panel.sender_verified_at is None


def test_a_reply_through_the_link_is_taken_and_verifies_the_sender(submit, client, victim):
    """The link reaches only the address, so using it to answer is as good as opening it first."""
    submit(email="margo@example.com")
    link = mailed_link("Margo@Example.com")
    client.post(link, {"message": "Also: MX records?"})
    ticket = form_ticket()
    assert ticket.messages.filter(body="Also: MX records?", author=victim).exists()
    assert ticket.sender_verified


def test_the_follow_page_shows_that_tickets_public_thread_and_nothing_of_the_account(
    submit, client, victim, earlier_ticket, agent
):
    submit(email="margo@example.com", name="Olga", subject="DNS question")
    ticket = form_ticket()
    ticket_services.message_add(ticket=ticket, author=agent, body="Use ns1.example.net.")
    ticket_services.message_add(ticket=ticket, author=agent, body="Internal: customer since 2019", kind="note")
    page = client.get(mailed_link("Margo@Example.com")).content.decode()
    assert "DNS question" in page and "Use ns1.example.net." in page
    assert agent.display_name in page  # who answered is public
    for hidden in (
        "Internal: customer since 2019",  # notes
        "Reset my panel password",  # other tickets of the account
        PASSWORD,
        "s3cret-old",  # access data
        "Margarita",
        "Ivanova",
        "victim",  # the account's name and username
        "Acme Hosting",  # its organisation
        "margo@example.com",
        "Margo@Example.com",  # nor the address, not even the one typed
        str(earlier_ticket.number),
    ):
        assert hidden not in page, hidden


def answer(response, typed: str) -> tuple[int, str]:
    """The page with what differs on every request (CSRF tokens) and the echoed address taken out."""
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
    text = re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", text)
    return response.status_code, text.replace(typed, "ADDRESS")


def test_the_answer_is_the_same_for_a_customer_staff_an_inactive_customer_and_an_unknown_address(submit, settings):
    settings.CONTACT_RATE_PER_HOUR = 100
    CustomerFactory(email="customer@example.com")
    AgentFactory(email="agent@example.com")
    CustomerFactory(email="former@example.com", is_active=False)
    addresses = ["customer@example.com", "agent@example.com", "former@example.com", "nobody@example.com"]
    answers, headers = set(), set()
    for address in addresses:
        response = submit(using=Client(), email=address)
        answers.add(answer(response, address))
        headers.add(tuple(sorted(name.lower() for name in response.headers)))
    (only,) = answers
    assert only[0] == 200
    assert len(headers) == 1
    assert Ticket.objects.filter(channel="form", sender_verified=False).count() == 4
    # Each address got its own link by e-mail, staff too, though staff never own tickets.
    for address in addresses:
        assert mailed_link(address)
    staff_ticket = Ticket.objects.get(subject="DNS question", customer__last_name="(agent@example.com)")
    assert staff_ticket.customer.role == Role.CUSTOMER and not staff_ticket.customer.is_active
    assert staff_ticket.customer.email == ""


def test_staff_addresses_are_filed_for_a_placeholder_that_the_mail_channel_shares(submit, client):
    agent = AgentFactory(email="Agent@Example.com")
    submit(email="agent@example.com", subject="First")
    submit(email="AGENT@example.com", subject="Second")
    first, second = Ticket.objects.filter(channel="form").order_by("id")
    assert first.customer == second.customer != agent
    assert first.customer.email == "" and not first.customer.is_active
    # The link goes to the address as typed (the placeholder has none), nowhere else.
    assert [m.to for m in mail.outbox] == [["agent@example.com"], ["AGENT@example.com"]]
    page = client.get(FOLLOW_LINK.search(mail.outbox[-1].body)[0])
    assert page.status_code == 200 and "Second" in page.content.decode()
    assert agent.username not in page.content.decode()


# --- what agents see ------------------------------------------------------------------------


def test_the_desk_shows_the_mark_until_the_sender_is_verified(submit, client, agent, victim):
    submit(email="margo@example.com")
    ticket = form_ticket()
    desk = Client()
    desk.force_login(agent)
    detail = desk.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="sender-unverified"' in detail
    listed = desk.get(reverse("desk-tickets")).content.decode()
    assert 'data-testid="sender-unverified"' in listed

    client.get(mailed_link("Margo@Example.com"))
    detail = desk.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="sender-unverified"' not in detail
    assert 'data-testid="sender-verified"' in detail
    assert "Sender&#x27;s address confirmed" in detail  # also the history line
    assert 'data-testid="sender-unverified"' not in desk.get(reverse("desk-tickets")).content.decode()


def test_the_api_shows_the_mark_to_staff_only(submit, client, agent, victim):
    submit(email="margo@example.com")
    ticket = form_ticket()
    staff = APIClient()
    staff.force_authenticate(agent)
    detail = staff.get(reverse("api:ticket-detail", args=[ticket.number])).json()
    assert (detail["sender_verified"], detail["sender_verified_at"]) == (False, None)
    (item,) = [t for t in staff.get(reverse("api:ticket-list")).json()["results"] if t["number"] == ticket.number]
    assert item["sender_verified"] is False

    owner = APIClient()
    owner.force_authenticate(victim)
    mine = owner.get(reverse("api:ticket-detail", args=[ticket.number])).json()
    assert "sender_verified" not in mine and "sender_verified_at" not in mine

    client.get(mailed_link("Margo@Example.com"))
    detail = staff.get(reverse("api:ticket-detail", args=[ticket.number])).json()
    assert detail["sender_verified"] is True and detail["sender_verified_at"]
    history = staff.get(reverse("api:ticket-history", args=[ticket.number])).json()
    events = history["results"] if isinstance(history, dict) else history
    assert [e["kind"] for e in events if e["kind"] == "sender_verified"] == ["sender_verified"]


# --- what the hole left behind ------------------------------------------------------------


def test_links_shown_on_the_page_before_the_fix_no_longer_open(submit, client):
    submit()
    ticket = form_ticket()
    old_link = signing.TimestampSigner(salt="helpdesk.ticket-follow").sign(str(ticket.number))
    assert client.get(reverse("follow", args=[old_link])).status_code == 404
    assert client.get(mailed_link("olga@example.com")).status_code == 200


def test_the_migration_marks_the_form_tickets_of_before_as_from_unverified_senders(customer):
    from django.apps import apps

    migration = importlib.import_module("tickets.migrations.0015_sender_verified")
    old_form = ticket_services.ticket_create(customer=customer, subject="Old form", body="x", channel="form")
    panel = ticket_services.ticket_create(customer=customer, subject="Panel", body="x")
    assert old_form.sender_verified  # as the column's default filled it in for rows of before
    migration.form_tickets_unverified(apps, None)
    old_form.refresh_from_db()
    panel.refresh_from_db()
    assert (old_form.sender_verified, panel.sender_verified) == (False, True)
