"""Pages that are right in every state: a closed ticket, the SLA sentence beside its badge, the
reader's time zone for what is shown and entered, lines named in the page's language, a paid
boost that asks first, plural forms, and the personal pages reachable from the navigation."""

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from accounts.tests.factories import AgentFactory, UserFactory
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer, line):
    RoutingRule.objects.create(category="general", line=line)
    return services.ticket_create(customer=customer, subject="Site is slow", body="Since Monday.")


def test_a_closed_ticket_shows_no_worker_no_promise_and_offers_no_release_or_requeue(client, ticket, agent, customer):
    services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_set_promise(ticket=ticket, actor=agent, promised_by=timezone.now() + dt.timedelta(days=2))
    services.ticket_resolve(ticket=ticket, actor=agent)
    services.ticket_confirm(ticket=Ticket.objects.get(pk=ticket.pk), customer=customer)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.assignee == agent and ticket.promised_by is not None

    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    for gone in ['data-testid="assignee"', 'data-testid="promise"', 'data-testid="release"', 'data-testid="take"',
                 'data-testid="transfer-form"', 'data-testid="promise-form"', 'data-testid="resolve"',
                 "Place in the queue"]:  # fmt: skip
        assert gone not in page, gone
    assert 'data-testid="closed-at"' in page and 'data-testid="handled-by"' in page

    client.force_login(customer)
    panel = client.get(reverse("panel-ticket", args=[ticket.number])).content.decode()
    assert "is working on your request" not in panel
    assert 'data-testid="promise"' not in panel


def test_an_open_ticket_still_shows_its_worker_and_promise(client, ticket, agent):
    services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_set_promise(ticket=ticket, actor=agent, promised_by=timezone.now() + dt.timedelta(days=2))
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="assignee"' in page and 'data-testid="promise"' in page and 'data-testid="release"' in page


def test_the_sla_sentence_says_the_clock_counts_working_hours(client, ticket, agent):
    due = timezone.now() + dt.timedelta(days=4, hours=23)
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due=due,
        sla_commitment={"first_response": 24 * 60, "resolution": 5 * 24 * 60, "calendar_24x7": False},
    )
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert "We answer within 24 hours of working time." in page
    assert re.search(r"4 d 2\d h left", page)
    assert "the clock counts working hours only" in page
    Ticket.objects.filter(pk=ticket.pk).update(
        sla_commitment={"first_response": 60, "resolution": 600, "calendar_24x7": True}
    )
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert "around the clock" in page and "working hours only" not in page


def test_a_promise_typed_in_tokyo_is_stored_as_that_moment(client, ticket, agent):
    """The browser's datetime-local field sends wall-clock time without a zone: it is the
    agent's zone (Asia/Tokyo, UTC+9), not the helpdesk's (Europe/Moscow, UTC+3)."""
    agent.time_zone = "Asia/Tokyo"
    agent.save(update_fields=["time_zone"])
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert "In your time zone, Asia/Tokyo." in page and "Times are shown in Asia/Tokyo." in page
    year = timezone.now().year + 1
    client.post(reverse("desk-ticket-promise", args=[ticket.number]), {"promised_by": f"{year}-01-10T12:00"})
    ticket.refresh_from_db()
    assert ticket.promised_by == dt.datetime(year, 1, 10, 3, 0, tzinfo=dt.UTC)
    # And shown back in Tokyo time, with the zone named.
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    promise = page.split('data-testid="promise">')[1].split("</span>")[0]
    assert "noon" in promise or "12:00" in promise or "12 p.m." in promise
    assert "(Asia/Tokyo)" in page


