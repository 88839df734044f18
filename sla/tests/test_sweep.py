"""The SLA sweep over a ticket's life: warnings and breaches once each, escalations by policy,
the first line's escalation timer, reminders and automatic resolving and closing, and
exactly-once behaviour when sweeps repeat, overlap or die halfway."""

import contextlib
import datetime as dt
import re
import threading
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.models import QueuePolicy
from queues.tests.factories import LineFactory
from sla import actions
from sla.deadlines import clear_calendar_cache
from sla.models import BusinessCalendar, SlaPolicy, SlaRecord, SlaTarget
from sla.services import sla_sweep
from tickets import services
from tickets.models import EventKind, LineStint, Message, Status, Ticket, TicketEvent, TicketSecret, Urgency

MSK = ZoneInfo("Europe/Moscow")
Kind, Target = SlaRecord.Kind, SlaRecord.Target


def msk(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MSK)


# Filed Friday 19:00 with 240/960 working minutes in a 10:00-18:00 weekday calendar:
FRIDAY_EVENING = msk(2026, 3, 6, 19, 0)
FIRST_WARN, FIRST_DUE = msk(2026, 3, 9, 13, 12), msk(2026, 3, 9, 14, 0)
RESOLUTION_WARN, RESOLUTION_DUE = msk(2026, 3, 10, 14, 48), msk(2026, 3, 10, 18, 0)
# Filed at the start of Monday's hours the deadlines are the same; a minute later, a minute later.
MONDAY_10 = msk(2026, 3, 9, 10, 0)


@pytest.fixture(autouse=True)
def fresh_calendars():
    clear_calendar_cache()
    yield
    clear_calendar_cache()


@pytest.fixture
def second_line(db):
    return LineFactory(code="sla-engineers", name="Engineers", level=2)


@pytest.fixture
def first_line(db, second_line):
    calendar = BusinessCalendar.objects.create(name="Consultants", time_zone="Europe/Moscow")
    for day in range(5):
        calendar.intervals.create(weekday=day, starts_at=dt.time(10), ends_at=dt.time(18))
    return LineFactory(code="sla-consultants", name="Consultants", level=1, calendar=calendar, next_line=second_line)


@pytest.fixture
def policy(db) -> SlaPolicy:
    # The first line's own escalation timer is far away unless a test brings it closer.
    policy = SlaPolicy.current()
    policy.first_line_escalation_minutes = 100_000
    policy.save()
    QueuePolicy.current()
    return policy


@pytest.fixture
def targets(db):
    for urgency, first, following, whole in (
        (Urgency.NORMAL, 240, 120, 960),
        (Urgency.CRITICAL, 30, 30, 240),
    ):
        SlaTarget.objects.create(
            urgency=urgency, first_response_minutes=first, next_response_minutes=following, resolution_minutes=whole
        )


@pytest.fixture
def setup(first_line, second_line, policy, targets):
    return first_line


@pytest.fixture
def client_customer(db):
    return CustomerFactory(username="sweep-customer")


@pytest.fixture
def consultant(first_line):
    user = AgentFactory(username="sweep-consultant")
    first_line.memberships.create(user=user)
    return user


def file_ticket(customer, at: dt.datetime = FRIDAY_EVENING, **fields) -> Ticket:
    with time_machine.travel(at, tick=False):
        ticket = services.ticket_create(
            customer=customer, subject="Mail is bouncing", body="Every message to us comes back.", **fields
        )
    ticket.refresh_from_db()
    return ticket


def sweep(at: dt.datetime) -> int:
    with time_machine.travel(at, tick=False):
        return sla_sweep()


def records(ticket: Ticket) -> list[tuple[str, str, dt.datetime]]:
    return [
        (record.kind, record.target, record.due_at)
        for record in SlaRecord.objects.filter(ticket=ticket).order_by("due_at", "id")
    ]


def sla_events(ticket: Ticket) -> list[dict]:
    return [event.data for event in TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA).order_by("id")]


# --- a ticket's life ---------------------------------------------------------------


