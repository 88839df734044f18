"""The batched sweep against the per-ticket one: a backlog with every kind of due action (the
first line's timer, warnings and breaches with each escalation, reminders, automatic resolving
and closing) gives the same tickets, history, records, outbox rows and messages whichever path
takes it, and a batch costs the same statements for 10 tickets as for 50."""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.models import QueuePolicy, RoutingRule
from queues.tests.factories import LineFactory
from sla.deadlines import clear_calendar_cache
from sla.models import BusinessCalendar, SlaPolicy, SlaRecord, SlaTarget
from sla.services import _sweep_batch, sla_check_ticket, sla_sweep
from tickets import services
from tickets.models import (
    Category,
    EventKind,
    EventOutbox,
    LineStint,
    Message,
    Status,
    Ticket,
    TicketEvent,
    TicketSecret,
    Urgency,
)

from .test_sweep import msk

Kind, Target = SlaRecord.Kind, SlaRecord.Target
# The sweep's moment: a Wednesday at 17:00 in Moscow, inside the first line's working hours.
T = msk(2026, 3, 18, 17, 0)
KINDS = ("first_line_timer", "second_line_critical", "reminder", "remind_and_resolve", "auto_close", "next_response")


@pytest.fixture(autouse=True)
def fresh_calendars():
    clear_calendar_cache()
    yield
    clear_calendar_cache()


@pytest.fixture
def lines(db):
    third = LineFactory(code="sla-experts", name="Experts", name_ru="Эксперты", level=3)
    second = LineFactory(code="sla-engineers", name="Engineers", name_ru="Инженеры", level=2, next_line=third)
    calendar = BusinessCalendar.objects.create(name="Consultants", time_zone="Europe/Moscow")
    for day in range(5):
        calendar.intervals.create(weekday=day, starts_at=dt.time(10), ends_at=dt.time(18))
    first = LineFactory(code="sla-consultants", name="Consultants", level=1, calendar=calendar, next_line=second)
    # Critical tickets go straight to the engineers (open around the clock).
    RoutingRule.objects.create(category=Category.GENERAL, urgency=Urgency.CRITICAL, line=second)
    return first, second, third


@pytest.fixture
def people(lines):
    first, second, _third = lines
    consultant = AgentFactory(username="batch-consultant")
    first.memberships.create(user=consultant)
    engineer = AgentFactory(username="batch-engineer")
    second.memberships.create(user=engineer)
    lead = AgentFactory(username="batch-lead")
    first.memberships.create(user=lead, is_lead=True)
    second.memberships.create(user=lead, is_lead=True)
    customers = [CustomerFactory(username="batch-customer-ru"), CustomerFactory(username="batch-customer-en")]
    customers[1].language = "en"
    customers[1].save()
    return consultant, engineer, customers


@pytest.fixture
def policies(db):
    policy = SlaPolicy.current()
    policy.first_line_escalation_minutes = 60
    policy.save()
    QueuePolicy.current()
    for urgency, first, following, whole in ((Urgency.NORMAL, 240, 120, 960), (Urgency.CRITICAL, 30, 30, 240)):
        SlaTarget.objects.create(
            urgency=urgency, first_response_minutes=first, next_response_minutes=following, resolution_minutes=whole
        )
    return policy


def _file(customer, at: dt.datetime, **fields) -> Ticket:
    with time_machine.travel(at, tick=False):
        return services.ticket_create(customer=customer, subject="Mail is bouncing", body="It comes back.", **fields)


def _at(at: dt.datetime, action: Callable[..., Any], **kwargs) -> None:
    with time_machine.travel(at, tick=False):
        action(**kwargs)


