"""The ticket services: status transitions, routing, transfers, promises, confirmation,
reply templates and the immutable history they write."""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.db import Error as DatabaseError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.tests.factories import AgentFactory, CustomerFactory
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from queues.models import Line, RoutingRule
from queues.tests.factories import LineFactory
from tickets import services
from tickets.events import system_reason
from tickets.models import (
    Category,
    EventKind,
    LineStint,
    Message,
    ReplyTemplate,
    Status,
    SystemReason,
    Ticket,
    TicketEvent,
    TicketSecret,
    Urgency,
)
from tickets.tests.helpers import events_of, make_ticket, status_events, ticket_in_status

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def line2(db):
    return LineFactory(code="second-line", name="Second line", level=2)


@pytest.fixture
def agent2(line2):
    user = AgentFactory(username="agent-b")
    line2.memberships.create(user=user)
    return user


@pytest.fixture
def colleague(line):
    """A second agent of the first line."""
    user = AgentFactory(username="agent-c")
    line.memberships.create(user=user)
    return user


@pytest.fixture
def customer2(db):
    return CustomerFactory(username="customer-b")


@pytest.fixture
def ctx(line, line2, customer, agent):
    return SimpleNamespace(line=line, line2=line2, customer=customer, agent=agent)


def event_count(ticket) -> int:
    return TicketEvent.objects.filter(ticket=ticket).count()


def refetch(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- Status transitions ---------------------------------------------------------------------


def _take(ticket, c):
    services.ticket_take(ticket=ticket, agent=c.agent)
    return c.agent


def _release(ticket, c):
    services.ticket_release(ticket=ticket, agent=c.agent, reason="end of shift")
    return c.agent


def _agent_reply(ticket, c):
    services.message_add(ticket=ticket, author=c.agent, body="Restarted the web server.")
    return c.agent


def _agent_asks(ticket, c):
    services.message_add(ticket=ticket, author=c.agent, body="What is the domain?", wait_for_customer=True)
    return c.agent


def _customer_replies(ticket, c):
    services.message_add(ticket=ticket, author=c.customer, body="The domain is example.com.")
    return c.customer


def _resolve(ticket, c):
    services.ticket_resolve(ticket=ticket, actor=c.agent)
    return c.agent


def _confirm(ticket, c):
    services.ticket_confirm(ticket=ticket, customer=c.customer)
    return c.customer


def _reopen(ticket, c):
    services.ticket_reopen(ticket=ticket, customer=c.customer, body="Still down.")
    return c.customer


def _transfer(ticket, c):
    services.ticket_transfer(ticket=ticket, actor=c.agent, to_line=c.line2, reason="Needs root access.")
    return c.agent


S = Status
# The product's rule of which status may follow which, with the service that makes each move.
ALLOWED = {
    (S.NEW, S.IN_PROGRESS): _take,
    (S.NEW, S.WAITING_AGENT): _transfer,
    (S.NEW, S.WAITING_CUSTOMER): _agent_asks,
    (S.NEW, S.RESOLVED): _resolve,
    (S.WAITING_AGENT, S.IN_PROGRESS): _take,
    (S.WAITING_AGENT, S.WAITING_CUSTOMER): _agent_asks,
    (S.WAITING_AGENT, S.RESOLVED): _resolve,
    (S.IN_PROGRESS, S.WAITING_AGENT): _release,
    (S.IN_PROGRESS, S.WAITING_CUSTOMER): _agent_asks,
    (S.IN_PROGRESS, S.RESOLVED): _resolve,
    (S.WAITING_CUSTOMER, S.WAITING_AGENT): _customer_replies,
    (S.WAITING_CUSTOMER, S.IN_PROGRESS): _agent_reply,
    (S.WAITING_CUSTOMER, S.RESOLVED): _resolve,
    (S.RESOLVED, S.CLOSED): _confirm,
    (S.RESOLVED, S.WAITING_AGENT): _reopen,
    (S.CLOSED, S.WAITING_AGENT): _reopen,
}
ALL_PAIRS = [(old, new) for old in Status for new in Status]
REFUSED = [pair for pair in ALL_PAIRS if pair not in ALLOWED]
# Services dedicated to reaching one status; they must refuse where the table does.
SERVICE_FOR_TARGET = {S.RESOLVED: _resolve, S.CLOSED: _confirm, S.IN_PROGRESS: _take, S.WAITING_AGENT: _reopen}
REFUSED_BY_SERVICE = [
    (old, new)
    for old, new in REFUSED
    if new in SERVICE_FOR_TARGET and not (new == S.IN_PROGRESS and old == S.IN_PROGRESS)
]


def _pair_id(pair) -> str:
    return f"{pair[0].value}->{pair[1].value}"


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=[_pair_id(p) for p in ALL_PAIRS])
def test_transition_table_matches_the_product_rules(old, new):
    assert (new in services.TRANSITIONS[old]) == ((old, new) in ALLOWED)


