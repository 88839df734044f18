"""Outbound e-mail, end to end: ticket services → event → Celery (eager) → a real SMTP server."""

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.tests.factories import AgentFactory, CustomerFactory, ManagerFactory
from notifications import services, tasks
from notifications.models import AgentNotificationPreference, Notification
from queues.tests.factories import LineFactory
from sla import actions as sla_actions
from tickets import events
from tickets import services as ticket_services
from tickets.models import EventKind, Message, Status, SystemReason, Ticket, TicketEvent
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db

REPLY_TO_DOMAIN = "support.example.net"
ACCESS_DATA = "ssh root@203.0.113.7 password Xq7-very-secret-Zp9"


@pytest.fixture
def ticket(customer, line):
    # Filed outside `mail.after()`: its own events are never dispatched.
    return make_ticket(customer)


@pytest.fixture
def second_line(db):
    return LineFactory(code="second-line", name="Second line", level=2)


def reply_to(ticket: Ticket) -> str:
    return f"support+{ticket.number}@{REPLY_TO_DOMAIN}"


def only(mails):
    assert len(mails) == 1, [m.subject for m in mails]
    return mails[0]


# --- to the customer -----------------------------------------------------------------


def test_public_reply_reaches_the_customer_in_text_and_html(mail, ticket, customer, agent):
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="Restarted **nginx**; <script>x</script> gone.")

    received = only(mail.to(customer.email))
    message = received.message
    assert f"[#{ticket.number}]" in message["Subject"]
    assert "New reply" in message["Subject"]
    assert message["Reply-To"] == reply_to(ticket)
    assert message["Auto-Submitted"] == "auto-generated"
    notification = Notification.objects.get(email=customer.email)
    assert message["Message-ID"] == notification.message_id
    assert notification.message_id.endswith("@helpdesk.localhost>")  # the domain of DEFAULT_FROM_EMAIL
    assert notification.status == Notification.Status.SENT and notification.attempts == 1
    assert notification.sent_at is not None and notification.subject == message["Subject"]
    assert notification.kind == Notification.Kind.REPLY and notification.recipient == customer
    # Plain text keeps the Markdown as written; HTML renders it, sanitised.
    assert "Restarted **nginx**" in received.text
    assert "<strong>nginx</strong>" in received.html
    assert "<script>" not in received.html
    assert "Agent-A replied" in received.text
    # The status change that came with the reply is not a second e-mail.
    assert len(mail.all) == 1


def _staff_reply(ticket, agent, body="Restarted it."):
    message = Message.objects.create(ticket=ticket, author=agent, kind=Message.Kind.PUBLIC, body=body)
    events.message_added(ticket, agent, message=message)
    return message


def test_the_status_change_a_reply_brings_is_known_by_its_reason_not_by_its_transaction(mail, ticket, customer, agent):
    # The reply and the status change it brings, written in two transactions (savepoints):
    # whoever moves a transaction boundary changes nobody's e-mail.
    with mail.after():
        with transaction.atomic():
            _staff_reply(ticket, agent)
        with transaction.atomic():
            events.status_changed(
                ticket,
                agent,
                old=Status.NEW,
                new=Status.WAITING_CUSTOMER,
                reason=events.system_reason(SystemReason.AGENT_REPLIED),
            )
    assert "New reply" in only(mail.to(customer.email)).subject


def test_a_status_change_in_the_same_transaction_as_a_reply_is_mailed_when_the_reply_did_not_bring_it(
    mail, ticket, customer, agent
):
    # Reply and resolve in one go (one transaction): the resolution is news of its own.
    with mail.after(), transaction.atomic():
        _staff_reply(ticket, agent, body="Replaced the disk.")
        events.status_changed(ticket, agent, old=Status.IN_PROGRESS, new=Status.RESOLVED)
    subjects = sorted(received.subject for received in mail.to(customer.email))
    assert len(subjects) == 2
    assert "New reply" in subjects[0] and "Resolved" in subjects[1]


