"""The Content-Security-Policy in a real browser: the main pages of every area, the admin
and Swagger UI load and work without the browser reporting a single violation, and the
access data is revealed through htmx's POST."""

from pathlib import Path

import pytest

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, ManagerFactory, UserFactory
from queues.models import Line, LineMembership, RoutingRule
from tickets import services

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="no Chromium at /usr/bin/chromium; install the Debian package `chromium` (.ci/run does)",
    ),
]

PASSWORD = "secret-password"
ACCESS_DATA = "ssh root@203.0.113.9 password: csp-e2e-Pa55!"

# Recorded in the page before any of its own scripts run (Playwright's init scripts are not
# subject to the page's policy), so a violation is caught even when nothing is logged.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " at " +
    event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.fixture
def site(db):
    line = Line.objects.create(code="first-line", name="First line", kind=Line.Kind.TIER, level=1)
    RoutingRule.objects.create(category="general", line=line)
    customer = CustomerFactory(username="csp-customer")
    agent = AgentFactory(username="csp-agent")
    LineMembership.objects.create(line=line, user=agent)
    manager = ManagerFactory(username="csp-manager")
    admin = UserFactory(username="csp-admin", role=Role.ADMIN, is_staff=True, is_superuser=True)
    ticket = services.ticket_create(
        customer=customer, subject="Mail server down", body="Since the morning.", access_data=ACCESS_DATA
    )
    return {"customer": customer, "agent": agent, "manager": manager, "admin": admin, "ticket": ticket}


class Watched:
    """A page whose console and violation events are collected."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def _on_console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or "Refused to" in text:
            self.console.append(text)

    def visit(self, path: str, *, status: int = 200) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)
        self.page.wait_for_load_state("load")
        self.assert_clean(path)

    def assert_clean(self, where: str) -> None:
        violations = self.page.evaluate("window.__cspViolations || []")
        assert violations == [], f"{where}: {violations}"
        assert self.console == [], f"{where}: {self.console}"


def log_in(watched: Watched, username: str) -> None:
    page = watched.page
    watched.visit("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "/accounts/login/" not in page.url, f"{username} could not log in"
    watched.assert_clean(f"after {username} logged in")


@pytest.mark.django_db(transaction=True)
def test_public_and_customer_pages_report_no_violation(site, new_page):
    watched = Watched(new_page())
    watched.visit("/help/contact/")
    watched.visit("/no-such-page/", status=404)
    log_in(watched, site["customer"].username)
    number = site["ticket"].number
    for path in ("/panel/", "/panel/tickets/", "/panel/tickets/new/", f"/panel/tickets/{number}/"):
        watched.visit(path)
    watched.visit("/panel/tickets/999999/", status=404)
    watched.visit("/desk/", status=403)
    # The language switch is the base template's script at work (app.js, no inline handler).
    with watched.page.expect_navigation():
        watched.page.locator("#language-select").select_option("ru")
    assert watched.page.locator("html").get_attribute("lang") == "ru"
    watched.assert_clean("after switching the language")


@pytest.mark.django_db(transaction=True)
def test_agent_reveals_access_data_through_htmx_without_violation(site, new_page):
    from playwright.sync_api import expect

    watched = Watched(new_page())
    log_in(watched, site["agent"].username)
    number = site["ticket"].number
    for path in ("/desk/", "/desk/tickets/", f"/desk/tickets/{number}/"):
        watched.visit(path)
    page = watched.page
    # htmx swaps the answer in place: no navigation, so the POST went through htmx with its CSRF header.
    page.get_by_test_id("reveal").click()
    expect(page.locator("#access-data")).to_contain_text(ACCESS_DATA)
    assert page.url.endswith(f"/desk/tickets/{number}/")
    watched.assert_clean("after revealing the access data")
    watched.visit("/desk/tickets/999999/", status=404)


@pytest.mark.django_db(transaction=True)
def test_manager_pages_report_no_violation(site, new_page):
    watched = Watched(new_page())
    log_in(watched, site["manager"].username)
    for path in ("/manage/", "/manage/queue/"):
        watched.visit(path)
    watched.visit("/manage/nothing-here/", status=404)


@pytest.mark.django_db(transaction=True)
def test_admin_and_swagger_ui_work_under_their_policies(site, new_page):
    from playwright.sync_api import expect

    watched = Watched(new_page())
    page = watched.page
    watched.visit("/admin/login/")
    page.locator("input[name=username]").fill(site["admin"].username)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("input[type=submit]").click()
    watched.assert_clean("admin login")
    watched.visit("/admin/")
    watched.visit("/admin/accounts/user/")
    watched.visit(f"/admin/accounts/user/{site['customer'].pk}/change/")
    watched.visit(f"/admin/tickets/ticket/{site['ticket'].pk}/change/")

    # DRF's browsable API, what a browser gets from the API's addresses.
    watched.visit("/api/v1/")
    watched.visit("/api/v1/me/")

    watched.visit("/api/docs/")
    # Swagger UI drew the operations from the schema: its scripts ran. Building the schema of
    # the whole API takes a few seconds on a busy machine.
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=60_000)
    watched.assert_clean("Swagger UI after rendering")
