"""Notifications run by themselves: Celery beat drains the outbox every HELPDESK_NOTIFY_SECONDS
and a real worker process (over Redis, not eager mode) sends the e-mails."""

import pytest

from notifications.models import Notification
from tests.test_sla_celery import START_TIMEOUT, wait_for, worker_and_beat  # noqa: F401 - a fixture
from tickets import services as ticket_services
from tickets.models import EventOutbox
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.slow


def sent(ticket, kind):
    return Notification.objects.filter(ticket=ticket, kind=kind, status=Notification.Status.SENT).first()


@pytest.mark.django_db(transaction=True)
def test_beat_drains_the_outbox_and_a_worker_sends_each_mail_once(
    worker_and_beat,  # noqa: F811 - the fixture imported above
    tmp_path,
    line,
    customer,
    agent,
):
    ticket = make_ticket(customer)
    ticket_services.ticket_take(ticket=ticket, agent=agent)
    ticket_services.message_add(ticket=ticket, author=agent, body="Restarted nginx.")
    assert EventOutbox.objects.exists()

    reply = wait_for(
        lambda: sent(ticket, Notification.Kind.REPLY), START_TIMEOUT, worker_and_beat, tmp_path, "the reply's e-mail"
    )
    assert reply.recipient == customer and reply.attempts == 1
    wait_for(lambda: not EventOutbox.objects.exists(), 30, worker_and_beat, tmp_path, "an empty outbox")
    # The take's status change went too, and nothing twice however many drains ran since.
    wait_for(lambda: sent(ticket, Notification.Kind.STATUS), 30, worker_and_beat, tmp_path, "the status e-mail")
    assert Notification.objects.filter(ticket=ticket, kind=Notification.Kind.REPLY).count() == 1
    assert all(proc.poll() is None for proc in worker_and_beat)
