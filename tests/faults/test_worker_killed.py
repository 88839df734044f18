"""A Celery worker killed with SIGKILL in the middle of the work, then started again: the SLA
sweep does every due action exactly once, and an incident's mass reply answers every linked
ticket exactly once. Real worker processes over Redis, on this test's database.

Why it holds: the sweep writes each ticket's records (unique per ticket, kind, target and
deadline) in the transaction that acts on it, under the ticket's row lock, so a kill rolls back
the batch in flight whole and the next sweep finds what was done; the mass reply takes each link
with SKIP LOCKED and marks it done in the transaction that answers the ticket."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import CustomerFactory
from queues.models import RoutingRule
from sla.models import SlaRecord
from sla.services import SWEEP_BATCH, sla_sweep
from sla.tasks import sweep
from status import services as status_services
from status.models import Incident, IncidentTicket, LinkOutcome, ReplyState
from status.tasks import resume_answering, start_answering
from status.tests.factories import catalogue, open_incident
from tests.faults.helpers import SWEPT, UNTOUCHED, sla_state, tickets_due
from tests.stack import Stack, purge_broker
from tickets.models import EventKind, Message, Status, Ticket
from tickets.tests.helpers import make_ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SWEEP_TICKETS = 2 * SWEEP_BATCH  # two batches: the kill lands after the first commits, before the second
REPLY_TICKETS = 60
REPLY = "The Moscow switch was replaced; your servers answer again."


@pytest.fixture
def stack(tmp_path):
    purge_broker()
    stack = Stack(tmp_path)
    yield stack
    stack.stop()
    purge_broker()  # the killed task's message stays unacknowledged in Redis: not for the next test


def test_a_worker_killed_mid_sweep_and_restarted_does_each_due_action_once(stack, line, customer):
    ids = tickets_due(customer, SWEEP_TICKETS, timezone.now() - dt.timedelta(minutes=1))
    worker = stack.celery_worker("worker-a")
    stack.wait_log(worker, "ready.")
    sweep.delay()
    # The first batch committed, the others not yet: kill the worker in the middle of the sweep.
    stack.wait_for(lambda: SlaRecord.objects.filter(ticket_id__in=ids).exists(), 60, "the first batch", every=0.02)
    worker.kill()

    state = sla_state(ids)
    done = [ticket_id for ticket_id, value in state.items() if value == SWEPT]
    # Nothing half-done: a ticket has all of its actions, or none (its batch rolled back).
    assert all(value in (SWEPT, UNTOUCHED) for value in state.values()), {
        k: v for k, v in state.items() if v not in (SWEPT, UNTOUCHED)
    }
    assert SWEEP_BATCH <= len(done) < SWEEP_TICKETS, "the kill did not land in the middle of the sweep"
    assert len(done) % SWEEP_BATCH == 0  # whole batches only

    # Started again; beat sends the sweep again at its next tick (every second here). The killed
    # worker's connection may hold the sweep's lock for a moment: a sweep that finds it returns.
    restarted = stack.celery_worker("worker-b")
    stack.wait_log(restarted, "ready.")

    def all_swept():
        if Ticket.objects.filter(id__in=ids, sla_next_check_at__lte=timezone.now()).exists():
            sweep.delay()
            return False
        return True

    stack.wait_for(all_swept, 240, "the restarted worker to finish the sweep", every=1.0)
    state = sla_state(ids)
    assert {ticket_id for ticket_id, value in state.items() if value != SWEPT} == set()
    # And once more, as beat goes on (the test's own process sweeping): nothing is done twice.
    sla_sweep()
    assert sla_state(ids) == {ticket_id: SWEPT for ticket_id in ids}
    assert SlaRecord.objects.filter(ticket_id__in=ids).count() == 2 * SWEEP_TICKETS


def test_a_worker_killed_mid_mass_reply_and_restarted_answers_each_ticket_once(stack, line, agent):
    RoutingRule.objects.create(category="general", line=line)
    components = catalogue()
    incident = open_incident(agent, components["msk"])
    customers = [CustomerFactory() for _ in range(4)]
    tickets = [make_ticket(customers[n % 4], service="MSK-1", subject=f"Down {n}") for n in range(REPLY_TICKETS)]
    assert IncidentTicket.objects.filter(incident=incident).count() == REPLY_TICKETS

    worker = stack.celery_worker("worker-a")
    stack.wait_log(worker, "ready.")
    # What the workspace's "publish the resolution" does: resolve, then queue the passes on commit.
    with transaction.atomic():
        status_services.incident_resolve(incident=incident, actor=agent, body="Fixed.", reply=REPLY)
        start_answering(incident.id)

    def answered() -> int:
        return IncidentTicket.objects.filter(incident=incident, done_at__isnull=False).count()

    stack.wait_for(lambda: answered() >= 10, 60, "the first answers", every=0.02)
    worker.kill()
    done = answered()
    assert 10 <= done < REPLY_TICKETS, "the kill did not land in the middle of the reply"
    # Every link marked done has its reply; none without its mark.
    replied = Message.objects.filter(ticket__in=tickets, author=agent, kind=Message.Kind.PUBLIC).count()
    assert replied == done

    # The restarted worker runs the passes still queued; beat's resumer starts them again when
    # none is left (here: the killed pass's heartbeat made old, as two minutes would).
    restarted = stack.celery_worker("worker-b")
    stack.wait_log(restarted, "ready.")
    Incident.objects.filter(pk=incident.pk).update(reply_heartbeat_at=timezone.now() - dt.timedelta(minutes=5))
    resume_answering.delay()
    stack.wait_for(
        lambda: Incident.objects.get(pk=incident.pk).reply_state == ReplyState.DONE, 180, "the reply to finish"
    )
    incident.refresh_from_db()
    assert incident.reply_done == REPLY_TICKETS
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        replies = ticket.messages.filter(kind=Message.Kind.PUBLIC, author=agent).values_list("body", flat=True)
        assert list(replies) == [REPLY], ticket.number
        assert ticket.events.filter(kind=EventKind.STATUS, data__new=Status.RESOLVED).count() == 1, ticket.number
        assert ticket.status == Status.RESOLVED
    assert set(IncidentTicket.objects.filter(incident=incident).values_list("outcome", flat=True)) == {
        LinkOutcome.REPLIED
    }
