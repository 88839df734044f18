"""Real-world messages through both ways in (the command and the endpoint): the right ticket,
threading, files, quotes stripped, automatic mail ignored, and every message kept."""

import hashlib

import pytest

from accounts.models import User
from accounts.tests.factories import CustomerFactory
from mailin.models import InboundMessage, Mailbox, Outcome
from mailin.tests.helpers import load, simple
from queues.tests.factories import LineFactory
from tickets import services as ticket_services
from tickets.models import Channel, Message, Status, Ticket
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db


def public_messages(ticket):
    return list(ticket.messages.filter(kind=Message.Kind.PUBLIC).order_by("id"))


def waiting_for_customer(customer, agent, **kwargs):
    ticket = make_ticket(customer, **kwargs)
    ticket_services.message_add(
        ticket=ticket, author=agent, body="Please reboot it from the panel.", wait_for_customer=True
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER
    return ticket


# --- new tickets ---------------------------------------------------------------------------


def test_multipart_alternative_opens_a_ticket_for_the_customer(deliver, customer, line):
    raw = load("multipart_alternative.eml")
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.TICKET_CREATED
    ticket = inbound.ticket
    assert ticket.customer == customer  # matched although the address is written Customer-A@Example.com
    assert inbound.sender_matched
    assert ticket.channel == Channel.EMAIL
    assert ticket.line == line
    assert ticket.status == Status.NEW
    assert ticket.subject == "Server down: vps-2231 does not answer"
    assert "the console shows a kernel panic" in " ".join(ticket.body.split())
    assert "<div" not in ticket.body and "<b>" not in ticket.body  # the plain part was used
    assert inbound.message_id == "CAF=2x9QkR7mU5o+8hLr0b1Xn3pW@mail.gmail.com"
    assert inbound.raw_bytes() == raw
    assert inbound.sha256 == hashlib.sha256(raw).hexdigest()
    assert inbound.size == len(raw)


def test_html_only_message_is_converted_to_text(deliver, customer):
    inbound = deliver(load("html_only.eml"))
    body = inbound.ticket.body
    assert "the invoice № INV-2024-031 lists two servers & I only have one:" in body
    assert "vps-9999 | 990 ₽" in body
    assert "my invoices (https://my.hosting.example/invoices/31)" in body
    for markup in ("<p>", "<table", "margin", "ignored title", "&amp;", "&#8470;"):
        assert markup not in body


def test_russian_koi8r_body_and_encoded_headers(deliver, customer):
    inbound = deliver(load("russian_koi8r.eml"))
    assert inbound.outcome == Outcome.TICKET_CREATED
    assert inbound.ticket.subject == "Не уходит почта"
    assert "Не работает почта на домене petrov.ru" in inbound.ticket.body
    assert inbound.from_name == "Иван Петров"
    assert inbound.outcome_detail.count(";") == 0  # nothing to report about the decoding


def test_russian_utf8_with_encoded_headers_and_attachments(deliver, customer):
    inbound = deliver(load("russian_utf8.eml"))
    ticket = inbound.ticket
    assert ticket.subject == "Продление хостинга — счёт"
    assert "Прошу продлить хостинг на год" in ticket.body
    files = {a.original_name: a for a in ticket.attachments.all()}
    assert files["счёт № 31.pdf"].content_type == "application/pdf"
    # A text file in windows-1251 is text too: kept, like the panel keeps it.
    assert files["requisites.txt"].content_type == "text/plain"
    assert "Not accepted" not in ticket.body
    assert (inbound.attachments_kept, inbound.attachments_refused) == (2, 0)


def test_inline_image_is_kept_as_a_file_and_the_text_appears_once(deliver, customer):
    inbound = deliver(load("inline_image.eml"))
    ticket = inbound.ticket
    [attachment] = ticket.attachments.all()
    assert attachment.original_name == "Screenshot.png"
    assert attachment.content_type == "image/png"
    assert attachment.file.read().startswith(b"\x89PNG")
    assert ticket.body.count("The panel shows this error") == 1


def test_forwarded_inline_message_keeps_the_forwarded_text(deliver, customer):
    inbound = deliver(load("forwarded.eml"))
    body = inbound.ticket.body
    assert inbound.ticket.subject == "Fwd: Abuse report for 203.0.113.45"
    assert "Could you check this?" in body
    assert "Forwarded message" in body
    assert "Listing ID: BL-88231" in body
    assert "connect from unknown[203.0.113.45]" in body  # a new ticket keeps everything


def test_forwarded_as_attachment_brings_its_text_and_files(deliver, customer):
    inbound = deliver(load("forwarded_attachment.eml"))
    ticket = inbound.ticket
    assert "Is the domain renewal included in my plan?" in ticket.body
    assert "From: Billing <billing@registrar.example>" in ticket.body
    assert "The domain petrov.ru expires on 2024-03-25." in ticket.body
    # The forwarded message is kept whole too, as an .eml file the agent can open.
    files = {a.original_name: a for a in ticket.attachments.all()}
    assert set(files) == {"renewal-invoice.pdf", "Domain petrov.ru expires in 7 days.eml"}
    forwarded = files["Domain petrov.ru expires in 7 days.eml"].file.read()
    assert b"From: Billing <billing@registrar.example>" in forwarded
    assert b"renewal-invoice.pdf" in forwarded


def test_files_refused_by_type_are_listed_and_the_rest_kept(deliver, customer):
    inbound = deliver(load("attachments_refused.eml"))
    ticket = inbound.ticket
    assert [a.original_name for a in ticket.attachments.all()] == ["report.pdf"]
    assert "Not accepted: `setup.exe` (file type not accepted)" in ticket.body
    # Named .pdf but an executable inside: refused by its content, as in the panel.
    assert "Not accepted: `renamed.pdf` (file type not accepted)" in ticket.body
    assert (inbound.attachments_kept, inbound.attachments_refused) == (1, 2)


def test_files_over_the_size_and_count_limits_are_listed(deliver, customer, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    settings.ATTACHMENT_MAX_FILES = 2
    parts = []
    for index, size in enumerate([10, 5000, 10, 10], start=1):
        parts.append(
            f'--b\r\nContent-Type: text/plain; name="f{index}.txt"\r\n'
            f'Content-Disposition: attachment; filename="f{index}.txt"\r\n\r\n{"x" * size}\r\n'
        )
    raw = (
        "From: customer-a@example.com\r\nTo: support@hosting.example\r\nSubject: Files\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nFour files.\r\n" + "".join(parts) + "--b--\r\n"
    ).encode()
    inbound = deliver(raw)
    ticket = inbound.ticket
    assert [a.original_name for a in ticket.attachments.all()] == ["f1.txt", "f3.txt"]
    assert "Not accepted: `f2.txt` (larger than 1000\xa0bytes)" in ticket.body
    assert "Not accepted: `f4.txt` (at most 2 files per message)" in ticket.body


def test_unknown_charset_is_read_leniently_and_noted(deliver, customer):
    inbound = deliver(load("unknown_charset.eml"))
    assert inbound.outcome == Outcome.TICKET_CREATED
    assert "Backup of site petrov.ru fails" in inbound.ticket.body
    assert "\ufffd" in inbound.ticket.body
    assert "unknown charset “x-mac-klingon”" in inbound.outcome_detail


def test_broken_mime_structure_is_filed_with_the_defect_noted(deliver, customer):
    inbound = deliver(load("broken_mime.eml"))
    assert inbound.outcome == Outcome.TICKET_CREATED
    assert "Where can I download yesterday's backup?" in inbound.ticket.body
    assert "CloseBoundaryNotFoundDefect" in inbound.outcome_detail


def test_malformed_message_is_kept_not_filed(deliver):
    raw = load("malformed.eml")
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.FAILED_PARSE
    assert "Not readable as an e-mail" in inbound.outcome_detail
    assert inbound.ticket is None
    assert inbound.raw_bytes() == raw
    assert not Ticket.objects.exists()


def test_message_without_a_valid_sender_is_kept_not_filed(deliver):
    raw = simple(sender="<<<not an address>>>")
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.FAILED_PARSE
    assert "sender" in inbound.outcome_detail
    assert inbound.raw_bytes() == raw


def test_huge_message_is_rejected_and_kept_as_a_file(deliver, customer):
    attachment = b"A" * (30 * 1024 * 1024)
    raw = (
        b"From: Ivan Petrov <customer-a@example.com>\r\nTo: support@hosting.example\r\n"
        b"Subject: Full backup\r\nMessage-ID: <huge-0001@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n'
        b'--b\r\nContent-Type: application/octet-stream; name="backup.tar"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + attachment
        + b"\r\n--b--\r\n"
    )
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.REJECTED_TOO_LARGE
    assert "25.0 MB" in inbound.outcome_detail
    assert inbound.ticket is None
    assert not Ticket.objects.exists()
    # Kept whole, as a file rather than in the database row; the headers are recorded.
    assert inbound.raw is None
    assert inbound.raw_file.name.startswith("inbound/")
    assert inbound.size == len(raw)
    assert inbound.raw_bytes() == raw
    assert (inbound.from_address, inbound.subject, inbound.message_id) == (
        "customer-a@example.com",
        "Full backup",
        "huge-0001@example.com",
    )


def test_long_text_is_cut_with_a_note(deliver, customer):
    inbound = deliver(simple(body="word " * 20_000))
    body = inbound.ticket.body
    assert len(body) <= ticket_services.BODY_MAX
    assert body.endswith("[The text is cut here; the whole e-mail is kept as it was received.]")


def test_empty_subject_and_body(deliver, customer):
    inbound = deliver(simple(subject="", body=""))
    assert inbound.ticket.subject == "(no subject)"
    assert inbound.ticket.body == "(The e-mail had no text.)"


# --- unknown senders -------------------------------------------------------------------------


def test_unknown_sender_gets_an_unmatched_ticket_on_a_placeholder(deliver, line):
    first = deliver(simple(sender="Olga Smirnova <olga@newcomer.example>", subject="Prices?", message_id="o-1@x"))
    assert first.outcome == Outcome.UNMATCHED_TICKET_CREATED
    assert not first.sender_matched
    placeholder = first.ticket.customer
    assert placeholder.email == "olga@newcomer.example"
    assert placeholder.username.startswith("email-")
    assert not placeholder.is_active
    assert not placeholder.has_usable_password()
    assert placeholder.first_name == "Olga Smirnova"
    assert "an agent can link it" in first.outcome_detail
    # A second mail from the same address reuses the placeholder.
    second = deliver(simple(sender="OLGA@newcomer.example", subject="And discounts?", message_id="o-2@x"))
    assert second.outcome == Outcome.UNMATCHED_TICKET_CREATED
    assert second.ticket.customer == placeholder
    assert User.objects.filter(email__iexact="olga@newcomer.example").count() == 1
    # Her reply to her own ticket is threaded.
    reply = deliver(
        simple(sender="olga@newcomer.example", subject=f"Re: [#{first.ticket.number}] Prices?", message_id="o-3@x")
    )
    assert reply.outcome == Outcome.THREADED
    assert reply.ticket == first.ticket
    assert not reply.sender_matched


def test_mail_from_a_staff_address_is_filed_unmatched_without_touching_the_account(deliver, agent):
    inbound = deliver(simple(sender=f"Agent <{agent.email}>", subject="Forwarding a customer's request"))
    assert inbound.outcome == Outcome.UNMATCHED_TICKET_CREATED
    placeholder = inbound.ticket.customer
    assert placeholder != agent and placeholder.is_customer and not placeholder.is_active
    assert placeholder.email == ""
    assert "staff account" in inbound.outcome_detail


def test_mail_from_a_staff_members_former_address_still_files(deliver, agent):
    old_address = agent.email
    first = deliver(simple(sender=f"Agent <{old_address}>", subject="Forwarded", message_id="staff-1@x"))
    placeholder = first.ticket.customer
    agent.email = "agent-a.new@support.example"
    agent.save(update_fields=["email"])
    # The address is nobody's now; its placeholder is still the one account for it.
    second = deliver(simple(sender=old_address, subject="Another one", message_id="staff-2@x"))
    assert second.outcome == Outcome.UNMATCHED_TICKET_CREATED
    assert second.ticket.customer == placeholder


def test_mail_from_a_deactivated_customer_is_filed_unmatched(deliver):
    former = CustomerFactory(username="former", email="former@example.com", is_active=False)
    inbound = deliver(simple(sender="former@example.com"))
    assert inbound.outcome == Outcome.UNMATCHED_TICKET_CREATED
    assert inbound.ticket.customer == former
    assert "deactivated" in inbound.outcome_detail


# --- replies -----------------------------------------------------------------------------------


def test_reply_threaded_by_the_number_in_the_subject(deliver, customer, agent):
    ticket = waiting_for_customer(customer, agent)
    inbound = deliver(load("reply_subject.eml", TICKET=ticket.number))
    assert inbound.outcome == Outcome.THREADED
    assert inbound.ticket == ticket
    assert "the ticket number in the subject" in inbound.outcome_detail
    message = inbound.ticket_message
    assert message.author == customer
    # Quoted text and the signature are gone.
    assert message.body == "Yes, I rebooted it from the panel, it is back now. Thank you!"
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_AGENT
    assert Ticket.objects.count() == 1


def test_reply_threaded_by_in_reply_to(deliver, customer):
    original = deliver(load("multipart_alternative.eml"))
    reply = deliver(load("reply_in_reply_to.eml"))
    assert reply.outcome == Outcome.THREADED
    assert reply.ticket == original.ticket
    assert "CAF=2x9QkR7mU5o+8hLr0b1Xn3pW@mail.gmail.com" in reply.outcome_detail
    assert reply.ticket_message.body == "It happened again at 11:55, same kernel panic."
    assert Ticket.objects.count() == 1


def test_reply_threaded_by_references_to_an_earlier_reply(deliver, customer):
    original = deliver(simple(message_id="first@example.com", subject="VPS slow"))
    deliver(
        simple(message_id="second@example.com", subject="Re: VPS slow", headers={"In-Reply-To": "<first@example.com>"})
    )
    third = deliver(
        simple(
            message_id="third@example.com",
            subject="Re: VPS slow",
            headers={"References": "<first@example.com> <unknown@elsewhere> <second@example.com>"},
        )
    )
    assert third.outcome == Outcome.THREADED
    assert third.ticket == original.ticket
    assert len(public_messages(original.ticket)) == 2


def test_reply_threaded_by_the_plus_address(deliver, customer, agent):
    ticket = waiting_for_customer(customer, agent)
    inbound = deliver(
        simple(to=f"Support <support+{ticket.number}@helpdesk.localhost>", subject="Re: your answer", body="Done.")
    )
    assert inbound.outcome == Outcome.THREADED
    assert inbound.ticket == ticket
    assert inbound.ticket_message.body == "Done."


def test_reply_with_files_keeps_them_on_the_message(deliver, customer, agent):
    ticket = waiting_for_customer(customer, agent)
    raw = load("attachments_refused.eml").replace(b"Subject: Logs", f"Subject: Re: [#{ticket.number}] Logs".encode())
    inbound = deliver(raw)
    assert inbound.outcome == Outcome.THREADED
    message = inbound.ticket_message
    assert [a.original_name for a in message.attachments.all()] == ["report.pdf"]
    assert "Not accepted: `setup.exe` (file type not accepted)" in message.body


def test_someone_else_naming_a_ticket_gets_a_new_ticket(deliver, customer, agent):
    ticket = waiting_for_customer(customer, agent)
    other = CustomerFactory(username="other", email="other@example.com")
    inbound = deliver(
        load("reply_subject.eml", TICKET=ticket.number).replace(b"customer-a@example.com", b"other@example.com")
    )
    assert inbound.outcome == Outcome.TICKET_CREATED
    assert inbound.ticket != ticket
    assert inbound.ticket.customer == other
    assert f"not the customer of ticket #{ticket.number}" in inbound.outcome_detail
    assert len(public_messages(ticket)) == 1  # only the agent's


def test_reply_to_a_closed_ticket_opens_a_follow_up(deliver, customer, agent):
    ticket = make_ticket(customer)
    ticket_services.ticket_resolve(ticket=ticket, actor=agent)
    ticket_services.ticket_confirm(ticket=ticket, customer=customer)
    inbound = deliver(load("reply_subject.eml", TICKET=ticket.number))
    assert inbound.outcome == Outcome.TICKET_CREATED
    assert inbound.ticket != ticket
    assert inbound.ticket.body.startswith(f"Follow-up to ticket #{ticket.number}.")
    assert "Please reboot the server" not in inbound.ticket.body
    assert "is closed" in inbound.outcome_detail


def test_reply_to_a_resolved_ticket_puts_it_back_to_the_agents(deliver, customer, agent):
    ticket = make_ticket(customer)
    ticket_services.ticket_resolve(ticket=ticket, actor=agent)
    inbound = deliver(load("reply_subject.eml", TICKET=ticket.number))
    assert inbound.outcome == Outcome.THREADED
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_AGENT


def test_a_colleague_who_sees_the_organisations_tickets_may_reply(deliver, customer, agent):
    from accounts.tests.factories import OrganisationFactory

    organisation = OrganisationFactory()
    customer.organisation = organisation
    customer.save(update_fields=["organisation"])
    colleague = CustomerFactory(username="colleague", email="colleague@example.com", organisation=organisation)
    colleague.customer_profile.can_see_organisation_tickets = True
    colleague.customer_profile.save()
    ticket = waiting_for_customer(customer, agent)
    inbound = deliver(simple(sender="colleague@example.com", subject=f"Re: [#{ticket.number}] x", body="I can add."))
    assert inbound.outcome == Outcome.THREADED
    assert inbound.ticket_message.author == colleague


# --- mail nobody wrote -----------------------------------------------------------------------


def test_auto_reply_is_ignored(deliver, customer, agent):
    ticket = waiting_for_customer(customer, agent)
    inbound = deliver(load("auto_reply.eml", TICKET=ticket.number))
    assert inbound.outcome == Outcome.IGNORED_AUTO_REPLY
    assert "Auto-Submitted: auto-replied" in inbound.outcome_detail
    assert inbound.ticket is None
    assert len(public_messages(ticket)) == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER


def test_bounce_is_ignored_and_creates_nobody(deliver):
    users = User.objects.count()
    inbound = deliver(load("bounce.eml"))
    assert inbound.outcome == Outcome.IGNORED_BOUNCE
    assert not Ticket.objects.exists()
    assert User.objects.count() == users


def test_our_own_notification_coming_back_is_a_loop(deliver, customer, agent):
    ticket = waiting_for_customer(customer, agent)
    inbound = deliver(load("own_notification.eml", TICKET=ticket.number))
    assert inbound.outcome == Outcome.IGNORED_LOOP
    assert len(public_messages(ticket)) == 1
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "sender", "outcome"),
    [
        ({"Precedence": "bulk"}, "customer-a@example.com", Outcome.IGNORED_BULK),
        ({"Precedence": "junk"}, "customer-a@example.com", Outcome.IGNORED_BULK),
        ({"Precedence": "list"}, "customer-a@example.com", Outcome.IGNORED_BULK),
        ({"List-Id": "<news.example.com>"}, "customer-a@example.com", Outcome.IGNORED_BULK),
        ({"List-Unsubscribe": "<mailto:leave@example.com>"}, "customer-a@example.com", Outcome.IGNORED_BULK),
        ({"X-Loop": "support@helpdesk.localhost"}, "customer-a@example.com", Outcome.IGNORED_LOOP),
        ({"X-Helpdesk-Ticket": "100001"}, "customer-a@example.com", Outcome.IGNORED_LOOP),
        ({"X-Loop": "helpdesk@other.example"}, "customer-a@example.com", Outcome.TICKET_CREATED),
        ({"Precedence": "auto_reply"}, "customer-a@example.com", Outcome.IGNORED_AUTO_REPLY),
        ({"X-Autoreply": "yes"}, "customer-a@example.com", Outcome.IGNORED_AUTO_REPLY),
        ({"X-Autorespond": "Out of office"}, "customer-a@example.com", Outcome.IGNORED_AUTO_REPLY),
        ({"Auto-Submitted": "auto-generated"}, "customer-a@example.com", Outcome.IGNORED_AUTO_REPLY),
        ({"Return-Path": "<>"}, "customer-a@example.com", Outcome.IGNORED_AUTO_REPLY),
        ({}, "MAILER-DAEMON@mx.example.com", Outcome.IGNORED_BOUNCE),
        ({}, "postmaster@example.com", Outcome.IGNORED_BOUNCE),
        ({}, "support+100001@helpdesk.localhost", Outcome.IGNORED_LOOP),
        ({}, "Support <support@helpdesk.localhost>", Outcome.IGNORED_LOOP),
        ({}, "support@hosting.example", Outcome.IGNORED_LOOP),
        ({"Auto-Submitted": "no"}, "customer-a@example.com", Outcome.TICKET_CREATED),
        ({"Precedence": "first-class"}, "customer-a@example.com", Outcome.TICKET_CREATED),
    ],
)
def test_automatic_mail_never_opens_tickets(deliver, customer, headers, sender, outcome):
    inbound = deliver(simple(sender=sender, headers=headers))
    assert inbound.outcome == outcome
    assert Ticket.objects.exists() == (outcome == Outcome.TICKET_CREATED)


