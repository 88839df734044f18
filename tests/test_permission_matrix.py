"""Every ticket endpoint and page for every kind of caller: nobody sees or changes what is
not theirs, and what is refused leaks nothing (another customer's ticket is a plain 404)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import AgentFactory, CustomerFactory, ManagerFactory
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import Attachment, Status, Ticket

pytestmark = pytest.mark.django_db
ROLES = ["owner", "other_customer", "line_agent", "other_line_agent", "manager"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SECRET = "root / hunter2-matrix"


@pytest.fixture
def world(db):
    first = LineFactory(code="first-line", name="First line", level=1)
    consultants = LineFactory(code="consultants", name="Consultants", level=2)
    finance = LineFactory(code="finance", name="Finance", kind="department", level=None)
    RoutingRule.objects.create(category="general", line=first)
    users = {
        "owner": CustomerFactory(username="owner"),
        "other_customer": CustomerFactory(username="other-customer"),
        "line_agent": AgentFactory(username="line-agent"),
        "other_line_agent": AgentFactory(username="finance-agent"),
        "manager": ManagerFactory(username="boss"),
    }
    first.memberships.create(user=users["line_agent"])
    finance.memberships.create(user=users["other_line_agent"])
    ticket = services.ticket_create(
        customer=users["owner"],
        subject="Matrix ticket",
        body="Body of the matrix ticket",
        access_data=SECRET,
        attachments=[SimpleUploadedFile("shot.png", PNG)],
    )
    return {"users": users, "ticket": ticket, "consultants": consultants}


def prepare(world, state: str | None) -> Ticket:
    ticket = world["ticket"]
    agent = world["users"]["line_agent"]
    if state == "taken":
        services.ticket_take(ticket=ticket, agent=agent)
    elif state == "resolved":
        services.ticket_resolve(ticket=ticket, actor=agent)
    ticket.refresh_from_db()
    return ticket


def promise_time() -> str:
    return (timezone.now() + dt.timedelta(days=1)).isoformat()


# name, method, state before, payload, expected status per role (owner, other customer,
# agent of the line, agent of another line, manager)
API_CASES = [
    ("ticket-detail", "get", None, None, [200, 404, 200, 404, 200]),
    ("ticket-history", "get", None, None, [200, 404, 200, 404, 200]),
    ("ticket-messages", "post", None, {"body": "hello"}, [201, 404, 201, 404, 201]),
    ("ticket-take", "post", None, {}, [404, 404, 200, 404, 200]),
    ("ticket-release", "post", "taken", {}, [404, 404, 200, 404, 200]),
    ("ticket-transfer", "post", None, {"line": "consultants", "reason": "engineer"}, [404, 404, 200, 404, 200]),
    ("ticket-urgency", "post", None, {"urgency": "high", "reason": "down"}, [404, 404, 200, 404, 200]),
    ("ticket-promise", "post", None, {"promised_by": "TOMORROW", "reason": ""}, [404, 404, 200, 404, 200]),
    ("ticket-resolve", "post", None, {}, [404, 404, 200, 404, 200]),
    ("ticket-confirm", "post", "resolved", {}, [200, 404, 403, 404, 403]),
    ("ticket-reopen", "post", "resolved", {"body": "still broken"}, [200, 404, 403, 404, 403]),
    ("ticket-access-data-reveal", "post", None, {}, [403, 404, 200, 404, 403]),
    # Who may not read the access data may not replace it either (a manager outside the line).
    ("ticket-access-data", "post", None, {"access_data": "new"}, [200, 404, 200, 404, 403]),
    ("ticket-templates", "get", None, None, [403, 403, 200, 404, 200]),
]


@pytest.mark.parametrize(("name", "method", "state", "payload", "expected"), API_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_api_ticket_endpoints(world, name, method, state, payload, expected, role):
    ticket = prepare(world, state)
    client = APIClient()
    client.force_authenticate(world["users"][role])
    if payload and payload.get("promised_by") == "TOMORROW":
        payload = {**payload, "promised_by": promise_time()}
    url = reverse(f"api:{name}", args=[ticket.number])
    response = getattr(client, method)(url, payload, format="json") if method == "post" else client.get(url)
    assert response.status_code == expected[ROLES.index(role)], response.content[:300]
    body = response.content.decode()
    if response.status_code >= 400:
        # A refusal tells nothing about the ticket.
        assert "Matrix ticket" not in body and "matrix ticket" not in body.lower()
    if not (name == "ticket-access-data-reveal" and response.status_code == 200):
        assert SECRET not in body


@pytest.mark.parametrize("role", ROLES)
def test_api_list_shows_only_visible_tickets_and_never_bodies_or_access_data(world, role):
    client = APIClient()
    client.force_authenticate(world["users"][role])
    response = client.get(reverse("api:ticket-list"))
    assert response.status_code == 200
    numbers = [item["number"] for item in response.json()["results"]]
    visible = role in ("owner", "line_agent", "manager")
    assert (world["ticket"].number in numbers) is visible
    body = response.content.decode()
    assert "Body of the matrix ticket" not in body
    assert SECRET not in body


@pytest.mark.parametrize(("role", "expected"), list(zip(ROLES, [200, 404, 200, 404, 200], strict=True)))
def test_api_attachment_download(world, role, expected):
    attachment = Attachment.objects.get(ticket=world["ticket"])
    client = APIClient()
    client.force_authenticate(world["users"][role])
    response = client.get(reverse("api:attachment-download", args=[attachment.id]))
    assert response.status_code == expected


@pytest.mark.parametrize(("role", "expected"), list(zip(ROLES, [403, 403, 200, 200, 200], strict=True)))
def test_api_lines_are_for_staff(world, role, expected):
    client = APIClient()
    client.force_authenticate(world["users"][role])
    assert client.get(reverse("api:line-list")).status_code == expected


def test_anonymous_callers_get_nothing_from_the_api(world):
    client = APIClient()
    number = world["ticket"].number
    for name, args in [("ticket-list", []), ("ticket-detail", [number])]:
        assert client.get(reverse(f"api:{name}", args=args)).status_code in (401, 403)
    response = client.post(reverse("api:ticket-access-data-reveal", args=[number]))
    assert response.status_code in (401, 403)
    assert SECRET not in response.content.decode()


# Pages: name, method, state, payload, expected per role. Customers' pages are 403 for
# staff (wrong area) and the other way round; inside an area, not-yours is 404.
PAGE_CASES = [
    ("panel-ticket", "get", None, None, [200, 404, 403, 403, 403]),
    ("panel-ticket-reply", "post", None, {"body": "hi"}, [302, 404, 403, 403, 403]),
    ("panel-ticket-confirm", "post", "resolved", {}, [302, 404, 403, 403, 403]),
    ("panel-ticket-reopen", "post", "resolved", {"body": "again"}, [302, 404, 403, 403, 403]),
    ("panel-ticket-access-data", "post", None, {"access_data": "x"}, [302, 404, 403, 403, 403]),
    ("desk-ticket", "get", None, None, [403, 403, 200, 404, 200]),
    ("desk-ticket-reply", "post", None, {"body": "hi", "kind": "public"}, [403, 403, 302, 404, 302]),
    ("desk-ticket-take", "post", None, {}, [403, 403, 302, 404, 302]),
    ("desk-ticket-release", "post", "taken", {}, [403, 403, 302, 404, 302]),
    ("desk-ticket-transfer", "post", None, {"line": "consultants", "reason": "x"}, [403, 403, 302, 404, 302]),
    ("desk-ticket-promise", "post", None, {"promised_by": "2099-01-01T10:00"}, [403, 403, 302, 404, 302]),
    ("desk-ticket-urgency", "post", None, {"urgency": "high", "reason": "x"}, [403, 403, 302, 404, 302]),
    ("desk-ticket-resolve", "post", None, {}, [403, 403, 302, 404, 302]),
    ("desk-ticket-reveal", "post", None, {}, [403, 403, 200, 404, 403]),
]


@pytest.mark.parametrize(("name", "method", "state", "payload", "expected"), PAGE_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_ticket_pages(client, world, name, method, state, payload, expected, role):
    ticket = prepare(world, state)
    client.force_login(world["users"][role])
    url = reverse(name, args=[ticket.number])
    response = client.post(url, payload or {}) if method == "post" else client.get(url)
    assert response.status_code == expected[ROLES.index(role)]
    body = response.content.decode()
    if response.status_code >= 400:
        assert "Matrix ticket" not in body
    if name != "desk-ticket-reveal" or response.status_code != 200:
        assert SECRET not in body


@pytest.mark.parametrize(
    ("name", "expected", "sees"),
    [
        ("panel-tickets", [200, 200, 403, 403, 403], [True, False, None, None, None]),
        ("desk-tickets", [403, 403, 200, 200, 200], [None, None, True, False, True]),
    ],
)
@pytest.mark.parametrize("role", ROLES)
def test_ticket_list_pages(client, world, name, expected, sees, role):
    client.force_login(world["users"][role])
    response = client.get(reverse(name))
    index = ROLES.index(role)
    assert response.status_code == expected[index]
    if sees[index] is not None:
        assert ("Matrix ticket" in response.content.decode()) is sees[index]


def test_a_refused_action_changes_nothing(world):
    ticket = world["ticket"]
    client = APIClient()
    client.force_authenticate(world["users"]["other_line_agent"])
    client.post(reverse("api:ticket-resolve", args=[ticket.number]))
    client.post(reverse("api:ticket-transfer", args=[ticket.number]), {"line": "consultants", "reason": "x"})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.line.code) == (Status.NEW, "first-line")


# The manager's reports (reports/): pages, their CSV exports and the API are for management only.
REPORT_PAGES = ["manage", "manage-load", "manage-fairness", "manage-forecast"]
REPORT_API = ["api:report-sla", "api:report-load", "api:report-fairness", "api:report-forecast"]
REPORT_TABLES = {
    "manage": "targets",
    "manage-load": "monthly",
    "manage-fairness": "fairness",
    "manage-forecast": "forecast",
}
REPORT_ROLES = {"customer": 403, "agent": 403, "manager": 200, "quality": 200, "admin": 200}


@pytest.mark.parametrize("name", REPORT_PAGES)
@pytest.mark.parametrize(("role", "expected"), list(REPORT_ROLES.items()))
def test_report_pages_and_exports_are_for_management(client, users_by_role, name, role, expected):
    client.force_login(users_by_role[role])
    assert client.get(reverse(name)).status_code == expected
    export = client.get(reverse(name), {"export": REPORT_TABLES[name]})
    assert export.status_code == expected
    assert ("text/csv" in export.get("Content-Type", "")) is (expected == 200)


@pytest.mark.parametrize("name", REPORT_API)
@pytest.mark.parametrize(("role", "expected"), list(REPORT_ROLES.items()))
def test_report_api_is_for_management(users_by_role, name, role, expected):
    client = APIClient()
    client.force_authenticate(users_by_role[role])
    assert client.get(reverse(name)).status_code == expected


def test_anonymous_visitors_get_no_reports(client):
    assert client.get(reverse("manage-load")).status_code == 302
    assert APIClient().get(reverse("api:report-sla")).status_code in (401, 403)
