"""A first-line agent's morning in the workspace's list, in a real browser, in English and in
Russian, on a laptop (1366 px) and on a phone (375 px): a view shared with the line, a ticket
taken by keyboard, two tickets transferred at once, two merged. Screenshots go to
docs/screenshots/workspace-*.png.
"""

import re
from pathlib import Path

import pytest

from accounts.models import AgentProfile
from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.models import Line, LineMembership, RoutingRule
from tickets import services
from tickets.models import EventKind, Status, Ticket, TicketEvent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Chromium at /usr/bin/chromium"),
]

PASSWORD = "secret-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCALE = {"en": "en-US", "ru": "ru-RU"}
HEIGHT = {1366: 768, 375: 812}
SUBJECTS = [
    ("Nginx answers 502 on vps-1187", "critical", "olga"),
    ("Site is down after the PHP update", "critical", "olga"),
    ("Cannot log in to the control panel", "high", "pavel"),
    ("How do I add a second IP address?", "normal", "pavel"),
    ("Backups stopped on the 14th", "high", "irina"),
    ("Invoice for March is missing", "normal", "irina"),
    ("SSL certificate does not renew", "critical", "dmitry"),
    ("Mail goes to spam at Gmail", "normal", "dmitry"),
]


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def shoot(page, name: str, language: str, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"workspace-{name}-{language}-{width}.png"), full_page=True)