def make_ticket(kind: str, index: int, people) -> Ticket:
    """One ticket with `kind` of work due at T (see KINDS)."""
    consultant, engineer, customers = people
    customer = customers[index % 2]
    if kind == "first_line_timer":
        # Monday 17:00 in the first line, unanswered: passed on at 18:00, then its first response
        # warned, breached, and its resolution due at T. Every other one is taken, with access data.
        taken = index % 12 == 0
        ticket = _file(customer, T - dt.timedelta(days=2), access_data="root / hunter2" if taken else "")
        if taken:
            _at(T - dt.timedelta(days=2, minutes=-5), services.ticket_take, ticket=ticket, agent=consultant)
        return ticket
    if kind == "second_line_critical":
        # Critical, in the engineers' line: its first response warned and breached.
        return _file(customer, T - dt.timedelta(hours=3), urgency=Urgency.CRITICAL)
    if kind in ("reminder", "remind_and_resolve"):
        ticket = _file(customer, T - dt.timedelta(days=10))
        asked = T - dt.timedelta(days=3, hours=1) if kind == "reminder" else T - dt.timedelta(days=8)
        _at(asked, services.message_add, ticket=ticket, author=consultant, body="Which domain?", wait_for_customer=True)
        return ticket
    if kind == "auto_close":
        ticket = _file(customer, T - dt.timedelta(days=10), access_data="admin / swordfish")
        resolver = consultant
        if index % 12 == 4:  # solved by the engineers, not at the first level
            _at(
                T - dt.timedelta(days=9),
                services.ticket_transfer,
                ticket=ticket,
                actor=consultant,
                to_line=ticket.line.next_line,
                reason="Needs an engineer.",
            )
            resolver = engineer
        _at(T - dt.timedelta(days=4), services.ticket_resolve, ticket=ticket, actor=resolver)
        return ticket
    if kind == "next_response":
        # Answered, then the customer wrote again: the next response warned and breached.
        ticket = _file(customer, T - dt.timedelta(days=1))
        _at(T - dt.timedelta(hours=5), services.message_add, ticket=ticket, author=consultant, body="Try again.")
        _at(T - dt.timedelta(hours=4), services.message_add, ticket=ticket, author=customer, body="Still bouncing.")
        if index % 12 == 5:  # its warning was recorded by an earlier sweep
            ticket.refresh_from_db()
            SlaRecord.objects.create(
                ticket=ticket,
                kind=Kind.WARNING,
                target=Target.NEXT_RESPONSE,
                due_at=ticket.next_response_warn_at,
                line_id=ticket.line_id,
            )
        return ticket
    raise ValueError(kind)


def mixed_backlog(count: int, people) -> list[int]:
    return [make_ticket(KINDS[index % len(KINDS)], index, people).id for index in range(count)]


# --- the state compared ----------------------------------------------------------------------


def snapshot(ticket_ids: list[int], *, events_after: int, messages_after: int) -> dict:
    """Everything the sweep may write about these tickets, without the new rows' own ids."""
    fields = [field.attname for field in Ticket._meta.concrete_fields]
    tickets = {row["id"]: row for row in Ticket.objects.filter(id__in=ticket_ids).values(*fields)}
    messages = {
        message.id: (message.ticket_id, message.kind, message.author_id, message.body, message.created_at)
        for message in Message.objects.filter(ticket_id__in=ticket_ids, id__gt=messages_after).order_by("id")
    }
    outboxed = set(EventOutbox.objects.filter(event__ticket_id__in=ticket_ids).values_list("event_id", flat=True))
    state: dict[int, dict[str, Any]] = {
        ticket_id: {"ticket": tickets[ticket_id], "events": [], "messages": [], "outbox": []}
        for ticket_id in ticket_ids
    }
    for message in messages.values():
        state[message[0]]["messages"].append(message[1:])
    for event in TicketEvent.objects.filter(ticket_id__in=ticket_ids, id__gt=events_after).order_by("id"):
        data = dict(event.data)
        if "message_id" in data and event.kind == EventKind.MESSAGE:
            data["message_id"] = messages[data["message_id"]][1:]  # the message itself, not its id
        row = (event.kind, event.actor_id, data, event.created_at)
        state[event.ticket_id]["events"].append(row)
        if event.id in outboxed:
            state[event.ticket_id]["outbox"].append(row)
    for record in SlaRecord.objects.filter(ticket_id__in=ticket_ids).order_by("due_at", "kind", "target"):
        state[record.ticket_id].setdefault("records", []).append(
            (record.kind, record.target, record.due_at, record.line_id)
        )
    for stint in LineStint.objects.filter(ticket_id__in=ticket_ids).order_by("entered_at", "id"):
        state[stint.ticket_id].setdefault("stints", []).append((stint.line_id, stint.entered_at, stint.left_at))
    for ticket_id in TicketSecret.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", flat=True):
        state[ticket_id]["secret"] = True
    return state


