"""The whole product in one journey, in a real browser, in English and in Russian, against the whole
stack started by the test: uvicorn serving the ASGI application (pages and WebSockets), a Celery
worker and Celery beat, all on the test's database and Redis (tests/stack.py).

A customer searches the help centre, is shown articles while filing, files a ticket with an
attachment and access data, sees their place in the queue and the wait, buys a boost, chats with
the bot and then a person; a first-line agent takes the next ticket (theirs, thanks to the boost),
answers with a template and transfers it to the consultants; a consultant reads the access data
and answers; an incident is opened on the service the ticket names and resolved with one reply to
its tickets (the worker answers them; the status page shows it); the customer rates that reply and
confirms the resolution; the manager's dashboard and the quality desk show it. Each step is
photographed at 1366 px into docs/screenshots/journey/NN-step-<lang>.png.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext, ngettext

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, UserFactory
from chat.models import Chat, ChatMessage, ChatSettings, ChatStatus
from knowledge.demo import upsert_demo_help_centre
from notifications.models import Notification
from quality.models import QualitySettings, Rating, ReviewItem
from queues import services as queue_services
from queues.models import BalanceEntry, Boost, BoostKind, BoostPrice, Line, LineMembership, RoutingRule
from queues.selectors import queue_position
from status.models import Incident
from status.tests.factories import catalogue, uses
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.e2e.test_help_centre import EXPECTED_TITLE, SUGGESTED, TYPO
from tests.stack import Stack, purge_broker
from tickets import services as ticket_services
from tickets.models import Attachment, EventKind, Message, ReplyTemplate, Status, Ticket, TicketEvent, TicketSecret

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium"),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "journey"
LOCALES = {"en": "en-US", "ru": "ru-RU"}
VIEWPORT = {"width": 1366, "height": 900}
# The worker answers the incident's tickets; beat sends the e-mails waiting in the outbox.
WORKER_TIMEOUT = 60

SUBJECT = {"en": "site shows 502 bad gateway", "ru": "сайт выдаёт ошибку 502 bad gateway"}
BODY = {
    "en": "Since this morning the site on my server in MSK-1 answers **502**.",
    "ru": "С утра сайт на моём сервере в MSK-1 отвечает **502**.",
}
SERVICE = {"en": "Cloud servers — Moscow (MSK-1)", "ru": "Облачные серверы — Москва (MSK-1)"}
ACCESS = "ssh root@203.0.113.7 password: Tr0ub4dor&3"
CHAT_QUESTION = {"en": "502 bad gateway", "ru": "ошибка 502 bad gateway"}
CHAT_HELLO = {
    "en": "Hello Olga, Anna here. I see your ticket.",
    "ru": "Здравствуйте, Ольга, это Анна. Вижу ваше обращение.",
}
CHAT_REPLY = {"en": "Thanks, I will wait for the engineers.", "ru": "Спасибо, подожду инженеров."}
TEMPLATE = {
    "en": ("Greeting", "Hello {customer_name}, this is {agent_name}. Ticket {ticket_number} is with us."),
    "ru": ("Приветствие", "Здравствуйте, {customer_name}! Это {agent_name}. Обращение {ticket_number} у нас."),
}
REASON = {"en": "Needs an engineer", "ru": "Нужен инженер"}
CONSULTANT_REPLY = {
    "en": "The hypervisor of your server in MSK-1 is overloaded; we are moving the server.",
    "ru": "Гипервизор вашего сервера в MSK-1 перегружен; переносим сервер.",
}
INCIDENT_TITLE = {"en": "MSK-1: hypervisors overloaded", "ru": "MSK-1: гипервизоры перегружены"}
INCIDENT_BODY = {"en": "Servers in MSK-1 answer slowly.", "ru": "Серверы в MSK-1 отвечают медленно."}
RESOLUTION = {
    "en": "The load is spread again; all servers answer.",
    "ru": "Нагрузка снова распределена; серверы отвечают.",
}
INCIDENT_REPLY = {
    "en": "The overload in MSK-1 is over and your site answers again. Sorry for the trouble.",
    "ru": "Перегрузка в MSK-1 устранена, ваш сайт снова отвечает. Приносим извинения.",
}


def said(language: str, msgid: str, plural: str | None = None, count: int = 1, **values) -> str:
    """What the page says for `msgid` in `language`; a Russian page must really be translated."""
    with translation.override(language):
        text = ngettext(msgid, plural, count) if plural else gettext(msgid)
    if language != "en":
        assert text != (plural if plural and count != 1 else msgid), f"no {language} wording for {msgid!r}"
    return text % values if values else text


def shoot(page, number: int, step: str, language: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{number:02d}-{step}-{language}.png"), full_page=True)


def wait_until(predicate, what: str, stack: Stack, timeout: float = WORKER_TIMEOUT):
    """Poll the database (through the models) until the stack's processes have done `what`."""
    return stack.wait_for(predicate, timeout, what, every=0.25)


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module; each person gets a context of their own.

    Playwright's sync API keeps an event loop running in this thread while it is open, so
    Django's async-safety check is lifted for as long (the test's own queries, the database's
    flush between tests) and restored afterwards, as tests/e2e/conftest.py does."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def processes(django_db_setup, django_db_blocker, tmp_path_factory):
    """uvicorn, a Celery worker and Celery beat, started together once for the module (both
    languages) on the test database, which each test empties after itself."""
    directory = tmp_path_factory.mktemp("stack")
    with django_db_blocker.unblock():
        purge_broker()
        # The key this process signs its sessions with: under `helpdesk.embedded exec` the tests run
        # with the local settings, while the processes run with the test settings.
        env = {"DJANGO_MEDIA_ROOT": str(directory / "media"), "DJANGO_SECRET_KEY": settings.SECRET_KEY}
        running = Stack(directory, env=env)
        try:
            web = running.web("web")
            worker = running.celery_worker("worker")
            running.celery_beat()
            running.webs, running.workers = [web], [worker]
            running.wait_http(web)
            running.wait_log(worker, "ready.")
            yield running
        finally:
            running.stop()


