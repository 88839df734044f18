"""The history as agents read it: labels instead of stored values, the helpdesk's own reasons
in the reader's language, what an agent typed as typed; the same on the page and in the API."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from sla.models import SlaRecord
from tickets import events, history, services
from tickets.models import EventKind, Status, SystemReason, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer, line):
    RoutingRule.objects.create(category="general", line=line)
    return services.ticket_create(customer=customer, subject="Site is slow", body="Since Monday.")


@pytest.fixture
def engineers(line):
    engineers = LineFactory(code="engineers", name="Engineers", name_ru="Инженеры", level=2)
    line.next_line = engineers
    line.save()
    return engineers


def in_language(language, function, *args):
    with translation.override(language):
        return function(*args)


def test_a_status_change_shows_the_labels_and_the_reason_in_the_readers_language(ticket, agent, customer):
    services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_resolve(ticket=ticket, actor=agent)
    services.ticket_reopen(ticket=ticket, customer=customer, body="Still slow.")
    reopened = ticket.events.filter(kind=EventKind.STATUS).latest("id")
    assert reopened.data["new"] == Status.WAITING_AGENT  # stored as the value

    assert in_language("en", history.change_text, reopened) == "Resolved → Waiting for an agent"
    assert in_language("en", history.reason_text, reopened) == "reopened by the customer"
    assert in_language("ru", history.change_text, reopened) == "Решено → Ждёт сотрудника"
    assert in_language("ru", history.reason_text, reopened) == "клиент открыл запрос снова"


def test_an_escalation_reason_is_stored_in_english_and_read_in_russian(ticket, engineers):
    services.ticket_system_transfer(ticket=ticket, to_line=engineers, reason_code="sla_breach", target="first_response")
    transfer = ticket.events.get(kind=EventKind.TRANSFER)
    assert transfer.data["reason"] == "Escalated: the deadline for the first response passed."
    assert transfer.data["reason_code"] == "sla_breach"
    assert transfer.data["reason_params"] == {"target": SlaRecord.Target.FIRST_RESPONSE}

    with translation.override("ru"):
        expected = f"Эскалация: истёк срок ({str(SlaRecord.Target.FIRST_RESPONSE.label).lower()})."
        assert history.reason_text(transfer) == expected
        assert "first response" not in expected
    # Whatever language the worker that makes the transfer runs in, the stored reason is English.
    with translation.override("ru"):
        timer = events.system_reason("first_line_timer", minutes=30)
    assert timer["reason"] == "No first response within 30 working minutes."
    with pytest.raises(ValueError, match="unknown system reason"):
        events.system_reason("made_up")


def test_what_an_agent_typed_is_shown_as_typed(ticket, agent, engineers):
    services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=engineers, reason="transferred")
    transfer = ticket.events.get(kind=EventKind.TRANSFER)
    # A transfer's reason is the agent's own words, even when they match a reason of the helpdesk's.
    assert in_language("ru", history.reason_text, transfer) == "transferred"
    assert in_language("ru", history.change_text, transfer) == f"{ticket.line.name} → Engineers"


def test_a_stored_reason_whose_values_no_longer_fit_falls_back_to_the_english(ticket):
    event = TicketEvent(
        ticket=ticket,
        kind=EventKind.TRANSFER,
        data={"reason": "Escalated.", "reason_code": "sla_breach", "reason_params": {"target": "gone"}},
    )
    assert in_language("ru", history.reason_text, event) == "Escalated."
    assert history.change_text(TicketEvent(ticket=ticket, kind=EventKind.SECRET_SET, data={})) == ""


def test_the_workspace_page_and_the_api_show_the_history_in_russian(client, ticket, agent, customer, engineers):
    services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_resolve(ticket=ticket, actor=agent)
    services.ticket_reopen(ticket=ticket, customer=customer, body="Still slow.")
    services.ticket_system_transfer(ticket=ticket, to_line=engineers, reason_code="first_line_timer", minutes=30)
    engineers.memberships.create(user=agent)

    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    page = page[page.index('data-testid="history"') :]
    page = page[: page.index("</ol>")]
    assert "Решено → Ждёт сотрудника" in page
    assert "клиент открыл запрос снова" in page
    assert "waiting_agent" not in page and "reopened by the customer" not in page
    assert "Первого ответа не было в течение 30 мин рабочего времени." in page
    assert f"{ticket.line.name} → Инженеры" in page  # the line's Russian name (the first line has none)

    api = APIClient()
    api.force_authenticate(user=agent)
    response = api.get(reverse("api:ticket-history", args=[ticket.number]), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    rows = {(row["kind"], row["change_display"], row["reason_display"]) for row in response.json()}
    assert (EventKind.STATUS, "Решено → Ждёт сотрудника", "клиент открыл запрос снова") in rows
    transfer = next(row for row in response.json() if row["kind"] == EventKind.TRANSFER)
    assert transfer["data"]["reason"] == "No first response within 30 working minutes."  # stored English
    assert transfer["reason_display"] != transfer["data"]["reason"]
    assert transfer["change_display"].endswith("→ Инженеры")
    assert transfer["data"]["new_name"] == "Engineers"


def test_the_thread_says_where_the_ticket_went_in_the_customers_language(customer, line, engineers):
    RoutingRule.objects.create(category="general", line=line)
    customer.language = "ru"
    customer.save(update_fields=["language"])
    ticket = services.ticket_create(customer=customer, subject="Сайт не открывается", body="С утра.")
    assert ticket.language == "ru"
    with translation.override("en"):  # an English-speaking agent, or the SLA worker
        services.ticket_system_transfer(ticket=ticket, to_line=engineers, reason_code="sla_breach", target="resolution")
    note = ticket.messages.get(kind="system")
    assert note.body == f"Передано из линии «{ticket.line.name}» в линию «Инженеры»."


def test_a_promise_shows_its_moment_as_the_readers_locale_writes_it(ticket, agent):
    services.ticket_take(ticket=ticket, agent=agent)
    when = dt.datetime(2026, 12, 24, 15, 30, tzinfo=timezone.get_current_timezone())
    services.ticket_set_promise(ticket=ticket, actor=agent, promised_by=when)
    promise = ticket.events.get(kind=EventKind.PROMISE)
    assert promise.data["new"].startswith("2026-12-24")  # stored as ISO
    english = in_language("en", history.change_text, promise)
    russian = in_language("ru", history.change_text, promise)
    assert english == "— → 12/24/2026 3:30 p.m."
    assert russian.startswith("— → 24.12.2026") and "15:30" in russian
    assert "T15" not in english + russian


def test_the_services_write_the_helpdesks_own_reasons_as_codes_each_with_a_translation():
    """The services and the sweep's actions write no reason of their own as English words: each is
    a SystemReason code (a word of English would show in English to everybody), and every code
    reads in Russian."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for module in ("tickets/services.py", "sla/actions.py", "mailin/services.py"):
        source = (root / module).read_text()
        assert not re.findall(r'reason(?:=| or )"([^"]+)"', source), module
        assert not re.findall(r'reason_code="([^"]+)"', source), module
    for code in SystemReason:
        params = {"target": "resolution", "minutes": 30, "address": "support@example.com", "number": 100234}
        english = in_language("en", events.render_reason, code, params)
        assert in_language("ru", events.render_reason, code, params) != english, code
    # Events written before the codes keep reading in the reader's language.
    legacy = TicketEvent(
        kind=EventKind.STATUS, data={"old": "resolved", "new": "waiting_agent", "reason": "reopened by the customer"}
    )
    assert in_language("ru", history.reason_text, legacy) == "клиент открыл запрос снова"
