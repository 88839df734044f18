"""The admin (mailboxes with their IMAP password, received mail kept read-only) and linking
an unmatched sender to the customer's account."""

import pytest

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, UserFactory
from helpdesk.errors import Conflict, DomainError, PermissionDenied
from mailin import services
from mailin.models import InboundMessage, Mailbox, Outcome, Source
from mailin.tests.helpers import simple
from queues.tests.factories import LineFactory
from tickets.models import EventKind, EventOutbox, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def receive(raw, mailbox=None):
    return services.receive(raw, origin=Source.COMMAND, mailbox=mailbox)


# --- admin -------------------------------------------------------------------------------------


def test_mailbox_admin_stores_the_password_encrypted_and_keeps_it_when_left_empty(admin_client, line):
    data = {
        "name": "Support",
        "address": "support@hosting.example",
        "line": line.pk,
        "category": "general",
        "is_active": "on",
        "imap_host": "imap.hosting.example",
        "imap_port": "993",
        "imap_use_ssl": "on",
        "imap_user": "support",
        "imap_password": "s3cret-imap",
        "imap_folder": "INBOX",
    }
    response = admin_client.post("/admin/mailin/mailbox/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox = Mailbox.objects.get()
    assert b"s3cret-imap" not in bytes(mailbox.imap_password_encrypted)
    assert mailbox.imap_password() == "s3cret-imap"
    page = admin_client.get(f"/admin/mailin/mailbox/{mailbox.pk}/change/").content.decode()
    assert "s3cret-imap" not in page
    admin_client.post(f"/admin/mailin/mailbox/{mailbox.pk}/change/", data | {"imap_password": "", "name": "Renamed"})
    mailbox.refresh_from_db()
    assert mailbox.name == "Renamed"
    assert mailbox.imap_password() == "s3cret-imap"
    admin_client.post(f"/admin/mailin/mailbox/{mailbox.pk}/change/", data | {"clear_imap_password": "on"})
    mailbox.refresh_from_db()
    assert mailbox.imap_password() == ""


def test_mailbox_addresses_are_unique_whatever_the_case(admin_client, mailbox):
    response = admin_client.post(
        "/admin/mailin/mailbox/add/",
        {"name": "Dup", "address": "SUPPORT@hosting.example", "category": "general", "imap_port": "993"},
    )
    assert response.status_code == 200  # the form comes back with the error
    assert Mailbox.objects.count() == 1


def test_received_mail_in_the_admin_is_read_only_with_the_raw_message(admin_client, mailbox, customer):
    raw = simple(subject="Admin view")
    inbound = receive(raw, mailbox)
    listing = admin_client.get("/admin/mailin/inboundmessage/")
    assert listing.status_code == 200
    assert "Admin view" in listing.content.decode()
    page = admin_client.get(f"/admin/mailin/inboundmessage/{inbound.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/mailin/inboundmessage/{inbound.pk}/raw/" in page.content.decode()
    download = admin_client.get(f"/admin/mailin/inboundmessage/{inbound.pk}/raw/")
    assert download.content == raw
    assert download["Content-Disposition"] == f'attachment; filename="inbound-{inbound.pk}.eml"'
    assert admin_client.post(f"/admin/mailin/inboundmessage/{inbound.pk}/delete/").status_code == 403
    assert InboundMessage.objects.filter(pk=inbound.pk).exists()


def test_admin_processes_failed_mail_again(admin_client, customer, line):
    line.is_active = False
    line.save()
    inbound = receive(simple())
    assert inbound.outcome == Outcome.FAILED
    line.is_active = True
    line.save()
    admin_client.post("/admin/mailin/inboundmessage/", {"action": "process_again", "_selected_action": [inbound.pk]})
    inbound.refresh_from_db()
    assert inbound.outcome == Outcome.TICKET_CREATED


def test_filed_mail_is_not_processed_again(customer, line):
    inbound = receive(simple())
    with pytest.raises(Conflict):
        services.reprocess(inbound)
    assert Ticket.objects.count() == 1


# --- linking an unmatched sender ---------------------------------------------------------------


@pytest.fixture
def unmatched(mailbox):
    first = receive(simple(sender="Olga <olga@newcomer.example>", subject="Prices", message_id="o1@x"), mailbox)
    second = receive(simple(sender="olga@newcomer.example", subject="Discounts", message_id="o2@x"), mailbox)
    assert first.outcome == second.outcome == Outcome.UNMATCHED_TICKET_CREATED
    return first, second


def test_linking_moves_the_senders_tickets_and_matches_later_mail(unmatched, customer, agent, mailbox):
    first, second = unmatched
    placeholder = first.ticket.customer
    linked = services.link_sender(inbound_message=first, customer=customer, actor=agent)
    assert (linked.linked_customer, linked.linked_by) == (customer, agent)
    assert linked.linked_at is not None
    for inbound in (first, second):
        ticket = Ticket.objects.get(pk=inbound.ticket_id)
        assert ticket.customer == customer
        assert ticket.organisation_id == customer.organisation_id
    # The placeholder stays (history refers to it), inactive and without tickets.
    placeholder.refresh_from_db()
    assert not placeholder.is_active
    assert not Ticket.objects.filter(customer=placeholder).exists()
    # A reply from the old address is threaded and written as the customer.
    reply = receive(simple(sender="olga@newcomer.example", subject=f"Re: [#{first.ticket.number}] Prices"), mailbox)
    assert reply.outcome == Outcome.THREADED
    assert reply.sender_matched
    assert reply.ticket_message.author == customer
    # New mail from the address goes to the customer's account.
    later = receive(simple(sender="olga@newcomer.example", subject="New question"), mailbox)
    assert later.outcome == Outcome.TICKET_CREATED
    assert later.ticket.customer == customer


def test_linking_is_for_staff_of_the_line(unmatched, customer):
    first, _second = unmatched
    stranger = AgentFactory(username="stranger")
    LineFactory(code="elsewhere").memberships.create(user=stranger)
    with pytest.raises(PermissionDenied):
        services.link_sender(inbound_message=first, customer=customer, actor=stranger)
    with pytest.raises(DomainError):
        services.link_sender(inbound_message=first, customer=customer, actor=customer)


def test_linking_needs_an_active_customer_and_an_unmatched_sender(unmatched, customer, agent, mailbox):
    first, _second = unmatched
    with pytest.raises(DomainError):
        services.link_sender(inbound_message=first, customer=agent, actor=agent)
    with pytest.raises(DomainError):
        services.link_sender(
            inbound_message=first, customer=CustomerFactory(username="off", is_active=False), actor=agent
        )
    matched = receive(simple(subject="Mine"), mailbox)
    with pytest.raises(Conflict):
        services.link_sender(inbound_message=matched, customer=customer, actor=agent)
    ignored = receive(simple(headers={"Auto-Submitted": "auto-replied"}), mailbox)
    with pytest.raises(Conflict):
        services.link_sender(inbound_message=ignored, customer=customer, actor=agent)


def test_the_second_link_of_one_sender_is_refused(unmatched, customer, agent):
    first, second = unmatched
    services.link_sender(inbound_message=first, customer=customer, actor=agent)
    other = CustomerFactory(username="other")
    with pytest.raises(Conflict):
        services.link_sender(inbound_message=first, customer=other, actor=agent)
    # The other e-mail of the same sender: its ticket already moved with the first link.
    assert Ticket.objects.get(pk=second.ticket_id).customer == customer


def test_linking_writes_the_change_of_customer_into_each_tickets_history(unmatched, customer, agent):
    first, second = unmatched
    placeholder = first.ticket.customer
    services.link_sender(inbound_message=first, customer=customer, actor=agent)
    for inbound in (first, second):
        [event] = TicketEvent.objects.filter(ticket_id=inbound.ticket_id, kind=EventKind.CUSTOMER)
        assert event.actor == agent
        assert (event.data["old"], event.data["new"]) == (placeholder.username, customer.username)
        assert "olga@newcomer.example" in event.data["reason"]
    # Nobody is e-mailed about it.
    assert not EventOutbox.objects.filter(event__kind=EventKind.CUSTOMER).exists()


def test_the_history_entry_shows_on_the_agents_ticket_page(unmatched, customer, agent, client):
    first, _second = unmatched
    services.link_sender(inbound_message=first, customer=customer, actor=agent)
    client.force_login(agent)
    page = client.get(f"/desk/tickets/{first.ticket.number}/").content.decode()
    assert "Customer changed" in page and customer.username in page
