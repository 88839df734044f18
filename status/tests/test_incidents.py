"""An incident's life: opened with its first update, updated, resolved; who may do it; the page's
version moves with every change."""

import datetime as dt

import pytest
from django.utils import timezone

from helpdesk.errors import Conflict, DomainError, PermissionDenied
from status import selectors, services
from status.models import IncidentState, IncidentUpdate, ReplyState, Severity, UpdateOutbox
from status.tests.factories import open_incident, token

pytestmark = pytest.mark.django_db


def test_an_incident_lives_from_investigating_to_resolved_with_a_public_timeline(agent, components):
    incident = open_incident(agent, components["msk"], severity=Severity.PARTIAL)
    assert incident.state == IncidentState.INVESTIGATING and incident.created_by == agent
    assert list(incident.components.all()) == [components["msk"]]

    services.incident_update(incident=incident, actor=agent, state=IncidentState.IDENTIFIED, body="A switch failed.")
    services.incident_update(
        incident=incident,
        actor=agent,
        state=IncidentState.MONITORING,
        body="Replaced; watching.",
        severity=Severity.DEGRADED,
        components=[components["msk"], components["spb"]],
    )
    incident.refresh_from_db()
    assert incident.state == IncidentState.MONITORING and incident.severity == Severity.DEGRADED
    assert set(incident.components.all()) == {components["msk"], components["spb"]}

    services.incident_resolve(incident=incident, actor=agent, body="All good since 12:40.")
    incident.refresh_from_db()
    assert incident.state == IncidentState.RESOLVED and incident.resolved_at is not None
    # No linked tickets: nothing to answer.
    assert incident.reply_state == ReplyState.DONE
    timeline = list(incident.updates.order_by("created_at", "id").values_list("state", "body"))
    assert timeline == [
        ("investigating", "We are looking into it."),
        ("identified", "A switch failed."),
        ("monitoring", "Replaced; watching."),
        ("resolved", "All good since 12:40."),
    ]
    # Each update waits in the outbox for the subscribers' e-mails.
    assert UpdateOutbox.objects.count() == 4

    with pytest.raises(Conflict):
        services.incident_update(incident=incident, actor=agent, state=IncidentState.IDENTIFIED, body="Again?")
    with pytest.raises(Conflict):
        services.incident_resolve(incident=incident, actor=agent, body="Twice")


def test_resolving_goes_through_the_resolution_not_an_update(agent, components):
    incident = open_incident(agent, components["msk"])
    with pytest.raises(DomainError):
        services.incident_update(incident=incident, actor=agent, state=IncidentState.RESOLVED, body="Done")


def test_an_incident_needs_a_title_a_component_and_a_first_update(agent, components):
    with pytest.raises(DomainError) as no_components:
        services.incident_open(actor=agent, title="Down", severity="major", components=[], body="Looking")
    assert no_components.value.field == "components"
    with pytest.raises(DomainError) as no_body:
        services.incident_open(actor=agent, title="Down", severity="major", components=[components["msk"]], body=" ")
    assert no_body.value.field == "body"
    with pytest.raises(DomainError) as bad_severity:
        services.incident_open(
            actor=agent, title="Down", severity="apocalypse", components=[components["msk"]], body="x"
        )
    assert bad_severity.value.field == "severity"
    assert not IncidentUpdate.objects.exists()


def test_customers_may_not_write_the_status(customer, components):
    with pytest.raises(PermissionDenied):
        open_incident(customer, components["msk"])


def test_the_monitoring_opens_once_per_alert_with_its_own_token(components):
    monitoring, _key = token()
    first, created = services.incident_open(
        token=monitoring,
        title="ping loss",
        severity="major",
        components=[components["msk"]],
        body="Alert",
        external_id="A-1",
    )
    again, created_again = services.incident_open(
        token=monitoring,
        title="ping loss",
        severity="major",
        components=[components["msk"]],
        body="Alert",
        external_id="A-1",
    )
    assert created and not created_again and again.pk == first.pk
    assert first.source == "monitoring:zabbix" and first.created_by is None
    assert first.updates.get().author is None


def test_a_token_of_another_scope_or_revoked_is_refused(components):
    maintenance_token, _key = token(scope="maintenance", name="planner")
    with pytest.raises(PermissionDenied) as wrong:
        services.incident_open(
            token=maintenance_token, title="x", severity="major", components=[components["msk"]], body="x"
        )
    assert wrong.value.code == "wrong_scope"
    incidents_token, _key = token()
    services.monitoring_token_revoke(token=incidents_token)
    incidents_token.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.incident_open(
            token=incidents_token, title="x", severity="major", components=[components["msk"]], body="x"
        )


def test_every_change_gives_the_status_a_new_version(agent, components, django_capture_on_commit_callbacks):
    before = selectors.status_version()
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(agent, components["msk"])
    opened = selectors.status_version()
    assert opened != before
    assert [active.id for active in selectors.active_incidents()] == [incident.id]
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(incident=incident, actor=agent, body="Fixed")
    assert selectors.status_version() != opened
    assert selectors.active_incidents() == []


def test_maintenance_is_planned_and_cancelled_within_its_scope(agent, components):
    start = timezone.now() + dt.timedelta(days=1)
    window = services.maintenance_plan(
        actor=agent,
        title="Storage upgrade",
        components=[components["spb"]],
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    with pytest.raises(DomainError):
        services.maintenance_plan(
            actor=agent, title="Backwards", components=[components["spb"]], starts_at=start, ends_at=start
        )
    incidents_token, _key = token()
    with pytest.raises(PermissionDenied):
        services.maintenance_cancel(maintenance=window, token=incidents_token)
    planner, _key = token(scope="maintenance", name="planner")
    assert services.maintenance_cancel(maintenance=window, token=planner).cancelled_at is not None
