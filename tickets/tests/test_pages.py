"""Ticket pages of the control panel and the workspace: forms, actions, lists, safety."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tickets import services
from tickets.models import Attachment, EventKind, Message, ReplyTemplate, Status, Ticket
from tickets.tests.factories import TicketFactory
from tickets.tests.helpers import active_markup

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def consultants(db, line):
    consultants = LineFactory(code="consultants", name="Consultants", level=2)
    line.next_line = consultants
    line.save()
    return consultants


@pytest.fixture
def ticket(customer, line):
    RoutingRule.objects.create(category="general", line=line)
    return services.ticket_create(customer=customer, subject="Site is slow", body="Since **Monday**.")


def test_customer_files_a_ticket_with_a_file_from_the_panel(client, customer, line):
    client.force_login(customer)
    response = client.post(
        reverse("panel-ticket-new"),
        {
            "subject": "Nginx answers 502",
            "body": "Since the update.",
            "category": "tech_medium",
            "urgency": "high",
            "service": "vps-1234",
            "attachments": [SimpleUploadedFile("error.png", PNG, content_type="image/png")],
        },
    )
    ticket = Ticket.objects.get(subject="Nginx answers 502")
    assert response.status_code == 302
    assert response["Location"] == reverse("panel-ticket", args=[ticket.number])
    assert (ticket.customer, ticket.urgency, ticket.service, ticket.line) == (customer, "high", "vps-1234", line)
    assert Attachment.objects.get(ticket=ticket).original_name == "error.png"
    page = client.get(response["Location"]).content.decode()
    assert "error.png" in page and "Nginx answers 502" in page


def test_panel_form_keeps_the_input_and_explains_a_refused_file(client, customer, line):
    client.force_login(customer)
    response = client.post(
        reverse("panel-ticket-new"),
        {
            "subject": "Logs",
            "body": "See attached.",
            "category": "general",
            "urgency": "normal",
            "attachments": [SimpleUploadedFile("tool.png", b"MZ\x90\x00" + b"\x00" * 100)],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "not a file type we accept" in html
    assert 'value="Logs"' in html
    assert not Ticket.objects.exists()


def test_panel_list_is_paginated_and_searchable(client, customer, line):
    for i in range(25):
        TicketFactory(customer=customer, line=line, subject=f"Question {i:02d}")
    TicketFactory(customer=customer, line=line, subject="Backup restore")
    client.force_login(customer)
    first = client.get(reverse("panel-tickets"))
    assert len(first.context["page"].object_list) == 20
    assert first.context["page"].paginator.count == 26
    found = client.get(reverse("panel-tickets"), {"q": "backup"})
    assert [t.subject for t in found.context["page"]] == ["Backup restore"]


@pytest.mark.parametrize("rows", [5, 40])
def test_list_pages_use_a_fixed_number_of_queries(client, customer, agent, line, rows, django_assert_max_num_queries):
    TicketFactory.create_batch(rows, customer=customer, line=line)
    client.force_login(customer)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("panel-tickets")).status_code == 200
    client.force_login(agent)
    # The workspace's list also reads the saved views, their counts (one statement for all), the
    # tags and the lines of its bulk bar; the page itself is read in two steps (LateRowPaginator).
    with django_assert_max_num_queries(14):
        assert client.get(reverse("desk-tickets")).status_code == 200


def test_customer_replies_confirms_and_reopens_from_the_panel(client, customer, agent, ticket):
    client.force_login(customer)
    client.post(reverse("panel-ticket-reply", args=[ticket.number]), {"body": "More details."})
    assert ticket.messages.filter(author=customer, body="More details.").exists()
    services.ticket_resolve(ticket=ticket, actor=agent)
    client.post(reverse("panel-ticket-confirm", args=[ticket.number]))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    client.post(reverse("panel-ticket-reopen", args=[ticket.number]), {"body": "It broke again."})
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_AGENT


def test_a_refused_action_shows_its_reason(client, customer, ticket):
    client.force_login(customer)
    response = client.post(reverse("panel-ticket-confirm", args=[ticket.number]), follow=True)
    assert "cannot become" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_agent_takes_answers_with_a_template_and_transfers(client, agent, ticket, line, consultants):
    ReplyTemplate.objects.create(
        line=line, code="hi", language="en", title="Hi", body="Hello {customer_name}, #{ticket_number}"
    )
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number]))
    assert f"Hello {ticket.customer.get_username()}, #{ticket.number}" in page.content.decode()
    client.post(reverse("desk-ticket-take", args=[ticket.number]))
    client.post(reverse("desk-ticket-reply", args=[ticket.number]), {"body": "Looking.", "kind": "public"})
    client.post(reverse("desk-ticket-reply", args=[ticket.number]), {"body": "Check nginx", "kind": "note"})
    response = client.post(
        reverse("desk-ticket-transfer", args=[ticket.number]), {"line": "consultants", "reason": "Needs an engineer"}
    )
    ticket.refresh_from_db()
    assert ticket.line == consultants
    assert ticket.first_response_at is not None
    transfer = ticket.events.get(kind=EventKind.TRANSFER)
    assert transfer.data["reason"] == "Needs an engineer"
    # The agent worked on it, so they still see it and are sent back to it.
    assert response["Location"] == reverse("desk-ticket", args=[ticket.number])


def test_customer_never_sees_internal_notes(client, customer, agent, ticket):
    services.message_add(ticket=ticket, author=agent, body="Customer is on an old kernel", kind=Message.Kind.NOTE)
    client.force_login(customer)
    assert "old kernel" not in client.get(reverse("panel-ticket", args=[ticket.number])).content.decode()


def test_reveal_shows_access_data_once_in_the_response_and_records_it(client, customer, agent, line):
    RoutingRule.objects.create(category="general", line=line)
    ticket = services.ticket_create(customer=customer, subject="Fix", body="Please", access_data="root / S3cr3t!")
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert "S3cr3t" not in page
    response = client.post(reverse("desk-ticket-reveal", args=[ticket.number]))
    assert "S3cr3t!" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert ticket.events.filter(kind=EventKind.SECRET_REVEAL, actor=agent).count() == 1
    assert "S3cr3t" not in str(dict(client.session))


def test_agent_of_another_line_cannot_reveal(client, customer, line):
    RoutingRule.objects.create(category="general", line=line)
    ticket = services.ticket_create(customer=customer, subject="Fix", body="Please", access_data="root / S3cr3t!")
    outsider = AgentFactory(username="finance-agent")
    LineFactory(code="finance", kind="department", level=None).memberships.create(user=outsider)
    client.force_login(outsider)
    response = client.post(reverse("desk-ticket-reveal", args=[ticket.number]))
    assert response.status_code == 404
    assert "S3cr3t" not in response.content.decode()


def test_agent_files_a_ticket_on_a_customers_behalf(client, agent, customer, line):
    RoutingRule.objects.create(category="general", line=line)
    client.force_login(agent)
    response = client.post(
        reverse("desk-ticket-new"),
        {
            "customer": customer.username,
            "channel": "phone",
            "subject": "Called about DNS",
            "body": "Wants an A record.",
            "category": "general",
            "urgency": "normal",
        },
    )
    ticket = Ticket.objects.get(subject="Called about DNS")
    assert response.status_code == 302
    assert (ticket.customer, ticket.channel) == (customer, "phone")
    assert ticket.events.get(kind=EventKind.CREATED).actor == agent


XSS_SUBJECT = '<script>alert("s")</script><img src=x onerror=alert(1)>'
XSS_BODY = (
    '[click](javascript:alert(2)) <img src=x onerror="alert(3)"> <script>alert(4)</script> '
    '<a href="data:text/html,x">d</a>'
)
XSS_FILENAME = '"><img src=x onerror=alert(5)>.png'


def assert_inert(html: str) -> None:
    assert active_markup(html) == []


def test_stored_xss_in_subject_body_and_file_name_renders_inert_on_every_page(client, customer, agent, manager, line):
    RoutingRule.objects.create(category="general", line=line)
    ticket = services.ticket_create(
        customer=customer,
        subject=XSS_SUBJECT,
        body=XSS_BODY,
        attachments=[SimpleUploadedFile(XSS_FILENAME, PNG)],
    )
    services.message_add(ticket=ticket, author=agent, body=XSS_BODY)
    pages = {
        customer: ["panel", "panel-tickets", ("panel-ticket", ticket.number)],
        agent: ["desk", "desk-tickets", ("desk-ticket", ticket.number)],
        manager: ["manage", "desk-tickets", ("desk-ticket", ticket.number)],
    }
    for user, names in pages.items():
        client.force_login(user)
        for name in names:
            url = reverse(name[0], args=[name[1]]) if isinstance(name, tuple) else reverse(name)
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert_inert(html)
    client.force_login(customer)
    html = client.get(reverse("panel-ticket", args=[ticket.number])).content.decode()
    assert "&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt;" in html  # shown as text, not run


def test_other_customers_get_404_on_every_ticket_page(client, ticket):
    stranger = CustomerFactory(username="stranger")
    client.force_login(stranger)
    for name in ["panel-ticket"]:
        assert client.get(reverse(name, args=[ticket.number])).status_code == 404
    for name in ["panel-ticket-reply", "panel-ticket-confirm", "panel-ticket-reopen", "panel-ticket-access-data"]:
        assert client.post(reverse(name, args=[ticket.number]), {"body": "x", "access_data": "x"}).status_code == 404
    assert ticket.messages.count() == 0


def test_colleagues_see_the_organisations_tickets_only_when_allowed(client, line):
    from accounts.tests.factories import OrganisationFactory

    organisation = OrganisationFactory()
    author = CustomerFactory(username="author", organisation=organisation)
    colleague = CustomerFactory(username="colleague", organisation=organisation)
    ticket = TicketFactory(customer=author, organisation=organisation, line=line, subject="Company VPS")
    client.force_login(colleague)
    assert client.get(reverse("panel-ticket", args=[ticket.number])).status_code == 404
    colleague.customer_profile.can_see_organisation_tickets = True
    colleague.customer_profile.save()
    assert client.get(reverse("panel-ticket", args=[ticket.number])).status_code == 200
    assert "Company VPS" in client.get(reverse("panel-tickets")).content.decode()