def test_own_message_id_domain_is_configurable(deliver, customer, settings):
    settings.MESSAGE_ID_DOMAIN = "mail.hosting.example"
    ours = deliver(simple(message_id="abc@notify.mail.hosting.example"))
    assert ours.outcome == Outcome.IGNORED_LOOP
    theirs = deliver(simple(message_id="abc@helpdesk"))
    assert theirs.outcome == Outcome.TICKET_CREATED


def test_the_reply_address_our_e_mails_give_threads_and_is_never_a_sender(deliver, customer, agent, settings):
    from notifications.services import reply_to_address

    settings.REPLY_ADDRESS_LOCAL_PART = "help"
    ticket = waiting_for_customer(customer, agent)
    address = reply_to_address(ticket)
    assert address.startswith(f"help+{ticket.number}@")
    reply = deliver(simple(to=address, subject="Re: your answer", body="Done.", message_id="r-1@x"))
    assert reply.outcome == Outcome.THREADED and reply.ticket == ticket
    # Forwarded through another domain, the address still names the ticket.
    forwarded = deliver(simple(to=f"help+{ticket.number}@relay.example", subject="Re: x", message_id="r-2@x"))
    assert forwarded.ticket == ticket
    loop = deliver(simple(sender=address, message_id="r-3@x"))
    assert loop.outcome == Outcome.IGNORED_LOOP


