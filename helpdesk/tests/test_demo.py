"""The demo loader: idempotent, deterministic, and shaped like a real support department."""

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from accounts.models import CustomerProfile, Plan, Role, User
from helpdesk import demo
from queues.models import Line
from tickets.models import (
    TICKET_NUMBER_SEQUENCE,
    EventKind,
    Message,
    ReplyTemplate,
    Status,
    SystemReason,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db
UNTIL = dt.date(2026, 6, 30)
SMALL = {"customers": 60, "months": 2, "per_month": 600, "until": UNTIL}


def load(**options):
    call_command("load_demo", **{**SMALL, **options}, stdout=open("/dev/null", "w"))  # noqa: SIM115


def fingerprint() -> str:
    """A digest of the demo content that ignores database ids."""
    rows = Ticket.objects.order_by("number").values_list(
        "number", "subject", "status", "line__code", "customer__username", "assignee__username", "created_at"
    )
    messages = Message.objects.order_by("ticket__number", "created_at", "kind").values_list(
        "ticket__number", "kind", "author__username", "body", "created_at"
    )
    digest = hashlib.sha256()
    for row in [*rows, *messages]:
        digest.update(repr(row).encode())
    return digest.hexdigest()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "profiles": CustomerProfile.objects.count(),
        "lines": Line.objects.count(),
        "plans": Plan.objects.count(),
        "templates": ReplyTemplate.objects.count(),
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
    }


def test_loading_twice_changes_nothing():
    load()
    first = counts()
    digest = fingerprint()
    load()
    assert counts() == first
    assert fingerprint() == digest
    assert first["tickets"] > 1000


@pytest.mark.django_db(transaction=True)
def test_loading_is_deterministic_from_an_empty_database():
    def empty_database():
        call_command("flush", interactive=False)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER SEQUENCE {TICKET_NUMBER_SEQUENCE} RESTART")

    empty_database()
    load()
    digest = fingerprint()
    empty_database()
    load()
    assert fingerprint() == digest


def test_the_provider_has_its_plans_lines_people_and_templates():
    load()
    assert Plan.objects.filter(kind=Plan.Kind.SUPPORT_LEVEL).count() == 4
    packages = {p.code: p for p in Plan.objects.filter(kind=Plan.Kind.ADMIN_PACKAGE)}
    assert (packages["admin-basic"].monthly_price, packages["admin-basic"].tasks_per_month) == (250, 5)
    assert (packages["admin-premium"].monthly_price, packages["admin-premium"].tasks_per_month) == (2000, 10)
    lines = {line.code: line for line in Line.objects.all()}
    assert set(lines) == {"first-line", "consultants", "administrators", "finance", "sales"}
    assert lines["first-line"].next_line == lines["consultants"]
    assert lines["consultants"].next_line == lines["administrators"]
    assert lines["first-line"].members.count() > lines["finance"].members.count()
    assert ReplyTemplate.objects.filter(line=lines["first-line"], language="ru").count() == 10
    assert ReplyTemplate.objects.filter(line=lines["first-line"], language="en").count() == 10
    greetings = dict(ReplyTemplate.objects.filter(code="greeting").values_list("language", "title"))
    assert greetings == {"ru": "Приветствие", "en": "Greeting"}  # each in its own language
    assert User.objects.filter(role=Role.CUSTOMER).count() == SMALL["customers"] + 2
    for username in ("customer", "agent", "manager", "quality", "admin"):
        assert User.objects.get(username=username).check_password("demo")


