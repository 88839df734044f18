"""A ticket's whole life in a real browser, in English and in Russian.

The customer files a ticket with a screenshot, a first-line agent answers with a reply
template and passes it to the consultants, a consultant marks it solved and the customer
confirms, which closes it.
"""

import re
import struct
import zlib
from pathlib import Path

import pytest

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.models import Line, LineMembership, RoutingRule
from tickets.models import Attachment, EventKind, ReplyTemplate, Status, Ticket, TicketEvent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="no Chromium at /usr/bin/chromium; install the Debian package `chromium` (.ci/run does)",
    ),
]

PASSWORD = "secret-password"
# The browser first asks for the other language, so the switch in the top bar really changes it.
OTHER_LOCALE = {"en": "ru-RU", "ru": "en-US"}
LOG_IN = {"en": "Log in", "ru": "Войти"}
CLOSED = {"en": "Closed", "ru": "Закрыто"}


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x2a\x80\xd0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "/accounts/login/" not in page.url, f"{username} could not log in"


def submit(page, form) -> None:
    """Submit a form and wait for the page it leads to."""
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


@pytest.fixture
def journey_data(language):
    consultants = Line.objects.create(
        code="consultants", name="Consultants", name_ru="Консультанты", kind=Line.Kind.TIER, level=2
    )
    first_line = Line.objects.create(
        code="first-line",
        name="First line",
        name_ru="Первая линия",
        kind=Line.Kind.TIER,
        level=1,
        next_line=consultants,
    )
    RoutingRule.objects.create(category="general", line=first_line)
    template = ReplyTemplate.objects.create(
        line=first_line,
        code="greeting",
        language=language,
        title="Greeting",
        body="Hello {customer_name}, ticket {ticket_number}, {agent_name}",
    )
    customer = CustomerFactory(username="olga", first_name="Olga", language=language)
    agent = AgentFactory(username="first-agent", language=language)
    LineMembership.objects.create(line=first_line, user=agent)
    consultant = AgentFactory(username="consultant", language=language)
    LineMembership.objects.create(line=consultants, user=consultant)
    return {
        "customer": customer,
        "agent": agent,
        "consultant": consultant,
        "template": template,
        "first_line": first_line,
        "consultants": consultants,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_ticket_journey_from_filing_to_closing(language, journey_data, new_page, media_root, tmp_path):
    from playwright.sync_api import expect

    data = journey_data
    subject = f"Website down ({language})"
    screenshot = tmp_path / "screenshot.png"
    screenshot.write_bytes(png_bytes())

    # 1. The customer switches the language on the login page and logs in.
    customer_page = new_page(locale=OTHER_LOCALE[language])
    customer_page.goto("/accounts/login/")
    expect(customer_page.locator("html")).to_have_attribute("lang", OTHER_LOCALE[language][:2])
    with customer_page.expect_navigation():
        customer_page.locator("#language-select").select_option(language)
    expect(customer_page.locator("html")).to_have_attribute("lang", language)
    expect(customer_page.locator("main").get_by_role("button", name=LOG_IN[language])).to_be_visible()
    log_in(customer_page, data["customer"].username)
    expect(customer_page.locator("html")).to_have_attribute("lang", language)

    # 2. The customer files a ticket with a screenshot.
    customer_page.goto("/panel/tickets/new/")
    ticket_form = customer_page.get_by_test_id("ticket-form")
    ticket_form.locator("[name=subject]").fill(subject)
    ticket_form.locator("[name=category]").select_option("general")
    ticket_form.locator("[name=body]").fill("The site answers **502** since this morning.")
    ticket_form.locator("input[name=attachments]").set_input_files(str(screenshot))
    submit(customer_page, ticket_form)
    expect(customer_page).to_have_url(re.compile(r"/panel/tickets/\d+/$"))
    ticket = Ticket.objects.get(subject=subject)
    expect(customer_page.locator("h1")).to_have_text(f"#{ticket.number} {subject}")
    attachment_link = customer_page.get_by_test_id("attachment")
    expect(attachment_link).to_have_text("screenshot.png")
    download = customer_page.request.get(attachment_link.get_attribute("href"))
    assert download.status == 200
    assert download.body() == screenshot.read_bytes()
    assert ticket.line == data["first_line"]

    # 3. The first-line agent answers with the greeting template and passes the ticket on.
    agent_page = new_page(locale=OTHER_LOCALE[language])
    log_in(agent_page, data["agent"].username)
    expect(agent_page.locator("html")).to_have_attribute("lang", language)
    agent_page.goto("/desk/tickets/")
    with agent_page.expect_navigation():
        agent_page.get_by_test_id("ticket-list").get_by_role("link", name=f"#{ticket.number}").click()
    expect(agent_page).to_have_url(re.compile(rf"/desk/tickets/{ticket.number}/$"))
    agent_page.get_by_test_id("template-select").select_option(str(data["template"].id))
    reply_text = f"Hello Olga, ticket {ticket.number}, {data['agent'].display_name}"
    body = agent_page.locator("#id_body")
    expect(body).to_have_value(re.compile("Olga"))
    expect(body).to_have_value(re.compile(rf"\b{ticket.number}\b"))
    expect(body).to_have_value(reply_text)
    submit(agent_page, agent_page.get_by_test_id("reply-form"))
    expect(agent_page.get_by_test_id("message-public")).to_contain_text(reply_text)

    transfer_form = agent_page.get_by_test_id("transfer-form")
    transfer_form.locator("[name=line]").select_option("consultants")
    transfer_form.locator("[name=reason]").fill("Needs an engineer")
    submit(agent_page, transfer_form)
    if re.search(rf"/desk/tickets/{ticket.number}/$", agent_page.url):
        # The agent worked on it, so they still see it, now in the consultants' line.
        expect(agent_page.get_by_test_id("line")).to_have_text(data["consultants"].localized_name(language))
        expect(agent_page.get_by_test_id("transfer-form")).to_have_count(0)
    else:
        expect(agent_page).to_have_url(re.compile(r"/desk/tickets/$"))
    ticket.refresh_from_db()
    assert ticket.line == data["consultants"]

    # 4. A consultant marks it solved.
    consultant_page = new_page(locale=OTHER_LOCALE[language])
    log_in(consultant_page, data["consultant"].username)
    consultant_page.goto(f"/desk/tickets/{ticket.number}/")
    expect(consultant_page.get_by_test_id("line")).to_have_text(data["consultants"].localized_name(language))
    with consultant_page.expect_navigation():
        consultant_page.get_by_test_id("resolve").click()
    expect(consultant_page.get_by_test_id("status")).to_have_class(re.compile(r"\bstatus-resolved\b"))
    # The history reads in the consultant's language: the lines by their names, the reason as typed.
    names = {line.code: line.localized_name(language) for line in Line.objects.all()}
    history = consultant_page.get_by_test_id("history")
    expect(history).to_contain_text(f"{names['first-line']} → {names['consultants']}")
    expect(history).to_contain_text("Needs an engineer")

    # 5. The customer sees the answer and confirms the solution.
    customer_page.reload()
    expect(customer_page.get_by_test_id("message-public")).to_contain_text(reply_text)
    with customer_page.expect_navigation():
        customer_page.get_by_test_id("confirm").click()
    status = customer_page.get_by_test_id("status")
    expect(status).to_have_class(re.compile(r"\bstatus-closed\b"))
    expect(status).to_have_text(CLOSED[language])
    expect(customer_page.get_by_test_id("confirm")).to_have_count(0)

    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    transfer = TicketEvent.objects.get(ticket=ticket, kind=EventKind.TRANSFER)
    assert transfer.actor == data["agent"]
    assert transfer.data["new"] == "consultants"
    assert transfer.data["reason"] == "Needs an engineer"
    files = Attachment.objects.filter(ticket=ticket)
    assert [(f.original_name, f.content_type, f.message_id) for f in files] == [("screenshot.png", "image/png", None)]
    assert Path(files[0].file.path).read_bytes() == screenshot.read_bytes()