def test_warnings_and_breaches_are_recorded_once_at_their_moment_and_boost_the_ticket(setup, client_customer):
    queue_policy = QueuePolicy.current()
    queue_policy.max_credit_minutes = 100
    queue_policy.save()
    ticket = file_ticket(client_customer)
    start_credit = ticket.credit_minutes
    assert 0 <= start_credit < 40
    assert ticket.sla_next_check_at == FIRST_WARN

    assert sweep(FIRST_WARN - dt.timedelta(seconds=1)) == 0
    assert records(ticket) == []

    assert sweep(FIRST_WARN) == 1
    assert records(ticket) == [(Kind.WARNING, Target.FIRST_RESPONSE, FIRST_WARN)]
    assert sla_events(ticket) == [
        {
            "action": "warning",
            "target": "first_response",
            "due_at": FIRST_WARN.astimezone(dt.UTC).isoformat(),
            "line": "sla-consultants",
        }
    ]
    ticket.refresh_from_db()
    assert ticket.sla_next_check_at == FIRST_DUE
    assert sweep(FIRST_WARN + dt.timedelta(minutes=30)) == 0

    assert sweep(FIRST_DUE) == 1
    ticket.refresh_from_db()
    assert records(ticket)[-1] == (Kind.BREACH, Target.FIRST_RESPONSE, FIRST_DUE)
    assert [event["action"] for event in sla_events(ticket)] == ["warning", "breach", "escalation"]
    assert sla_events(ticket)[-1] == {"action": "escalation", "escalation": "boost", "minutes": 60}
    assert ticket.credit_minutes == start_credit + 60
    assert ticket.weight_parts["escalation"] == 60
    assert ticket.virtual_time == ticket.queued_at - dt.timedelta(minutes=ticket.credit_minutes)
    assert ticket.sla_next_check_at == RESOLUTION_WARN
    assert ticket.line.code == "sla-consultants"

    assert sweep(RESOLUTION_WARN) == 1
    assert sweep(RESOLUTION_DUE) == 1
    ticket.refresh_from_db()
    # The second boost stops at the queue's starvation bound.
    assert ticket.credit_minutes == 100
    assert sla_events(ticket)[-1] == {"action": "escalation", "escalation": "boost", "minutes": 100 - start_credit - 60}
    assert records(ticket) == [
        (Kind.WARNING, Target.FIRST_RESPONSE, FIRST_WARN),
        (Kind.BREACH, Target.FIRST_RESPONSE, FIRST_DUE),
        (Kind.WARNING, Target.RESOLUTION, RESOLUTION_WARN),
        (Kind.BREACH, Target.RESOLUTION, RESOLUTION_DUE),
    ]
    assert {record.line_id for record in SlaRecord.objects.filter(ticket=ticket)} == {ticket.line_id}
    # Only the first line's distant escalation timer is left to watch.
    assert ticket.sla_next_check_at > RESOLUTION_DUE + dt.timedelta(days=90)
    assert sweep(RESOLUTION_DUE + dt.timedelta(days=3)) == 0
    assert len(records(ticket)) == 4


def test_a_late_sweep_records_both_the_warning_and_the_breach(setup, client_customer):
    ticket = file_ticket(client_customer)
    assert sweep(FIRST_DUE + dt.timedelta(minutes=5)) == 1
    assert records(ticket) == [
        (Kind.WARNING, Target.FIRST_RESPONSE, FIRST_WARN),
        (Kind.BREACH, Target.FIRST_RESPONSE, FIRST_DUE),
    ]


def test_an_answered_ticket_gets_no_first_response_breach(setup, client_customer, consultant):
    ticket = file_ticket(client_customer)
    assert sweep(FIRST_WARN) == 1
    with time_machine.travel(FIRST_WARN + dt.timedelta(minutes=10), tick=False):
        services.message_add(ticket=ticket, author=consultant, body="Your MX record points nowhere.")
    assert sweep(FIRST_DUE) == 0
    assert records(ticket) == [(Kind.WARNING, Target.FIRST_RESPONSE, FIRST_WARN)]


def test_a_breach_transfers_the_ticket_to_the_next_line_when_the_policy_says_so(
    setup, policy, second_line, client_customer
):
    policy.escalation = SlaPolicy.Escalation.TRANSFER
    policy.save()
    ticket = file_ticket(client_customer)
    sweep(FIRST_WARN)
    assert sweep(FIRST_DUE) == 1
    ticket.refresh_from_db()
    assert ticket.line == second_line
    assert ticket.status == Status.WAITING_AGENT
    assert ticket.line_entered_at == FIRST_DUE
    breach = SlaRecord.objects.get(ticket=ticket, kind=Kind.BREACH)
    assert breach.line.code == "sla-consultants"  # the line that missed it
    transfer = TicketEvent.objects.get(ticket=ticket, kind=EventKind.TRANSFER)
    assert transfer.actor is None
    assert (transfer.data["old"], transfer.data["new"]) == ("sla-consultants", "sla-engineers")
    assert "first response" in transfer.data["reason"]
    assert list(LineStint.objects.filter(ticket=ticket).order_by("id").values_list("line__code", "left_at")) == [
        ("sla-consultants", FIRST_DUE),
        ("sla-engineers", None),
    ]
    assert sweep(FIRST_DUE) == 0


