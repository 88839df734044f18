"""The workspace's list: sorting, saved views (own, shared per line, others' private ones hidden),
the built-in views and their counts, the dense columns (names, short labels, a filled SLA badge)."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AgentProfile
from accounts.tests.factories import AgentFactory, CustomerFactory
from helpdesk.errors import DomainError, NotFound, PermissionDenied
from queues.tests.factories import LineFactory
from tickets import services, views_saved
from tickets.models import SavedView, Status, Ticket, Urgency
from tickets.tests.factories import TicketFactory
from tickets.tests.helpers import text_of

pytestmark = pytest.mark.django_db


def numbers_on(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-number="(\d+)"', response.content.decode())]


@pytest.fixture
def tickets(line, agent):
    now = timezone.now()
    made = [
        TicketFactory(line=line, urgency=Urgency.NORMAL, last_activity_at=now - dt.timedelta(hours=1)),
        TicketFactory(line=line, urgency=Urgency.CRITICAL, last_activity_at=now - dt.timedelta(hours=3)),
        TicketFactory(line=line, urgency=Urgency.HIGH, last_activity_at=now - dt.timedelta(hours=2)),
    ]
    return [Ticket.objects.get(pk=ticket.pk) for ticket in made]


def test_sorting_by_each_whitelisted_column_and_back(client, agent, tickets):
    normal, critical, high = tickets
    client.force_login(agent)
    url = reverse("desk-tickets")
    assert numbers_on(client.get(url)) == [normal.number, high.number, critical.number]  # newest activity first
    assert numbers_on(client.get(url, {"sort": "urgency"})) == [critical.number, high.number, normal.number]
    assert numbers_on(client.get(url, {"sort": "-urgency"})) == [normal.number, high.number, critical.number]
    assert numbers_on(client.get(url, {"sort": "number"})) == sorted(t.number for t in tickets)
    assert numbers_on(client.get(url, {"sort": "-number"})) == sorted((t.number for t in tickets), reverse=True)
    assert numbers_on(client.get(url, {"sort": "activity"})) == [critical.number, high.number, normal.number]
    # The column header offers the other direction of the order in use.
    page = client.get(url, {"sort": "number"}).content.decode()
    assert 'href="?sort=-number"' in page and 'class="ws-sort ascending"' in page


@pytest.mark.parametrize("sort", ["subject; DROP TABLE tickets_ticket", "customer__password", "-", "id"])
def test_a_sort_outside_the_whitelist_is_ignored_and_refused_by_the_views(client, agent, tickets, sort):
    client.force_login(agent)
    response = client.get(reverse("desk-tickets"), {"sort": sort})
    assert response.status_code == 200
    assert len(numbers_on(response)) == 3
    with pytest.raises(DomainError):
        views_saved.sort_clean(sort)


def test_filters_are_validated_json():
    assert views_saved.filters_clean({"status": "waiting_customer", "waiting_days": 3, "tag": " VIP "}) == {
        "status": ["waiting_customer"],
        "waiting_days": 3,
        "tag": "vip",
    }
    for bad in (
        {"nope": 1},
        {"status": ["closed", "sleeping"]},
        {"waiting_days": "3"},
        {"waiting_days": True},
        {"open": "yes"},
        {"assignee": "someone"},
        ["status"],
    ):
        with pytest.raises(DomainError):
            views_saved.filters_clean(bad)


def test_the_list_shows_people_by_name_short_line_labels_and_always_an_sla_badge(client, agent, line):
    AgentProfile.objects.update_or_create(user=agent, defaults={"display_name": "Anna Petrova"})
    customer = CustomerFactory(username="c-4711", first_name="Ivan", last_name="Sidorov")
    TicketFactory(line=line, customer=customer, assignee=agent, status=Status.IN_PROGRESS)
    TicketFactory(line=line, customer=customer, status=Status.WAITING_CUSTOMER)
    client.force_login(agent)
    page = client.get(reverse("desk-tickets")).content.decode()
    cells = re.findall(r'data-testid="(?:assignee|customer)">([^<]*)<', page)
    assert "Anna Petrova" in cells and "Ivan Sidorov" in cells
    assert "agent-a" not in cells and "c-4711" not in cells
    assert re.search(r'class="ws-line" title="First line">L1<', page)
    # Every row has a badge, with or without a running deadline.
    assert page.count('data-testid="sla-badge"') == page.count('data-testid="ticket-row"') == 2
    assert ">paused<" in page


@pytest.fixture
def colleague(line):
    user = AgentFactory(username="agent-b")
    line.memberships.create(user=user)
    return user


@pytest.fixture
def outsider():
    user = AgentFactory(username="agent-c")
    LineFactory(code="finance", name="Finance", kind="department", level=None).memberships.create(user=user)
    return user


def test_saved_views_own_shared_per_line_and_private_hidden(client, agent, colleague, outsider, line, tickets):
    mine = services.saved_view_create(actor=agent, name="Critical", filters={"urgency": ["critical"], "open": True})
    shared = services.saved_view_create(actor=agent, name="High for the line", filters={"urgency": "high"}, line=line)
    theirs = services.saved_view_create(actor=colleague, name="Mine only", filters={"assignee": "me"})

    assert {v.name for v in views_saved.views_for(user=agent) if not v.builtin} == {"Critical", "High for the line"}
    assert {v.name for v in views_saved.views_for(user=colleague) if not v.builtin} == {
        "High for the line",
        "Mine only",
    }
    assert {v.name for v in views_saved.views_for(user=outsider) if not v.builtin} == set()

    client.force_login(agent)
    url = reverse("desk-tickets")
    assert numbers_on(client.get(url, {"view": mine.pk})) == [tickets[1].number]
    page = client.get(url, {"view": shared.pk})
    assert numbers_on(page) == [tickets[2].number]
    assert "Mine only" not in page.content.decode()
    # Another agent's private view: not listed, and its address is a 404.
    assert client.get(url, {"view": theirs.pk}).status_code == 404
    client.force_login(colleague)
    assert numbers_on(client.get(url, {"view": shared.pk})) == [tickets[2].number]
    client.force_login(outsider)
    assert client.get(url, {"view": shared.pk}).status_code == 404


def test_views_are_changed_only_by_their_authors(agent, colleague, outsider, line, manager):
    mine = services.saved_view_create(actor=agent, name="Critical", filters={})
    shared = services.saved_view_create(actor=agent, name="Line view", filters={}, line=line)
    with pytest.raises(NotFound):
        services.saved_view_delete(view=mine, actor=colleague)
    with pytest.raises(PermissionDenied):
        services.saved_view_update(view=shared, actor=colleague, name="Hijacked")
    with pytest.raises(PermissionDenied):
        services.saved_view_create(actor=outsider, name="Into a line not mine", filters={}, line=line)
    with pytest.raises(DomainError):
        services.saved_view_create(actor=agent, name="Bad", filters={"status": "sleeping"})
    with pytest.raises(DomainError):
        services.saved_view_create(actor=agent, name="Critical", filters={})
    services.saved_view_update(view=shared, actor=manager, name="Renamed by the manager")
    services.saved_view_delete(view=mine, actor=agent)
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Renamed by the manager"]


def test_saving_the_list_as_a_view_from_the_page(client, agent, line, tickets):
    client.force_login(agent)
    response = client.post(
        reverse("desk-view-save"),
        {
            "name": "Urgent ones",
            "filters": '{"urgency": ["critical", "high"]}',
            "sort": "urgency",
            "line": "first-line",
        },
    )
    view = SavedView.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?view={view.pk}")
    assert (view.line, view.sort, view.filters, view.created_by) == (
        line,
        "urgency",
        {"urgency": ["critical", "high"]},
        agent,
    )
    assert numbers_on(client.get(response["Location"])) == [tickets[1].number, tickets[2].number]
    bad = client.post(reverse("desk-view-save"), {"name": "Bad", "filters": '{"evil": 1}'}, follow=True)
    assert "Unknown filter" in text_of(bad.content.decode())
    assert SavedView.objects.count() == 1


def test_built_in_views_and_their_capped_counts(client, agent, line, customer, time_machine):
    # Late morning in Moscow: "an hour from now" is still today in the agent's zone at any hour
    # the suite happens to run.
    time_machine.move_to(dt.datetime(2026, 6, 10, 8, 0, tzinfo=dt.UTC))
    now = timezone.now()
    mine = TicketFactory(line=line, assignee=agent, status=Status.IN_PROGRESS)
    waiting_long = TicketFactory(line=line, status=Status.WAITING_CUSTOMER, last_activity_at=now - dt.timedelta(days=4))
    TicketFactory(line=line, status=Status.WAITING_CUSTOMER, last_activity_at=now - dt.timedelta(days=1))
    breaching = TicketFactory(line=line, first_response_due=now + dt.timedelta(hours=1))
    TicketFactory(line=line, first_response_due=now + dt.timedelta(days=3))
    overdue = TicketFactory(line=line, next_response_due=now - dt.timedelta(hours=1))
    client.force_login(agent)
    url = reverse("desk-tickets")
    assert numbers_on(client.get(url, {"view": "my-open"})) == [mine.number]
    assert numbers_on(client.get(url, {"view": "waiting-customer"})) == [waiting_long.number]
    # Nearest deadline first.
    assert numbers_on(client.get(url, {"view": "breaching-today"})) == [overdue.number, breaching.number]
    page = client.get(url).content.decode()
    counts = dict(re.findall(r'data-testid="view-([\w-]+)".*?data-testid="view-count">(\d+\+?)<', page))
    assert counts == {"my-open": "1", "breaching-today": "2", "waiting-customer": "1"}


def test_counts_stop_at_the_cap(client, agent, line, monkeypatch):
    from tickets import bulk_views

    monkeypatch.setattr(bulk_views, "COUNT_CAP", 2)
    for _ in range(4):
        TicketFactory(line=line, assignee=agent, status=Status.IN_PROGRESS)
    client.force_login(agent)
    page = client.get(reverse("desk-tickets")).content.decode()
    assert re.search(r'data-testid="view-my-open".*?data-testid="view-count">2\+<', page)


def test_tag_filter(client, agent, line, tickets):
    services.ticket_tag(ticket=tickets[0], actor=agent, name="vip")
    client.force_login(agent)
    page = client.get(reverse("desk-tickets"), {"tag": "vip"})
    assert numbers_on(page) == [tickets[0].number]
    assert '<span class="ws-tag">vip</span>' in page.content.decode()
