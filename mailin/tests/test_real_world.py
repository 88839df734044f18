"""Mail as real clients and servers send it (Outlook with winmail.dat, Exchange's bounces, Yandex,
Mail.ru, The Bat!, Gmail, Apple Mail, a forwarder that rewrites From): threading by our own
Message-IDs, our mail coming back, bounces, bulk mail, forwarded messages, the sender's Date,
charsets, access data sent by e-mail, sender authentication, and what the workspace shows."""

import datetime as dt
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.core import mail as outbox
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse

from mailin.models import Authentication, AutoReply, InboundMessage, Outcome
from mailin.tests.helpers import load, simple
from notifications import services as notification_services
from notifications.models import BouncedAddress, Notification
from tickets import secrets
from tickets import services as ticket_services
from tickets.models import EventKind, EventOutbox, Message, Status, SystemReason, Ticket, TicketSecret
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db


def answered(customer, agent, **kwargs) -> tuple[Ticket, Notification]:
    """A ticket with an agent's reply and the e-mail that told the customer (as the drain writes it)."""
    ticket = make_ticket(customer, **kwargs)
    message = ticket_services.message_add(ticket=ticket, author=agent, body="Please reboot it.", wait_for_customer=True)
    event = ticket.events.filter(kind=EventKind.MESSAGE, data__message_id=message.id).get()
    notification = Notification.objects.create(
        recipient=customer,
        email=customer.email,
        ticket=ticket,
        event=event,
        kind=Notification.Kind.REPLY,
        status=Notification.Status.SENT,
    )
    return ticket, notification


# --- threading by our own Message-ID -------------------------------------------------------


def test_a_reply_linked_only_by_in_reply_to_our_notification_joins_its_ticket(deliver, customer, agent):
    ticket, notification = answered(customer, agent)
    inbound = deliver(load("yandex_reply.eml", MESSAGE_ID=notification.message_id))
    assert inbound.outcome == Outcome.THREADED
    assert inbound.ticket == ticket
    assert notification.message_id.strip("<>") in inbound.outcome_detail
    assert inbound.ticket_message.body == "Да, перезагрузил, сервер снова работает. Спасибо!"
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_AGENT


# --- our Message-IDs and loops -----------------------------------------------------------


def test_message_ids_are_made_in_the_helpdesks_own_domain_by_default(settings):
    from helpdesk import mail

    # Derived from DEFAULT_FROM_EMAIL (support@helpdesk.localhost) when not set: never a bare "helpdesk".
    assert settings.MESSAGE_ID_DOMAIN == "helpdesk.localhost"
    assert mail.new_message_id().endswith("@helpdesk.localhost>")


def test_our_notification_forwarded_back_with_its_from_rewritten_is_a_loop(deliver, customer, agent, settings):
    # Sent while the Message-ID domain was the old default; the domain has been set since.
    ticket, notification = answered(customer, agent)
    Notification.objects.filter(pk=notification.pk).update(message_id="<4f1c0a9b2e7d4b6f8a1e3c5d7f9b0a12@helpdesk>")
    settings.MESSAGE_ID_DOMAIN = "hosting.example"
    EventOutbox.objects.all().delete()
    raw = load(
        "forwarder_rewritten.eml", TICKET=ticket.number, MESSAGE_ID="<4f1c0a9b2e7d4b6f8a1e3c5d7f9b0a12@helpdesk>"
    )
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.IGNORED_LOOP
    assert inbound.notification_id == notification.pk
    assert Ticket.objects.count() == 1
    assert not EventOutbox.objects.exists()  # no agent hears about anything


def test_a_forwarded_notification_with_a_new_message_id_is_still_recognised_by_x_loop(deliver, customer, agent):
    ticket, _notification = answered(customer, agent)
    raw = load("forwarder_rewritten.eml", TICKET=ticket.number, MESSAGE_ID="<fwd-77@fwd.petrov.ru>")
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.IGNORED_LOOP
    assert "X-Loop" in inbound.outcome_detail


