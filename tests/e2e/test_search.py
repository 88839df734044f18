"""Full-text search in a real browser: the workspace's and the panel's lists with their
highlights, in English and Russian, at 1366 and 375 px. Screenshots go to docs/screenshots/."""

from pathlib import Path

import pytest

from accounts.tests.factories import AgentFactory, CustomerFactory, OrganisationFactory
from queues.models import Line, RoutingRule
from tickets import services

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Chromium at /usr/bin/chromium"),
]

PASSWORD = "secret-password"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCALES = {"en": "en-US", "ru": "ru-RU"}


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


@pytest.fixture
def search_data(db):
    first = Line.objects.create(
        code="first-line", name="First line", name_ru="Первая линия", kind=Line.Kind.TIER, level=1
    )
    RoutingRule.objects.create(category="general", line=first)
    agent = AgentFactory(username="olga", first_name="Olga", last_name="Smirnova")
    first.memberships.create(user=agent)
    customer = CustomerFactory(
        username="wind",
        first_name="Anna",
        last_name="Vetrova",
        email="anna@severny-veter.example",
        organisation=OrganisationFactory(name="ООО «Северный ветер»"),
    )
    down = services.ticket_create(
        customer=customer, subject="Сервер vps-msk-0142 не отвечает", body="С утра сервер недоступен, ошибка 502."
    )
    services.message_add(
        ticket=down,
        author=agent,
        body="Перезагрузили оба сервера, <b>nginx</b> отвечает; traceroute до 10.0.0.7 чистый.",
    )
    services.ticket_create(customer=customer, subject="Nginx returns 502 Bad Gateway", body="Since the servers moved.")
    services.ticket_create(customer=customer, subject="Счёт за март", body="Пришлите, пожалуйста, счёт.")
    return {"agent": agent, "customer": customer}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_search_lists_with_highlights(new_page, search_data, language):
    for user in search_data.values():
        user.language = language
        user.save(update_fields=["language"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    for username, path, name in (
        ("olga", "/desk/tickets/?open=0&q=сервера", "desk-search"),
        ("wind", "/panel/tickets/?q=502", "panel-search"),
    ):
        page = new_page(locale=LOCALES[language])
        log_in(page, username)
        for width, height in ((1366, 800), (375, 740)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(path)
            marks = page.locator("[data-testid=ticket-list] mark")
            assert marks.count() >= 2
            assert page.locator("[data-testid=ticket-list] b").count() == 0  # the typed <b> stays text
            assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
            page.screenshot(path=str(SHOTS / f"{name}-{width}-{language}.png"), full_page=True)