def test_a_reply_that_moves_the_ticket_records_why_in_its_status_event(ticket, agent):
    ticket_services.message_add(ticket=ticket, author=agent, body="Which server?", wait_for_customer=True)
    status = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS).latest("id")
    assert status.data["new"] == Status.WAITING_CUSTOMER
    assert status.data["reason_code"] == SystemReason.AGENT_REPLIED


def test_the_html_escapes_what_customers_and_agents_typed(mail, customer, line, agent):
    ticket = make_ticket(customer, subject="<b>Broken</b> & down")
    with mail.after():
        ticket_services.ticket_resolve(ticket=ticket, actor=agent)
    received = only(mail.to(customer.email))
    assert "&lt;b&gt;Broken&lt;/b&gt; &amp; down" in received.html
    assert "<b>Broken</b> & down" in received.text


def test_a_note_sends_nothing(mail, ticket, agent):
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="Looks like disk.", kind=Message.Kind.NOTE)
    assert mail.all == []
    assert not Notification.objects.exists()


def test_the_customers_own_reply_sends_them_nothing(mail, ticket, customer, agent):
    ticket_services.message_add(ticket=ticket, author=agent, body="Which server?", wait_for_customer=True)
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=customer, body="web-01")
    assert mail.to(customer.email) == []


def test_status_changes_resolve_and_close(mail, ticket, customer, agent):
    with mail.after():
        ticket_services.ticket_take(ticket=ticket, agent=agent)
    taken = only(mail.to(customer.email))
    assert f"[#{ticket.number}] In progress:" in taken.subject
    assert "An agent is working on your ticket" in taken.text

    with mail.after():
        ticket_services.ticket_resolve(ticket=ticket, actor=agent)
    resolved = mail.to(customer.email)[-1]
    assert "Resolved" in resolved.subject
    assert "confirm it in the control panel" in resolved.text

    with mail.after():
        ticket_services.ticket_confirm(ticket=ticket, customer=customer)
    closed = mail.to(customer.email)[-1]
    assert f"[#{ticket.number}] Closed:" in closed.subject
    assert "Thank you for confirming" in closed.text
    assert len(mail.to(customer.email)) == 3
    # One thread: later e-mails answer the first one.
    first_id = taken.message["Message-ID"]
    assert closed.message["In-Reply-To"] == first_id and closed.message["References"] == first_id
    assert taken.message["In-Reply-To"] is None


def test_the_sla_sweep_closing_a_ticket_tells_the_customer(mail, ticket, customer, agent):
    ticket_services.ticket_resolve(ticket=ticket, actor=agent)
    with mail.after():
        ticket_services.ticket_system_close(ticket=ticket, reason=SystemReason.NOT_CONFIRMED)
    closed = only(mail.to(customer.email))
    assert "Closed" in closed.subject
    assert "not confirmed in time" in closed.text
    assert Notification.objects.get().event.actor is None


def test_a_reminder_reaches_the_silent_customer_in_their_language(mail, line, agent):
    customer = CustomerFactory(username="silent", language="ru")
    ticket = make_ticket(customer)
    ticket_services.message_add(ticket=ticket, author=agent, body="Which server?", wait_for_customer=True)
    with mail.after():
        sla_actions.remind(ticket=ticket, now=timezone.now())
    received = only(mail.to(customer.email))
    assert "Ждут вашего ответа" in received.subject
    assert "нам нужен ваш ответ" in received.text and "По вашему обращению" in received.text
    assert Notification.objects.get().kind == Notification.Kind.REMINDER


def test_the_helpdesks_note_about_a_transfer_is_not_mailed_as_a_reminder(mail, ticket, customer, agent, second_line):
    with mail.after():
        ticket_services.ticket_transfer(ticket=ticket, actor=agent, to_line=second_line, reason="Needs root")
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER).exists()