def test_everything_the_helpdesk_sends_is_stamped(settings):
    settings.EMAIL_BACKEND = "helpdesk.mail.StampingBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MESSAGE_ID_DOMAIN = "support.example.net"
    EmailMessage("Password reset", "Follow the link.", "support@helpdesk.localhost", ["a@example.com"]).send()
    [sent] = outbox.outbox
    message = sent.message()
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Loop"] == "support@helpdesk.localhost"
    assert message["Message-ID"].endswith("@support.example.net>")
    # What the sender set is kept.
    own = EmailMessage("x", "y", "support@helpdesk.localhost", ["a@example.com"], headers={"Message-ID": "<k@x>"})
    get_connection().send_messages([own])
    assert outbox.outbox[1].message()["Message-ID"] == "<k@x>"


def test_notifications_carry_our_loop_headers(customer, agent):
    _ticket, notification = answered(customer, agent)
    message = notification_services.build_message(notification, notification_services.render(notification)).message()
    assert message["X-Loop"] == "support@helpdesk.localhost"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == notification.message_id


# --- bounces --------------------------------------------------------------------------------


def bounce_for(notification, ticket) -> bytes:
    return load("exchange_ndr.eml", TICKET=ticket.number, MESSAGE_ID=notification.message_id)


def test_an_exchange_bounce_fails_the_notification_with_its_reason(deliver, customer, agent, client):
    ticket, notification = answered(customer, agent)
    inbound = deliver(bounce_for(notification, ticket))
    assert inbound.outcome == Outcome.IGNORED_BOUNCE
    assert inbound.notification_id == notification.pk
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.bounced_at is not None
    assert "5.1.10" in notification.last_error and "RecipientNotFound" in notification.last_error
    address = BouncedAddress.objects.get(email__iexact=customer.email)
    assert (address.hard_bounces, address.suppressed) == (1, False)
    # The ticket's page says the customer's address is not reachable.
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="bounced"' in page
    assert "RecipientNotFound" in page


def test_repeated_hard_bounces_stop_mail_to_the_address_until_staff_clear_it(
    deliver, customer, agent, client, settings
):
    settings.BOUNCES_BEFORE_SUPPRESSION = 2
    for _round in range(2):
        ticket, notification = answered(customer, agent)
        deliver(bounce_for(notification, ticket))
    address = BouncedAddress.objects.get(email__iexact=customer.email)
    assert address.suppressed and address.hard_bounces == 2
    # The next reply is not mailed: its notification is written failed, with why.
    ticket = make_ticket(customer)
    message = ticket_services.message_add(ticket=ticket, author=agent, body="Done.")
    event = ticket.events.get(kind=EventKind.MESSAGE, data__message_id=message.id)
    assert notification_services.notifications_for_event(event_id=event.id) == []
    held = Notification.objects.get(event=event)
    assert held.status == Notification.Status.FAILED
    assert "bounced 2 times" in held.last_error
    # Staff see it on the ticket and on the mail page, and clear it.
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="address-suppressed"' in page
    assert customer.email in client.get(reverse("desk-mail")).content.decode()
    response = client.post(reverse("desk-mail-clear-address", args=[address.pk]))
    assert response.status_code == 302
    address.refresh_from_db()
    assert not address.suppressed and address.cleared_by == agent
    message = ticket_services.message_add(ticket=ticket, author=agent, body="One more thing.")
    event = ticket.events.get(kind=EventKind.MESSAGE, data__message_id=message.id)
    assert len(notification_services.notifications_for_event(event_id=event.id)) == 1


def test_a_bounce_naming_none_of_our_mail_changes_nothing(deliver, customer, agent):
    _ticket, notification = answered(customer, agent)
    inbound = deliver(load("bounce.eml"))  # returns a Message-ID the helpdesk never sent
    assert inbound.outcome == Outcome.IGNORED_BOUNCE
    assert "none of our e-mails" in inbound.outcome_detail
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert not BouncedAddress.objects.exists()


def test_a_delayed_delivery_report_is_not_a_failure(deliver, customer, agent):
    ticket, notification = answered(customer, agent)
    raw = bounce_for(notification, ticket).replace(b"Action: failed", b"Action: delayed").replace(b"5.1.10", b"4.4.7")
    inbound = deliver(raw)
    assert "only delayed" in inbound.outcome_detail
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


# --- bulk mail, forwarded messages, the sender's Date -----------------------------------------