def test_our_own_message_ids_carry_the_configured_domain(deliver, customer, settings):
    from notifications.models import new_message_id

    settings.MESSAGE_ID_DOMAIN = "mail.hosting.example"
    ours = new_message_id()
    assert ours.endswith("@mail.hosting.example>")
    echoed = deliver(simple(message_id=ours.strip("<>")))
    assert echoed.outcome == Outcome.IGNORED_LOOP


# --- mailboxes and duplicates ------------------------------------------------------------------


def test_new_mail_goes_to_the_line_of_its_mailbox(deliver, customer, line):
    billing = LineFactory(code="billing", name="Billing", kind="department", level=None)
    Mailbox.objects.create(name="Billing", address="billing@hosting.example", line=billing, category="billing")
    inbound = deliver(simple(to="Billing <billing@hosting.example>", subject="Refund"))
    assert inbound.mailbox.address == "billing@hosting.example"
    assert inbound.ticket.line == billing
    assert inbound.ticket.category == "billing"
    # Not the envelope's: the address given by the MTA wins over the headers.
    other = deliver(simple(to="someone@else.example", subject="Refund 2"), mailbox="billing@hosting.example")
    assert other.ticket.line == billing


def test_mail_to_a_plus_address_of_a_mailbox_belongs_to_it(deliver, customer, mailbox):
    inbound = deliver(simple(to="support+newsletter@hosting.example"))
    assert inbound.mailbox == mailbox
    assert inbound.outcome == Outcome.TICKET_CREATED