@pytest.mark.parametrize(("old", "new"), list(ALLOWED), ids=[_pair_id(p) for p in ALLOWED])
def test_allowed_transition_is_made_by_its_service(ctx, old, new):
    ticket = ticket_in_status(old, customer=ctx.customer, agent=ctx.agent)
    history = status_events(ticket)

    actor = ALLOWED[(old, new)](ticket, ctx)

    ticket.refresh_from_db()
    assert ticket.status == new
    assert status_events(ticket) == [*history, (old, new)]
    assert events_of(ticket, EventKind.STATUS)[-1].actor == actor


@pytest.mark.parametrize(("old", "new"), REFUSED, ids=[_pair_id(p) for p in REFUSED])
def test_refused_transition_changes_nothing(ctx, old, new):
    ticket = ticket_in_status(old, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc, transaction.atomic():
        services._set_status(ticket, new, ctx.agent, now=timezone.now())

    assert exc.value.code == "illegal_transition"
    assert ticket.status == old
    assert refetch(ticket).status == old
    assert event_count(ticket) == count


@pytest.mark.parametrize(("old", "new"), REFUSED_BY_SERVICE, ids=[_pair_id(p) for p in REFUSED_BY_SERVICE])
def test_service_refuses_illegal_transition(ctx, old, new):
    ticket = ticket_in_status(old, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc:
        SERVICE_FOR_TARGET[new](ticket, ctx)

    assert exc.value.code == "illegal_transition"
    assert refetch(ticket).status == old
    assert event_count(ticket) == count


def test_resolve_sets_resolved_at(ctx):
    ticket = make_ticket(ctx.customer)
    with time_machine.travel(T0, tick=False):
        services.ticket_resolve(ticket=ticket, actor=ctx.agent)
    ticket.refresh_from_db()
    assert ticket.resolved_at == T0
    assert status_events(ticket) == [(S.NEW, S.RESOLVED)]


def test_customer_reply_on_resolved_ticket_reopens_it(ctx):
    ticket = ticket_in_status(S.RESOLVED, customer=ctx.customer, agent=ctx.agent)

    _customer_replies(ticket, ctx)

    ticket.refresh_from_db()
    assert ticket.status == S.WAITING_AGENT
    assert ticket.resolved_at is None
    last = events_of(ticket, EventKind.STATUS)[-1]
    assert (last.data["old"], last.data["new"], last.data["reason_code"]) == (
        S.RESOLVED,
        S.WAITING_AGENT,
        SystemReason.CUSTOMER_REPLIED,
    )


def test_agent_reply_on_resolved_ticket_keeps_it_resolved(ctx):
    ticket = ticket_in_status(S.RESOLVED, customer=ctx.customer, agent=ctx.agent)
    statuses = status_events(ticket)

    _agent_asks(ticket, ctx)

    assert refetch(ticket).status == S.RESOLVED
    assert status_events(ticket) == statuses
    assert events_of(ticket, EventKind.MESSAGE)[-1].actor == ctx.agent


def test_first_agent_reply_assigns_the_ticket_and_counts_as_first_response(ctx):
    ticket = make_ticket(ctx.customer)
    with time_machine.travel(T0, tick=False):
        _agent_reply(ticket, ctx)
    ticket.refresh_from_db()
    assert ticket.assignee == ctx.agent
    assert ticket.first_response_at == T0
    assign = events_of(ticket, EventKind.ASSIGN)
    assert [(e.data["old"], e.data["new"]) for e in assign] == [(None, ctx.agent.username)]


# --- Service-level refusals -----------------------------------------------------------------


def test_take_refuses_ticket_someone_else_has(ctx, colleague):
    ticket = ticket_in_status(S.IN_PROGRESS, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc:
        services.ticket_take(ticket=ticket, agent=colleague)

    assert exc.value.code == "taken"
    assert refetch(ticket).assignee == ctx.agent
    assert event_count(ticket) == count


def test_take_refuses_own_ticket(ctx):
    ticket = ticket_in_status(S.IN_PROGRESS, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc:
        services.ticket_take(ticket=ticket, agent=ctx.agent)

    assert exc.value.code == "already_yours"
    assert event_count(ticket) == count


def test_take_refused_to_agent_of_another_line(ctx, agent2):
    ticket = make_ticket(ctx.customer)
    count = event_count(ticket)

    with pytest.raises(PermissionDenied):
        services.ticket_take(ticket=ticket, agent=agent2)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (None, S.NEW)
    assert event_count(ticket) == count


def test_take_records_assignee_event(ctx):
    ticket = make_ticket(ctx.customer)
    services.ticket_take(ticket=ticket, agent=ctx.agent)
    assert refetch(ticket).assignee == ctx.agent
    (assign,) = events_of(ticket, EventKind.ASSIGN)
    assert (assign.actor, assign.data) == (
        ctx.agent,
        {"old": None, "new": ctx.agent.username, "line": ticket.line.code},
    )


def test_take_of_ticket_waiting_for_customer_keeps_status(ctx):
    ticket = ticket_in_status(S.WAITING_CUSTOMER, customer=ctx.customer, agent=ctx.agent)
    statuses = status_events(ticket)

    services.ticket_take(ticket=ticket, agent=ctx.agent)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (S.WAITING_CUSTOMER, ctx.agent)
    assert status_events(ticket) == statuses


def test_release_by_another_agent_refused(ctx, colleague):
    ticket = ticket_in_status(S.IN_PROGRESS, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(PermissionDenied):
        services.ticket_release(ticket=ticket, agent=colleague)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (ctx.agent, S.IN_PROGRESS)
    assert event_count(ticket) == count


def test_release_by_manager_allowed(ctx, manager):
    ticket = ticket_in_status(S.IN_PROGRESS, customer=ctx.customer, agent=ctx.agent)

    services.ticket_release(ticket=ticket, agent=manager, reason="agent is ill")

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (None, S.WAITING_AGENT)
    assign = events_of(ticket, EventKind.ASSIGN)[-1]
    assert (assign.actor, assign.data) == (manager, {"old": ctx.agent.username, "new": None, "line": "first-line"})
    assert events_of(ticket, EventKind.STATUS)[-1].data["reason"] == "agent is ill"


def test_release_of_unassigned_ticket_refused(ctx):
    ticket = make_ticket(ctx.customer)
    with pytest.raises(Conflict) as exc:
        services.ticket_release(ticket=ticket, agent=ctx.agent)
    assert exc.value.code == "not_assigned"


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_transfer_of_solved_ticket_refused(ctx, status):
    ticket = ticket_in_status(status, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc:
        services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Needs root.")

    assert exc.value.code == "illegal_transition"
    ticket.refresh_from_db()
    assert (ticket.line, ticket.status) == (ctx.line, status)
    assert event_count(ticket) == count
    assert not LineStint.objects.filter(ticket=ticket, line=ctx.line2).exists()


def test_confirm_by_another_customer_not_found(ctx, customer2):
    ticket = ticket_in_status(S.RESOLVED, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(NotFound):
        services.ticket_confirm(ticket=ticket, customer=customer2)

    assert refetch(ticket).status == S.RESOLVED
    assert event_count(ticket) == count


def test_confirm_by_agent_refused(ctx):
    ticket = ticket_in_status(S.RESOLVED, customer=ctx.customer, agent=ctx.agent)
    with pytest.raises(PermissionDenied):
        services.ticket_confirm(ticket=ticket, customer=ctx.agent)
    assert refetch(ticket).status == S.RESOLVED


def test_customer_cannot_write_note(ctx):
    ticket = make_ticket(ctx.customer)
    count = event_count(ticket)

    with pytest.raises(PermissionDenied):
        services.message_add(ticket=ticket, author=ctx.customer, body="psst", kind=Message.Kind.NOTE)

    assert not ticket.messages.exists()
    assert event_count(ticket) == count


def test_customer_cannot_write_on_closed_ticket(ctx):
    ticket = ticket_in_status(S.CLOSED, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc:
        services.message_add(ticket=ticket, author=ctx.customer, body="One more thing")

    assert exc.value.code == "ticket_closed"
    assert not ticket.messages.exists()
    assert event_count(ticket) == count


def test_agent_cannot_answer_closed_ticket(ctx):
    ticket = ticket_in_status(S.CLOSED, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc:
        services.message_add(ticket=ticket, author=ctx.agent, body="By the way")

    assert exc.value.code == "ticket_closed"
    assert event_count(ticket) == count


def test_agent_may_add_note_to_closed_ticket(ctx):
    ticket = ticket_in_status(S.CLOSED, customer=ctx.customer, agent=ctx.agent)

    message = services.message_add(ticket=ticket, author=ctx.agent, body="Root cause: full disk", kind="note")

    assert refetch(ticket).status == S.CLOSED
    event = events_of(ticket, EventKind.MESSAGE)[-1]
    assert event.data == {"message_id": message.id, "message_kind": Message.Kind.NOTE}


def test_customer_cannot_write_on_someone_elses_ticket(ctx, customer2):
    ticket = make_ticket(ctx.customer)
    with pytest.raises(NotFound):
        services.message_add(ticket=ticket, author=customer2, body="Hello")
    assert not ticket.messages.exists()


# --- Routing --------------------------------------------------------------------------------


def test_route_uses_category_rule(line):
    billing = LineFactory(code="billing", kind=Line.Kind.DEPARTMENT, level=None)
    RoutingRule.objects.create(category=Category.BILLING, urgency="", line=billing)

    assert services.route(category=Category.BILLING, urgency=Urgency.NORMAL) == billing
    assert services.route(category=Category.GENERAL, urgency=Urgency.NORMAL) == line


def test_ticket_create_routes_by_category_and_records_it(line, customer):
    billing = LineFactory(code="billing", kind=Line.Kind.DEPARTMENT, level=None)
    RoutingRule.objects.create(category=Category.BILLING, urgency="", line=billing)

    ticket = make_ticket(customer, category=Category.BILLING, channel="email")

    assert ticket.line == billing
    (created,) = events_of(ticket, EventKind.CREATED)
    assert created.actor == customer
    assert created.data == {"line": "billing", "channel": "email", "urgency": Urgency.NORMAL}
    (stint,) = LineStint.objects.filter(ticket=ticket)
    assert (stint.line, stint.left_at) == (billing, None)


def test_route_urgency_rule_beats_any_urgency_rule(line, line2):
    emergency = LineFactory(code="emergency", level=2)
    RoutingRule.objects.create(category=Category.TECH_COMPLEX, urgency="", line=line2)
    RoutingRule.objects.create(category=Category.TECH_COMPLEX, urgency=Urgency.CRITICAL, line=emergency)

    assert services.route(category=Category.TECH_COMPLEX, urgency=Urgency.CRITICAL) == emergency
    assert services.route(category=Category.TECH_COMPLEX, urgency=Urgency.NORMAL) == line2


def test_route_falls_back_to_lowest_level_active_tier():
    LineFactory(code="sales", kind=Line.Kind.DEPARTMENT, level=None, position=0)
    LineFactory(code="third", level=3, position=0)
    first_b = LineFactory(code="first-b", level=1, position=5)
    LineFactory(code="first-c", level=1, position=9)
    LineFactory(code="second", level=2, position=1)

    assert services.route(category=Category.HARDWARE, urgency=Urgency.HIGH) == first_b


def test_route_skips_rule_to_inactive_line(line):
    closed_dept = LineFactory(code="old-billing", kind=Line.Kind.DEPARTMENT, level=None, is_active=False)
    RoutingRule.objects.create(category=Category.BILLING, urgency="", line=closed_dept)

    assert services.route(category=Category.BILLING, urgency=Urgency.NORMAL) == line


def test_route_fallback_skips_inactive_tier(line):
    LineFactory(code="night-shift", level=1, position=0, is_active=False)
    line.position = 3
    line.save()

    assert services.route(category=Category.GENERAL, urgency=Urgency.NORMAL) == line


def test_route_inactive_urgency_rule_falls_back_to_category_rule(line, line2):
    retired = LineFactory(code="retired-emergency", level=2, is_active=False)
    RoutingRule.objects.create(category=Category.TECH_COMPLEX, urgency="", line=line2)
    RoutingRule.objects.create(category=Category.TECH_COMPLEX, urgency=Urgency.CRITICAL, line=retired)

    assert services.route(category=Category.TECH_COMPLEX, urgency=Urgency.CRITICAL) == line2


def test_route_without_active_line_raises_no_line(db):
    LineFactory(code="retired", level=1, is_active=False)
    LineFactory(code="sales", kind=Line.Kind.DEPARTMENT, level=None)

    with pytest.raises(DomainError) as exc:
        services.route(category=Category.GENERAL, urgency=Urgency.NORMAL)

    assert exc.value.code == "no_line"


def test_ticket_create_without_line_creates_nothing(customer):
    with pytest.raises(DomainError) as exc:
        make_ticket(customer)
    assert exc.value.code == "no_line"
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()


# --- Transfer -------------------------------------------------------------------------------


def test_transfer_records_history_event(ctx):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(ctx.customer)
    with time_machine.travel(T0 + dt.timedelta(minutes=90), tick=False):
        services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Needs root access.")

    (transfer,) = events_of(ticket, EventKind.TRANSFER)
    assert transfer.actor == ctx.agent
    assert transfer.data == {
        "old": "first-line",
        "new": "second-line",
        "old_name": "First line",
        "new_name": "Second line",
        "reason": "Needs root access.",
        "seconds_in_old_line": 5400,
    }
    ticket.refresh_from_db()
    assert ticket.line == ctx.line2
    assert ticket.line_entered_at == T0 + dt.timedelta(minutes=90)


def test_transfer_adds_system_message(ctx):
    ticket = make_ticket(ctx.customer)

    services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Needs root access.")

    (message,) = ticket.messages.all()
    assert (message.kind, message.author) == (Message.Kind.SYSTEM, None)
    assert "First line" in message.body
    assert "Second line" in message.body
    event = events_of(ticket, EventKind.MESSAGE)[-1]
    assert event.data == {"message_id": message.id, "message_kind": Message.Kind.SYSTEM}


def test_transfer_clears_assignee(ctx):
    ticket = ticket_in_status(S.IN_PROGRESS, customer=ctx.customer, agent=ctx.agent)

    services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Needs root access.")

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (None, S.WAITING_AGENT)
    assign = events_of(ticket, EventKind.ASSIGN)[-1]
    assert assign.data == {"old": ctx.agent.username, "new": None, "line": "second-line"}
    status = events_of(ticket, EventKind.STATUS)[-1]
    assert status.data == {"old": S.IN_PROGRESS, "new": S.WAITING_AGENT, **system_reason(SystemReason.TRANSFERRED)}


def test_transfer_closes_old_stint_and_opens_new(ctx):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(ctx.customer)
    moved_at = T0 + dt.timedelta(hours=2)
    with time_machine.travel(moved_at, tick=False):
        services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Needs root access.")

    first, second = LineStint.objects.filter(ticket=ticket).order_by("entered_at")
    assert (first.line, first.entered_at, first.left_at) == (ctx.line, T0, moved_at)
    assert first.duration == dt.timedelta(hours=2)
    assert (second.line, second.entered_at, second.left_at) == (ctx.line2, moved_at, None)


def test_transfer_up_and_back_down_keeps_messages_and_events(ctx, agent2):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(ctx.customer)
        services.message_add(ticket=ticket, author=ctx.agent, body="Looking into it.")
    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False):
        services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Kernel panic.")
        services.message_add(ticket=ticket, author=agent2, body="Dump attached later.", kind="note")
    history_in_level_two = [(e.pk, e.kind, e.actor_id, e.data) for e in events_of(ticket)]
    with time_machine.travel(T0 + dt.timedelta(minutes=75), tick=False):
        services.ticket_transfer(ticket=ticket, actor=agent2, to_line=ctx.line, reason="Fixed; customer to check.")
        services.message_add(ticket=ticket, author=ctx.agent, body="Please check now.")

    ticket.refresh_from_db()
    assert ticket.line == ctx.line
    kinds = list(ticket.messages.values_list("kind", flat=True))
    assert kinds == ["public", "system", "note", "system", "public"]
    history = [(e.pk, e.kind, e.actor_id, e.data) for e in events_of(ticket)]
    assert history[: len(history_in_level_two)] == history_in_level_two
    assert len(events_of(ticket, EventKind.MESSAGE)) == 5
    transfers = [(e.data["old"], e.data["new"], e.data["seconds_in_old_line"]) for e in events_of(ticket, "transfer")]
    assert transfers == [("first-line", "second-line", 1800), ("second-line", "first-line", 2700)]
    stints = [(s.line.code, s.entered_at, s.left_at) for s in LineStint.objects.filter(ticket=ticket)]
    assert stints == [
        ("first-line", T0, T0 + dt.timedelta(minutes=30)),
        ("second-line", T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(minutes=75)),
        ("first-line", T0 + dt.timedelta(minutes=75), None),
    ]


def test_transfer_requires_reason(ctx):
    ticket = make_ticket(ctx.customer)
    count = event_count(ticket)
    with pytest.raises(DomainError) as exc:
        services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="  ")
    assert (exc.value.code, exc.value.field) == ("required", "reason")
    assert refetch(ticket).line == ctx.line
    assert event_count(ticket) == count


def test_transfer_to_inactive_line_refused(ctx):
    ctx.line2.is_active = False
    ctx.line2.save()
    ticket = make_ticket(ctx.customer)
    with pytest.raises(DomainError) as exc:
        services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Needs root.")
    assert exc.value.code == "inactive_line"
    assert refetch(ticket).line == ctx.line


def test_transfer_by_agent_of_another_line_refused(ctx, agent2):
    ticket = make_ticket(ctx.customer)
    count = event_count(ticket)
    with pytest.raises(PermissionDenied):
        services.ticket_transfer(ticket=ticket, actor=agent2, to_line=ctx.line2, reason="Mine now.")
    assert refetch(ticket).line == ctx.line
    assert event_count(ticket) == count


def test_solved_at_first_level_true_when_closed_without_leaving_level_one(ctx):
    ticket = ticket_in_status(S.CLOSED, customer=ctx.customer, agent=ctx.agent)
    assert ticket.solved_at_first_level is True


def test_solved_at_first_level_false_after_visiting_level_two(ctx, agent2):
    ticket = make_ticket(ctx.customer)
    services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Kernel panic.")
    services.ticket_transfer(ticket=ticket, actor=agent2, to_line=ctx.line, reason="Fixed.")
    services.ticket_resolve(ticket=ticket, actor=ctx.agent)
    services.ticket_confirm(ticket=ticket, customer=ctx.customer)

    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED
    assert ticket.solved_at_first_level is False


def test_solved_at_first_level_false_when_closed_in_level_two(ctx, agent2):
    ticket = make_ticket(ctx.customer)
    services.ticket_transfer(ticket=ticket, actor=ctx.agent, to_line=ctx.line2, reason="Kernel panic.")
    services.ticket_resolve(ticket=ticket, actor=agent2)
    services.ticket_confirm(ticket=ticket, customer=ctx.customer)

    assert refetch(ticket).solved_at_first_level is False


# --- Promise --------------------------------------------------------------------------------


def test_promise_first_set_needs_no_reason(ctx):
    ticket = make_ticket(ctx.customer)
    promised = T0 + dt.timedelta(hours=4)
    with time_machine.travel(T0, tick=False):
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=promised)

    assert refetch(ticket).promised_by == promised
    (event,) = events_of(ticket, EventKind.PROMISE)
    assert event.actor == ctx.agent
    assert event.data == {"old": None, "new": promised.isoformat(), "reason": ""}


def test_promise_change_requires_reason(ctx):
    ticket = make_ticket(ctx.customer)
    first = T0 + dt.timedelta(hours=4)
    with time_machine.travel(T0, tick=False):
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=first)
        count = event_count(ticket)
        with pytest.raises(DomainError) as exc:
            services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=first + dt.timedelta(days=1))

    assert exc.value.code == "reason_required"
    assert refetch(ticket).promised_by == first
    assert event_count(ticket) == count


def test_promise_change_with_reason_records_old_and_new(ctx):
    ticket = make_ticket(ctx.customer)
    first, second = T0 + dt.timedelta(hours=4), T0 + dt.timedelta(days=2)
    with time_machine.travel(T0, tick=False):
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=first)
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=second, reason="Waiting for a disk.")

    assert refetch(ticket).promised_by == second
    change = events_of(ticket, EventKind.PROMISE)[-1]
    assert change.data == {"old": first.isoformat(), "new": second.isoformat(), "reason": "Waiting for a disk."}


def test_promise_in_the_past_refused(ctx):
    ticket = make_ticket(ctx.customer)
    count = event_count(ticket)
    with time_machine.travel(T0, tick=False), pytest.raises(DomainError) as exc:
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=T0 - dt.timedelta(minutes=1))
    assert exc.value.code == "in_the_past"
    assert refetch(ticket).promised_by is None
    assert event_count(ticket) == count


def test_promise_for_now_refused(ctx):
    ticket = make_ticket(ctx.customer)
    with time_machine.travel(T0, tick=False), pytest.raises(DomainError) as exc:
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=T0)
    assert exc.value.code == "in_the_past"