def test_a_newsletter_is_bulk_mail_not_an_automatic_reply(deliver, customer):
    inbound = deliver(load("bulk_newsletter.eml"))
    assert inbound.outcome == Outcome.IGNORED_BULK
    assert not Ticket.objects.exists()


def test_the_senders_date_is_kept_and_shown_beside_the_arrival(deliver, customer, agent, client):
    inbound = deliver(load("gmail_credentials.eml"))
    assert inbound.sent_at == dt.datetime(2024, 3, 26, 10, 5, 10, tzinfo=dt.UTC)
    assert inbound.received_at > inbound.sent_at
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[inbound.ticket.number])).content.decode()
    assert 'data-testid="sent-at"' in page
    assert "by the sender's clock" in page


# --- charsets and Outlook ---------------------------------------------------------------------


def test_outlook_windows_1251_with_winmail_dat_keeps_the_files_inside(deliver, customer):
    inbound = deliver(load("outlook_winmail.eml"))
    ticket = inbound.ticket
    assert ticket.subject == "Nginx: 502 после переноса"
    assert "nginx отдаёт 502" in ticket.body
    assert [a.original_name for a in ticket.attachments.all()] == ["nginx.conf"]
    assert b"server_name petrov.ru" in ticket.attachments.get().file.read()
    assert not inbound.text_damaged
    assert inbound.authentication == Authentication.PASS


def test_an_unknown_charset_is_read_as_the_likely_cyrillic_one_and_flagged(deliver, customer, agent, client):
    inbound = deliver(load("mailru_unknown_charset.eml"))
    body = inbound.ticket.body
    assert "Не приходят письма на ящик info@petrov.ru" in body
    assert "\ufffd" not in body
    assert inbound.text_damaged
    assert "read as cp1251" in inbound.outcome_detail
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[inbound.ticket.number])).content.decode()
    assert 'data-testid="text-damaged"' in page


def test_windows_1251_labelled_koi8_r_is_read_right(deliver, customer):
    inbound = deliver(load("thebat_mislabelled.eml"))
    assert "Ночная резервная копия сайта не создаётся с пятницы" in inbound.ticket.body
    assert inbound.text_damaged
    assert "labelled koi8-r" in inbound.outcome_detail


# --- access data sent by e-mail ---------------------------------------------------------------


def test_a_password_in_an_e_mail_is_moved_to_the_encrypted_access_data(deliver, customer, agent, client):
    inbound = deliver(load("gmail_credentials.eml"))
    ticket = inbound.ticket
    assert "T7#qz!9vKe2" not in ticket.body
    assert "Password: ••••••••" in ticket.body
    assert "Server: 203.0.113.45" in ticket.body  # what it is about stays readable
    assert "moved to the ticket's encrypted access data" in ticket.body
    stored = secrets.decrypt(bytes(TicketSecret.objects.get(ticket=ticket).ciphertext))
    assert "Password: T7#qz!9vKe2" in stored and "203.0.113.45" in stored
    event = ticket.events.get(kind=EventKind.SECRET_SET)
    assert event.actor == customer
    assert event.data["reason_code"] == SystemReason.ACCESS_DATA_BY_EMAIL
    assert inbound.access_data_moved
    # Nowhere else in clear: not in any message, not in the history.
    assert not Message.objects.filter(body__contains="T7#qz!9vKe2").exists()
    assert not ticket.events.filter(data__icontains="T7#qz").exists()
    # The customer is reminded, once, politely, in the thread of their e-mail.
    [answer] = AutoReply.objects.filter(inbound=inbound)
    assert answer.status == AutoReply.Status.SENT
    [sent] = outbox.outbox
    assert sent.to == [customer.email]
    assert sent.extra_headers["In-Reply-To"] == f"<{inbound.message_id}>"
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "control panel" in sent.body and "T7#qz" not in sent.body
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="access-data-moved"' in page
    assert "T7#qz!9vKe2" not in page