def test_a_breach_notifies_the_lead_when_the_policy_says_so(setup, policy, first_line, client_customer):
    policy.escalation = SlaPolicy.Escalation.NOTIFY
    policy.save()
    lead = AgentFactory(username="sweep-lead")
    first_line.memberships.create(user=lead, is_lead=True)
    ticket = file_ticket(client_customer)
    credit = ticket.credit_minutes
    sweep(FIRST_DUE)
    ticket.refresh_from_db()
    assert sla_events(ticket)[-1] == {"action": "escalation", "escalation": "notify", "lead": "sweep-lead"}
    assert ticket.credit_minutes == credit
    assert ticket.line == first_line


def test_the_first_line_passes_an_unanswered_ticket_on_after_its_timer(setup, policy, second_line, client_customer):
    policy.first_line_escalation_minutes = 60
    policy.save()
    ticket = file_ticket(client_customer, MONDAY_10)
    assert ticket.sla_next_check_at == MONDAY_10 + dt.timedelta(minutes=60)

    assert sweep(MONDAY_10 + dt.timedelta(minutes=59)) == 0
    assert sweep(MONDAY_10 + dt.timedelta(minutes=60)) == 1
    ticket.refresh_from_db()
    assert ticket.line == second_line
    assert records(ticket) == [(Kind.ESCALATION, Target.FIRST_RESPONSE, MONDAY_10 + dt.timedelta(minutes=60))]
    system = Message.objects.get(ticket=ticket, kind=Message.Kind.SYSTEM)
    assert "Engineers" in system.body
    # The second line is the last level: no timer there, only the commitment's deadlines.
    assert ticket.sla_next_check_at == msk(2026, 3, 9, 13, 12)


def test_an_answered_first_line_ticket_stays_in_the_first_line(setup, policy, first_line, client_customer, consultant):
    policy.first_line_escalation_minutes = 60
    policy.save()
    ticket = file_ticket(client_customer, MONDAY_10)
    with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=20), tick=False):
        services.message_add(ticket=ticket, author=consultant, body="Looking into it.")
    assert sweep(MONDAY_10 + dt.timedelta(minutes=61)) == 0
    ticket.refresh_from_db()
    assert ticket.line == first_line
    assert records(ticket) == []


def test_a_silent_customer_is_reminded_once_then_resolved_then_closed(setup, policy, client_customer, consultant):
    ticket = file_ticket(client_customer, access_data="root / hunter2")
    asked = msk(2026, 3, 9, 11, 0)
    with time_machine.travel(asked, tick=False):
        services.message_add(ticket=ticket, author=consultant, body="Which domain is it?", wait_for_customer=True)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER
    assert TicketSecret.objects.filter(ticket=ticket).exists()
    remind_at = asked + dt.timedelta(days=policy.remind_waiting_days)
    resolve_at = asked + dt.timedelta(days=policy.resolve_waiting_days)
    assert ticket.sla_next_check_at == remind_at

    assert sweep(remind_at - dt.timedelta(minutes=1)) == 0
    assert sweep(remind_at) == 1
    reminders = Message.objects.filter(ticket=ticket, kind=Message.Kind.SYSTEM, author=None)
    assert [message.body for message in reminders] == [
        "We are waiting for your answer to continue. If the problem is solved, please confirm it."
    ]
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER
    assert ticket.sla_next_check_at == resolve_at
    assert sweep(remind_at + dt.timedelta(days=1)) == 0
    assert reminders.count() == 1

    assert sweep(resolve_at) == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.resolved_at == resolve_at
    close_at = resolve_at + dt.timedelta(days=policy.autoclose_resolved_days)
    assert ticket.sla_next_check_at == close_at
    assert TicketSecret.objects.filter(ticket=ticket).exists()

    assert sweep(close_at - dt.timedelta(minutes=1)) == 0
    assert sweep(close_at) == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at == close_at
    assert not TicketSecret.objects.filter(ticket=ticket).exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SECRET_WIPE).count() == 1
    assert not LineStint.objects.filter(ticket=ticket, left_at__isnull=True).exists()
    assert ticket.sla_next_check_at is None
    assert records(ticket) == [
        (Kind.REMINDER, Target.INACTIVITY, remind_at),
        (Kind.AUTO_RESOLVE, Target.INACTIVITY, resolve_at),
        (Kind.AUTO_CLOSE, Target.INACTIVITY, close_at),
    ]
    assert sweep(close_at + dt.timedelta(days=30)) == 0


