"""The outbox drained in batches: a batch of events costs a handful of statements whatever its
size, a batch of e-mails goes over one connection, and every e-mail is still sent once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AgentFactory, CustomerFactory
from notifications import services, tasks
from notifications.models import Notification
from queues.tests.factories import LineFactory
from tickets import services as ticket_services
from tickets.models import EventOutbox, Message
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db


def mixed_backlog(customer, agent, second, tickets: int) -> list[int]:
    """Per ticket: filed (the line's agents are told), an agent's reply, an internal note, a
    promise-free transfer to the second line; the outbox's event ids."""
    for _ in range(tickets):
        ticket = make_ticket(customer)
        ticket_services.message_add(ticket=ticket, author=agent, body="We restarted **nginx**.")
        ticket_services.message_add(ticket=ticket, author=agent, body="Checked.", kind=Message.Kind.NOTE)
        ticket_services.ticket_transfer(ticket=ticket, actor=agent, to_line=second, reason="needs root")
    return list(EventOutbox.objects.order_by("event_id").values_list("event_id", flat=True))


@pytest.fixture
def world(line, agent):
    second = LineFactory(code="admins", name="Administrators", level=2)
    for index in range(3):
        line.memberships.create(user=AgentFactory(username=f"first-{index}"))
        second.memberships.create(user=AgentFactory(username=f"admin-{index}"))
    return second


def queries_for(event_ids) -> tuple[int, list[int]]:
    with CaptureQueriesContext(connection) as captured:
        waiting = services.notifications_for_events(event_ids=event_ids)
    return len(captured), waiting


def test_a_batch_of_events_costs_the_same_statements_whatever_its_size(customer, agent, world):
    small = mixed_backlog(customer, agent, world, 2)
    small_count, small_waiting = queries_for(small)
    EventOutbox.objects.all().delete()
    Notification.objects.all().delete()
    large = mixed_backlog(CustomerFactory(username="customer-b"), agent, world, 10)
    large_count, large_waiting = queries_for(large)
    assert len(large) > 4 * len(small) > 0
    assert len(large_waiting) > 4 * len(small_waiting) > 0
    assert large_count == small_count <= 10


def test_the_batch_writes_what_one_event_at_a_time_would(customer, agent, world):
    events = mixed_backlog(customer, agent, world, 3)
    waiting = services.notifications_for_events(event_ids=events)
    batched = sorted(Notification.objects.values_list("event_id", "email", "kind", "status"))
    assert len(batched) == len(waiting)
    Notification.objects.all().delete()
    for event_id in events:
        services.notifications_for_event(event_id=event_id)
    assert sorted(Notification.objects.values_list("event_id", "email", "kind", "status")) == batched
    # Again for the same events: found, not doubled, nothing new to send.
    assert services.notifications_for_events(event_ids=events) == sorted(
        Notification.objects.values_list("id", flat=True)
    )
    assert Notification.objects.count() == len(batched)


def test_a_suppressed_address_is_written_failed_in_a_batch(customer, agent, world):
    services.address_bounced(email=customer.email, reason="550 no such user", hard=True)
    services.address_bounced(email=customer.email, reason="550 no such user", hard=True)
    services.address_bounced(email=customer.email, reason="550 no such user", hard=True)
    events = mixed_backlog(customer, agent, world, 1)
    waiting = services.notifications_for_events(event_ids=events)
    to_customer = list(Notification.objects.filter(email=customer.email))
    assert to_customer and all(row.status == Notification.Status.FAILED for row in to_customer)
    assert all("550" in row.last_error and row.id not in waiting for row in to_customer)
    assert Notification.objects.filter(status=Notification.Status.QUEUED).count() == len(waiting) > 0


def test_a_batch_of_mail_goes_over_one_connection_and_each_once(mail, customer, agent, world, monkeypatch):
    opened = []
    real = services.mail_connection

    def counting(**kwargs):
        found = real(**kwargs)
        opened.append(found)
        return found

    monkeypatch.setattr(services, "mail_connection", counting)
    with mail.after():
        mixed_backlog(customer, agent, world, 4)
    sent = Notification.objects.filter(status=Notification.Status.SENT)
    assert sent.count() == Notification.objects.count() > 20
    assert len(opened) == -(-sent.count() // tasks.SEND_BATCH)
    message_ids = [received.message["Message-ID"] for received in mail.all]
    assert sorted(message_ids) == sorted(sent.values_list("message_id", flat=True))
    # The same batch again (a redelivered task): nothing is sent twice.
    before = len(mail.all)
    assert tasks.send_notifications(list(sent.values_list("id", flat=True)))["sent"] == 0
    assert len(mail.all) == before


def test_replies_in_a_batch_answer_their_thread_and_quote_the_reply(mail, customer, agent, world):
    ticket = make_ticket(customer)
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="First answer.")
        ticket_services.message_add(ticket=ticket, author=agent, body="Second answer.")
    first, second = mail.to(customer.email)
    assert "First answer." in first.text and "Second answer." in second.text
    assert second.message["In-Reply-To"] == first.message["Message-ID"]


def test_a_refused_mail_in_a_batch_is_retried_alone_and_the_rest_sent(mail, customer, agent, world):
    mail.server.refuse = 1
    ticket = make_ticket(customer)
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="One.")
        ticket_services.message_add(ticket=ticket, author=agent, body="Two.")
    # The refused one went on with its own retries (eagerly here) and was sent once after all.
    assert mail.server.refused == 1
    rows = Notification.objects.filter(email=customer.email).order_by("id")
    assert [row.status for row in rows] == [Notification.Status.SENT] * 2
    assert [row.attempts for row in rows] == [2, 1]
    assert sorted(received.text.count("One.") + received.text.count("Two.") for received in mail.all) == [1, 1]