@pytest.fixture
def desk(language):
    consultants = Line.objects.create(
        code="consultants", name="Technical consultants", name_ru="Технические консультанты", kind="tier", level=2
    )
    first = Line.objects.create(
        code="first-line",
        name="Customer care (first line)",
        name_ru="Служба заботы о клиентах (первая линия)",
        kind="tier",
        level=1,
        next_line=consultants,
    )
    for category in ("general", "tech_simple", "billing"):
        RoutingRule.objects.create(category=category, line=first)
    agent = AgentFactory(username="anna", language=language)
    AgentProfile.objects.update_or_create(
        user=agent, defaults={"display_name": "Анна Петрова" if language == "ru" else "Anna Petrova"}
    )
    lead = AgentFactory(username="lead", language=language)
    colleague = AgentFactory(username="boris", first_name="Boris", last_name="Smirnov")
    for user in (agent, lead, colleague):
        LineMembership.objects.create(line=first, user=user)
    names = {
        "olga": ("Olga", "Ivanova"),
        "pavel": ("Pavel", "Sokolov"),
        "irina": ("Irina", "Volkova"),
        "dmitry": ("Dmitry", "Orlov"),
    }
    customers = {
        login: CustomerFactory(username=login, first_name=first_name, last_name=last_name)
        for login, (first_name, last_name) in names.items()
    }
    tickets = [
        services.ticket_create(customer=customers[who], subject=subject, body=f"{subject}.", urgency=urgency)
        for subject, urgency, who in SUBJECTS
    ]
    services.ticket_take(ticket=tickets[7], agent=colleague)
    services.ticket_tag(ticket=tickets[2], actor=lead, name="panel")
    view = services.saved_view_create(
        actor=lead,
        name="Критичные" if language == "ru" else "Critical",
        filters={"urgency": ["critical"], "open": True},
        sort="number",
        line=first,
    )
    return {"agent": agent, "first": first, "consultants": consultants, "tickets": tickets, "view": view}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1366, 375])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_first_line_agent_works_the_list(language, width, desk, browser, live_server):
    from playwright.sync_api import expect

    context = browser.new_context(
        base_url=live_server.url, locale=LOCALE[language], viewport={"width": width, "height": HEIGHT[width]}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        tickets = desk["tickets"]
        log_in(page, desk["agent"].username)
        page.goto("/desk/tickets/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        rows = page.get_by_test_id("ticket-row")
        expect(rows).to_have_count(len(tickets))
        # People by name, lines by a short label, every deadline cell filled.
        expect(page.get_by_test_id("ticket-list")).to_contain_text("Olga Ivanova")
        expect(page.get_by_test_id("sla-badge")).to_have_count(len(tickets))
        if width == 1366:
            # One line per ticket: every row as tall as the first.
            heights = {round(box["height"]) for box in (rows.nth(i).bounding_box() for i in range(len(tickets)))}
            assert max(heights) < 40, heights
        no_sideways_scroll(page)
        shoot(page, "list", language, width)

        # 1. The view shared with the first line: the critical ones, by number.
        with page.expect_navigation():
            page.get_by_test_id(f"view-{desk['view'].pk}").click()
        critical = [t.number for t in tickets if t.urgency == "critical"]
        expect(rows).to_have_count(len(critical))
        assert [int(n) for n in rows.evaluate_all("rows => rows.map(r => r.dataset.number)")] == critical
        no_sideways_scroll(page)
        shoot(page, "view", language, width)

        # 2. The keyboard: j moves to the first ticket, t takes it.
        if width == 1366:
            page.keyboard.press("?")
            expect(page.get_by_test_id("shortcuts")).to_be_visible()
            shoot(page, "shortcuts", language, width)
            page.keyboard.press("Escape")
            expect(page.get_by_test_id("shortcuts")).to_be_hidden()
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("j")
        expect(rows.first).to_have_class(re.compile(r"\bws-focus\b"))
        with page.expect_navigation():
            page.keyboard.press("t")
        taken = Ticket.objects.get(number=critical[0])
        assert taken.assignee_id == desk["agent"].id
        expect(page).to_have_url(re.compile(rf"/desk/tickets/{taken.number}/$"))

        # 3. Two tickets transferred to the consultants at once, with a reason.
        page.goto("/desk/tickets/?sort=number")
        pavel = [t.number for t in tickets if t.customer.username == "pavel"]
        for number in pavel:
            page.locator(f"tr[data-number='{number}'] input[name=tickets]").check()
        expect(page.locator("[data-ws-selected]")).to_contain_text("2")
        page.get_by_test_id("bulk-action").select_option("transfer")
        page.get_by_test_id("bulk-line").select_option("consultants")
        page.get_by_test_id("bulk-reason").fill("Needs an engineer")
        no_sideways_scroll(page)
        shoot(page, "bulk", language, width)
        with page.expect_navigation():
            page.get_by_test_id("bulk-apply").click()
        expect(page.locator(".messages .success")).to_contain_text(", ".join(f"#{n}" for n in pavel))
        for number in pavel:
            ticket = Ticket.objects.get(number=number)
            assert ticket.line == desk["consultants"]
            transfer = TicketEvent.objects.get(ticket=ticket, kind=EventKind.TRANSFER)
            assert (transfer.actor, transfer.data["reason"]) == (desk["agent"], "Needs an engineer")

        # 4. Olga wrote twice about the same outage: the second is merged into the first.
        olga = [t.number for t in tickets if t.customer.username == "olga"]
        page.goto("/desk/tickets/?sort=number")
        for number in olga:
            page.locator(f"tr[data-number='{number}'] input[name=tickets]").check()
        page.get_by_test_id("bulk-action").select_option("merge")
        page.get_by_test_id("bulk-into").fill(str(olga[0]))
        with page.expect_navigation():
            page.get_by_test_id("bulk-apply").click()
        expect(page.locator(".messages .success")).to_contain_text(f"#{olga[0]}")
        merged = Ticket.objects.get(number=olga[1])
        assert (merged.status, merged.merged_into.number) == (Status.CLOSED, olga[0])
        no_sideways_scroll(page)
        shoot(page, "merged", language, width)
        page.goto(f"/desk/tickets/{olga[0]}/")
        expect(page.get_by_test_id("together")).to_contain_text(f"#{olga[1]}")
        no_sideways_scroll(page)
        shoot(page, "survivor", language, width)
    finally:
        context.close()