class _RolledBack(Exception):
    pass


def run_then_roll_back(sweep: Callable[[], int], ticket_ids: list[int]) -> tuple[int, dict]:
    """Run a sweep at T, take the state it left, and roll it all back."""
    events_after = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    messages_after = Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
    result: list = []
    try:
        with transaction.atomic(), time_machine.travel(T, tick=False):
            handled = sweep()
            result = [handled, snapshot(ticket_ids, events_after=events_after, messages_after=messages_after)]
            raise _RolledBack
    except _RolledBack:
        pass
    return result[0], result[1]


def per_ticket(ticket_ids: list[int]) -> Callable[[], int]:
    """The sweep as it was before batching: every due ticket through `sla_check_ticket`, in order."""

    def sweep() -> int:
        policy = SlaPolicy.current()
        due = Ticket.objects.filter(id__in=ticket_ids, sla_next_check_at__lte=T).order_by("sla_next_check_at", "id")
        ids = due.values_list("id", flat=True)
        return sum(sla_check_ticket(ticket_id=ticket_id, now=T, policy=policy) for ticket_id in ids)

    return sweep


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("escalation", [choice.value for choice in SlaPolicy.Escalation])
def test_the_batched_sweep_writes_what_the_per_ticket_sweep_writes(policies, people, escalation):
    policies.escalation = escalation
    policies.save()
    ticket_ids = mixed_backlog(2 * len(KINDS), people)

    handled_alone, alone = run_then_roll_back(per_ticket(ticket_ids), ticket_ids)
    # The batch must go through as one: no falling back to the tickets one by one.
    with mock.patch("sla.services.sla_check_ticket", side_effect=AssertionError("checked one by one")):
        handled_batched, batched = run_then_roll_back(lambda: sla_sweep(now=T), ticket_ids)

    assert handled_alone == handled_batched == len(ticket_ids)
    for ticket_id in ticket_ids:
        assert batched[ticket_id] == alone[ticket_id], ticket_id
    # The backlog holds every kind of due action, and each was done.
    recorded = {record for state in batched.values() for record in state["records"]}
    assert {kind for kind, _target, _due, _line in recorded} == {
        Kind.WARNING,
        Kind.BREACH,
        Kind.ESCALATION,
        Kind.REMINDER,
        Kind.AUTO_RESOLVE,
        Kind.AUTO_CLOSE,
    }
    kinds = {event[0] for state in batched.values() for event in state["events"]}
    assert {EventKind.SLA, EventKind.TRANSFER, EventKind.ASSIGN, EventKind.STATUS, EventKind.MESSAGE} <= kinds
    assert EventKind.SECRET_WIPE in kinds
    statuses = {state["ticket"]["status"] for state in batched.values()}
    assert {Status.WAITING_AGENT, Status.WAITING_CUSTOMER, Status.RESOLVED, Status.CLOSED} <= statuses
    assert any(state["outbox"] for state in batched.values())
    if escalation == SlaPolicy.Escalation.TRANSFER:
        # A first-line ticket passed on by its timer, then on again by its breach.
        assert any(len(state.get("stints", ())) == 3 for state in batched.values())


def test_a_batch_costs_the_same_statements_for_10_tickets_as_for_50(policies, people):
    policies.escalation = SlaPolicy.Escalation.TRANSFER
    policies.save()
    # In the order filed, the kinds take turns: any 10 in a row hold every kind.
    ticket_ids = mixed_backlog(60, people)
    assert Ticket.objects.filter(id__in=ticket_ids, sla_next_check_at__lte=T).count() == 60

    def statements(batch: list[int]) -> list[str]:
        cache.clear()
        clear_calendar_cache()
        counted: list[list[str]] = []

        def sweep() -> int:
            with CaptureQueriesContext(connection) as queries:
                handled = _sweep_batch(batch, policy=SlaPolicy.current(), now=T)
            counted.append([query["sql"] for query in queries.captured_queries])
            return handled

        handled, state = run_then_roll_back(sweep, batch)
        assert handled == len(batch)
        assert {record[0] for ticket_id in batch for record in state[ticket_id]["records"]} == set(Kind)
        return counted[0]

    ten = statements(ticket_ids[:10])
    fifty = statements(ticket_ids[10:60])
    assert len(ten) == len(fifty), "\n".join(ten) + "\n---\n" + "\n".join(fifty)
    assert len(ten) <= 30, "\n".join(ten)


