"""A batch of e-mails renders what an event's recipients share once per language, writes its
rows a group at a time, and each e-mail still says what rendering it alone would say."""

import math

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from accounts.tests.factories import AgentFactory, CustomerFactory
from notifications import services, tasks
from notifications.models import Notification
from queues.tests.factories import LineFactory
from tickets import services as ticket_services
from tickets.models import EventOutbox
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db

# Names that HTML must escape and Russian names: the name is put into a shared rendering.
NAMES = ["O'Brien & <Sons>", 'Ann "Quotes"', "Пётр Иванов", "Agent Smith"]


@pytest.fixture
def world(line, agent):
    """Four more agents in the first line (two of them read Russian), a second line with three."""
    second = LineFactory(code="admins", name="Administrators", name_ru="Администраторы", level=2)
    for index, name in enumerate(NAMES):
        member = AgentFactory(username=f"first-{index}", language="ru" if index % 2 else "en")
        member.agent_profile.display_name = name
        member.agent_profile.save(update_fields=["display_name"])
        line.memberships.create(user=member)
    for index in range(3):
        second.memberships.create(user=AgentFactory(username=f"admin-{index}", language="en"))
    return second


def counting_renders(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = services.render_to_string

    def render_to_string(name, context=None, *args, **kwargs):
        calls.append(name)
        return real(name, context, *args, **kwargs)

    monkeypatch.setattr(services, "render_to_string", render_to_string)
    return calls


def test_a_new_ticket_is_rendered_once_per_language_for_all_the_lines_agents(mail, customer, agent, world, monkeypatch):
    calls = counting_renders(monkeypatch)
    with mail.after():
        make_ticket(customer, subject="Site <down> & out")
    agents_mail = [received for received in mail.all if received.rcpt_tos[0] != customer.email]
    assert len(agents_mail) == 1 + len(NAMES)  # `agent` and the four
    # Two languages, a text and an HTML template each: four renderings for five e-mails.
    assert sorted(calls) == sorted(["notifications/email/agent.txt", "notifications/email/agent.html"] * 2)
    # Each e-mail still greets its own recipient, escaped in the HTML only.
    for index, name in enumerate(NAMES):
        [received] = mail.to(f"first-{index}@example.com")
        assert f"{name}!" in received.text
        assert f"{escape(name)}!" in received.html
        assert services.RECIPIENT_NAME not in received.text + received.html


def test_a_shared_rendering_says_what_rendering_each_e_mail_alone_says(customer, agent, world):
    russian = CustomerFactory(username="ivan", language="ru", first_name="Иван", last_name="<Grozny>")
    for who in (customer, russian):
        ticket = make_ticket(who, subject="Site <down> & out")
        ticket_services.message_add(ticket=ticket, author=agent, body="We restarted **nginx** & <php>.")
        ticket_services.ticket_resolve(ticket=ticket, actor=agent)
        ticket = make_ticket(who, subject="Мой сайт & <ещё>")
        ticket_services.ticket_transfer(ticket=ticket, actor=agent, to_line=world, reason="needs <root>")
    waiting = services.notifications_for_events(event_ids=list(EventOutbox.objects.values_list("event_id", flat=True)))
    rows = services.prepare(waiting)
    kinds = {row.kind for row in rows.values()}
    assert {"new_in_line", "transfer_to_line", "reply", "status"} <= kinds
    shared: dict = {}
    with time_machine.travel(timezone.now(), tick=False):  # the rating links are signed with the time
        for row in rows.values():
            language = services._language(row)
            alone = services._render(row, language)  # the templates with the recipient's own context
            assert services.render(row, shared) == alone, (row.kind, row.email, language)
    # Fewer renderings than e-mails: the agents of an event shared theirs.
    assert 0 < len(shared) < len(rows)


def test_a_batch_of_e_mails_writes_its_rows_a_group_at_a_time(customer, agent, world):
    for _ in range(4):
        ticket = make_ticket(customer)
        ticket_services.message_add(ticket=ticket, author=agent, body="We restarted **nginx**.")
        ticket_services.ticket_transfer(ticket=ticket, actor=agent, to_line=world, reason="needs root")
    waiting = services.notifications_for_events(event_ids=list(EventOutbox.objects.values_list("event_id", flat=True)))
    assert len(waiting) > 2 * tasks.MARK_BATCH
    with CaptureQueriesContext(connection) as captured:
        counts = tasks.send_notifications(waiting)
    assert counts == {"sent": len(waiting), "skipped": 0, "retrying": 0}
    statements = [query["sql"] for query in captured if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    groups = math.ceil(len(waiting) / tasks.MARK_BATCH)
    # Reading the batch (three statements), then per group one lock and one write: none per e-mail.
    assert len(statements) == 3 + 2 * groups
    assert sum("FOR UPDATE SKIP LOCKED" in sql for sql in statements) == groups
    assert Notification.objects.filter(status=Notification.Status.SENT, sent_at__isnull=False).count() == len(waiting)
    sent = Notification.objects.get(id=waiting[0])
    assert sent.attempts == 1 and sent.subject.startswith("[#")


def test_a_bug_half_way_through_a_group_keeps_the_e_mails_already_sent(customer, agent, world, monkeypatch):
    ticket = make_ticket(customer)
    for index in range(4):
        ticket_services.message_add(ticket=ticket, author=agent, body=f"Answer {index}.")
    waiting = services.notifications_for_events(event_ids=list(EventOutbox.objects.values_list("event_id", flat=True)))
    real = services.render
    calls = []

    def render(notification, cache=None):
        calls.append(notification.id)
        if len(calls) == 3:
            raise ValueError("a template that cannot render")
        return real(notification, cache)

    monkeypatch.setattr(services, "render", render)
    with pytest.raises(ValueError):
        tasks.send_notifications(waiting)
    statuses = dict(Notification.objects.values_list("id", "status"))
    assert [statuses[notification_id] for notification_id in calls] == ["sent", "sent", "queued"]
    # The rest is sent by the batch sent again; nothing twice.
    monkeypatch.setattr(services, "render", real)
    counts = tasks.send_notifications(waiting)
    assert counts["sent"] == len(waiting) - 2 and counts["skipped"] == 2