def test_the_browser_zone_is_kept_until_the_user_chooses_one(client, agent):
    client.force_login(agent)
    page = client.get(reverse("desk")).content.decode()
    assert 'data-time-zone-detect="1"' in page
    url = reverse("time-zone-detected")
    assert client.post(url, {"time_zone": "Not/AZone"}).status_code == 400
    assert client.post(url, {"time_zone": "America/New_York"}).status_code == 204
    agent.refresh_from_db()
    assert agent.time_zone == "America/New_York"
    assert 'data-time-zone-detect="1"' not in client.get(reverse("desk")).content.decode()
    # A zone chosen on the settings page is not replaced by what another browser reports.
    response = client.post(reverse("account-settings"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    client.post(url, {"time_zone": "Europe/Berlin"})
    agent.refresh_from_db()
    assert agent.time_zone == "Asia/Tokyo"
    assert client.post(reverse("account-settings"), {"time_zone": "Mars/Olympus"}).status_code == 400
    # Through the API too.
    response = client.post(reverse("api:me-time-zone"), {"time_zone": "Europe/Moscow"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["time_zone"] == "Europe/Moscow"
    bad = client.post(reverse("api:me-time-zone"), {"time_zone": "Nowhere"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"] == "unknown_time_zone"


def test_an_anonymous_visitor_reads_times_in_the_browser_zone_from_the_cookie(client):
    client.cookies["helpdesk_tz"] = "Asia/Tokyo"
    assert "Times are shown in Asia/Tokyo." in client.get(reverse("login")).content.decode()
    client.cookies["helpdesk_tz"] = "<script>"
    assert "Times are shown in Europe/Moscow." in client.get(reverse("login")).content.decode()


def test_the_transfer_list_names_lines_in_the_page_language(client, ticket, agent):
    LineFactory(code="consultants", name="Consultants", name_ru="Консультанты", level=2)
    client.force_login(agent)
    client.cookies["django_language"] = "ru"
    page = client.get(reverse("desk-ticket", args=[ticket.number]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    form = page.split('data-testid="transfer-form"')[1].split("</form>")[0]
    assert '<option value="consultants">Консультанты</option>' in form


def test_a_paid_boost_asks_first_and_names_its_currency():
    quote = SimpleNamespace(price=Decimal("300.00"), currency="RUB", position_after=1, capped=False, balance=500)
    with translation.override("en"):
        html = _render_standing(quote)
    form = html.split('class="boost"')[1].split(">")[0]
    assert re.search(r'data-confirm="Priority: pay 300[.,]00 RUB from your balance\?', form)
    assert "300.00 RUB" in html.split('data-testid="boost-priority"')[1]


def _render_standing(quote):
    return render_to_string(
        "queues/_standing.html",
        {
            "ticket": SimpleNamespace(number=100001, assignee=None, status="waiting_agent"),
            "standing": SimpleNamespace(position=3, line=SimpleNamespace(localized_name=lambda lang: "First line"),
                                        estimate=SimpleNamespace(closed=False, enough_data=False)),
            "offers": [{"kind": "priority", "label": "Priority", "quote": quote, "key": "k"}],
        },
    )  # fmt: skip


def test_russian_plural_forms():
    """Four forms in the catalogue (nplurals=4): 1 час, 2 часа, 5 часов, 21 час; never "2 часов"."""
    with translation.override("ru"):
        hours = [ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n} for n in (1, 2, 5, 21)]
        assert hours == ["1 час", "2 часа", "5 часов", "21 час"]
        years = [ngettext("%(n)d year", "%(n)d years", n) % {"n": n} for n in (1, 3, 5, 22)]
        assert years == ["1 год", "3 года", "5 лет", "22 года"]
        months = [ngettext("%(n)d month", "%(n)d months", n) % {"n": n} for n in (1, 2, 11)]
        assert months == ["1 месяц", "2 месяца", "11 месяцев"]
        html = render_to_string(
            "accounts/_customer_card.html",
            {"card": SimpleNamespace(customer=UserFactory.build(username="x"), profile=None, flags=[], open_count=2,
                                     total_count=5, verdicts=[], spend_band="none", spend_band_label="нет",
                                     package_tasks_left=None),
             "standing": SimpleNamespace(position=None, credit_minutes=2, weight_parts={})},
        )  # fmt: skip
    assert "2 открытых" in html and "5 всего" in html
    assert "Фора: 2 минуты" in html


def test_no_template_makes_plurals_by_hand():
    """`|pluralize` adds an English "s"; Russian needs {% blocktranslate count %} or ngettext."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for path in root.glob("*/templates/**/*.html")
        if "|pluralize" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_every_personal_page_is_reachable_from_the_navigation(client, agent):
    client.force_login(agent)
    page = client.get(reverse("desk")).content.decode()
    assert reverse("account-settings") in page
    settings_page = client.get(reverse("account-settings")).content.decode()
    for name in ("password_change", "desk-notifications", "api-tokens"):
        assert reverse(name) in settings_page, name
    assert reverse("admin:index") not in settings_page
    admin = UserFactory(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert reverse("admin:index") in client.get(reverse("desk")).content.decode()
    assert reverse("admin:index") in client.get(reverse("account-settings")).content.decode()
    other = AgentFactory(username="plain")
    client.force_login(other)
    assert client.get(reverse("account-settings")).status_code == 200
