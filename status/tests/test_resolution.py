"""Publishing the resolution answers every linked ticket exactly once: in batches, each ticket in
its own transaction, even when the pass dies half-way and is started again, or runs twice."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.tests.factories import CustomerFactory
from helpdesk.errors import PermissionDenied
from queues.policy import is_parked
from status import services, tasks
from status.models import Incident, IncidentTicket, LinkOutcome, ReplyState
from status.tests.factories import open_incident, token
from tests.processes import live_database_url
from tickets import services as ticket_services
from tickets.models import EventKind, Message, Status, SystemReason, Ticket
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]
REPLY = "The Moscow switch was replaced; your servers answer again. Write to us if yours does not."


def linked_tickets(incident, count):
    customers = [CustomerFactory() for _ in range(3)]
    tickets = [make_ticket(customers[n % 3], service="MSK-1", subject=f"Down {n}") for n in range(count)]
    assert IncidentTicket.objects.filter(incident=incident).count() == count
    return tickets


def assert_answered_once(tickets, agent):
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        replies = ticket.messages.filter(kind=Message.Kind.PUBLIC, author=agent)
        assert [reply.body for reply in replies] == [REPLY], ticket.number
        resolved = ticket.events.filter(kind=EventKind.STATUS, data__new=Status.RESOLVED)
        assert resolved.count() == 1, ticket.number
        assert resolved.get().data["reason_code"] == SystemReason.INCIDENT_RESOLVED
        assert ticket.status == Status.RESOLVED and not is_parked(ticket)


def test_the_resolution_replies_to_every_linked_ticket_once_and_resolves_it(routed, agent, components):
    incident = open_incident(agent, components["msk"])
    tickets = linked_tickets(incident, 7)
    already = tickets[0]
    ticket_services.ticket_resolve(ticket=already, actor=agent)

    services.incident_resolve(incident=incident, actor=agent, body="Fixed.", reply=REPLY)
    incident.refresh_from_db()
    assert (incident.reply_state, incident.reply_total, incident.reply_done) == (ReplyState.RUNNING, 7, 0)

    assert services.resolution_answer_batch(incident_id=incident.id, batch=3) == 3
    incident.refresh_from_db()
    assert incident.reply_done == 3 and incident.reply_state == ReplyState.RUNNING
    assert tasks.answer_linked_tickets(incident.id) == 4
    incident.refresh_from_db()
    assert (incident.reply_state, incident.reply_done) == (ReplyState.DONE, 7)
    assert incident.reply_finished_at is not None

    assert_answered_once(tickets[1:], agent)
    # The one solved before was left alone.
    assert not already.messages.filter(author=agent).exists()
    outcomes = dict(IncidentTicket.objects.values_list("ticket_id", "outcome"))
    assert outcomes[already.id] == LinkOutcome.SKIPPED
    assert {outcomes[t.id] for t in tickets[1:]} == {LinkOutcome.REPLIED}
    # Running it again does nothing.
    assert tasks.answer_linked_tickets(incident.id) == 0
    assert_answered_once(tickets[1:], agent)


def test_a_pass_killed_mid_ticket_and_started_again_answers_each_ticket_once(routed, agent, components, monkeypatch):
    incident = open_incident(agent, components["msk"])
    tickets = linked_tickets(incident, 6)
    services.incident_resolve(incident=incident, actor=agent, body="Fixed.", reply=REPLY)

    real = ticket_services.ticket_incident_resolve
    calls = {"n": 0}

    class WorkerKilled(BaseException):
        """Not an Exception: nothing in the pass may catch it, as nothing catches a SIGKILL."""

    def dies_on_the_fourth(**kwargs):
        calls["n"] += 1
        message = real(**kwargs)  # the reply and the status are written...
        if calls["n"] == 4:
            raise WorkerKilled  # ...and the worker dies before the transaction commits
        return message

    monkeypatch.setattr(ticket_services, "ticket_incident_resolve", dies_on_the_fourth)
    with pytest.raises(WorkerKilled):
        tasks.answer_linked_tickets(incident.id)
    assert IncidentTicket.objects.filter(incident=incident, done_at__isnull=False).count() == 3
    # The fourth ticket's reply went with its transaction.
    assert Message.objects.filter(author=agent).count() == 3

    monkeypatch.setattr(ticket_services, "ticket_incident_resolve", real)
    assert tasks.answer_linked_tickets(incident.id) == 3
    assert_answered_once(tickets, agent)


def test_without_a_reply_the_tickets_go_back_to_their_queues(routed, agent, components):
    incident = open_incident(agent, components["msk"])
    tickets = linked_tickets(incident, 3)
    monitoring, _key = token()
    services.incident_resolve(incident=incident, token=monitoring, body="Recovered (monitoring).")
    tasks.answer_linked_tickets(incident.id)
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert ticket.status == Status.NEW and not is_parked(ticket)
        assert ticket.events.filter(kind=EventKind.INCIDENT, data__via="resolved").count() == 1
    assert set(IncidentTicket.objects.values_list("outcome", flat=True)) == {LinkOutcome.RELEASED}


def test_the_monitoring_cannot_reply_to_tickets(routed, agent, components):
    incident = open_incident(agent, components["msk"])
    monitoring, _key = token()
    with pytest.raises(PermissionDenied):
        services.incident_resolve(incident=incident, token=monitoring, body="Recovered.", reply="Hello all")


def test_the_resumer_starts_a_stalled_pass_again(routed, agent, components, eager):
    incident = open_incident(agent, components["msk"])
    tickets = linked_tickets(incident, 2)
    services.incident_resolve(incident=incident, actor=agent, body="Fixed.", reply=REPLY)
    assert tasks.resume_answering() == 0  # its heartbeat is fresh: it is running
    Incident.objects.filter(pk=incident.pk).update(reply_heartbeat_at=timezone.now() - dt.timedelta(minutes=5))
    assert tasks.resume_answering() == 1
    assert_answered_once(tickets, agent)
    incident.refresh_from_db()
    assert incident.reply_state == ReplyState.DONE


# The pass in a process of its own, slowed down so that it can be killed half-way.
KILLABLE_PASS = """
import sys, time, django
django.setup()
from tickets import services as ticket_services
from status import tasks
real = ticket_services.ticket_incident_resolve
def slow(**kwargs):
    message = real(**kwargs)
    time.sleep(0.3)  # inside the ticket's transaction: a kill here loses this ticket's work
    return message
ticket_services.ticket_incident_resolve = slow
tasks.answer_linked_tickets(int(sys.argv[1]))
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_pass_killed_with_sigkill_and_run_again_answers_each_ticket_once(routed, agent, components):
    incident = open_incident(agent, components["msk"])
    tickets = linked_tickets(incident, 12)
    services.incident_resolve(incident=incident, actor=agent, body="Fixed.", reply=REPLY)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": settings.REDIS_URL,
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_PASS, str(incident.id)], cwd=BASE_DIR, env=env, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 90
        while IncidentTicket.objects.filter(incident=incident, done_at__isnull=False).count() < 4:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the pass did not get going"
            time.sleep(0.05)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    done = IncidentTicket.objects.filter(incident=incident, done_at__isnull=False).count()
    assert 4 <= done < 12
    # Beat's resumer (or the broker's redelivery) starts it again.
    assert tasks.answer_linked_tickets(incident.id) == 12 - done
    assert_answered_once(tickets, agent)
