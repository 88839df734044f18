"""Schedules through the services, the API and the manager's page: who may change them, the
roster events, and a line's staffing."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import AgentFactory, UserFactory
from helpdesk.errors import DomainError, PermissionDenied
from shifts import selectors, services
from shifts.models import RosterEvent, Shift, ShiftException

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MON = dt.datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin-s", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def quality(db):
    return UserFactory(username="quality-s", role=Role.QUALITY)


def weekday_shift(actor, agent, line, weekday=0, start=(9, 0), end=(17, 0)):
    return services.shift_create(
        actor=actor,
        agent=agent,
        line=line,
        weekday=weekday,
        starts_at=dt.time(*start),
        ends_at=dt.time(*end),
        time_zone="UTC",
    )


def test_a_manager_adds_a_shift_and_the_roster_records_who_did(manager, agent, line):
    shift = weekday_shift(manager, agent, line)
    event = RosterEvent.objects.get()
    assert event.action == RosterEvent.Action.SHIFT_ADDED
    assert event.actor == manager and event.agent == agent
    assert event.data["line"] == line.code and event.data["starts_at"] == "09:00"
    services.shift_update(actor=manager, shift=shift, ends_at=dt.time(18, 0))
    change = RosterEvent.objects.filter(action=RosterEvent.Action.SHIFT_CHANGED).get()
    assert change.data["before"]["ends_at"] == "17:00" and change.data["after"]["ends_at"] == "18:00"
    services.shift_delete(actor=manager, shift=shift)
    assert not Shift.objects.exists()
    assert RosterEvent.objects.filter(action=RosterEvent.Action.SHIFT_REMOVED).count() == 1


@pytest.mark.parametrize("role", [Role.AGENT, Role.QUALITY, Role.CUSTOMER])
def test_only_managers_and_administrators_change_the_schedules(role, users_by_role, agent, line):
    with pytest.raises(PermissionDenied):
        weekday_shift(users_by_role[role], agent, line)
    assert not Shift.objects.exists() and not RosterEvent.objects.exists()


def test_an_administrator_may_change_the_schedules(admin_user, agent, line):
    weekday_shift(admin_user, agent, line)
    assert Shift.objects.count() == 1


def test_a_shift_needs_a_member_of_the_line(manager, line):
    outsider = AgentFactory(username="outsider")
    with pytest.raises(DomainError) as caught:
        weekday_shift(manager, outsider, line)
    assert caught.value.field == "agent"


def test_exceptions_need_a_sensible_span_and_extra_shifts_a_line(manager, agent, line):
    with pytest.raises(DomainError):
        services.exception_create(actor=manager, agent=agent, kind=ShiftException.Kind.SICK, starts_at=MON, ends_at=MON)
    with pytest.raises(DomainError) as caught:
        services.exception_create(
            actor=manager,
            agent=agent,
            kind=ShiftException.Kind.EXTRA,
            starts_at=MON,
            ends_at=MON + dt.timedelta(hours=4),
        )
    assert caught.value.field == "line"


def test_staffing_of_a_line_follows_shifts_and_absences(manager, agent, line):
    colleague = AgentFactory(username="colleague")
    line.memberships.create(user=colleague)
    weekday_shift(manager, agent, line, weekday=0)
    weekday_shift(manager, colleague, line, weekday=0, start=(13, 0), end=(21, 0))
    assert selectors.on_duty(line_id=line.pk, at=MON + dt.timedelta(hours=14)) == {agent.pk, colleague.pk}
    services.exception_create(
        actor=manager,
        agent=agent,
        kind=ShiftException.Kind.SICK,
        starts_at=MON,
        ends_at=MON + dt.timedelta(days=1),
    )
    assert selectors.on_duty(line_id=line.pk, at=MON + dt.timedelta(hours=14)) == {colleague.pk}
    assert selectors.line_next_opening(line_id=line.pk, at=MON + dt.timedelta(hours=3)) == MON + dt.timedelta(hours=13)


def test_the_api_lets_staff_read_and_managers_write(manager, agent, line, quality):
    client = APIClient()
    client.force_authenticate(agent)
    body = {"agent": agent.username, "line": line.code, "weekday": 1, "starts_at": "22:00", "ends_at": "06:00"}
    refused = client.post("/api/v1/shifts/", body, format="json")
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"

    client.force_authenticate(manager)
    created = client.post("/api/v1/shifts/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["hours"] == 8.0
    shift_id = created.json()["id"]
    changed = client.patch(f"/api/v1/shifts/{shift_id}/", {"ends_at": "07:00"}, format="json")
    assert changed.status_code == 200 and changed.json()["ends_at"] == "07:00:00"
    bad = client.post("/api/v1/shifts/", {**body, "weekday": 9}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "weekday"

    client.force_authenticate(quality)
    listed = client.get("/api/v1/shifts/", {"line": line.code})
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert client.delete(f"/api/v1/shifts/{shift_id}/").status_code == 403

    client.force_authenticate(manager)
    staffing = client.get(
        f"/api/v1/lines/{line.code}/staffing/", {"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T12:00:00Z"}
    )
    assert staffing.status_code == 200, staffing.content
    data = staffing.json()
    assert data["agent_hours"] == 9.0  # Tuesday 22:00 to Wednesday 07:00
    assert data["next_opening"].startswith("2026-12-01T22:00")
    assert client.delete(f"/api/v1/shifts/{shift_id}/").status_code == 204
    assert RosterEvent.objects.filter(action=RosterEvent.Action.SHIFT_REMOVED).count() == 1


def test_a_customer_sees_nothing_of_the_roster(customer):
    client = APIClient()
    client.force_authenticate(customer)
    assert client.get("/api/v1/shifts/").status_code == 403
    assert client.get("/api/v1/roster-events/").status_code == 403


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_manager_page_shows_the_roster_and_adds_a_shift(client, manager, agent, line, language):
    client.force_login(manager)
    client.cookies["django_language"] = language
    page = client.get(reverse("manage-shifts"), HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    assert ("Add a weekly shift" if language == "en" else "Добавить смену") in page.content.decode()
    posted = client.post(
        reverse("manage-shifts"),
        {
            "action": "add-shift",
            "agent": agent.username,
            "line": line.code,
            "weekday": "0",
            "starts_at": "09:00",
            "ends_at": "18:00",
        },
    )
    assert posted.status_code == 302
    page = client.get(reverse("manage-shifts"))
    assert f'data-testid="roster-{line.code}"' in page.content.decode()
    assert "09:00–18:00" in page.content.decode()


def test_the_manager_page_shows_errors_without_losing_the_input(client, manager, line):
    outsider = AgentFactory(username="outsider")
    client.force_login(manager)
    posted = client.post(
        reverse("manage-shifts"),
        {
            "action": "add-shift",
            "agent": outsider.username,
            "line": line.code,
            "weekday": "0",
            "starts_at": "09:00",
            "ends_at": "18:00",
        },
    )
    assert posted.status_code == 400
    assert "is not a member of" in posted.content.decode()
    assert 'value="09:00"' in posted.content.decode()


def test_agents_do_not_enter_the_manager_roster_page_and_reviewers_only_read(client, manager, agent, line, quality):
    shift = weekday_shift(manager, agent, line)
    client.force_login(agent)
    assert client.get(reverse("manage-shifts")).status_code == 403
    client.force_login(quality)
    page = client.get(reverse("manage-shifts"))
    assert page.status_code == 200 and 'data-testid="add-shift"' not in page.content.decode()
    refused = client.post(reverse("manage-shifts"), {"action": "remove-shift", "id": str(shift.pk)}, follow=True)
    assert "Only managers and administrators" in refused.content.decode()
    assert Shift.objects.filter(pk=shift.pk).exists()