def test_promise_without_time_zone_refused(ctx):
    ticket = make_ticket(ctx.customer)
    with pytest.raises(DomainError) as exc:
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=dt.datetime(2099, 1, 1))  # noqa: DTZ001
    assert (exc.value.code, exc.value.field) == ("invalid", "promised_by")


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_promise_on_solved_ticket_refused(ctx, status):
    ticket = ticket_in_status(status, customer=ctx.customer, agent=ctx.agent)
    count = event_count(ticket)
    with pytest.raises(Conflict):
        services.ticket_set_promise(ticket=ticket, actor=ctx.agent, promised_by=timezone.now() + dt.timedelta(hours=1))
    assert refetch(ticket).promised_by is None
    assert event_count(ticket) == count


# --- Confirmation and reopening -------------------------------------------------------------


def test_confirm_closes_ticket(ctx):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(ctx.customer)
        services.ticket_resolve(ticket=ticket, actor=ctx.agent)
    closed_at = T0 + dt.timedelta(hours=1)
    with time_machine.travel(closed_at, tick=False):
        services.ticket_confirm(ticket=ticket, customer=ctx.customer)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.closed_at, ticket.resolved_at) == (S.CLOSED, closed_at, T0)
    last = events_of(ticket, EventKind.STATUS)[-1]
    assert last.actor == ctx.customer
    assert last.data == {"old": S.RESOLVED, "new": S.CLOSED, **system_reason(SystemReason.CONFIRMED)}
    assert not LineStint.objects.filter(ticket=ticket, left_at__isnull=True).exists()
    assert LineStint.objects.get(ticket=ticket).left_at == closed_at


