"""The outbox between ticket changes and e-mail: written with the change, drained by beat."""

import threading

import pytest
from celery.app.task import Task
from django.conf import settings
from django.db import connection, transaction

from notifications import tasks
from notifications.models import Notification
from tickets import services as ticket_services
from tickets.models import EventKind, EventOutbox, Message, TicketEvent
from tickets.tests.helpers import make_ticket


@pytest.mark.django_db
def test_a_change_queues_nothing_in_the_broker_and_the_drain_sends_it_later(
    monkeypatch, mail, customer, line, agent, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("the broker is down")

    ticket = make_ticket(customer)
    ticket_services.ticket_take(ticket=ticket, agent=agent)
    EventOutbox.objects.all().delete()
    with monkeypatch.context() as patched, django_capture_on_commit_callbacks(execute=True):
        patched.setattr(Task, "apply_async", broker_down)
        ticket_services.message_add(ticket=ticket, author=agent, body="Restarted it.")
    # The reply is stored and its e-mail waits in the outbox, whatever the broker does.
    [waiting] = EventOutbox.objects.select_related("event")
    assert waiting.event.kind == EventKind.MESSAGE and waiting.event.ticket_id == ticket.pk
    assert mail.all == []
    with mail.after(reset=False):
        assert tasks.drain_outbox.delay().get() == 1
    assert len(mail.to(customer.email)) == 1
    assert not EventOutbox.objects.exists()


@pytest.mark.django_db
def test_events_nobody_is_told_about_stay_out_of_the_outbox(customer, line, agent):
    ticket = make_ticket(customer)
    EventOutbox.objects.all().delete()
    ticket_services.message_add(ticket=ticket, author=agent, body="Internal: check the RAID.", kind=Message.Kind.NOTE)
    ticket_services.ticket_take(ticket=ticket, agent=agent)  # taken by oneself: nobody is told
    kinds = set(EventOutbox.objects.values_list("event__kind", flat=True))
    # The note is a message event (the drain decides it mails nobody); the take's ASSIGN is not there.
    assert EventKind.ASSIGN not in kinds
    assert EventKind.STATUS in kinds


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_nothing_in_the_outbox(customer, line, agent):
    ticket = make_ticket(customer)
    EventOutbox.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_services.message_add(ticket=ticket, author=agent, body="Fixed.")
        raise RuntimeError("after the change")
    assert not EventOutbox.objects.exists()


@pytest.mark.django_db
def test_draining_goes_in_batches_until_empty(customer, line, agent, eager):
    ticket = make_ticket(customer)
    EventOutbox.objects.all().delete()
    for n in range(5):
        ticket_services.message_add(ticket=ticket, author=agent, body=f"Step {n}.")
    assert EventOutbox.objects.count() >= 5
    waiting = EventOutbox.objects.count()
    assert tasks.drain_outbox(batch=2) == waiting
    assert not EventOutbox.objects.exists()
    assert Notification.objects.filter(ticket=ticket, kind=Notification.Kind.REPLY).count() == 5


def test_beat_drains_the_outbox_every_few_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-outbox"]
    assert entry["task"] == tasks.drain_outbox.name
    assert 0 < entry["schedule"] <= 10


def two_replies_in_the_outbox(customer, agent) -> list[int]:
    """A ticket taken by `agent`, who then replies twice: the two replies' event ids, the only
    rows of the outbox, in order."""
    ticket = make_ticket(customer)
    ticket_services.ticket_take(ticket=ticket, agent=agent)
    EventOutbox.objects.all().delete()
    ticket_services.message_add(ticket=ticket, author=agent, body="First.")
    ticket_services.message_add(ticket=ticket, author=agent, body="Second.")
    return list(EventOutbox.objects.order_by("event_id").values_list("event_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_two_drains_never_take_the_same_event(customer, line, agent, eager):
    first, second = two_replies_in_the_outbox(customer, agent)
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_drain_holding_the_first():
        try:
            with transaction.atomic():
                list(EventOutbox.objects.select_for_update().filter(event_id=first))
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()
            done.set()

    holder = threading.Thread(target=other_drain_holding_the_first)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        # The locked row is skipped, not waited for; the other one is drained.
        assert tasks.drain_outbox() == 1
        assert list(EventOutbox.objects.values_list("event_id", flat=True)) == [first]
        assert Notification.objects.filter(event_id=second).count() == 1
        assert not Notification.objects.filter(event_id=first).exists()
    finally:
        release.set()
        holder.join(timeout=30)
    assert done.is_set()
    assert tasks.drain_outbox() == 1
    assert not EventOutbox.objects.exists()
    assert Notification.objects.filter(event_id=first).count() == 1
    assert TicketEvent.objects.filter(id__in=[first, second]).count() == 2


@pytest.mark.django_db
def test_an_event_that_fails_is_skipped_and_the_rest_are_sent(monkeypatch, customer, line, agent, eager, caplog):
    broken, fine = two_replies_in_the_outbox(customer, agent)
    real = tasks.services.notifications_for_event

    def failing_for_the_first(*, event_id):
        if event_id == broken:
            raise ValueError("a template that cannot render")
        return real(event_id=event_id)

    monkeypatch.setattr(tasks.services, "notifications_for_event", failing_for_the_first)
    assert tasks.drain_outbox() == 2
    assert not EventOutbox.objects.exists()
    assert Notification.objects.filter(event_id=fine).count() == 1
    assert not Notification.objects.filter(event_id=broken).exists()
    assert f"ticket event {broken} failed" in caplog.text