@pytest.fixture
def stack(processes, transactional_db, settings):
    """The module's processes, for a test whose data they must see committed (transactional_db)."""
    settings.MEDIA_ROOT = processes.directory / "media"
    processes.check_alive("the previous test")
    return processes


@pytest.fixture
def product(transactional_db, language):
    """A small provider: the help centre, two support lines, chat, the status catalogue, boosts."""
    upsert_demo_help_centre()
    consultants = Line.objects.create(
        code="consultants", name="Technical consultants", name_ru="Технические консультанты", kind="tier", level=2
    )
    first = Line.objects.create(
        code="first-line", name="First line", name_ru="Первая линия", kind="tier", level=1, next_line=consultants
    )
    for category in ("general", "tech_simple"):
        RoutingRule.objects.create(category=category, line=first)
    ChatSettings.objects.create(line=first)
    QualitySettings.objects.create(pk=1, like_sample_percent=100)
    BoostPrice.objects.create(kind=BoostKind.FRONT, price=Decimal("200.00"))
    BoostPrice.objects.create(kind=BoostKind.BEHIND_FIRST, price=Decimal("50.00"))
    components = catalogue()

    customer = CustomerFactory(username="olga", first_name="Olga", last_name="Smirnova", language=language)
    uses(customer, components["msk"])
    queue_services.balance_credit(customer=customer, amount=Decimal("500.00"), description="Top-up")
    anna = AgentFactory(username="anna", first_name="Anna", last_name="Ivanova", language=language)
    anna.agent_profile.display_name = "Анна Иванова" if language == "ru" else "Anna Ivanova"
    anna.agent_profile.save()
    colleague = AgentFactory(username="boris", first_name="Boris", last_name="Petrov")
    consultant = AgentFactory(username="kirill", first_name="Kirill", last_name="Orlov", language=language)
    for user in (anna, colleague):
        LineMembership.objects.create(line=first, user=user)
    LineMembership.objects.create(line=consultants, user=consultant)
    manager = UserFactory(username="maria", first_name="Maria", role=Role.MANAGER, language=language)
    title, body = TEMPLATE[language]
    template = ReplyTemplate.objects.create(line=first, code="greeting", language=language, title=title, body=body)

    # The morning so far: five tickets taken in the last hour (the line's pace, for the estimate)
    # and two still waiting, filed before the customer's.
    others = [CustomerFactory(username=f"customer-{n}") for n in range(7)]
    for n, other in enumerate(others[:5]):
        taken = ticket_services.ticket_create(customer=other, subject=f"Mail question {n}", body="How do I?")
        ticket_services.ticket_take(ticket=taken, agent=colleague)
    waiting = [
        ticket_services.ticket_create(customer=other, subject=f"Invoice question {n}", body="Where is it?")
        for n, other in enumerate(others[5:])
    ]
    return {
        "customer": customer,
        "anna": anna,
        "consultant": consultant,
        "manager": manager,
        "first": first,
        "consultants": consultants,
        "template": template,
        "msk": components["msk"],
        "waiting": waiting,
    }