def test_a_private_key_in_a_reply_is_added_to_the_access_data(deliver, customer, agent):
    ticket = make_ticket(customer, access_data="panel: admin / Adm1n!pass")
    ticket_services.message_add(ticket=ticket, author=agent, body="Send me the key?", wait_for_customer=True)
    inbound = deliver(load("apple_mail_private_key.eml", TICKET=ticket.number))
    assert inbound.outcome == Outcome.THREADED
    body = inbound.ticket_message.body
    assert "BEGIN OPENSSH PRIVATE KEY" not in body and "b3BlbnNzaC1rZXkt" not in body
    assert "private key]" in body
    stored = secrets.decrypt(bytes(TicketSecret.objects.get(ticket=ticket).ciphertext))
    assert stored.startswith("panel: admin / Adm1n!pass")  # what was there stays
    assert "-----BEGIN OPENSSH PRIVATE KEY-----" in stored and "-----END OPENSSH PRIVATE KEY-----" in stored


def test_ordinary_talk_about_passwords_is_left_alone(deliver, customer):
    inbound = deliver(simple(body="I forgot my password: how do I reset it for the panel?"))
    assert not inbound.access_data_moved
    assert inbound.ticket.body == "I forgot my password: how do I reset it for the panel?"
    assert not TicketSecret.objects.exists()
    assert not outbox.outbox


# --- sender authentication --------------------------------------------------------------------


def test_a_forged_reply_that_failed_dmarc_is_filed_unverified_and_not_threaded(deliver, customer, agent, client):
    ticket, _notification = answered(customer, agent)
    inbound = deliver(load("dmarc_fail.eml", TICKET=ticket.number))
    assert inbound.authentication == Authentication.FAIL  # the topmost header, not the one below it
    assert "dmarc=fail" in inbound.authentication_detail
    assert inbound.outcome == Outcome.TICKET_CREATED
    assert inbound.ticket != ticket  # it did not join the customer's conversation
    assert not inbound.ticket.sender_verified
    assert "not added to it, as its sender is not verified" in inbound.ticket.body
    assert ticket.messages.filter(kind=Message.Kind.PUBLIC).count() == 1  # only the agent's
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[inbound.ticket.number])).content.decode()
    assert 'data-testid="sender-unverified"' in page and 'data-testid="dmarc-failed"' in page
    assert "DMARC" in page


def test_only_the_named_receiving_servers_results_are_believed(deliver, customer, settings):
    settings.INBOUND_AUTHSERV_ID = "mx2.hosting.example"
    inbound = deliver(load("dmarc_fail.eml", TICKET=100001))
    assert inbound.authentication == Authentication.NONE
    assert inbound.ticket.sender_verified


def test_mail_that_passed_dmarc_is_filed_as_usual(deliver, customer):
    inbound = deliver(load("outlook_winmail.eml"))
    assert inbound.authentication == Authentication.PASS
    assert inbound.ticket.sender_verified


# --- the workspace hears about mail kept without a ticket --------------------------------------


def test_mail_kept_without_a_ticket_is_shown_in_the_workspace_until_looked_at(deliver, agent, manager, client):
    inbound = deliver(load("malformed.eml"))
    assert inbound.outcome == Outcome.FAILED_PARSE
    client.force_login(agent)
    home = client.get(reverse("desk")).content.decode()
    assert 'data-testid="mail-alert"' in home
    page = client.get(reverse("desk-mail")).content.decode()
    assert f'data-testid="kept-{inbound.pk}"' in page
    client.post(reverse("desk-mail-dismiss", args=[inbound.pk]))
    inbound.refresh_from_db()
    assert inbound.dismissed_by == agent
    assert 'data-testid="mail-alert"' not in client.get(reverse("desk")).content.decode()
    assert InboundMessage.objects.filter(pk=inbound.pk).exists()  # still kept


def test_agents_see_kept_mail_of_their_own_lines_mailboxes_only(agent, manager):
    from mailin import selectors
    from mailin.models import Mailbox
    from queues.tests.factories import LineFactory

    other = LineFactory(code="billing", name="Billing", kind="department", level=None)
    theirs = Mailbox.objects.create(name="Billing", address="billing@hosting.example", line=other)
    kept = InboundMessage.objects.create(
        source="command", sha256="x", size=1, outcome=Outcome.REJECTED_TOO_LARGE, mailbox=theirs
    )
    assert not selectors.kept_without_ticket(user=agent).filter(pk=kept.pk).exists()
    assert selectors.kept_without_ticket(user=manager).filter(pk=kept.pk).exists()