def test_promise(mail, ticket, customer, agent):
    promised = timezone.now() + dt.timedelta(days=2)
    with mail.after():
        ticket_services.ticket_set_promise(ticket=ticket, actor=agent, promised_by=promised)
    received = only(mail.to(customer.email))
    assert f"[#{ticket.number}] Expected solution time:" in received.subject
    assert str(timezone.localtime(promised).year) in received.text

    with mail.after():
        ticket_services.ticket_set_promise(
            ticket=ticket, actor=agent, promised_by=promised + dt.timedelta(days=1), reason="Waiting for a new disk"
        )
    changed = mail.to(customer.email)[-1]
    assert "Until now the expected time was" in changed.text
    assert "Reason: Waiting for a new disk" in changed.text


def test_russian_customer_gets_russian_mail(mail, line, agent):
    customer = CustomerFactory(username="ivan", language="ru", first_name="Иван")
    ticket = make_ticket(customer)
    with translation.override("ru"):
        resolved_ru = str(Status.RESOLVED.label)
    assert resolved_ru != "Resolved"
    with mail.after():
        ticket_services.ticket_resolve(ticket=ticket, actor=agent)
    received = only(mail.to(customer.email))
    assert received.subject == f"[#{ticket.number}] {resolved_ru}: {ticket.subject}"
    assert '<html lang="ru">' in received.html
    assert "Иван" in received.text
    # The rendering language did not leak into the worker's own language.
    assert translation.get_language() == "en"


def test_russian_promise_date_is_written_in_russian(mail, line, agent):
    customer = CustomerFactory(username="olga", language="ru")
    ticket = make_ticket(customer)
    promised = timezone.localtime(timezone.now()).replace(month=1, day=15, hour=12) + dt.timedelta(days=366)
    with mail.after():
        ticket_services.ticket_set_promise(ticket=ticket, actor=agent, promised_by=promised)
    assert "января" in only(mail.to(customer.email)).text


# --- to agents -----------------------------------------------------------------------


def test_a_new_ticket_tells_the_line_by_preference(mail, customer, line, agent):
    quiet = AgentFactory(username="agent-quiet")
    line.memberships.create(user=quiet)
    AgentNotificationPreference.objects.create(user=quiet, on_new_in_line=False)
    elsewhere = AgentFactory(username="agent-elsewhere")
    LineFactory(code="billing", name="Billing", kind="department", level=None).memberships.create(user=elsewhere)

    with mail.after():
        ticket = make_ticket(customer, subject="Disk full", service="vps-42")

    received = only(mail.to(agent.email))
    assert received.subject == f"[#{ticket.number}] New ticket: Disk full"
    assert "arrived in the line “First line”" in received.text
    assert "vps-42" in received.text
    assert received.message["Reply-To"] == reply_to(ticket)
    assert mail.to(quiet.email) == [] and mail.to(elsewhere.email) == []
    assert mail.to(customer.email) == []  # filing needs no e-mail to the customer


def test_an_agent_filing_for_a_customer_is_not_told_about_it(mail, customer, line, agent):
    with mail.after():
        make_ticket(customer, created_by=agent, channel="phone")
    assert mail.to(agent.email) == []


def test_transfer_tells_the_new_line(mail, ticket, customer, agent, second_line):
    senior = AgentFactory(username="senior")
    second_line.memberships.create(user=senior)
    quiet = AgentFactory(username="senior-quiet")
    second_line.memberships.create(user=quiet)
    AgentNotificationPreference.objects.create(user=quiet, on_transfer_to_my_line=False)
    second_line.memberships.create(user=agent)  # the one transferring hears nothing

    with mail.after():
        ticket_services.ticket_transfer(ticket=ticket, actor=agent, to_line=second_line, reason="Needs root")

    received = only(mail.to(senior.email))
    assert f"[#{ticket.number}] Transferred to your line:" in received.subject
    assert "from “First line” to your line “Second line”" in received.text
    assert "Reason: Needs root" in received.text
    assert mail.to(quiet.email) == [] and mail.to(agent.email) == []
    # The customer hears about the status (waiting for an agent), never about lines.
    assert "waiting for an agent" in only(mail.to(customer.email)).text