def person(chromium, stack: Stack, user, language: str):
    """A page of `user`'s own browser, signed in through a session made for them."""
    client = Client()
    client.force_login(user)
    url = stack.webs[0].url
    context = chromium.new_context(base_url=url, locale=LOCALES[language], viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url},
            {"name": "django_language", "value": language, "url": url},
        ]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def submit(page, form) -> None:
    """Send a form by its main button (the last one: the filing form has others among its hints)."""
    with page.expect_navigation():
        form.locator("button[type=submit]").last.click()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_whole_product_in_one_journey(language, product, stack, chromium, tmp_path):
    from playwright.sync_api import expect

    data = product
    customer, anna, consultant = data["customer"], data["anna"], data["consultant"]
    attachment = tmp_path / "traceroute.txt"
    attachment.write_text("traceroute to 203.0.113.7\n 1  gw.msk1  0.4 ms\n 2  * * *\n")
    pages = []
    try:
        # 1. The customer searches the help centre, with a typo, and finds the article.
        panel = person(chromium, stack, customer, language)
        pages.append(panel)
        panel.goto("/help/")
        expect(panel.locator("html")).to_have_attribute("lang", language)
        panel.get_by_test_id("help-search").press_sequentially(TYPO[language], delay=10)
        hits = panel.get_by_test_id("help-hits")
        expect(hits.locator("li").first.locator("a.help-hit-title")).to_have_text(EXPECTED_TITLE[language])
        shoot(panel, 1, "help-search", language)

        # 2. Filing: the subject typed brings up articles that may answer it.
        panel.goto("/panel/tickets/new/")
        form = panel.get_by_test_id("ticket-form")
        form.locator("[name=category]").select_option("general")
        form.locator("#id_subject").press_sequentially(SUBJECT[language], delay=10)
        suggestions = panel.locator("#deflect-suggestions").get_by_test_id("suggestion-link")
        expect(suggestions.filter(has_text=SUGGESTED[language])).to_have_count(1)
        form.locator("#id_service").fill(SERVICE[language])
        form.locator("#id_body").fill(BODY[language])
        form.locator("#id_access_data").fill(ACCESS)
        form.locator("input[name=attachments]").set_input_files(str(attachment))
        shoot(panel, 2, "filing-suggestions", language)
        submit(panel, form)
        expect(panel).to_have_url(re.compile(r"/panel/tickets/\d+/$"))
        ticket = Ticket.objects.get(customer=customer)
        assert (ticket.subject, ticket.line, ticket.service) == (SUBJECT[language], data["first"], SERVICE[language])
        secret_row = TicketSecret.objects.get(ticket=ticket)
        assert ACCESS.encode() not in bytes(secret_row.ciphertext)  # stored encrypted
        (stored,) = Attachment.objects.filter(ticket=ticket)
        assert stored.original_name == "traceroute.txt"
        assert Path(stored.file.path).read_bytes() == attachment.read_bytes()
        expect(panel.get_by_test_id("attachment")).to_have_text("traceroute.txt")
        expect(panel.locator("main")).to_contain_text(
            said(language, "Access data is stored encrypted and will be deleted when the ticket closes.")
        )

        # 3. Their place in the queue and the wait: behind the two filed before.
        position = queue_position(ticket=ticket)
        assert position == 3
        line_name = data["first"].localized_name(language)
        standing = panel.get_by_test_id("standing")
        expect(standing).to_contain_text(
            said(language, "You are number %(n)s in the queue of the line “%(line)s”.", n=position, line=line_name)
        )
        estimate = panel.get_by_test_id("estimate")
        pace = said(language, "The line takes %(pace)s requests an hour, measured over the last %(hours)s h.",
                    pace="PACE", hours=1)  # fmt: skip
        expect(estimate).to_contain_text(re.compile(re.escape(pace).replace("PACE", r"5[.,]0")))
        expect(panel.get_by_test_id("live-bar")).to_have_attribute("data-state", "live")
        shoot(panel, 3, "queue-and-wait", language)

        # 4. A boost to the front of the queue, paid from the balance after confirming.
        front = panel.get_by_test_id("boost-front")
        expect(front).to_contain_text("200")
        panel.once("dialog", lambda dialog: dialog.accept())
        with panel.expect_navigation():
            front.click()
        expect(standing).to_contain_text(
            said(language, "You are number %(n)s in the queue of the line “%(line)s”.", n=1, line=line_name)
        )
        boost = Boost.objects.get(ticket=ticket)
        assert (boost.kind, boost.customer) == (BoostKind.FRONT, customer)
        assert queue_position(ticket=Ticket.objects.get(pk=ticket.pk)) == 1
        charges = BalanceEntry.objects.filter(customer=customer, kind=BalanceEntry.Kind.CHARGE)
        assert [entry.amount for entry in charges] == [Decimal("-200.00")]
        shoot(panel, 4, "boost", language)

        # 5. The chat: the bot answers from the help centre, then the customer asks for a person.
        widget = person(chromium, stack, customer, language)
        pages.append(widget)
        widget.goto("/panel/chat/")
        widget.locator("[data-role=start] button[type=submit]").click()
        widget.locator(".chat-msg.from-bot").first.wait_for()
        widget.locator("#chat-input").fill(CHAT_QUESTION[language])
        widget.locator("[data-role=compose] button[type=submit]").click()
        articles = widget.locator(".chat-articles a")
        expect(articles.filter(has_text="502")).not_to_have_count(0)
        widget.locator("[data-action=handoff]").click()
        chat = wait_until(
            lambda: Chat.objects.filter(customer=customer, status=ChatStatus.WAITING).first(), "the chat to wait", stack
        )
        expect(widget.locator("[data-role=conn][data-state=online]")).to_have_count(1)
        shoot(widget, 5, "chat-bot", language)

        # 6. Anna of the first line accepts the chat and answers; the customer writes back.
        desk = person(chromium, stack, anna, language)
        pages.append(desk)
        desk.goto("/desk/chat/")
        desk.locator("[data-role=waiting] [data-accept]").first.click()
        desk.locator("[data-role=current]").wait_for()
        desk.locator("#console-input").fill(CHAT_HELLO[language])
        desk.locator("[data-role=compose] button[type=submit]").click()
        expect(widget.locator(".chat-msg.from-agent").filter(has_text=CHAT_HELLO[language])).to_have_count(1)
        widget.locator("#chat-input").fill(CHAT_REPLY[language])
        widget.locator("[data-role=compose] button[type=submit]").click()
        expect(desk.locator(".chat-msg.from-customer").filter(has_text=CHAT_REPLY[language])).to_have_count(1)
        chat.refresh_from_db()
        assert (chat.status, chat.agent) == (ChatStatus.ACTIVE, anna)
        talk = list(
            ChatMessage.objects.filter(chat=chat, author_kind__in=["agent", "customer"])
            .order_by("seq")
            .values_list("author_kind", "body")
        )
        assert talk[-2:] == [("agent", CHAT_HELLO[language]), ("customer", CHAT_REPLY[language])]
        shoot(widget, 6, "chat-person", language)

        # 7. Anna takes the next ticket: the customer's, bought to the front.
        desk.goto("/desk/tickets/")
        take = desk.get_by_test_id("take-next")
        expect(take).to_have_text(said(language, "Take next"))
        with desk.expect_navigation():
            take.click()
        expect(desk).to_have_url(re.compile(rf"/desk/tickets/{ticket.number}/$"))
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.status) == (anna, Status.IN_PROGRESS)
        assert all(Ticket.objects.get(pk=w.pk).assignee is None for w in data["waiting"])

        # 8. She answers with the line's template, filled in, and transfers to the consultants.
        desk.get_by_test_id("template-select").select_option(str(data["template"].id))
        greeting = data["template"].body.format(
            customer_name=customer.display_name, agent_name=anna.display_name, ticket_number=ticket.number
        )
        expect(desk.locator("#id_body")).to_have_value(greeting)
        submit(desk, desk.get_by_test_id("reply-form"))
        expect(desk.get_by_test_id("message-public")).to_contain_text(greeting)
        transfer = desk.get_by_test_id("transfer-form")
        transfer.locator("[name=line]").select_option("consultants")
        transfer.locator("[name=reason]").fill(REASON[language])
        shoot(desk, 7, "take-next-and-template", language)
        submit(desk, transfer)
        ticket.refresh_from_db()
        assert ticket.line == data["consultants"]
        moved = TicketEvent.objects.get(ticket=ticket, kind=EventKind.TRANSFER)
        assert (moved.actor, moved.data["new"], moved.data["reason"]) == (anna, "consultants", REASON[language])
        assert Message.objects.filter(ticket=ticket, author=anna, body=greeting).count() == 1
        shoot(desk, 8, "transferred", language)

        # 9. Kirill, a consultant, takes it, reads the access data (recorded) and answers.
        engineer = person(chromium, stack, consultant, language)
        pages.append(engineer)
        engineer.goto(f"/desk/tickets/{ticket.number}/")
        expect(engineer.get_by_test_id("line")).to_have_text(data["consultants"].localized_name(language))
        with engineer.expect_navigation():
            engineer.get_by_test_id("take").click()
        engineer.get_by_test_id("reveal").click()
        secret = engineer.get_by_test_id("access-data")
        expect(secret).to_contain_text(ACCESS)
        expect(secret).to_contain_text(said(language, "Revealed to you; this is recorded in the ticket's history."))
        engineer.locator("#id_body").fill(CONSULTANT_REPLY[language])
        submit(engineer, engineer.get_by_test_id("reply-form"))
        expect(engineer.get_by_test_id("message-public").filter(has_text=CONSULTANT_REPLY[language])).to_have_count(1)
        ticket.refresh_from_db()
        assert ticket.assignee == consultant
        shoot(engineer, 9, "consultant-answers", language)

        # 10. An incident on MSK-1: opened, the ticket linked, resolved with one reply to its tickets.
        engineer.goto("/desk/status/incidents/new/")
        incident_form = engineer.get_by_test_id("incident-form")
        incident_form.locator("[name=title]").fill(INCIDENT_TITLE[language])
        incident_form.locator(f"input[name=components][value='{data['msk'].pk}']").check()
        incident_form.locator("[name=body]").fill(INCIDENT_BODY[language])
        submit(engineer, incident_form)
        incident = Incident.objects.get(title=INCIDENT_TITLE[language])
        expect(engineer).to_have_url(re.compile(rf"/desk/status/incidents/{incident.pk}/$"))
        link = engineer.locator(f"form[action$='/incidents/{incident.pk}/link/']")
        link.locator("[name=numbers]").fill(str(ticket.number))
        submit(engineer, link)
        expect(engineer.get_by_test_id("linked-tickets")).to_contain_text(f"#{ticket.number}")
        resolve = engineer.get_by_test_id("resolve-form")
        resolve.locator("[name=body]").fill(RESOLUTION[language])
        resolve.locator("[name=reply]").fill(INCIDENT_REPLY[language])
        shoot(engineer, 10, "incident", language)
        submit(engineer, resolve)
        # The worker answers the linked tickets, each with the one reply, and resolves them.
        wait_until(
            lambda: Ticket.objects.filter(pk=ticket.pk, status=Status.RESOLVED).exists(),
            "the worker to answer the incident's tickets",
            stack,
        )
        incident.refresh_from_db()
        assert incident.resolved_at is not None
        answer = Message.objects.get(ticket=ticket, body=INCIDENT_REPLY[language])
        assert answer.author == consultant
        engineer.goto(f"/status/?lang={language}")
        expect(engineer.locator("main")).to_contain_text(INCIDENT_TITLE[language])
        expect(engineer.locator("main")).to_contain_text(RESOLUTION[language])
        assert engineer.get_by_test_id("active-incident").count() == 0
        shoot(engineer, 11, "status-page", language)

        # 12. The customer's page shows the answer without a reload; they like it and confirm.
        panel.bring_to_front()
        thread = panel.locator('[data-live-region="thread"]')
        expect(thread).to_contain_text(INCIDENT_REPLY[language], timeout=WORKER_TIMEOUT * 1000)
        rate = panel.get_by_test_id(f"rating-{answer.id}")
        rate.locator("label.rating-like").click()
        rate.get_by_test_id("rate-submit").click()
        expect(panel.locator(f"#rate-{answer.id} .rating-saved")).to_have_text(
            said(language, "Thank you for your rating.")
        )
        rating = Rating.objects.get(message=answer)
        assert (rating.verdict, rating.agent, rating.line) == ("like", consultant, data["consultants"])
        confirm = panel.get_by_test_id("confirm")
        expect(confirm).to_have_text(said(language, "Yes, it is solved"))
        shoot(panel, 12, "rate-and-confirm", language)
        with panel.expect_navigation():
            confirm.click()
        status = panel.get_by_test_id("status")
        expect(status).to_have_class(re.compile(r"\bstatus-closed\b"))
        expect(status).to_have_text(said(language, "Closed"))
        ticket.refresh_from_db()
        assert ticket.status == Status.CLOSED
        shoot(panel, 13, "closed", language)

        # Beat drained the outbox and the worker sent the customer's e-mails.
        wait_until(
            lambda: (
                Notification.objects.filter(
                    ticket=ticket, recipient=customer, kind=Notification.Kind.REPLY, status=Notification.Status.SENT
                ).count()
                >= 2
            ),
            "the replies' e-mails to be sent",
            stack,
        )

        # 14. The manager's dashboard counts today's requests and the transfer.
        office = person(chromium, stack, data["manager"], language)
        pages.append(office)
        office.goto("/manage/")
        expect(office.locator("main h1").first).to_have_text(said(language, "SLA dashboard"))
        requests = office.locator(".kpis .card").filter(has_text=said(language, "Requests"))
        expect(requests.locator(".stat")).to_have_text(str(Ticket.objects.count()))
        expect(requests).to_contain_text(said(language, "%(n)s reopened, %(m)s transferred", n=0, m=1))
        shoot(office, 14, "dashboard", language)

        # 15. The quality desk has the rated reply in its review queue.
        office.goto("/desk/quality/")
        queue = office.get_by_test_id("queue")
        expect(queue).to_contain_text(f"#{ticket.number}")
        expect(queue).to_contain_text(consultant.display_name)
        assert ReviewItem.objects.filter(rating=rating).count() == 1
        shoot(office, 15, "quality-desk", language)

        for page in pages:
            assert not page.errors, page.errors  # type: ignore[attr-defined]
    finally:
        for page in pages:
            page.context.close()