def test_confirm_wipes_secret(ctx):
    ticket = make_ticket(ctx.customer, access_data="root / hunter2-very-secret")
    services.ticket_resolve(ticket=ticket, actor=ctx.agent)

    services.ticket_confirm(ticket=ticket, customer=ctx.customer)

    assert not TicketSecret.objects.filter(ticket=ticket).exists()
    (wipe,) = events_of(ticket, EventKind.SECRET_WIPE)
    assert (wipe.actor, wipe.data) == (ctx.customer, system_reason(SystemReason.TICKET_CLOSED))


def test_confirm_without_secret_writes_no_wipe_event(ctx):
    ticket = ticket_in_status(S.CLOSED, customer=ctx.customer, agent=ctx.agent)
    assert events_of(ticket, EventKind.SECRET_WIPE) == []


def test_reopen_resolved_ticket(ctx):
    ticket = ticket_in_status(S.RESOLVED, customer=ctx.customer, agent=ctx.agent)

    services.ticket_reopen(ticket=ticket, customer=ctx.customer, body="It is down again.")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at) == (S.WAITING_AGENT, None)
    (message,) = ticket.messages.all()
    assert (message.author, message.kind, message.body) == (ctx.customer, Message.Kind.PUBLIC, "It is down again.")
    status = events_of(ticket, EventKind.STATUS)[-1]
    assert status.data == {"old": S.RESOLVED, "new": S.WAITING_AGENT, **system_reason(SystemReason.REOPENED)}
    assert events_of(ticket, EventKind.MESSAGE)[-1].data["message_id"] == message.id


