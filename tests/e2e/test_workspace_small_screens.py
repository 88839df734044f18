"""The customer at a glance and the small screen, in a real browser, in English and Russian.

Every main page of the control panel and the workspace at 375 px: nothing makes the page
scroll sideways (lists become cards or scroll in their own box). The workspace's customer panel
and customer page at 1366 and 375 px, the customer lookup while filing a ticket, and a reply
template inserted at the cursor. Screenshots go to docs/screenshots/.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Plan
from accounts.tests.factories import AgentFactory, CustomerFactory, OrganisationFactory, PlanFactory
from queues.models import Line, RoutingRule
from tickets import services
from tickets.models import ReplyTemplate

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
    assert "/accounts/login/" not in page.url


@pytest.fixture
def desk_data(db):
    first = Line.objects.create(
        code="first-line", name="First line", name_ru="Первая линия", kind=Line.Kind.TIER, level=1
    )
    Line.objects.create(code="consultants", name="Consultants", name_ru="Консультанты", kind=Line.Kind.TIER, level=2)
    RoutingRule.objects.create(category="general", line=first)
    RoutingRule.objects.create(category="admin_work", line=first)
    agent = AgentFactory(username="olga", first_name="Olga", last_name="Smirnova", time_zone="Europe/Moscow")
    first.memberships.create(user=agent)
    organisation = OrganisationFactory(name="ООО «Северный ветер»")
    customer = CustomerFactory(
        username="wind", first_name="Anna", last_name="Vetrova", email="anna.vetrova@severny-veter.example",
        organisation=organisation, time_zone="Europe/Moscow",
    )  # fmt: skip
    profile = customer.customer_profile
    profile.support_plan = PlanFactory(code="business", name="Business", level=2)
    profile.admin_package = PlanFactory(
        code="admin-basic", name="Admin basic", kind=Plan.Kind.ADMIN_PACKAGE, tasks_per_month=5, level=0
    )
    profile.spend_12m = Decimal("42000")
    profile.is_vip = True
    profile.customer_since = timezone.localdate() - dt.timedelta(days=3 * 365 + 70)
    profile.save()
    old = services.ticket_create(customer=customer, subject="Не открывается phpMyAdmin", body="Ошибка 502.")
    services.ticket_take(ticket=old, agent=agent)
    services.message_add(ticket=old, author=agent, body="Перезапустили php-fpm, проверьте, пожалуйста.")
    services.ticket_resolve(ticket=old, actor=agent)
    services.ticket_confirm(ticket=old, customer=customer)
    services.ticket_create(customer=customer, subject="Настроить резервное копирование", body="Ежедневно.",
                           category="admin_work")  # fmt: skip
    ticket = services.ticket_create(
        customer=customer,
        subject="Сайт severny-veter.example открывается очень медленно после переноса на новый сервер",
        body="После переноса на сервер vps-msk-0142.example.net страницы грузятся по 20–30 секунд; "
        "логи: /var/log/nginx/severny-veter.example.error.log",
    )
    ReplyTemplate.objects.create(line=first, code="greeting", language="ru", title="Приветствие",
                                 body="Здравствуйте, {customer_name}! Смотрим обращение #{ticket_number}.")  # fmt: skip
    return {"agent": agent, "customer": customer, "ticket": ticket}


def no_sideways_scroll(page) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_main_pages_fit_375_px_and_the_customer_panel(new_page, desk_data, language):
    agent, customer, ticket = desk_data["agent"], desk_data["customer"], desk_data["ticket"]
    for user in (agent, customer):
        user.language = language
        user.save(update_fields=["language"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    too_wide = {}

    def visit(page, path, name, *, shot=True):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        extra = no_sideways_scroll(page)
        if extra > 0:
            too_wide[name] = extra
        if shot:
            page.screenshot(path=str(SHOTS / f"{name}-375-{language}.png"), full_page=True)

    # The customer's control panel.
    page = new_page(locale=LOCALES[language])
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "wind")
    visit(page, "/panel/", "panel-home")
    visit(page, "/panel/tickets/", "panel-list")
    visit(page, f"/panel/tickets/{ticket.number}/", "panel-ticket")
    visit(page, "/panel/tickets/new/", "panel-new", shot=False)
    visit(page, "/accounts/settings/", "settings", shot=False)

    # The agent's workspace.
    page = new_page(locale=LOCALES[language])
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "olga")
    visit(page, "/desk/", "desk-home")
    visit(page, "/desk/tickets/", "desk-list")
    visit(page, f"/desk/tickets/{ticket.number}/", "desk-ticket")
    visit(page, f"/desk/customers/{customer.pk}/", "desk-customer")
    visit(page, "/desk/tickets/new/", "desk-new", shot=False)
    visit(page, "/desk/notifications/", "desk-notifications", shot=False)
    visit(page, "/accounts/settings/", "desk-settings", shot=False)
    assert too_wide == {}, f"pages wider than 375 px: {too_wide}"

    # Wide: the ticket page with the customer panel, and the customer page.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/desk/tickets/{ticket.number}/")
    card = page.locator("[data-testid=customer-card]")
    assert "Anna Vetrova" in card.inner_text() and "Business" in card.inner_text()
    page.screenshot(path=str(SHOTS / f"desk-customer-panel-{language}.png"), full_page=True)

    # A template goes in where the cursor is; what the agent typed stays.
    body = page.locator("#id_body")
    body.fill("Добрый день.\nПодпись")
    body.evaluate("el => el.setSelectionRange(13, 13)")
    page.select_option("[data-testid=template-select]", label="Приветствие (ru)")
    text = body.input_value()
    assert text.startswith("Добрый день.\nЗдравствуйте, Anna Vetrova!") and text.endswith("\nПодпись")

    page.goto(f"/desk/customers/{customer.pk}/")
    assert "Не открывается phpMyAdmin" in page.locator("[data-testid=customer-history]").inner_text()
    page.screenshot(path=str(SHOTS / f"desk-customer-1366-{language}.png"), full_page=True)

    # Filing a ticket on the customer's behalf: the lookup finds her by organisation as one types.
    page.goto("/desk/tickets/new/")
    page.locator("[data-testid=customer-field]").press_sequentially("северный", delay=30)
    hit = page.locator("[data-testid=customer-hit]").first
    hit.wait_for()
    page.screenshot(path=str(SHOTS / f"desk-customer-lookup-{language}.png"), full_page=False)
    hit.click()
    assert page.locator("[data-testid=customer-field]").input_value() == "wind"