def _statement_kind(sql: str) -> str:
    """`SELECT queues_line`, `INSERT tickets_message`...: the statement and its (first) table."""
    head = sql.lstrip().split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    return f"{head} {table.group(1)}" if table and head in ("SELECT", "INSERT", "UPDATE", "DELETE") else head


def test_a_sweep_costs_the_same_statements_for_50_due_tickets_as_for_200(policies, people):
    """The whole sweep as the beat task runs it, its live-update hook included: what it reads and
    writes is the same handful of statements whether 50 or 200 tickets of every kind are due
    (one batch), so no statement is made per ticket."""
    from django.test import TestCase

    from chat import broadcast

    policies.escalation = SlaPolicy.Escalation.NOTIFY
    policies.save()
    ticket_ids = mixed_backlog(200, people)
    assert Ticket.objects.filter(id__in=ticket_ids, sla_next_check_at__lte=T).count() == 200

    def statements(due: list[int]) -> list[str]:
        cache.clear()
        clear_calendar_cache()
        broadcast._lines_changed()
        counted: list[list[str]] = []

        def sweep() -> int:
            Ticket.objects.filter(id__in=set(ticket_ids) - set(due)).update(sla_next_check_at=None)
            with (
                CaptureQueriesContext(connection) as queries,
                TestCase.captureOnCommitCallbacks(execute=True) as hooks,
            ):
                handled = sla_sweep(now=T)
            assert hooks, "the live updates' hook ran"
            counted.append([query["sql"] for query in queries.captured_queries])
            return handled

        handled, state = run_then_roll_back(sweep, due)
        assert handled == len(due)
        assert {record[0] for ticket_id in due for record in state[ticket_id]["records"]} == set(Kind)
        return counted[0]

    fifty = statements(ticket_ids[:50])
    two_hundred = statements(ticket_ids)
    assert [_statement_kind(sql) for sql in fifty] == [_statement_kind(sql) for sql in two_hundred], (
        "\n".join(sql[:200] for sql in fifty) + "\n---\n" + "\n".join(sql[:200] for sql in two_hundred)
    )
    assert len(fifty) <= 30, "\n".join(fifty)
    # The lines are read once for the sweep, and their codes once for the live updates of the
    # transfers (kept for a minute: a sweep soon after reads them no more).
    assert [_statement_kind(sql) for sql in fifty].count("SELECT queues_line") == 2, "\n".join(fifty)


def test_the_sweeps_reads_and_texts_are_shared_by_its_batches(policies, people, monkeypatch):
    """Two batches of one sweep read the lines and the queue policy once, and render a reason or
    a transfer's note once: the second batch reads only its tickets and what they hold."""
    from sla import services as sla_services
    from tickets.events import system_reason

    policies.escalation = SlaPolicy.Escalation.TRANSFER
    policies.save()
    monkeypatch.setattr(sla_services, "SWEEP_BATCH", 12)
    ticket_ids = mixed_backlog(24, people)
    cache.clear()
    clear_calendar_cache()
    rendered: list[str] = []
    original = sla_services.SweepReads

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs):
            rendered.append("reads")
            super().__init__(**kwargs)

    monkeypatch.setattr(sla_services, "SweepReads", Counting)
    with mock.patch("tickets.sweep.system_reason", wraps=system_reason) as reason:

        def sweep() -> int:
            with CaptureQueriesContext(connection) as queries:
                handled = sla_sweep(now=T)
            kinds = [_statement_kind(query["sql"]) for query in queries.captured_queries]
            assert kinds.count("SELECT queues_line") == 1
            assert kinds.count("SELECT queues_queuepolicy") <= 1
            assert kinds.count("SELECT tickets_ticket") == 3  # the due tickets, then each batch's
            return handled

        handled, _state = run_then_roll_back(sweep, ticket_ids)
    assert handled == 24
    assert rendered == ["reads"]
    rendered_reasons = [(call.args[0], sorted(call.kwargs.items())) for call in reason.call_args_list]
    assert rendered_reasons, "the sweep gave reasons"
    assert len(rendered_reasons) == len({repr(reason) for reason in rendered_reasons}), rendered_reasons