def test_reopen_closed_ticket(ctx):
    ticket = ticket_in_status(S.CLOSED, customer=ctx.customer, agent=ctx.agent)
    reopened_at = timezone.now() + dt.timedelta(days=3)

    with time_machine.travel(reopened_at, tick=False):
        services.ticket_reopen(ticket=ticket, customer=ctx.customer, body="Same problem.")

    ticket.refresh_from_db()
    assert ticket.status == S.WAITING_AGENT
    assert (ticket.closed_at, ticket.resolved_at, ticket.solved_at_first_level) == (None, None, None)
    assert ticket.line_entered_at == reopened_at
    (message,) = ticket.messages.all()
    assert (message.author, message.body) == (ctx.customer, "Same problem.")
    open_stint = LineStint.objects.get(ticket=ticket, left_at__isnull=True)
    assert (open_stint.line, open_stint.entered_at) == (ctx.line, reopened_at)
    assert events_of(ticket, EventKind.STATUS)[-1].data["old"] == S.CLOSED


@pytest.mark.parametrize("status", [S.NEW, S.WAITING_AGENT, S.IN_PROGRESS, S.WAITING_CUSTOMER])
def test_reopen_of_open_ticket_refused(ctx, status):
    ticket = ticket_in_status(status, customer=ctx.customer, agent=ctx.agent)
    messages = ticket.messages.count()
    count = event_count(ticket)

    with pytest.raises(Conflict) as exc:
        services.ticket_reopen(ticket=ticket, customer=ctx.customer, body="Reopen, please.")

    assert exc.value.code == "illegal_transition"
    assert refetch(ticket).status == status
    assert ticket.messages.count() == messages
    assert event_count(ticket) == count


