"""Incidents in a real browser: the provider's monitoring opens one through the API, the customer's
panel shows the banner, the ticket form shows the incident of the service chosen, and subscribing
instead of filing is counted. Screenshots of the status page and the banner are taken in both
languages, at desktop width and at 375 px (into $HELPDESK_SCREENSHOTS when set)."""

import json
import os
import urllib.request
from pathlib import Path

import pytest

from accounts.tests.factories import CustomerFactory
from queues.models import Line, RoutingRule
from status.models import Subscription
from status.tests.factories import catalogue, token, uses
from tests.e2e.test_csp import Watched
from tickets.models import Ticket

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="no Chromium at /usr/bin/chromium; install the Debian package `chromium` (.ci/run does)",
    ),
]

PASSWORD = "secret-password"
WIDTHS = {"desktop": 1280, "phone": 375}
BANNER = {"en": "Known problem with your services", "ru": "Известная проблема с вашими услугами"}
SERVICE = {"en": "Cloud servers — Moscow (MSK-1)", "ru": "Облачные серверы — Москва (MSK-1)"}


@pytest.fixture
def screenshots(tmp_path):
    directory = Path(os.environ.get("HELPDESK_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def open_through_the_api(base_url: str, key: str) -> dict:
    body = {
        "title": "Moscow data centre: servers unreachable",
        "severity": "major",
        "components": ["cloud-msk1"],
        "body": "Our monitoring sees packet loss on the MSK-1 core switches. Engineers are on it.",
        "external_id": "zabbix-4711",
    }
    request = urllib.request.Request(  # noqa: S310 - the live test server
        base_url + "/api/v1/status/incidents/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "/accounts/login/" not in page.url


@pytest.mark.parametrize("language", ["en", "ru"])
def test_an_incident_from_the_monitoring_reaches_the_customers_panel_and_ticket_form(
    new_page, live_server, screenshots, language
):
    Line.objects.create(code="first-line", name="First line", kind=Line.Kind.TIER, level=1)
    RoutingRule.objects.create(category="general", line=Line.objects.get())
    components = catalogue()
    customer = CustomerFactory(username=f"status-{language}", language=language)
    uses(customer, components["msk"])
    _token, key = token()

    incident = open_through_the_api(live_server.url, key)

    locale = "ru-RU" if language == "ru" else "en-US"
    for name, width in WIDTHS.items():
        page = new_page(locale=locale)
        page.set_viewport_size({"width": width, "height": 900})
        watched = Watched(page)
        watched.visit(f"/status/?lang={language}")
        assert page.get_by_test_id("active-incident").count() == 1
        assert incident["title"] in page.get_by_test_id("active-incident").inner_text()
        assert page.locator(".status-days").first.locator("li").count() == 90
        page.screenshot(path=str(screenshots / f"status-page-{language}-{name}.png"), full_page=True)

    page = new_page(locale=locale)
    page.set_viewport_size({"width": 375, "height": 800})
    watched = Watched(page)
    log_in(page, customer.username)
    watched.visit("/panel/")
    banner = page.get_by_test_id("incident-banner")
    assert BANNER[language] in banner.inner_text() and incident["title"] in banner.inner_text()
    page.screenshot(path=str(screenshots / f"panel-banner-{language}-phone.png"), full_page=True)

    watched.visit("/panel/tickets/new/")
    service = page.locator("#id_service")
    service.fill(SERVICE[language])
    service.press("Tab")
    notice = page.get_by_test_id("service-incident")
    notice.wait_for()
    assert incident["title"] in notice.inner_text()
    page.screenshot(path=str(screenshots / f"ticket-form-{language}-phone.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_test_id("subscribe-instead").click()
    assert page.url.endswith("/panel/")
    watched.assert_clean("after subscribing")

    subscription = Subscription.objects.get(user=customer)
    assert subscription.deflected and subscription.via == "ticket_form"
    assert not Ticket.objects.filter(customer=customer).exists()
    # The banner now says the updates come by e-mail.
    assert page.get_by_test_id("incident-banner").locator("button").count() == 0
