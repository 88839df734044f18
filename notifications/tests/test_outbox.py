"""The outbox between ticket changes and e-mail: written with the change, drained by beat."""

import datetime as dt
import threading

import pytest
import time_machine
from celery.app.task import Task
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from notifications import services, tasks
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


def failing_for(monkeypatch, broken: set[int]):
    """Make the notifications of the events in `broken` fail (a bug, a template that cannot
    render); empty the set to let them through again."""
    real = tasks.services.notifications_for_event

    def notifications_for_event(*, event_id):
        if event_id in broken:
            raise ValueError("a template that cannot render")
        return real(event_id=event_id)

    real_batch = tasks.services.notifications_for_events

    def notifications_for_events(*, event_ids):
        if broken & set(event_ids):
            raise ValueError("a template that cannot render")
        return real_batch(event_ids=event_ids)

    monkeypatch.setattr(tasks.services, "notifications_for_event", notifications_for_event)
    monkeypatch.setattr(tasks.services, "notifications_for_events", notifications_for_events)


@pytest.mark.django_db
def test_an_event_that_fails_is_kept_with_its_error_and_the_rest_are_sent(
    monkeypatch, customer, line, agent, eager, caplog
):
    broken, fine = two_replies_in_the_outbox(customer, agent)
    failing_for(monkeypatch, {broken})
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert tasks.drain_outbox() == 2
    assert Notification.objects.filter(event_id=fine).count() == 1
    assert not Notification.objects.filter(event_id=broken).exists()
    # The failed one is still there, with what went wrong and when it is tried again.
    [kept] = EventOutbox.objects.all()
    assert kept.event_id == broken
    assert kept.attempts == 1
    assert kept.last_error == "ValueError: a template that cannot render"
    assert kept.next_attempt_at == now + dt.timedelta(seconds=settings.OUTBOX_RETRY_SECONDS)
    assert kept.parked_at is None
    assert f"ticket event {broken} failed (attempt 1)" in caplog.text


@pytest.mark.django_db
def test_a_failed_event_waits_for_its_next_attempt_and_is_then_sent(monkeypatch, customer, line, agent, eager):
    broken, _fine = two_replies_in_the_outbox(customer, agent)
    failing = {broken}
    failing_for(monkeypatch, failing)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        tasks.drain_outbox()
    failing.clear()  # whatever broke is fixed
    with time_machine.travel(start + dt.timedelta(seconds=settings.OUTBOX_RETRY_SECONDS - 1), tick=False):
        assert tasks.drain_outbox() == 0  # not due yet
    assert EventOutbox.objects.filter(event_id=broken).exists()
    with time_machine.travel(start + dt.timedelta(seconds=settings.OUTBOX_RETRY_SECONDS), tick=False):
        assert tasks.drain_outbox() == 1
    assert not EventOutbox.objects.exists()
    assert Notification.objects.filter(event_id=broken).count() == 1


def test_each_failure_doubles_the_wait_up_to_an_hour(settings):
    settings.OUTBOX_RETRY_SECONDS = 10
    waits = [services.outbox_retry_delay(attempts).total_seconds() for attempts in range(1, 12)]
    assert waits[:4] == [10, 20, 40, 80]
    assert waits[-1] == 3600 and max(waits) == 3600


@pytest.mark.django_db
def test_an_event_that_keeps_failing_is_parked_and_left_alone(
    monkeypatch, settings, client, customer, line, agent, eager, caplog
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    broken, _fine = two_replies_in_the_outbox(customer, agent)
    failing_for(monkeypatch, {broken})
    moment = timezone.now()
    for attempt in range(1, 4):
        with time_machine.travel(moment, tick=False):
            assert tasks.drain_outbox() >= 1
        row = EventOutbox.objects.get(event_id=broken)
        assert row.attempts == attempt
        moment += dt.timedelta(hours=2)  # past any wait
    assert row.parked_at is not None and row.next_attempt_at is None
    assert "failed 3 times; parked" in caplog.text
    # Parked: no later drain touches it, however long after.
    with time_machine.travel(moment + dt.timedelta(days=30), tick=False):
        assert tasks.drain_outbox() == 0
    row.refresh_from_db()
    assert row.attempts == 3
    # /healthz counts it apart from the backlog.
    backlog = client.get(reverse("healthz")).json()["notification_outbox"]
    assert backlog == {"waiting": 0, "oldest_seconds": None, "parked": 1}


@pytest.mark.django_db
def test_a_parked_event_is_retried_from_the_admin(monkeypatch, settings, admin_client, customer, line, agent, eager):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    broken, fine = two_replies_in_the_outbox(customer, agent)
    failing = {broken}
    failing_for(monkeypatch, failing)
    tasks.drain_outbox()
    assert EventOutbox.objects.get(event_id=broken).parked_at is not None

    changelist = reverse("admin:tickets_eventoutbox_changelist")
    page = admin_client.get(changelist, {"parked": "yes"})
    assert page.status_code == 200
    assert "ValueError: a template that cannot render" in page.content.decode()
    assert admin_client.get(reverse("admin:tickets_eventoutbox_change", args=[broken])).status_code == 200

    failing.clear()
    response = admin_client.post(changelist, {"action": "retry", "_selected_action": [broken]})
    assert response.status_code == 302
    row = EventOutbox.objects.get(event_id=broken)
    assert row.parked_at is None and row.attempts == 1  # the tries so far stay counted
    assert tasks.drain_outbox() == 1
    assert not EventOutbox.objects.exists()
    assert Notification.objects.filter(event_id=broken).count() == 1


@pytest.mark.django_db
def test_a_retried_event_that_fails_again_is_parked_again_at_once(monkeypatch, settings, customer, line, agent, eager):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    broken, _fine = two_replies_in_the_outbox(customer, agent)
    failing_for(monkeypatch, {broken})
    moment = timezone.now()
    for _ in range(2):
        with time_machine.travel(moment, tick=False):
            tasks.drain_outbox()
        moment += dt.timedelta(hours=2)
    assert services.outbox_retry(event_ids=[broken]) == 1
    with time_machine.travel(moment, tick=False):
        assert tasks.drain_outbox() == 1
    row = EventOutbox.objects.get(event_id=broken)
    assert row.attempts == 3 and row.parked_at is not None


@pytest.mark.django_db
def test_take_next_writes_outbox_rows_the_drain_can_keep(customer, line, agent):
    """The take-next statement writes its outbox rows in SQL: the new columns have database defaults."""
    make_ticket(customer)
    EventOutbox.objects.all().delete()
    ticket_services.ticket_take_next(agent=agent)
    [row] = EventOutbox.objects.all()
    assert (row.attempts, row.last_error, row.next_attempt_at, row.parked_at) == (0, "", None, None)


@pytest.mark.django_db
def test_a_database_error_in_one_event_is_kept_and_the_batch_goes_on(monkeypatch, customer, line, agent, eager):
    broken, fine = two_replies_in_the_outbox(customer, agent)
    real = services.recipients_for

    def recipients_for(event, *lookups):
        if event.id == broken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")  # the transaction would be aborted without a savepoint
        return real(event, *lookups)

    monkeypatch.setattr(services, "recipients_for", recipients_for)
    assert tasks.drain_outbox() == 2
    row = EventOutbox.objects.get()
    assert row.event_id == broken and row.attempts == 1
    assert row.last_error.startswith("DataError: division by zero")
    assert Notification.objects.filter(event_id=fine).count() == 1