def test_reopen_by_another_customer_not_found(ctx, customer2):
    ticket = ticket_in_status(S.RESOLVED, customer=ctx.customer, agent=ctx.agent)
    with pytest.raises(NotFound):
        services.ticket_reopen(ticket=ticket, customer=customer2, body="Not mine.")
    assert refetch(ticket).status == S.RESOLVED


# --- Reply templates ------------------------------------------------------------------------


def _template(line, body, code="greeting"):
    return ReplyTemplate.objects.create(line=line, code=code, language="en", title="Greeting", body=body)


def test_template_render_fills_placeholders(ctx):
    ctx.customer.first_name, ctx.customer.last_name = "Ivan", "Petrov"
    ctx.customer.save()
    ctx.agent.agent_profile.display_name = "Anna from Support"
    ctx.agent.agent_profile.save()
    ticket = make_ticket(ctx.customer)
    template = _template(ctx.line, "Hello {customer_name}, about #{ticket_number}: done. {agent_name}")

    text = services.template_render(template=template, ticket=ticket, agent=ctx.agent)

    assert text == f"Hello Ivan Petrov, about #{ticket.number}: done. Anna from Support"


def test_template_render_uses_username_when_customer_has_no_name(ctx):
    ticket = make_ticket(ctx.customer)
    template = _template(ctx.line, "Hello {customer_name}")
    assert services.template_render(template=template, ticket=ticket, agent=ctx.agent) == "Hello customer-a"