def test_customers_differ_in_tenure_spend_and_habits():
    load(customers=300)
    profiles = CustomerProfile.objects.filter(user__username__startswith="demo-customer-")
    tenure = sorted((UNTIL - p.customer_since).days for p in profiles)
    spend = sorted(float(p.spend_12m) for p in profiles)
    assert tenure[len(tenure) // 10] < 180 < 1000 < tenure[-len(tenure) // 10]
    assert spend[-1] > 10 * spend[len(spend) // 2]
    assert profiles.filter(is_vip=True).exists()
    assert profiles.filter(is_problematic=True).exists()


def test_history_follows_the_weekly_and_daily_rhythm():
    load(customers=200, months=3, per_month=4000)
    moscow = ZoneInfo("Europe/Moscow")
    created = [t.astimezone(moscow) for t in Ticket.objects.values_list("created_at", flat=True)]
    by_weekday = Counter(moment.weekday() for moment in created)
    by_hour = Counter(moment.hour for moment in created)
    weekday_average = sum(by_weekday[d] for d in range(1, 5)) / 4
    assert by_weekday[0] < 0.9 * weekday_average  # the Monday dip
    assert by_weekday[5] > weekday_average and by_weekday[6] > weekday_average  # weekend activity
    assert by_hour[11] > by_hour[13] < by_hour[15]  # before and after lunch
    assert by_hour[22] > by_hour[19]  # late evening
    assert by_hour[4] < by_hour[11] / 5  # quiet night


def test_most_requests_are_solved_at_the_first_level():
    load(customers=200, months=2, per_month=3000)
    from_first = Ticket.objects.filter(
        solved_at_first_level__isnull=False, category__in=["general", "tech_simple", "tech_medium", "tech_complex"]
    )
    share = from_first.filter(solved_at_first_level=True).count() / from_first.count()
    assert 0.55 < share < 0.8


# --- the history behind each ticket ----------------------------------------------------------


def replay(events: list[TicketEvent]) -> dict:
    """The state a ticket's history leads to: its status, assignee, line and message ids."""
    state = {"status": None, "assignee": None, "line": None, "messages": []}
    for event in events:
        data = event.data
        if event.kind == EventKind.CREATED:
            state.update(status=Status.NEW, line=data["line"])
        elif event.kind == EventKind.STATUS:
            assert data["old"] == state["status"], (event.ticket_id, data)
            state["status"] = data["new"]
        elif event.kind == EventKind.ASSIGN:
            assert data["old"] == state["assignee"] and data["line"] == state["line"], (event.ticket_id, data)
            state["assignee"] = data["new"]
        elif event.kind == EventKind.TRANSFER:
            assert data["old"] == state["line"], (event.ticket_id, data)
            state["line"] = data["new"]
        elif event.kind == EventKind.MESSAGE:
            state["messages"].append(data["message_id"])
    return state


def test_every_demo_ticket_has_the_whole_history_of_its_state():
    load()
    events_by_ticket = defaultdict(list)
    for event in TicketEvent.objects.order_by("ticket_id", "created_at", "id"):
        events_by_ticket[event.ticket_id].append(event)
    messages_by_ticket = defaultdict(set)
    first_answer = {}
    for ticket_id, message_id, kind, author, customer, at in Message.objects.order_by("created_at").values_list(
        "ticket_id", "id", "kind", "author_id", "ticket__customer_id", "created_at"
    ):
        messages_by_ticket[ticket_id].add(message_id)
        if kind == Message.Kind.PUBLIC and author != customer:
            first_answer.setdefault(ticket_id, at)
    tickets = Ticket.objects.select_related("line", "assignee")
    seen = Counter()
    for ticket in tickets:
        state = replay(events_by_ticket[ticket.id])
        assert state["status"] == ticket.status, ticket.number
        assert state["assignee"] == (ticket.assignee.username if ticket.assignee else None), ticket.number
        assert state["line"] == ticket.line.code, ticket.number
        assert set(state["messages"]) == messages_by_ticket[ticket.id], ticket.number
        kinds = [event.kind for event in events_by_ticket[ticket.id]]
        seen.update(kinds)
        if ticket.status == Status.CLOSED:
            closing = events_by_ticket[ticket.id][-1]
            assert (closing.kind, closing.created_at) == (EventKind.STATUS, ticket.closed_at)
            assert closing.actor_id == ticket.customer_id
        assert first_answer.get(ticket.id) == ticket.first_response_at, ticket.number
    assert seen[EventKind.TRANSFER] > 50 and seen[EventKind.ASSIGN] > 500
    # Every line stint a transfer left behind, and the time in each line adds up.
    transferred = Ticket.objects.filter(events__kind=EventKind.TRANSFER)
    assert transferred.exists()
    for ticket in transferred[:50]:
        stints = list(ticket.stints.order_by("entered_at"))
        assert len(stints) == 2 and stints[0].left_at == stints[1].entered_at == ticket.line_entered_at


def service_shapes(lines, agent, consultant, customer) -> dict[str, set[frozenset]]:
    """The data keys of every kind of event the real services write on a ticket's way through
    the demo's lines: created, taken, answered, waiting, answered back, transferred, resolved, closed."""
    from tickets import services

    ticket = services.ticket_create(customer=customer, subject="Shape", body="Of the history.")
    services.ticket_take(ticket=ticket, agent=agent)
    services.message_add(ticket=ticket, author=agent, body="Which server?", wait_for_customer=True)
    services.message_add(ticket=ticket, author=customer, body="vps-1")
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=lines["consultants"], reason="Engineers")
    services.ticket_take(ticket=ticket, agent=consultant)
    services.message_add(ticket=ticket, author=consultant, body="Fixed.")
    services.ticket_resolve(ticket=ticket, actor=consultant)
    services.ticket_confirm(ticket=ticket, customer=customer)
    shapes = defaultdict(set)
    for event in TicketEvent.objects.filter(ticket=ticket):
        shapes[event.kind].add(frozenset(event.data))
    return shapes


def test_the_demos_history_has_the_shape_the_services_write():
    load()
    demo_shapes = defaultdict(set)
    for kind, data in TicketEvent.objects.values_list("kind", "data"):
        demo_shapes[kind].add(frozenset(data))
    lines = {line.code: line for line in Line.objects.all()}
    shapes = service_shapes(
        lines,
        User.objects.get(username="agent"),
        User.objects.get(username="consultant"),
        User.objects.get(username="newcustomer"),
    )
    assert set(demo_shapes) == {
        EventKind.CREATED,
        EventKind.ASSIGN,
        EventKind.STATUS,
        EventKind.TRANSFER,
        EventKind.MESSAGE,
    }
    for kind, keys in demo_shapes.items():
        assert keys <= shapes[kind], (kind, keys - shapes[kind])
    # Including the helpdesk's own reasons, by their codes.
    reasons = set(TicketEvent.objects.filter(kind=EventKind.STATUS).values_list("data__reason_code", flat=True))
    assert {SystemReason.AGENT_REPLIED, SystemReason.TRANSFERRED, SystemReason.CONFIRMED} <= reasons


def test_the_demo_customers_waiting_ticket_shows_an_estimated_wait():
    from queues.selectors import line_pace, ticket_standing

    evening = dt.datetime(UNTIL.year, UNTIL.month, UNTIL.day, 20, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    with time_machine.travel(evening, tick=False):
        load()
        waiting = Ticket.objects.get(customer__username="customer", subject=demo.SHOWCASE_SUBJECT)
        assert waiting.status == Status.NEW and waiting.assignee_id is None
        pace, _window = line_pace(line=waiting.line)
        assert pace is not None  # the demo's takes are where the pace is measured
        standing = ticket_standing(ticket=waiting)
    assert standing.position >= 1
    assert standing.estimate.low_minutes is not None
    assert standing.estimate.low_minutes <= standing.estimate.high_minutes


@pytest.mark.slow  # a fresh interpreter
def test_the_queue_simulation_does_without_the_demo_loader():
    import subprocess
    import sys

    code = "import django, sys; django.setup(); import queues.simulation; print('helpdesk.demo' in sys.modules)"
    base_dir = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=base_dir, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