def test_a_customer_who_answers_is_not_reminded(setup, policy, client_customer, consultant):
    ticket = file_ticket(client_customer)
    asked = msk(2026, 3, 9, 11, 0)
    with time_machine.travel(asked, tick=False):
        services.message_add(ticket=ticket, author=consultant, body="Which domain is it?", wait_for_customer=True)
    with time_machine.travel(asked + dt.timedelta(days=2), tick=False):
        services.message_add(ticket=ticket, author=client_customer, body="example.com")
    sweep(asked + dt.timedelta(days=policy.remind_waiting_days))
    assert not SlaRecord.objects.filter(ticket=ticket, kind=Kind.REMINDER).exists()
    assert not Message.objects.filter(ticket=ticket, kind=Message.Kind.SYSTEM).exists()


# --- exactly once --------------------------------------------------------------------


def test_a_second_sweep_at_the_same_moment_does_nothing_again(setup, client_customer):
    tickets = [file_ticket(client_customer) for _ in range(3)]
    assert sweep(FIRST_DUE) == 3
    assert sweep(FIRST_DUE) == 0
    for ticket in tickets:
        assert [kind for kind, _target, _due in records(ticket)] == [Kind.WARNING, Kind.BREACH]
        assert [event["action"] for event in sla_events(ticket)] == ["warning", "breach", "escalation"]