# --- access data in what is kept of the e-mail itself -------------------------------------------


def _texts(raw: bytes) -> str:
    """Every text part of a raw message, decoded, forwarded messages included."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    return "\n".join(
        part.get_content()
        for part in message.walk()
        if not part.is_multipart() and part.get_content_type().startswith("text/")
    )


def test_the_stored_raw_message_keeps_no_password_in_any_part(deliver, customer):
    raw = load("gmail_credentials.eml")
    assert b"T7#qz!9vKe2" in raw
    inbound = deliver(raw)
    assert inbound.access_data_moved
    stored = InboundMessage.objects.get(pk=inbound.pk).raw_bytes()
    assert b"T7#qz!9vKe2" not in stored
    texts = _texts(stored)
    # Both renderings masked; the rest of the message as it came.
    assert texts.count("Password: ••••••••") == 2
    assert "Server: 203.0.113.45" in texts and "MySQL does not start" in texts
    headers = BytesParser(policy=policy.default).parsebytes(stored)
    assert headers["Message-ID"] == "<CAJ8kq2Zb0xR+Pn4Wm3T9yV6uH1sLd5Fo2aEc7gQ@mail.gmail.com>"
    # Still known as received: a second delivery of the same bytes is a duplicate.
    again = deliver(raw)
    assert again.outcome == Outcome.DUPLICATE


def test_a_private_key_leaves_no_trace_in_the_stored_reply(deliver, customer, agent):
    ticket = make_ticket(customer)
    ticket_services.message_add(ticket=ticket, author=agent, body="Send me the key?", wait_for_customer=True)
    raw = load("apple_mail_private_key.eml", TICKET=ticket.number)
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.THREADED
    stored = InboundMessage.objects.get(pk=inbound.pk).raw_bytes()
    assert b"b3BlbnNzaC1rZXkt" not in stored and b"PRIVATE KEY-----" not in stored


def test_access_data_in_a_forwarded_message_is_masked_in_its_eml_file_and_the_raw(deliver, customer):
    raw = load("forwarded_credentials.eml")
    inbound = deliver(raw)
    ticket = inbound.ticket
    assert inbound.access_data_moved
    for value in ("Qw9&zR!t3Lm=", "Pan3l#2024"):
        assert value not in ticket.body
        assert not Message.objects.filter(body__contains=value).exists()
    stored = secrets.decrypt(bytes(TicketSecret.objects.get(ticket=ticket).ciphertext))
    assert "Qw9&zR!t3Lm=" in stored and "Pan3l#2024" in stored
    # The forwarded message is still kept as its own file, readable, without the passwords.
    [kept] = ticket.attachments.filter(original_name="Server access.eml")
    forwarded = kept.file.read()
    forwarded_text = _texts(forwarded)
    assert "ssh root@198.51.100.23" in forwarded_text and "Password: ••••••••" in forwarded_text
    for value in ("Qw9&zR!t3Lm=", "Qw9&amp;zR!t3Lm=", "Pan3l#2024"):
        assert value not in forwarded_text
    assert b"Pan3l#2024" not in forwarded
    # And the raw message as stored, with the customer's own words intact.
    stored_raw = InboundMessage.objects.get(pk=inbound.pk).raw_bytes()
    stored_text = _texts(stored_raw)
    assert "Pan3l#2024" not in stored_text and "Qw9&" not in stored_text
    assert "Пересылаю письмо коллеги" in stored_text


def test_a_large_message_kept_as_a_file_is_replaced_by_its_masked_copy(
    deliver, customer, settings, django_capture_on_commit_callbacks
):
    settings.INBOUND_INLINE_BYTES = 100
    with django_capture_on_commit_callbacks(execute=True):
        inbound = deliver(load("gmail_credentials.eml"))
    stored = InboundMessage.objects.get(pk=inbound.pk)
    assert stored.raw is None and stored.raw_file
    assert b"T7#qz!9vKe2" not in stored.raw_bytes()
    folder = Path(stored.raw_file.path).parent
    for other in folder.glob("*.eml"):
        assert b"T7#qz!9vKe2" not in other.read_bytes()