def test_template_render_refuses_agent_of_another_line(ctx, agent2):
    ticket = make_ticket(ctx.customer)
    template = _template(ctx.line2, "Hello {customer_name}")
    with pytest.raises(PermissionDenied):
        services.template_render(template=template, ticket=ticket, agent=agent2)


def test_template_render_refuses_template_of_another_line(ctx):
    ctx.line2.memberships.create(user=ctx.agent)
    ticket = make_ticket(ctx.customer)
    template = _template(ctx.line2, "Hello {customer_name}")
    with pytest.raises(PermissionDenied):
        services.template_render(template=template, ticket=ticket, agent=ctx.agent)


def test_template_render_does_not_expand_placeholders_inside_values(ctx):
    ctx.customer.first_name = "{agent_name}"
    ctx.customer.save()
    ticket = make_ticket(ctx.customer)
    template = _template(ctx.line, "Hello {customer_name}")
    assert services.template_render(template=template, ticket=ticket, agent=ctx.agent) == "Hello {agent_name}"


# --- The history cannot be rewritten --------------------------------------------------------


@pytest.fixture
def event(customer, line):
    ticket = make_ticket(customer)
    return events_of(ticket, EventKind.CREATED)[0]


def test_event_save_refused_by_database(event):
    original = dict(event.data)
    event.data = {"line": "forged"}
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    event.refresh_from_db()
    assert event.data == original


def test_event_queryset_update_refused_by_database(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        TicketEvent.objects.filter(pk=event.pk).update(actor=None)
    event.refresh_from_db()
    assert event.actor is not None


def test_event_delete_refused_by_database(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    assert TicketEvent.objects.filter(pk=event.pk).exists()


def test_event_queryset_delete_refused_by_database(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        TicketEvent.objects.filter(ticket=event.ticket).delete()
    assert TicketEvent.objects.filter(pk=event.pk).exists()


def test_ticket_with_history_cannot_be_deleted(event):
    with pytest.raises(ProtectedError), transaction.atomic():
        event.ticket.delete()
    assert Ticket.objects.filter(pk=event.ticket_id).exists()