def test_a_ticket_checked_again_by_mistake_gets_nothing_twice(setup, client_customer):
    ticket = file_ticket(client_customer)
    sweep(FIRST_DUE)
    credit = Ticket.objects.get(pk=ticket.pk).credit_minutes
    # As if the next check had been lost: the ticket is looked at again from the start.
    Ticket.objects.filter(pk=ticket.pk).update(sla_next_check_at=FIRST_WARN)
    assert sweep(FIRST_DUE) == 1
    assert len(records(ticket)) == 2
    assert len(sla_events(ticket)) == 3
    ticket.refresh_from_db()
    assert ticket.credit_minutes == credit
    assert ticket.sla_next_check_at == RESOLUTION_WARN


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_record_everything_once(setup, client_customer):
    tickets = [file_ticket(client_customer) for _ in range(12)]
    start = threading.Barrier(2)
    handled: list[int] = []
    errors: list[BaseException] = []

    def run():
        try:
            start.wait(timeout=30)
            handled.append(sla_sweep(now=FIRST_DUE))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    with time_machine.travel(FIRST_DUE, tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sum(handled) == len(tickets)
    for ticket in tickets:
        assert [kind for kind, _target, _due in records(ticket)] == [Kind.WARNING, Kind.BREACH]
        assert [event["action"] for event in sla_events(ticket)] == ["warning", "breach", "escalation"]
        assert Ticket.objects.get(pk=ticket.pk).weight_parts["escalation"] == 60


def test_a_sweep_killed_halfway_leaves_no_half_done_ticket(setup, client_customer):
    first = file_ticket(client_customer, MONDAY_10)
    second = file_ticket(client_customer, MONDAY_10 + dt.timedelta(minutes=1))
    real_breach = actions.breach
    killed: list[int] = []

    def dies_on_the_second_ticket(*, ticket, **kwargs):
        if ticket.pk == second.pk and not killed:
            killed.append(ticket.pk)
            raise RuntimeError("worker lost")
        return real_breach(ticket=ticket, **kwargs)

    at = FIRST_DUE + dt.timedelta(minutes=1)
    with mock.patch.object(actions, "breach", dies_on_the_second_ticket), contextlib.suppress(RuntimeError):
        sweep(at)
    assert killed == [second.pk]
    assert [kind for kind, _target, _due in records(first)] == [Kind.WARNING, Kind.BREACH]
    # Nothing of the second ticket's turn survived: not even the warning before the failure.
    assert records(second) == []
    assert sla_events(second) == []
    assert Ticket.objects.get(pk=second.pk).sla_next_check_at == msk(2026, 3, 9, 13, 13)

    with mock.patch.object(actions, "breach", dies_on_the_second_ticket):
        assert sweep(at) == 1
    assert [kind for kind, _target, _due in records(first)] == [Kind.WARNING, Kind.BREACH]
    assert records(second) == [
        (Kind.WARNING, Target.FIRST_RESPONSE, msk(2026, 3, 9, 13, 13)),
        (Kind.BREACH, Target.FIRST_RESPONSE, msk(2026, 3, 9, 14, 1)),
    ]
    for ticket in (first, second):
        assert [event["action"] for event in sla_events(ticket)] == ["warning", "breach", "escalation"]
        assert Ticket.objects.get(pk=ticket.pk).weight_parts["escalation"] == 60


def test_a_ticket_that_cannot_be_escalated_does_not_stop_the_sweep(setup, policy, second_line, client_customer):
    policy.escalation = SlaPolicy.Escalation.TRANSFER
    policy.save()
    file_ticket(client_customer, MONDAY_10)  # its breach comes first and cannot be escalated
    other = file_ticket(client_customer, MONDAY_10 + dt.timedelta(minutes=1))
    second_line.is_active = False
    second_line.save()
    sweep(FIRST_DUE + dt.timedelta(minutes=1))
    assert (Kind.BREACH, Target.FIRST_RESPONSE, msk(2026, 3, 9, 14, 1)) in records(other)


def test_a_breached_resolution_is_not_breached_again_after_a_pause(setup, client_customer, consultant):
    ticket = file_ticket(client_customer)
    sweep(RESOLUTION_DUE)
    assert [kind for kind, target, _due in records(ticket) if target == Target.RESOLUTION] == [
        Kind.WARNING,
        Kind.BREACH,
    ]
    with time_machine.travel(msk(2026, 3, 11, 11, 0), tick=False):
        services.message_add(ticket=ticket, author=consultant, body="Please send a bounce.", wait_for_customer=True)
    with time_machine.travel(msk(2026, 3, 11, 12, 0), tick=False):
        services.message_add(ticket=ticket, author=client_customer, body="Attached.")
    sweep(msk(2026, 3, 11, 12, 5))
    assert [kind for kind, target, _due in records(ticket) if target == Target.RESOLUTION] == [
        Kind.WARNING,
        Kind.BREACH,
    ]


def test_the_sweep_only_touches_due_tickets(setup, client_customer):
    due = [file_ticket(client_customer) for _ in range(3)]
    # Filed Monday 13:00: first warnings at 16:12, long after this sweep.
    not_due = [file_ticket(client_customer, msk(2026, 3, 9, 13, 0)) for _ in range(50)]
    before = {ticket.pk: Ticket.objects.get(pk=ticket.pk).sla_next_check_at for ticket in not_due}
    with CaptureQueriesContext(connection) as queries:
        assert sweep(FIRST_WARN) == 3
    locks = [query["sql"] for query in queries.captured_queries if "FOR UPDATE" in query["sql"]]
    # One lock for the batch of due tickets; the fifty others are never locked.
    assert len(locks) == 1
    locked = re.search(r'"tickets_ticket"\."id" IN \(([^)]*)\)', locks[0]).group(1)
    assert {int(ticket_id) for ticket_id in locked.split(", ")} == {ticket.pk for ticket in due}
    assert set(SlaRecord.objects.values_list("ticket_id", flat=True)) == {ticket.pk for ticket in due}
    after = dict(Ticket.objects.filter(pk__in=before).values_list("pk", "sla_next_check_at"))
    assert after == before


def test_critical_tickets_are_swept_around_the_clock(setup, client_customer):
    saturday_night = msk(2026, 3, 7, 2, 0)
    ticket = file_ticket(client_customer, saturday_night, urgency=Urgency.CRITICAL)
    assert sweep(saturday_night + dt.timedelta(minutes=30)) == 1
    assert records(ticket) == [
        (Kind.WARNING, Target.FIRST_RESPONSE, saturday_night + dt.timedelta(minutes=24)),
        (Kind.BREACH, Target.FIRST_RESPONSE, saturday_night + dt.timedelta(minutes=30)),
    ]
