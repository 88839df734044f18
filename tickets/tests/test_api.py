"""The tickets REST API: /api/v1/tickets/, attachments and lines."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import EventKind, Message, ReplyTemplate, Status, TicketEvent

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def line2(db):
    return LineFactory(code="second-line", name="Second line", level=2)


@pytest.fixture
def agent2(line2):
    user = AgentFactory(username="agent-b")
    line2.memberships.create(user=user)
    return user


@pytest.fixture
def customer2(db):
    return CustomerFactory(username="customer-b")


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


def url(name, *args) -> str:
    return reverse(f"api:{name}", args=args)


def make_ticket(customer, **kwargs):
    fields = {"subject": "Server does not answer", "body": "Since an hour ago."} | kwargs
    return services.ticket_create(customer=customer, **fields)


@pytest.fixture
def ticket(line, customer):
    return make_ticket(customer)


def png(name="screen.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


# --- create -------------------------------------------------------------------------------


def test_customer_opens_a_ticket(line, customer):
    response = api(customer).post(
        url("ticket-list"),
        {
            "subject": "Site is down",
            "body": "**Nothing** loads",
            "category": "tech_simple",
            "urgency": "high",
            "service": "vps-12",
            "access_data": "root / hunter2",
            "channel": "phone",  # ignored for customers
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] >= 100001
    assert body["channel"] == "api"
    assert body["status"] == "new"
    assert body["line"] == {"code": "first-line", "name": "First line"}
    assert body["body_html"] == "<p><strong>Nothing</strong> loads</p>"
    assert body["has_access_data"] is True
    assert "access_data" not in body
    assert "hunter2" not in response.content.decode()
    assert "customer" not in body
    assert body["stints"][0]["line"] == "first-line"
    assert body["stints"][0]["left_at"] is None


def test_agent_files_a_ticket_on_behalf_of_a_customer(agent, customer):
    response = api(agent).post(
        url("ticket-list"),
        {"customer": customer.username, "subject": "Called us", "body": "Mail bounces.", "channel": "phone"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer"] == customer.username
    assert body["channel"] == "phone"
    created = TicketEvent.objects.get(ticket__number=body["number"], kind=EventKind.CREATED)
    assert created.actor == agent


def test_agent_filing_defaults_to_the_api_channel_and_needs_a_known_customer(agent, customer):
    client = api(agent)
    ok = client.post(url("ticket-list"), {"customer": customer.username, "subject": "S", "body": "B"}, format="json")
    assert ok.json()["channel"] == "api"
    unknown = client.post(url("ticket-list"), {"customer": "nobody", "subject": "S", "body": "B"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "customer"
    missing = client.post(url("ticket-list"), {"subject": "S", "body": "B"}, format="json")
    assert missing.status_code == 400
    assert (missing.json()["error"], missing.json()["field"]) == ("not_a_customer", "customer")


def test_whitespace_access_data_is_no_access_data(line, customer):
    response = api(customer).post(
        url("ticket-list"), {"subject": "S", "body": "B", "access_data": "  \n "}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["has_access_data"] is False


def test_customer_cannot_file_for_another_customer(line, customer, customer2):
    response = api(customer).post(
        url("ticket-list"), {"customer": customer2.username, "subject": "S", "body": "B"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_bad_category_is_refused_with_the_field(line, customer):
    response = api(customer).post(
        url("ticket-list"), {"subject": "S", "body": "B", "category": "gossip"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "category"
    assert body["error"] == "invalid_choice"
    assert body["detail"]


def test_empty_subject_is_refused(line, customer):
    response = api(customer).post(url("ticket-list"), {"subject": "   ", "body": "B"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "subject"
    assert response.json()["error"] == "required"


def test_create_with_files_via_multipart(line, customer):
    response = api(customer).post(
        url("ticket-list"),
        {"subject": "See screenshots", "body": "Two files.", "attachments": [png("a.png"), png("b.png")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    files = response.json()["attachments"]
    assert [f["name"] for f in files] == ["a.png", "b.png"]
    assert files[0]["content_type"] == "image/png"
    assert files[0]["size"] == len(PNG)
    assert files[0]["url"].endswith(url("attachment-download", files[0]["id"]))


def test_a_file_of_a_refused_type_is_a_400_on_attachments(line, customer):
    exe = SimpleUploadedFile("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00", content_type="application/octet-stream")
    response = api(customer).post(
        url("ticket-list"), {"subject": "S", "body": "B", "attachments": [exe]}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "attachments"


# --- list ---------------------------------------------------------------------------------


def test_list_is_paginated_and_carries_no_body_or_access_data(line, customer):
    for n in range(3):
        make_ticket(customer, subject=f"Ticket {n}", access_data="secret-password-123")
    response = api(customer).get(url("ticket-list"), {"page_size": 2})
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"] is not None
    item = page["results"][0]
    assert set(item) == {
        "number",
        "subject",
        "status",
        "status_display",
        "category",
        "urgency",
        "channel",
        "line",
        "assignee",
        "created_at",
        "last_activity_at",
        "promised_by",
        "sla_deadline",
    }
    assert "secret-password-123" not in response.content.decode()
    assert api(customer).get(url("ticket-list"), {"page": 2, "page_size": 2}).json()["results"][0]["subject"] == (
        "Ticket 0"
    )


def test_page_size_is_capped(line, customer):
    for _n in range(3):
        make_ticket(customer)
    assert len(api(customer).get(url("ticket-list"), {"page_size": 1000}).json()["results"]) == 3


def test_list_shows_the_customer_only_to_staff(agent, customer):
    make_ticket(customer)
    item = api(agent).get(url("ticket-list")).json()["results"][0]
    assert item["customer"] == customer.username
    assert item["assignee"] is None


def test_list_filters(agent, customer, customer2, line2):
    billing = make_ticket(customer, subject="Invoice twice", category="billing", urgency="high")
    mine = make_ticket(customer, subject="Disk full")
    services.ticket_take(ticket=mine, agent=agent)
    other = make_ticket(customer, subject="Elsewhere")
    services.ticket_transfer(ticket=other, actor=agent, to_line=line2, reason="needs level 2")
    done = make_ticket(customer, subject="Done")
    services.ticket_resolve(ticket=done, actor=agent)
    make_ticket(customer2, subject="Not yours")
    client = api(customer)

    def numbers(**query):
        response = client.get(url("ticket-list"), query)
        assert response.status_code == 200, response.content
        return {item["number"] for item in response.json()["results"]}

    assert len(numbers()) == 4
    assert numbers(category="billing") == {billing.number}
    assert numbers(urgency="high") == {billing.number}
    assert numbers(status="in_progress") == {mine.number}
    assert numbers(line="second-line") == {other.number}
    assert numbers(open="true") == {billing.number, mine.number, other.number}
    assert numbers(open="false") == numbers()
    assert numbers(q=f"#{billing.number}") == {billing.number}
    assert numbers(q="invoice") == {billing.number}
    assert numbers(search="disk") == {mine.number}

    staff = api(agent)
    mine_only = staff.get(url("ticket-list"), {"assignee": "me"}).json()["results"]
    assert [item["number"] for item in mine_only] == [mine.number]
    assert mine_only[0]["assignee"] == "Agent-A"
    unassigned = {item["number"] for item in staff.get(url("ticket-list"), {"assignee": "none"}).json()["results"]}
    assert mine.number not in unassigned
    assert billing.number in unassigned


def test_a_bad_filter_is_a_400_with_the_field(line, customer):
    response = api(customer).get(url("ticket-list"), {"status": "sleeping"})
    assert response.status_code == 400
    assert response.json()["field"] == "status"


def test_anonymous_callers_are_refused(ticket):
    assert api().get(url("ticket-list")).status_code in (401, 403)
    assert api().get(url("ticket-detail", ticket.number)).status_code in (401, 403)


# --- detail and history -------------------------------------------------------------------


def test_detail_renders_sanitised_markdown_and_the_thread(agent, customer):
    ticket = make_ticket(customer, body="**bold** <script>alert(1)</script> [x](javascript:alert(1))")
    services.message_add(ticket=ticket, author=agent, body="Looking at it.")
    response = api(customer).get(url("ticket-detail", ticket.number))
    assert response.status_code == 200
    body = response.json()
    assert body["body"].startswith("**bold**")
    assert "<strong>bold</strong>" in body["body_html"]
    assert "<script" not in body["body_html"]
    assert "javascript:" not in body["body_html"]
    assert [(m["kind"], m["author"], m["body"]) for m in body["messages"]] == [("public", "Agent-A", "Looking at it.")]
    assert body["status"] == "in_progress"
    assert body["assignee"] == "Agent-A"
    assert body["solved_at_first_level"] is None


def test_another_customers_ticket_is_not_found(ticket, customer2):
    response = api(customer2).get(url("ticket-detail", ticket.number))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert api(customer2).get(url("ticket-history", ticket.number)).status_code == 404
    assert api(customer2).post(url("ticket-messages", ticket.number), {"body": "hi"}, format="json").status_code == 404


def test_an_agent_of_another_line_does_not_see_the_ticket(ticket, agent2):
    assert api(agent2).get(url("ticket-detail", ticket.number)).status_code == 404


def test_history_for_staff_and_the_customer(agent, customer, ticket):
    services.ticket_take(ticket=ticket, agent=agent)
    response = api(customer).get(url("ticket-history", ticket.number))
    assert response.status_code == 200
    events = response.json()
    assert [e["kind"] for e in events] == ["created", "assign", "status"]
    assert events[0]["kind_display"] == "Created"
    assert events[0]["actor"] == customer.username
    assert events[1]["actor"] == "Agent-A"
    assert events[2]["data"] == {"old": "new", "new": "in_progress", "reason": ""}


# --- messages -----------------------------------------------------------------------------


def test_customer_writes_a_reply(customer, ticket):
    response = api(customer).post(url("ticket-messages", ticket.number), {"body": "Any news?"}, format="json")
    assert response.status_code == 201, response.content
    message = response.json()
    assert message["kind"] == "public"
    assert message["author"] == customer.username
    assert message["body_html"] == "<p>Any news?</p>"


def test_customer_cannot_write_a_note(customer, ticket):
    response = api(customer).post(
        url("ticket-messages", ticket.number), {"body": "psst", "kind": "note"}, format="json"
    )
    assert response.status_code == 403


def test_agent_replies_and_waits_for_the_customer(agent, ticket):
    response = api(agent).post(
        url("ticket-messages", ticket.number), {"body": "Please reboot.", "wait_for_customer": True}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["author"] == "Agent-A"
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER
    assert ticket.assignee == agent


def test_an_empty_message_is_refused(agent, ticket):
    response = api(agent).post(url("ticket-messages", ticket.number), {"body": "  "}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_notes_and_their_files_are_invisible_to_the_customer(agent, customer, ticket):
    response = api(agent).post(
        url("ticket-messages", ticket.number),
        {"body": "Customer is on the old plan.", "kind": "note", "attachments": [png("internal.png")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["kind"] == "note"
    file_id = note["attachments"][0]["id"]

    staff_view = api(agent).get(url("ticket-detail", ticket.number)).json()
    assert [m["kind"] for m in staff_view["messages"]] == ["note"]

    client = api(customer)
    detail = client.get(url("ticket-detail", ticket.number))
    assert detail.json()["messages"] == []
    assert "old plan" not in detail.content.decode()
    history = client.get(url("ticket-history", ticket.number))
    assert [e["kind"] for e in history.json()] == ["created"]
    assert "internal.png" not in history.content.decode()
    staff_history = api(agent).get(url("ticket-history", ticket.number)).json()
    assert {"message", "attachment"} <= {e["kind"] for e in staff_history}
    assert client.get(url("attachment-download", file_id)).status_code == 404
    assert api(agent).get(url("attachment-download", file_id)).status_code == 200


# --- workflow actions ---------------------------------------------------------------------


def test_take_and_a_refused_take(agent, customer, ticket):
    response = api(agent).post(url("ticket-take", ticket.number))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"
    assert response.json()["assignee"] == "Agent-A"

    resolved = make_ticket(customer)
    services.ticket_resolve(ticket=resolved, actor=agent)
    refused = api(agent).post(url("ticket-take", resolved.number))
    assert refused.status_code == 409
    assert refused.json()["error"] == "illegal_transition"


def test_customers_cannot_take_tickets(customer, ticket):
    assert api(customer).post(url("ticket-take", ticket.number)).status_code == 404


def test_release_and_a_refused_release(agent, ticket):
    services.ticket_take(ticket=ticket, agent=agent)
    response = api(agent).post(url("ticket-release", ticket.number), {"reason": "end of shift"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "waiting_agent"
    assert response.json()["assignee"] is None
    again = api(agent).post(url("ticket-release", ticket.number))
    assert again.status_code == 409
    assert again.json()["error"] == "not_assigned"


def test_transfer_and_a_refused_transfer(agent, customer, ticket, line2):
    response = api(agent).post(
        url("ticket-transfer", ticket.number), {"line": "second-line", "reason": "needs root access"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["line"]["code"] == "second-line"
    assert body["status"] == "waiting_agent"
    assert [s["line"] for s in body["stints"]] == ["first-line", "second-line"]
    assert body["stints"][0]["left_at"] is not None
    assert body["stints"][0]["seconds"] >= 0
    assert body["messages"][-1]["kind"] == "system"

    resolved = make_ticket(customer)
    services.ticket_resolve(ticket=resolved, actor=agent)
    refused = api(agent).post(
        url("ticket-transfer", resolved.number), {"line": "second-line", "reason": "r"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "illegal_transition"


def test_transfer_to_an_unknown_line_is_a_400(agent, ticket):
    response = api(agent).post(url("ticket-transfer", ticket.number), {"line": "nowhere", "reason": "r"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "line"


def test_urgency_and_a_refused_change(agent, ticket):
    client = api(agent)
    response = client.post(
        url("ticket-urgency", ticket.number), {"urgency": "critical", "reason": "site down"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["urgency"] == "critical"
    same = client.post(url("ticket-urgency", ticket.number), {"urgency": "critical", "reason": "x"}, format="json")
    assert same.status_code == 409
    assert same.json()["error"] == "unchanged"
    no_reason = client.post(url("ticket-urgency", ticket.number), {"urgency": "normal", "reason": ""}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["field"] == "reason"


def test_promise_and_a_refused_promise(agent, customer, ticket):
    when = timezone.now() + dt.timedelta(days=1)
    client = api(agent)
    response = client.post(url("ticket-promise", ticket.number), {"promised_by": when.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    assert dt.datetime.fromisoformat(response.json()["promised_by"]) == when

    naive = when.replace(tzinfo=None).isoformat()
    response = client.post(url("ticket-promise", ticket.number), {"promised_by": naive, "reason": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "promised_by"

    services.ticket_resolve(ticket=ticket, actor=agent)
    refused = client.post(url("ticket-promise", ticket.number), {"promised_by": when.isoformat()}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"] == "illegal_transition"


def test_resolve_and_a_refused_resolve(agent, ticket):
    response = api(agent).post(url("ticket-resolve", ticket.number))
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["resolved_at"] is not None
    again = api(agent).post(url("ticket-resolve", ticket.number))
    assert again.status_code == 409
    assert again.json()["error"] == "illegal_transition"


def test_confirm_closes_and_wipes_the_access_data(agent, customer):
    ticket = make_ticket(customer, access_data="root:pw")
    refused = api(customer).post(url("ticket-confirm", ticket.number))
    assert refused.status_code == 409
    assert refused.json()["error"] == "illegal_transition"

    services.ticket_resolve(ticket=ticket, actor=agent)
    assert api(agent).post(url("ticket-confirm", ticket.number)).status_code == 403
    response = api(customer).post(url("ticket-confirm", ticket.number))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "closed"
    assert body["has_access_data"] is False
    assert body["solved_at_first_level"] is True


def test_reopen_and_a_refused_reopen(agent, customer, ticket):
    refused = api(customer).post(url("ticket-reopen", ticket.number), {"body": "Still broken"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"] == "illegal_transition"

    services.ticket_resolve(ticket=ticket, actor=agent)
    response = api(customer).post(url("ticket-reopen", ticket.number), {"body": "Still broken"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "waiting_agent"
    assert body["messages"][-1]["body"] == "Still broken"


# --- access data --------------------------------------------------------------------------


def test_access_data_is_stored_and_revealed_only_to_the_current_line(agent, agent2, customer, ticket, line2):
    stored = api(customer).post(
        url("ticket-access-data", ticket.number), {"access_data": "root / s3cret"}, format="json"
    )
    assert stored.status_code == 200, stored.content
    assert stored.json()["has_access_data"] is True
    assert "s3cret" not in stored.content.decode()

    revealed = api(agent).post(url("ticket-access-data-reveal", ticket.number))
    assert revealed.status_code == 200
    assert revealed.json() == {"access_data": "root / s3cret"}
    assert revealed["Cache-Control"] == "no-store"
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SECRET_REVEAL, actor=agent).count() == 1

    denied = api(customer).post(url("ticket-access-data-reveal", ticket.number))
    assert denied.status_code == 403

    # After a transfer the first agent still sees the ticket, but no longer its access data.
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=line2, reason="level 2")
    assert api(agent).post(url("ticket-access-data-reveal", ticket.number)).status_code == 403
    assert api(agent2).post(url("ticket-access-data-reveal", ticket.number)).json() == {"access_data": "root / s3cret"}


def test_access_data_of_another_line_is_refused(agent, agent2, customer, line2):
    ticket = make_ticket(customer, access_data="pw")
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=line2, reason="level 2")
    response = api(agent).post(url("ticket-access-data-reveal", ticket.number))
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SECRET_REVEAL).exists()


def test_empty_access_data_is_refused(customer, ticket):
    response = api(customer).post(url("ticket-access-data", ticket.number), {"access_data": " "}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "access_data"


def test_revealing_missing_access_data_is_a_404(agent, ticket):
    response = api(agent).post(url("ticket-access-data-reveal", ticket.number))
    assert response.status_code == 404
    assert response.json()["error"] == "no_secret"


# --- attachments --------------------------------------------------------------------------


def test_upload_with_a_reply_and_download(customer, customer2, agent, ticket):
    response = api(customer).post(
        url("ticket-messages", ticket.number),
        {"body": "Here is the log.", "attachments": [SimpleUploadedFile("журнал ошибок.txt", b"error 502\n")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    file = response.json()["attachments"][0]
    assert file["name"] == "журнал ошибок.txt"
    assert file["content_type"] == "text/plain"

    download = api(agent).get(url("attachment-download", file["id"]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"error 502\n"
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%D0%B6%D1%83%D1%80%D0%BD%D0%B0%D0%BB" in disposition
    assert download["Content-Type"] == "application/octet-stream"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"

    assert api(customer2).get(url("attachment-download", file["id"])).status_code == 404
    assert api(customer).get(url("attachment-download", 999999)).status_code == 404


def test_images_keep_their_type_on_download(customer, ticket):
    response = api(customer).post(
        url("ticket-messages", ticket.number), {"body": "Screenshot", "attachments": [png()]}, format="multipart"
    )
    file_id = response.json()["attachments"][0]["id"]
    download = api(customer).get(url("attachment-download", file_id), HTTP_ACCEPT="image/png")
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert 'filename="screen.png"' in download["Content-Disposition"]
    assert download["Content-Length"] == str(len(PNG))


# --- templates and lines ------------------------------------------------------------------


def test_templates_are_rendered_for_the_ticket_and_agent(agent, customer, ticket, line):
    ReplyTemplate.objects.create(
        line=line,
        code="hello",
        language="en",
        title="Hello",
        body="Hello {customer_name}, ticket {ticket_number} is with {agent_name}.",
    )
    ReplyTemplate.objects.create(line=line, code="hello", language="ru", title="Привет", body="Здравствуйте!")
    response = api(agent).get(url("ticket-templates", ticket.number), {"language": "en"})
    assert response.status_code == 200
    [template] = response.json()
    assert template["code"] == "hello"
    assert template["rendered"] == f"Hello {customer.username}, ticket {ticket.number} is with Agent-A."
    assert "{customer_name}" in template["body"]
    assert len(api(agent).get(url("ticket-templates", ticket.number)).json()) == 2


def test_templates_in_the_tickets_language_come_first(agent, ticket, line):
    for position, language in enumerate(("en", "ru", "en", "ru")):
        ReplyTemplate.objects.create(
            line=line,
            code=f"t{position}",
            language=language,
            title=f"{language}-{position}",
            body="x",
            position=position,
        )
    titles = lambda: [row["title"] for row in api(agent).get(url("ticket-templates", ticket.number)).json()]  # noqa: E731
    ticket.language = "ru"
    ticket.save(update_fields=["language"])
    assert titles() == ["ru-1", "ru-3", "en-0", "en-2"]
    ticket.language = "en"
    ticket.save(update_fields=["language"])
    assert titles() == ["en-0", "en-2", "ru-1", "ru-3"]


def test_templates_are_for_staff_only(customer, ticket):
    assert api(customer).get(url("ticket-templates", ticket.number)).status_code == 403


def test_lines_for_staff_only(agent, customer, ticket, line, line2):
    LineFactory(code="archive", name="Archive", level=3, is_active=False)
    assert api(customer).get(url("line-list")).status_code == 403
    response = api(agent).get(url("line-list"))
    assert response.status_code == 200
    assert [item["code"] for item in response.json()] == ["first-line", "second-line"]
    assert response.json()[0] == {"code": "first-line", "name": "First line", "kind": "tier", "level": 1}
    targets = api(agent).get(url("line-list"), {"ticket": ticket.number}).json()
    assert [item["code"] for item in targets] == ["second-line"]


# --- schema -------------------------------------------------------------------------------


def test_the_schema_is_valid_and_documents_the_tickets_api(client):
    response = client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    paths = schema["paths"]
    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/{number}/",
        "/api/v1/tickets/{number}/history/",
        "/api/v1/tickets/{number}/messages/",
        "/api/v1/tickets/{number}/take/",
        "/api/v1/tickets/{number}/release/",
        "/api/v1/tickets/{number}/transfer/",
        "/api/v1/tickets/{number}/urgency/",
        "/api/v1/tickets/{number}/promise/",
        "/api/v1/tickets/{number}/resolve/",
        "/api/v1/tickets/{number}/confirm/",
        "/api/v1/tickets/{number}/reopen/",
        "/api/v1/tickets/{number}/access-data/",
        "/api/v1/tickets/{number}/templates/",
        "/api/v1/lines/",
    ):
        assert path in paths, path
    assert any(path.startswith("/api/v1/attachments/") for path in paths)
    components = schema["components"]["schemas"]
    assert "access_data" not in components["TicketDetail"]["properties"]
    assert "body" not in components["TicketListItem"]["properties"]
    assert components["TicketCreateRequest"]["properties"]["access_data"]["writeOnly"] is True
    assert "multipart/form-data" in paths["/api/v1/tickets/"]["post"]["requestBody"]["content"]


def test_messages_of_the_system_have_no_author(agent, ticket, line2):
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=line2, reason="level 2")
    messages = api(agent).get(url("ticket-detail", ticket.number)).json()["messages"]
    assert messages[-1]["kind"] == Message.Kind.SYSTEM
    assert messages[-1]["author"] is None