def test_a_second_delivery_is_a_duplicate_and_files_nothing(deliver, customer):
    raw = load("multipart_alternative.eml")
    first = deliver(raw)
    again = deliver(b"Received: from relay2.example\r\n" + raw)  # the same message by another route
    assert again.outcome == Outcome.DUPLICATE
    assert again.duplicate_of == first
    assert again.ticket == first.ticket
    assert Ticket.objects.count() == 1
    assert first.ticket.messages.count() == 0
    assert InboundMessage.objects.count() == 2
    assert again.raw_bytes().endswith(raw)


def test_identical_bytes_without_message_id_are_a_duplicate(deliver, customer):
    raw = simple(subject="No id")
    deliver(raw)
    assert deliver(raw).outcome == Outcome.DUPLICATE
    assert Ticket.objects.count() == 1


def test_every_input_is_kept(deliver, customer, agent):
    ticket = waiting_for_customer(customer, agent)
    names = sorted(path.name for path in (load.__globals__["MESSAGES"]).glob("*.eml"))
    raws = [load(name, TICKET=ticket.number) for name in names]
    for raw in raws:
        deliver(raw)
    stored = list(InboundMessage.objects.order_by("id"))
    assert len(stored) == len(names)
    # Byte for byte, except that access data found in a message is masked in its stored copy.
    masked = [item.access_data_moved for item in stored]
    assert sum(masked) >= 3
    assert [item.raw_bytes() for item, moved in zip(stored, masked, strict=True) if not moved] == [
        raw for raw, moved in zip(raws, masked, strict=True) if not moved
    ]
    for item, raw in zip(stored, raws, strict=True):
        if item.access_data_moved:
            assert item.raw_bytes() != raw and len(item.raw_bytes()) > len(raw) // 2
            assert item.sha256 == hashlib.sha256(raw).hexdigest()
    assert all(item.outcome != Outcome.RECEIVED and item.processed_at for item in stored)
