"""The status API: anyone reads; the monitoring writes with a token of its own, of the right scope;
nobody else's token opens it, and the monitoring's token opens nothing else."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_token_issue
from status import services
from status.models import Incident, IncidentState, Maintenance
from status.tests.factories import open_incident, token

pytestmark = pytest.mark.django_db
INCIDENTS = "/api/v1/status/incidents/"
OPEN = {
    "title": "MSK-1 unreachable",
    "severity": "major",
    "components": ["cloud-msk1"],
    "body": "Alert from ping checks.",
}


def bearer(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_the_monitoring_opens_updates_and_resolves_an_incident_with_its_token(components):
    _token, key = token()
    client = bearer(key)
    opened = client.post(INCIDENTS, {**OPEN, "external_id": "zbx-991"}, format="json")
    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert body["state"] == "investigating" and body["components"] == ["cloud-msk1"]
    assert body["reference"] == f"INC-{body['id']}"
    # The same alert again: the same incident, 200.
    again = client.post(INCIDENTS, {**OPEN, "external_id": "zbx-991"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]

    url = f"{INCIDENTS}{body['id']}/"
    updated = client.post(url + "updates/", {"state": "monitoring", "body": "Packets flow again."}, format="json")
    assert updated.status_code == 201 and updated.json()["state"] == "monitoring"
    resolved = client.post(url + "resolve/", {"body": "Recovered."}, format="json")
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    incident = Incident.objects.get()
    assert incident.source == "monitoring:zabbix"
    assert list(incident.updates.order_by("id").values_list("state", flat=True)) == [
        "investigating",
        "monitoring",
        "resolved",
    ]
    _token.refresh_from_db()
    assert _token.last_used_at is not None


def test_without_a_token_or_with_a_wrong_one_nothing_is_written(components):
    anonymous = APIClient().post(INCIDENTS, OPEN, format="json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "not_authenticated"
    assert 'Bearer realm="status"' in anonymous["WWW-Authenticate"]
    wrong = bearer("hdmon_not-a-token").post(INCIDENTS, OPEN, format="json")
    assert wrong.status_code == 401
    revoked, key = token(name="old")
    services.monitoring_token_revoke(token=revoked)
    assert bearer(key).post(INCIDENTS, OPEN, format="json").status_code == 401
    expired, key = token(name="short", days=1)
    expired.expires_at = timezone.now() - dt.timedelta(seconds=1)
    expired.save()
    assert bearer(key).post(INCIDENTS, OPEN, format="json").status_code == 401
    assert not Incident.objects.exists()


def test_a_token_of_another_scope_is_refused(components):
    _planner, key = token(scope="maintenance", name="planner")
    client = bearer(key)
    refused = client.post(INCIDENTS, OPEN, format="json")
    assert refused.status_code == 403 and refused.json()["error"] == "wrong_scope"
    assert not Incident.objects.exists()
    # ...while its own scope works.
    start = timezone.now() + dt.timedelta(days=2)
    planned = client.post(
        "/api/v1/status/maintenance/",
        {
            "title": "Kernel updates",
            "components": ["cloud-spb2"],
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert planned.status_code == 201, planned.json()
    _incidents, incidents_key = token()
    cancel = bearer(incidents_key).post(f"/api/v1/status/maintenance/{planned.json()['id']}/cancel/")
    assert cancel.status_code == 403 and cancel.json()["error"] == "wrong_scope"
    assert Maintenance.objects.get().cancelled_at is None


def test_a_customers_api_token_is_refused_and_a_staff_token_works(customer, agent, components):
    _token, customer_key = api_token_issue(user=customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {customer_key}")
    assert client.post(INCIDENTS, OPEN, format="json").status_code == 403
    _token, agent_key = api_token_issue(user=agent)
    client.credentials(HTTP_AUTHORIZATION=f"Token {agent_key}")
    assert client.post(INCIDENTS, OPEN, format="json").status_code == 201
    assert Incident.objects.get().created_by == agent


def test_the_monitoring_token_opens_nothing_but_the_status(customer, components):
    _token, key = token()
    client = bearer(key)
    assert client.get("/api/v1/tickets/").status_code in (401, 403)
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_anyone_reads_the_active_incidents_for_the_chat_bot(agent, components):
    active = open_incident(agent, components["msk"])
    done = open_incident(agent, components["dns"], title="DNS slow")
    services.incident_resolve(incident=done, actor=agent, body="Fine")
    listed = APIClient().get(INCIDENTS, {"active": "true"})
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [active.id]
    assert listed.json()["results"][0]["updates"][0]["body"] == "We are looking into it."
    summary = APIClient().get("/api/v1/status/")
    assert summary.status_code == 200
    assert summary.json()["incidents"][0]["title"] == active.title
    assert summary.json()["state"] == "major"


def test_invalid_input_gets_the_apis_error_shape(components):
    _token, key = token()
    bad = bearer(key).post(INCIDENTS, {**OPEN, "components": ["nowhere"]}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "components"
    bad_state = bearer(key).post(INCIDENTS, {**OPEN, "state": IncidentState.RESOLVED}, format="json")
    assert bad_state.status_code == 400 and bad_state.json()["field"] == "state"