def test_handed_to_me_respects_the_preference(mail, ticket, agent, line):
    manager = ManagerFactory(username="boss")
    with mail.after(), transaction.atomic():
        events.assignee_changed(ticket, manager, old=None, new=agent)
    received = only(mail.to(agent.email))
    assert "Handed to you" in received.subject
    assert "handed ticket" in received.text

    AgentNotificationPreference.objects.create(user=agent, on_transfer_to_me=False)
    with mail.after(), transaction.atomic():
        events.assignee_changed(ticket, manager, old=agent, new=agent)
    assert len(mail.to(agent.email)) == 1


def test_taking_a_ticket_oneself_sends_the_agent_nothing(mail, ticket, agent):
    with mail.after():
        ticket_services.ticket_take(ticket=ticket, agent=agent)
    assert mail.to(agent.email) == []


# --- delivery ------------------------------------------------------------------------


def test_a_refused_delivery_is_retried(mail, ticket, customer, agent):
    mail.server.refuse = 1
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="Fixed.")
    assert mail.server.refused == 1
    only(mail.to(customer.email))
    notification = Notification.objects.get()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert "451" in notification.last_error


def test_delivery_fails_for_good_after_the_last_retry(mail, settings, ticket, customer, agent):
    from notifications.tests.conftest import free_port

    settings.EMAIL_PORT = free_port()  # nothing listens: connection refused (OSError)
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="Fixed.")
    notification = Notification.objects.get()
    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == tasks.MAX_RETRIES + 1
    assert notification.sent_at is None and notification.last_error


def test_retry_waits_longer_each_time():
    assert [tasks.retry_countdown(n) for n in range(5)] == [60, 120, 240, 480, 960]


def test_nothing_is_sent_when_the_transaction_rolls_back(mail, customer, line, agent):
    with mail.after(), pytest.raises(RuntimeError), transaction.atomic():
        ticket = make_ticket(customer)
        ticket_services.message_add(ticket=ticket, author=agent, body="Fixed.")
        ticket_services.ticket_resolve(ticket=ticket, actor=agent)
        raise RuntimeError("something after the changes failed")
    assert mail.all == []
    assert not Notification.objects.exists()


def test_dispatching_an_event_twice_sends_once(mail, ticket, customer, agent):
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="Fixed.")
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.MESSAGE)
    with mail.after():
        tasks.dispatch_event.delay(event.id)
        tasks.dispatch_event.delay(event.id)
    with mail.after():
        tasks.send_notification.delay(Notification.objects.get().id)
    assert len(mail.to(customer.email)) == 1
    assert Notification.objects.count() == 1


def test_a_missing_event_is_ignored(mail):
    with mail.after():
        assert tasks.dispatch_event.delay(10**9).get() == 0
    assert mail.all == []


