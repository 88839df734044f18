"""The history's vocabulary: one builder per kind of event, the only way events are written."""

import re
from pathlib import Path

import pytest

from queues.models import RoutingRule
from tickets import events
from tickets.models import EventKind, Status, TicketEvent
from tickets.services import ticket_take_next
from tickets.tests.helpers import make_ticket

ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_of_event_has_exactly_one_builder():
    assert sorted(events.BUILDERS) == sorted(EventKind.values)
    assert len(set(events.BUILDERS.values())) == len(EventKind.values)
    for kind, builder in events.BUILDERS.items():
        assert builder.__name__.startswith("build_"), kind
        # ...and the writing form of the same name, which writes what the builder builds.
        assert getattr(events, builder.__name__.removeprefix("build_")).__wrapped__ is builder, kind


def test_a_second_builder_for_a_kind_is_refused():
    with pytest.raises(RuntimeError, match="two builders"):
        events._builds(EventKind.CREATED)(lambda ticket, actor: TicketEvent())


def test_a_status_event_needs_a_change():
    with pytest.raises(ValueError, match="change of status"):
        events.build_status_changed(None, None, old=Status.NEW, new=Status.NEW)


@pytest.mark.django_db
def test_the_take_next_statement_writes_what_the_builders_build(customer, line, agent):
    RoutingRule.objects.create(category="general", line=line)
    ticket = make_ticket(customer)
    taken = ticket_take_next(agent=agent)
    assert taken.pk == ticket.pk
    assign, status = ticket.events.filter(kind__in=[EventKind.ASSIGN, EventKind.STATUS]).order_by("id")
    ticket.refresh_from_db()
    assert assign.data == events.build_assignee_changed(ticket, agent, old=None, new=agent).data
    assert status.data == events.build_status_changed(ticket, agent, old=Status.NEW, new=Status.IN_PROGRESS).data


def test_no_code_outside_the_vocabulary_writes_ticket_events():
    """Events are built by tickets.events and written through the ticket services; the demo
    loader alone copies made-up history in bulk."""
    writes = re.compile(
        r"(?<!class )TicketEvent\(|TicketEvent\.objects\.(create|bulk_create|get_or_create)"
        r"|INSERT INTO tickets_ticketevent"
    )
    allowed = {"tickets/events.py", "tickets/take_next.py", "helpdesk/demo.py"}
    offenders = []
    for app in (
        "accounts",
        "chat",
        "helpdesk",
        "knowledge",
        "mailin",
        "notifications",
        "queues",
        "shifts",
        "sla",
        "status",
        "tickets",
    ):
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/tests/" in relative or "/migrations/" in relative or relative in allowed:
                continue
            if writes.search(path.read_text()):
                offenders.append(relative)
    assert offenders == []
