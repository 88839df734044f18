"""The workspace's API: saved views, tags, bulk actions, merge, link and split."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from accounts.tests.factories import AgentFactory
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import EventKind, Message, SavedView, Status, Ticket
from tickets.tests.helpers import events_of, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_authenticate(agent)
    return client


@pytest.fixture
def tickets(line, customer):
    RoutingRule.objects.create(category="general", line=line)
    return [make_ticket(customer, subject=f"Ticket {n}", urgency=u) for n, u in enumerate(["normal", "critical"])]


def test_saved_views_through_the_api(api, agent, line, tickets):
    colleague = AgentFactory()
    services.saved_view_create(actor=colleague, name="Theirs", filters={})
    created = api.post(
        "/api/v1/views/", {"name": "Critical", "filters": {"urgency": ["critical"]}, "sort": "-number"}, format="json"
    )
    assert created.status_code == 201, created.json()
    key = created.json()["id"]
    listed = api.get("/api/v1/views/").json()
    assert [v["id"] for v in listed] == ["my-open", "breaching-today", "waiting-customer", key]
    assert listed[-1] | {} == {
        "id": key,
        "name": "Critical",
        "filters": {"urgency": ["critical"]},
        "sort": "-number",
        "builtin": False,
        "line": None,
        "mine": True,
        "count": 1,
    }
    page = api.get("/api/v1/tickets/", {"view": key}).json()
    assert [t["number"] for t in page["results"]] == [tickets[1].number]
    bad = api.post("/api/v1/views/", {"name": "Bad", "filters": {"drop": "table"}}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "filters"
    theirs = SavedView.objects.get(name="Theirs")
    assert api.get(f"/api/v1/views/{theirs.pk}/").status_code == 404
    assert api.get("/api/v1/tickets/", {"view": str(theirs.pk)}).status_code == 404
    assert api.patch(f"/api/v1/views/{key}/", {"line": "first-line"}, format="json").json()["line"] == "first-line"
    assert api.delete(f"/api/v1/views/{key}/").status_code == 204


def test_sorting_and_tags_in_the_ticket_list(api, agent, tickets):
    numbers = [t.number for t in tickets]
    assert [t["number"] for t in api.get("/api/v1/tickets/", {"sort": "urgency"}).json()["results"]] == numbers[::-1]
    assert api.get("/api/v1/tickets/", {"sort": "password"}).status_code == 400
    added = api.post(f"/api/v1/tickets/{numbers[0]}/tags/", {"tag": "VIP"}, format="json")
    assert added.status_code == 200 and added.json()["tags"] == ["vip"]
    listed = api.get("/api/v1/tickets/", {"tag": "vip"}).json()["results"]
    assert [(t["number"], t["tags"]) for t in listed] == [(numbers[0], ["vip"])]
    assert api.get("/api/v1/tags/").json() == [{"name": "vip"}]
    assert api.delete(f"/api/v1/tickets/{numbers[0]}/tags/vip/").json()["tags"] == []


def test_customers_neither_see_tags_nor_use_views(tickets, customer, agent):
    services.ticket_tag(ticket=tickets[0], actor=agent, name="difficult")
    client = APIClient()
    client.force_authenticate(customer)
    assert "tags" not in client.get(f"/api/v1/tickets/{tickets[0].number}/").json()
    assert client.get("/api/v1/tickets/", {"tag": "difficult"}).status_code == 403
    assert client.get("/api/v1/views/").status_code == 403
    assert client.post("/api/v1/tickets/bulk/", {"action": "resolve", "tickets": [1]}, format="json").status_code == 403


def test_bulk_through_the_api_reports_each_ticket(api, agent, tickets):
    services.ticket_resolve(ticket=tickets[1], actor=agent)
    answer = api.post(
        "/api/v1/tickets/bulk/", {"action": "resolve", "tickets": [t.number for t in tickets] + [424242]}, format="json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["done"] == [tickets[0].number]
    assert {(f["number"], f["error"]) for f in body["failed"]} == {
        (tickets[1].number, "illegal_transition"),
        (424242, "not_found"),
    }


def test_merge_link_and_split_through_the_api(api, agent, customer, tickets):
    first, second = tickets
    linked = api.post(f"/api/v1/tickets/{first.number}/link/", {"other": second.number}, format="json")
    assert linked.status_code == 200 and linked.json()["related"] == [second.number]
    message = services.message_add(ticket=first, author=customer, body="And my backup failed too.")
    split = api.post(f"/api/v1/tickets/{first.number}/split/", {"message": message.id}, format="json")
    assert split.status_code == 201
    new = Ticket.objects.get(number=split.json()["number"])
    assert new.body == "And my backup failed too." and events_of(new, EventKind.SPLIT)
    merged = api.post(f"/api/v1/tickets/{first.number}/merge/", {"into": second.number}, format="json")
    assert merged.status_code == 200 and merged.json()["number"] == second.number
    assert api.get(f"/api/v1/tickets/{first.number}/").json()["merged_into"] == second.number
    assert Message.objects.filter(pk=message.pk, ticket=second).exists()
    assert Ticket.objects.get(pk=first.pk).status == Status.CLOSED
    again = api.post(f"/api/v1/tickets/{first.number}/merge/", {"into": second.number}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "ticket_closed"


def test_outsiders_are_refused(tickets):
    outsider = AgentFactory()
    LineFactory(code="finance", name="Finance", kind="department", level=None).memberships.create(user=outsider)
    client = APIClient()
    client.force_authenticate(outsider)
    answer = client.post(f"/api/v1/tickets/{tickets[0].number}/merge/", {"into": tickets[1].number}, format="json")
    assert answer.status_code == 404


def test_the_schema_stays_valid_and_describes_the_workspace():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "views_list",
        "views_create",
        "views_update",
        "views_destroy",
        "tags_list",
        "tickets_tags_add",
        "tickets_tags_remove",
        "tickets_bulk",
        "tickets_merge",
        "tickets_link",
        "tickets_unlink",
        "tickets_split",
    } <= operations
    list_parameters = {p["name"] for p in schema["paths"]["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"view", "sort", "tag"} <= list_parameters