def test_access_data_is_never_in_any_email(mail, customer, line, agent, second_line):
    senior = AgentFactory(username="senior")
    second_line.memberships.create(user=senior)
    manager = ManagerFactory(username="boss")
    with mail.after():
        ticket = make_ticket(customer, access_data=ACCESS_DATA, service="root@203.0.113.7")
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="Checking.", wait_for_customer=True)
        ticket_services.ticket_set_promise(ticket=ticket, actor=agent, promised_by=timezone.now() + dt.timedelta(1))
        ticket_services.ticket_transfer(ticket=ticket, actor=agent, to_line=second_line, reason="Needs root")
        with transaction.atomic():
            events.assignee_changed(ticket, manager, old=None, new=senior)
        ticket_services.ticket_take(ticket=ticket, agent=senior)
        sla_actions.remind(ticket=ticket, now=timezone.now())
        ticket_services.ticket_resolve(ticket=ticket, actor=senior)
    with mail.after():
        ticket_services.ticket_confirm(ticket=ticket, customer=customer)

    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == set(Notification.Kind.values)
    statuses = {n.event.data["new"] for n in Notification.objects.filter(kind=Notification.Kind.STATUS)}
    assert {Status.WAITING_AGENT, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED} <= statuses
    assert len(mail.all) == Notification.objects.count()
    secret_parts = [ACCESS_DATA, "Xq7-very-secret-Zp9"]
    for received in mail.all:
        for part in secret_parts:
            assert part not in received.raw.decode("utf-8", "replace")
            assert part not in received.text and part not in received.html
    # Rendered again in both languages, straight from the templates.
    for notification in Notification.objects.select_related("ticket", "event", "recipient"):
        for language in ("en", "ru"):
            notification.ticket.language = language
            notification.recipient.language = language
            rendered = services.render(notification)
            for part in secret_parts:
                assert part not in rendered.subject + rendered.text + rendered.html
        # The templates never get the ticket (or anything else that reaches its access data).
        context = services._context(notification)
        assert all(
            isinstance(value, str | int | bool | type(None)) or hasattr(value, "__html__") for value in context.values()
        )


def test_reply_to_uses_the_domain_of_the_sender(settings, ticket):
    settings.DEFAULT_FROM_EMAIL = "Support <help@desk.example.org>"
    assert services.reply_to_address(ticket) == f"support+{ticket.number}@desk.example.org"
    settings.DEFAULT_FROM_EMAIL = "noreply@mail.example.com"
    assert services.reply_to_address(ticket) == f"support+{ticket.number}@mail.example.com"


# --- preferences: page and API -------------------------------------------------------


def test_preferences_page(client, agent):
    client.force_login(agent)
    url = reverse("desk-notifications")
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="on_new_in_line"' in page.content and b"checked" in page.content
    response = client.post(url, {"on_transfer_to_me": "on"})
    assert response.status_code == 302
    preference = AgentNotificationPreference.objects.get(user=agent)
    assert (preference.on_new_in_line, preference.on_transfer_to_me, preference.on_transfer_to_my_line) == (
        False,
        True,
        False,
    )


def test_preferences_page_is_for_staff_only(client, customer):
    client.force_login(customer)
    assert client.get(reverse("desk-notifications")).status_code == 403


def test_preferences_api(agent, customer):
    api = APIClient()
    api.force_authenticate(agent)
    url = reverse("api:me-notifications")
    assert api.get(url).json() == {"on_new_in_line": True, "on_transfer_to_my_line": True, "on_transfer_to_me": True}
    body = {"on_new_in_line": False, "on_transfer_to_my_line": True, "on_transfer_to_me": False}
    response = api.put(url, body, format="json")
    assert response.status_code == 200 and response.json() == body
    assert api.get(url).json() == body
    assert api.put(url, {"on_new_in_line": False}, format="json").status_code == 400

    api.force_authenticate(customer)
    assert api.get(url).status_code == 403


def test_admin_lists_notifications_and_sends_failed_ones_again(mail, admin_client, ticket, customer, agent):
    mail.server.refuse = tasks.MAX_RETRIES + 1
    with mail.after():
        ticket_services.message_add(ticket=ticket, author=agent, body="Fixed.")
    notification = Notification.objects.get()
    assert notification.status == Notification.Status.FAILED and mail.all == []

    assert admin_client.get(reverse("admin:notifications_notification_changelist")).status_code == 200
    assert (
        admin_client.get(reverse("admin:notifications_notification_change", args=[notification.id])).status_code == 200
    )
    assert admin_client.get(reverse("admin:notifications_agentnotificationpreference_changelist")).status_code == 200
    with mail.after():
        response = admin_client.post(
            reverse("admin:notifications_notification_changelist"),
            {"action": "send_again", "_selected_action": [notification.id]},
        )
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == tasks.MAX_RETRIES + 2
    only(mail.to(customer.email))
