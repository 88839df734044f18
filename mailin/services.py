"""Receiving e-mail: store it raw, then file it as a ticket or a reply, or say why not.

Every way in (the endpoint, `manage.py receive_email`, IMAP polling) calls `receive`. The raw
message is committed first, in its own transaction, so a message is never lost whatever
happens next; `process` then reads it and files it through the ticket services
(`ticket_create` with the e-mail channel, `message_add`), which apply the same rules and
upload limits as the panel. What happened is the message's outcome.

Unknown senders: a ticket needs a customer, so mail from an address without a customer
account is filed for a placeholder (an inactive customer without a password, see
accounts.services.customer_for_address) and marked unmatched; an agent links it to the real
account with `link_sender`, which also makes later mail from that address go to that account.

Our own mail coming back (by its Message-ID, X-Loop or X-Helpdesk-Ticket) is never filed; a
delivery report on one of our e-mails fails it (notifications.services.notification_bounced)
and counts the bounce against the address. A message whose DMARC check failed at the receiving
server is filed as from an unverified sender and never added to an existing ticket. Access data
in the text is masked and moved to the ticket's encrypted access data (mailin.credentials,
tickets.services.secret_store_from_email), and the sender gets one automatic reminder, at most
AUTO_REPLIES_PER_ADDRESS_PER_DAY automatic answers per address a day (`AutoReply`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import smtplib
import tempfile
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import PLACEHOLDER_PREFIX, customer_for_address, placeholder_for_staff_address
from helpdesk import mail as own_mail
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from mailin import credentials, parser
from mailin import selectors as mailin_selectors
from mailin.models import FILED_OUTCOMES, Authentication, AutoReply, InboundMessage, Mailbox, Outcome, Source
from notifications import services as notification_services
from notifications.models import Notification
from tickets import services as ticket_services
from tickets.events import system_reason
from tickets.models import Category, Channel, Message, Status, SystemReason, Ticket
from tickets.selectors import can_work_ticket, customer_can_see_ticket
from tickets.uploads import clean_filename, validate_upload

logger = logging.getLogger(__name__)

# "[#123456]", "#123456", "Ticket 123456", "Ticket #123456", "Заявка №123456".
SUBJECT_NUMBER = re.compile(
    r"\[#?(\d{4,12})\]|#(\d{4,12})\b|\b(?:ticket|заявка|тикет|обращение)\s*(?:#|№|no\.?)?\s*(\d{4,12})\b",
    re.IGNORECASE,
)
CHUNK = 1024 * 1024


# --- receiving ------------------------------------------------------------------------------


def receive(source, *, origin: str, mailbox: Mailbox | None = None) -> InboundMessage:
    """Store one raw message (bytes or a binary file) and process it; returns it with its outcome.

    Only a failure to store the message raises (the caller should then ask for a retry);
    anything that goes wrong afterwards is recorded as the outcome."""
    inbound = store(source, origin=origin, mailbox=mailbox)
    if inbound.outcome == Outcome.RECEIVED:
        process(inbound)
    elif inbound.outcome == Outcome.DUPLICATE and inbound.duplicate_of.outcome == Outcome.RECEIVED:
        # Stored by a delivery that died before filing it (the MTA was told to retry): file it now.
        process(inbound.duplicate_of)
        inbound.ticket_id = inbound.duplicate_of.ticket_id
        InboundMessage.objects.filter(pk=inbound.pk).update(ticket_id=inbound.ticket_id)
    return inbound


def _spool(source) -> tuple[tempfile.SpooledTemporaryFile, int, str]:
    spool = tempfile.SpooledTemporaryFile(max_size=settings.INBOUND_INLINE_BYTES)  # noqa: SIM115 - returned open
    digest = hashlib.sha256()
    size = 0
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        spool.write(data)
        digest.update(data)
        size = len(data)
    else:
        while chunk := source.read(CHUNK):
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8", "surrogateescape")
            spool.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    spool.seek(0)
    return spool, size, digest.hexdigest()


def store(source, *, origin: str, mailbox: Mailbox | None = None) -> InboundMessage:
    """Keep the raw message (committed before it is processed); a second delivery of a stored
    message is stored as a duplicate of it."""
    if origin not in Source.values:
        raise ValueError(origin)
    spool, size, digest = _spool(source)
    with spool:
        head = spool.read(parser.HEADER_PEEK_BYTES)
        spool.seek(0)
        summary = parser.peek_headers(head)
        inbound = InboundMessage(
            mailbox=mailbox,
            source=origin,
            sha256=digest,
            size=size,
            message_id=summary.message_id,
            in_reply_to=summary.in_reply_to,
            references=summary.references,
            from_address=summary.from_address[:254],
            from_name=summary.from_name[:200],
            to_addresses=", ".join(summary.recipients),
            subject=summary.subject,
            received_at=timezone.now(),
        )
        if size > settings.INBOUND_MAX_BYTES:
            inbound.outcome = Outcome.REJECTED_TOO_LARGE
            inbound.outcome_detail = _(
                "The message is %(size)s MB; messages over %(limit)s MB are kept here but not filed."
            ) % {"size": round(size / 1048576, 1), "limit": round(settings.INBOUND_MAX_BYTES / 1048576, 1)}
            inbound.processed_at = inbound.received_at
        if size > settings.INBOUND_INLINE_BYTES:
            inbound.raw_file.save(f"{uuid.uuid4().hex}.eml", File(spool), save=False)
        else:
            inbound.raw = spool.read()
    duplicate_of = _stored_copy(inbound)
    if duplicate_of is None:
        try:
            with transaction.atomic():
                inbound.save(force_insert=True)
        except IntegrityError:
            duplicate_of = _stored_copy(inbound)
            if duplicate_of is None:
                raise
            inbound.pk = None
    if duplicate_of is not None:
        inbound.outcome = Outcome.DUPLICATE
        inbound.duplicate_of = duplicate_of
        inbound.ticket_id = duplicate_of.ticket_id
        inbound.message_id = duplicate_of.message_id
        inbound.outcome_detail = _("Already received as inbound message %(id)s (%(outcome)s).") % {
            "id": duplicate_of.pk,
            "outcome": duplicate_of.get_outcome_display(),
        }
        inbound.processed_at = timezone.now()
        with transaction.atomic():
            inbound.save(force_insert=True)
    logger.info("inbound e-mail stored: id=%s size=%s outcome=%s origin=%s", inbound.pk, size, inbound.outcome, origin)
    return inbound


def _stored_copy(inbound: InboundMessage) -> InboundMessage | None:
    copies = InboundMessage.objects.exclude(outcome=Outcome.DUPLICATE)
    if inbound.message_id:
        return copies.filter(message_id=inbound.message_id).first()
    return copies.filter(message_id="", sha256=inbound.sha256, size=inbound.size).first()


# --- processing -----------------------------------------------------------------------------


@dataclass
class Sender:
    user: User
    matched: bool
    note: str = ""


def own_addresses() -> set[str]:
    """Addresses the helpdesk sends from or receives at: mail from them is our own."""
    found = {address.lower() for address in Mailbox.objects.values_list("address", flat=True)}
    for name in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
        pairs = parser.addresses([getattr(settings, name)])
        found |= {parser.base_address(address) for _name, address in pairs}
    return found


def _finish(inbound: InboundMessage, outcome: str, detail: str = "", **fields) -> InboundMessage:
    inbound.outcome = outcome
    inbound.outcome_detail = detail
    inbound.processed_at = timezone.now()
    for name, value in fields.items():
        setattr(inbound, name, value)
    inbound.save()
    logger.info(
        "inbound e-mail %s: outcome=%s ticket=%s detail=%s",
        inbound.pk,
        outcome,
        inbound.ticket.number if inbound.ticket_id else None,
        detail[:300],
    )
    return inbound


def process(inbound: InboundMessage) -> InboundMessage:
    """Read a stored message and file it; the outcome says what happened. Never raises for a
    problem of the message itself: that is recorded, the raw message stays for inspection.
    A database that cannot be reached raises (the caller asks the MTA to retry)."""
    try:
        _process(inbound)
    except DatabaseError:
        raise
    except Exception as exc:
        logger.exception("inbound e-mail %s could not be processed", inbound.pk)
        return _finish(
            inbound, Outcome.FAILED, _("Processing failed: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"}
        )
    send_auto_replies(inbound)
    return inbound


def _process(inbound: InboundMessage) -> InboundMessage:
    try:
        mail = parser.parse(inbound.raw_bytes())
    except parser.ParseError as exc:
        return _finish(inbound, Outcome.FAILED_PARSE, _("Not readable as an e-mail: %(error)s.") % {"error": exc})
    inbound.message_id = inbound.message_id or mail.message_id
    inbound.in_reply_to = " ".join(mail.in_reply_to)
    inbound.references = " ".join(mail.references)
    inbound.from_address = mail.from_address[:254]
    inbound.from_name = mail.from_name[:200]
    inbound.to_addresses = ", ".join(mail.recipients)
    inbound.subject = mail.subject
    inbound.sent_at = mail.sent_at
    inbound.text_damaged = mail.text_damaged
    auth = parser.authentication_results(mail, server=settings.INBOUND_AUTHSERV_ID)
    inbound.authentication = {"pass": Authentication.PASS, "fail": Authentication.FAIL}.get(
        auth.dmarc, Authentication.NONE
    )
    inbound.authentication_detail = auth.summary()[:500]
    notes = list(mail.notes)

    ours = own_message(mail.message_id)
    if ours is not None:
        return _finish(inbound, Outcome.IGNORED_LOOP, _join(ours[1], notes), notification=ours[0])
    verdict = parser.classify(
        mail,
        own_addresses=own_addresses(),
        message_id_domain=settings.MESSAGE_ID_DOMAIN,
        reply_local_part=settings.REPLY_ADDRESS_LOCAL_PART,
        loop_token=own_mail.loop_token(),
    )
    if verdict is not None:
        outcome, why = verdict
        if outcome == Outcome.IGNORED_BOUNCE and mail.report is not None:
            with transaction.atomic():
                notification, about = record_bounce(mail.report)
            return _finish(inbound, outcome, _join(why, [*about, *notes]), notification=notification)
        return _finish(inbound, outcome, _join(why, notes))

    if inbound.mailbox is None:
        inbound.mailbox = mailbox_for(mail.recipients)
    try:
        with transaction.atomic():
            return _file(inbound, mail, notes)
    except DomainError as exc:
        return _finish(
            inbound,
            Outcome.FAILED,
            _join(_("The ticket could not be filed: %(error)s") % {"error": exc.message}, notes),
        )


def _join(first: str, notes: list[str]) -> str:
    return "; ".join([first, *notes]) if notes else first


def mailbox_for(recipients: list[str]) -> Mailbox | None:
    """The mailbox a message was sent to (also through a +tag of its address)."""
    wanted = {address.lower() for address in recipients} | {parser.base_address(a) for a in recipients}
    if not wanted:
        return None
    return (
        Mailbox.objects.annotate(address_lower=Lower("address"))
        .filter(address_lower__in=wanted)
        .select_related("line")
        .order_by("-is_active", "id")
        .first()
    )


def resolve_sender(address: str, name: str) -> Sender:
    """Who wrote: the customer with this address, the account an agent linked it to, or a
    placeholder for an unknown sender."""
    account = User.objects.filter(email__iexact=address, role=Role.CUSTOMER, is_active=True).first()
    if account is not None:
        return Sender(account, True)
    link = (
        InboundMessage.objects.annotate(address_lower=Lower("from_address"))
        .filter(address_lower=address.lower(), linked_customer__isnull=False)
        .select_related("linked_customer")
        .order_by("-linked_at", "-id")
        .first()
    )
    if link is not None and link.linked_customer.is_active and link.linked_customer.is_customer:
        return Sender(link.linked_customer, True, _("sender linked to %(user)s") % {"user": link.linked_customer})
    user = _customer_for_address(address, name)
    if user.is_customer:
        note = "" if user.username.startswith(PLACEHOLDER_PREFIX) else _("the sender's account is deactivated")
        return Sender(user, False, note)
    # The address is a staff account's: the mail is filed for a placeholder without an address.
    return Sender(_staff_address_placeholder(address, name), False, _("the sender's address is a staff account's"))


def _customer_for_address(address: str, name: str) -> User:
    for attempt in range(2):
        try:
            with transaction.atomic():
                user, _matched = customer_for_address(email=address, name=name)
                return user
        except IntegrityError:  # the same unknown sender, created by a concurrent delivery
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _staff_address_placeholder(address: str, name: str) -> User:
    return placeholder_for_staff_address(email=address, name=name)


@dataclass
class Target:
    ticket: Ticket
    author: User
    how: str


def _candidates(mail: parser.ParsedMail, own: set[str]) -> list[tuple[int | Ticket, str]]:
    """Tickets this mail may be a reply to, the most explicit first."""
    found: list[tuple[int | Ticket, str]] = []
    for address in mail.recipients:
        tag = parser.plus_tag(address)
        if tag.isdigit() and (
            parser.base_address(address) in own or parser.is_reply_address(address, settings.REPLY_ADDRESS_LOCAL_PART)
        ):
            found.append((int(tag), _("the address %(address)s") % {"address": address}))
    ids = [*mail.in_reply_to, *reversed(mail.references)]
    if ids:
        earlier = {
            row.message_id: row.ticket
            for row in InboundMessage.objects.filter(message_id__in=ids, ticket__isnull=False)
            .exclude(outcome=Outcome.DUPLICATE)
            .select_related("ticket")
        }
        # The e-mails the helpdesk sent: a reply whose client dropped the subject's number
        # still names the notification it answers.
        wrapped = [f"<{message_id}>" for message_id in ids]
        for model in (Notification, AutoReply):
            for row in model.objects.filter(message_id__in=wrapped, ticket__isnull=False).select_related("ticket"):
                earlier.setdefault(row.message_id.strip("<>"), row.ticket)
        for message_id in ids:
            if message_id in earlier:
                found.append((earlier[message_id], _("the reference to <%(id)s>") % {"id": message_id}))
    for match in SUBJECT_NUMBER.finditer(mail.subject):
        number = next(group for group in match.groups() if group)
        found.append((int(number), _("the ticket number in the subject")))
    return found


def find_target(mail: parser.ParsedMail, sender: Sender) -> tuple[Target | None, list[str]]:
    """The ticket to add this mail to, if it is a reply by that ticket's customer; with notes
    on tickets it named but may not be added to."""
    notes: list[str] = []
    seen: set[int] = set()
    for candidate, how in _candidates(mail, own_addresses()):
        ticket = candidate if isinstance(candidate, Ticket) else Ticket.objects.filter(number=candidate).first()
        if ticket is None or ticket.pk in seen:
            continue
        seen.add(ticket.pk)
        author = _author_for(ticket, sender, mail.from_address)
        if author is None:
            notes.append(_("the sender is not the customer of ticket #%(number)s") % {"number": ticket.number})
            continue
        if ticket.status == Status.CLOSED:
            notes.append(_("ticket #%(number)s is closed; a new ticket was opened") % {"number": ticket.number})
        return Target(ticket, author, how), notes
    return None, notes


def _author_for(ticket: Ticket, sender: Sender, address: str) -> User | None:
    if customer_can_see_ticket(sender.user, ticket):
        return sender.user
    # The address that opened the ticket before an agent moved it to the customer's account.
    wrote_before = (
        InboundMessage.objects.annotate(address_lower=Lower("from_address"))
        .filter(ticket=ticket, address_lower=address.lower(), outcome__in=FILED_OUTCOMES)
        .exists()
    )
    if wrote_before and ticket.customer.is_customer:
        return ticket.customer
    return None


def _files(mail: parser.ParsedMail) -> tuple[list[SimpleUploadedFile], list[str]]:
    """The files the panel would accept (same checks, same limits), and lines for the others."""
    accepted: list[SimpleUploadedFile] = []
    refused: list[str] = []
    limit = settings.ATTACHMENT_MAX_FILES
    for item in mail.files:
        name = clean_filename(item.name)
        upload = SimpleUploadedFile(name, item.data, content_type=item.content_type)
        if len(accepted) >= limit:
            reason = _("at most %(count)d files per message") % {"count": limit}
        else:
            try:
                validate_upload(upload, count=1)
            except DomainError as exc:
                reason = _refusal(exc)
            else:
                accepted.append(upload)
                continue
        refused.append(_("Not accepted: %(name)s (%(reason)s)") % {"name": _code_span(name), "reason": reason})
    return accepted, refused


def _refusal(exc: DomainError) -> str:
    if exc.code == "file_too_large":
        return _("larger than %(limit)s") % {"limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
    if exc.code == "file_type_not_allowed":
        return _("file type not accepted")
    return exc.message


def _code_span(text: str) -> str:
    """A file name shown literally in Markdown."""
    return "`" + text.replace("`", "'") + "`"


def _body(text: str, refused: list[str], *, extra: str = "") -> str:
    parts = [part for part in (extra, text.strip(), "\n".join(f"- {line}" for line in refused)) if part]
    body = "\n\n".join(parts) or _("(The e-mail had no text.)")
    limit = ticket_services.BODY_MAX
    if len(body) > limit:
        suffix = "\n\n" + _("[The text is cut here; the whole e-mail is kept as it was received.]")
        body = body[: limit - len(suffix)] + suffix
    return body


def _subject(subject: str) -> str:
    subject = parser.one_line(subject) or _("(no subject)")
    if len(subject) > ticket_services.SUBJECT_MAX:
        subject = subject[: ticket_services.SUBJECT_MAX - 1] + "…"
    return subject


def _masked(text: str, notes: list[str]) -> tuple[str, credentials.Found]:
    """The text with any access data masked (mailin.credentials), and what was found."""
    found = credentials.find(text)
    if found:
        text = (
            found.text
            + "\n\n"
            + _(
                "[Access data in this e-mail was moved to the ticket's encrypted access data: e-mail is not a safe "
                "place for it.]"
            )
        )
        notes.append(_("access data in the text was masked and moved to the encrypted access data"))
    return text, found


def _masked_raw(inbound: InboundMessage, secrets: list[str]) -> dict:
    """The stored raw message with the secrets masked, as fields for `_finish` (a large message
    kept as a file gets a masked file of its own; the clear one is deleted once it is saved).
    `sha256` and `size` stay those of the message as received: a second delivery of it is still
    known as a duplicate."""
    if not secrets:
        return {}
    masked = credentials.mask_message(inbound.raw_bytes(), secrets)
    if inbound.raw is not None:
        return {"raw": masked}
    old_name = inbound.raw_file.name
    storage = inbound.raw_file.storage
    inbound.raw_file.save(f"{uuid.uuid4().hex}.eml", ContentFile(masked), save=False)
    transaction.on_commit(lambda: storage.delete(old_name))
    return {"raw_file": inbound.raw_file}


def _file(inbound: InboundMessage, mail: parser.ParsedMail, notes: list[str]) -> InboundMessage:
    sender = resolve_sender(mail.from_address, mail.from_name)
    if sender.note:
        notes.append(sender.note)
    target, target_notes = find_target(mail, sender)
    notes.extend(target_notes)
    unverified = inbound.authentication == Authentication.FAIL
    if unverified:
        notes.append(
            _("the receiving server's DMARC check failed (%(results)s): filed as from an unverified sender")
            % {"results": inbound.authentication_detail or "dmarc=fail"}
        )
    # Access data anywhere in the message (quoted or forwarded text too) is masked in the
    # forwarded messages kept as files and, once filed, in the stored raw message.
    secrets = credentials.find(mail.text).secrets
    if secrets:
        for item in mail.files:
            if item.content_type == "message/rfc822":
                item.data = credentials.mask_message(item.data, secrets)
    accepted, refused = _files(mail)
    common = {
        **_masked_raw(inbound, secrets),
        "sender": sender.user,
        "sender_matched": sender.matched,
        "attachments_kept": len(accepted),
        "attachments_refused": len(refused),
    }
    if target is not None and target.ticket.status != Status.CLOSED and not unverified:
        text, found = _masked(parser.strip_reply(mail.text) or mail.text, notes)
        message = ticket_services.message_add(
            ticket=target.ticket,
            author=target.author,
            body=_body(text, refused),
            kind=Message.Kind.PUBLIC,
            attachments=accepted,
        )
        if found:
            ticket_services.secret_store_from_email(
                ticket=target.ticket, sender=target.author, access_data=found.access_data
            )
            _remind_about_access_data(inbound, target.ticket, mail)
        detail = _join(
            _("Added to ticket #%(number)s by %(how)s.") % {"number": target.ticket.number, "how": target.how}, notes
        )
        return _finish(
            inbound,
            Outcome.THREADED,
            detail,
            ticket=target.ticket,
            ticket_message=message,
            access_data_moved=bool(found),
            **common,
        )

    text = mail.text
    extra = ""
    if target is not None and unverified:  # a forged reply must not join the customer's ticket
        text = parser.strip_reply(text) or text
        extra = _("Says it answers ticket #%(number)s; not added to it, as its sender is not verified.") % {
            "number": target.ticket.number
        }
    elif target is not None:  # a reply to a closed ticket opens a new one that names it
        text = parser.strip_reply(text) or text
        extra = _("Follow-up to ticket #%(number)s.") % {"number": target.ticket.number}
    text, found = _masked(text, notes)
    mailbox = inbound.mailbox
    category = mailbox.category if mailbox is not None else Category.GENERAL
    ticket = ticket_services.ticket_create(
        customer=sender.user,
        subject=_subject(mail.subject),
        body=_body(text, refused, extra=extra),
        category=category,
        channel=Channel.EMAIL,
        attachments=accepted,
        allow_inactive=not sender.user.is_active,
        sender_verified=not unverified,
    )
    if mailbox is not None and mailbox.line_id and mailbox.line_id != ticket.line_id and mailbox.line.is_active:
        ticket = ticket_services.ticket_system_transfer(
            ticket=ticket, to_line=mailbox.line, reason_code=SystemReason.MAILBOX, address=mailbox.address
        )
    if found:
        ticket_services.secret_store_from_email(ticket=ticket, sender=sender.user, access_data=found.access_data)
        _remind_about_access_data(inbound, ticket, mail)
    outcome = Outcome.TICKET_CREATED if sender.matched else Outcome.UNMATCHED_TICKET_CREATED
    detail = _("Ticket #%(number)s created.") % {"number": ticket.number}
    if not sender.matched:
        detail += " " + _("The sender %(address)s has no customer account; an agent can link it.") % {
            "address": mail.from_address
        }
    return _finish(inbound, outcome, _join(detail, notes), ticket=ticket, access_data_moved=bool(found), **common)


# --- our own mail coming back: loops and bounces -------------------------------------------


def own_message(message_id: str) -> tuple[Notification | None, str] | None:
    """(notification, why) when this Message-ID is one the helpdesk gave an e-mail it sent,
    whatever domain it was made in (the setting may have changed since)."""
    if not message_id:
        return None
    wrapped = f"<{message_id}>"
    notification = Notification.objects.filter(message_id=wrapped).select_related("ticket").first()
    if notification is not None:
        return notification, _("our own e-mail (notification %(id)s on ticket #%(number)s) came back") % {
            "id": notification.pk,
            "number": notification.ticket.number,
        }
    answer = AutoReply.objects.filter(message_id=wrapped).first()
    if answer is not None:
        return None, _("our own automatic answer %(id)s came back") % {"id": answer.pk}
    return None


def record_bounce(report: parser.DeliveryReport) -> tuple[Notification | None, list[str]]:
    """A delivery report on mail we sent: the notification (or automatic answer) it names is
    failed with the report's reason, and a hard bounce counts against the address."""
    failed = [recipient for recipient in report.recipients if recipient.failed]
    if not report.message_ids:
        return None, [_("it names none of our e-mails")]
    if not failed:
        delayed = report.recipients[0].reason() if report.recipients else ""
        return None, [_("delivery is only delayed (%(reason)s); nothing was changed") % {"reason": delayed}]
    recipient = failed[0]
    reason = recipient.reason()
    notification = notification_services.notification_bounced(message_ids=report.message_ids, reason=reason)
    if notification is not None:
        address = notification.email
        about = _("notification %(id)s to %(address)s marked failed: %(reason)s") % {
            "id": notification.pk,
            "address": address,
            "reason": reason,
        }
    else:
        wrapped = [f"<{item}>" for item in report.message_ids]
        answer = AutoReply.objects.select_for_update().filter(message_id__in=wrapped).first()
        if answer is None:
            return None, [_("it names none of our e-mails")]
        answer.status = AutoReply.Status.FAILED
        answer.detail = _("Bounced: %(reason)s") % {"reason": reason}
        answer.save(update_fields=["status", "detail"])
        address = answer.to_address
        about = _("automatic answer %(id)s to %(address)s marked failed: %(reason)s") % {
            "id": answer.pk,
            "address": address,
            "reason": reason,
        }
    row = notification_services.address_bounced(email=address, reason=reason, hard=recipient.hard)
    notes = [about]
    if row.suppressed:
        notes.append(_("%(address)s is no longer mailed until staff clear it") % {"address": address})
    return notification, notes


# --- automatic answers ---------------------------------------------------------------------


def _remind_about_access_data(inbound: InboundMessage, ticket: Ticket, mail: parser.ParsedMail) -> AutoReply:
    """Queue the reminder that access data goes through the control panel (sent once the
    filing commits, by `send_auto_replies`), unless the address has had its share today."""
    address = mail.from_address
    answer = AutoReply(
        inbound=inbound,
        ticket=ticket,
        kind=AutoReply.Kind.ACCESS_DATA,
        to_address=address,
        language=ticket.language,
    )
    since = timezone.now() - dt.timedelta(days=1)
    recent = (
        AutoReply.objects.annotate(address_lower=Lower("to_address"))
        .filter(address_lower=address.lower(), created_at__gte=since)
        .exclude(status=AutoReply.Status.SUPPRESSED)
        .count()
    )
    why = ""
    if inbound.authentication == Authentication.FAIL:
        why = _("not sent: the sender is not verified, and the address may not be theirs")
    elif recent >= settings.AUTO_REPLIES_PER_ADDRESS_PER_DAY:
        why = _("not sent: %(count)s automatic answers went to this address in the last day") % {"count": recent}
    elif notification_services.suppressed_addresses([address]):
        why = _("not sent: mail to this address bounces")
    if why:
        answer.status = AutoReply.Status.SUPPRESSED
        answer.detail = why
    answer.save(force_insert=True)
    return answer


def send_auto_replies(inbound: InboundMessage) -> None:
    """Send the automatic answers filing this message queued (after it committed). A mail server
    that refuses is recorded on the answer, never raised: the message is filed either way."""
    for answer in AutoReply.objects.filter(inbound=inbound, status=AutoReply.Status.QUEUED).select_related("ticket"):
        try:
            _auto_reply_message(answer, inbound).send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            answer.status = AutoReply.Status.FAILED
            answer.detail = f"{type(exc).__name__}: {exc}"[:2000]
            answer.save(update_fields=["status", "detail"])
            logger.warning("automatic answer %s to %s failed: %s", answer.pk, answer.to_address, answer.detail)
        else:
            answer.status = AutoReply.Status.SENT
            answer.sent_at = timezone.now()
            answer.save(update_fields=["status", "sent_at"])
            logger.info("automatic answer %s (%s) sent to %s", answer.pk, answer.kind, answer.to_address)


def _auto_reply_message(answer: AutoReply, inbound: InboundMessage) -> EmailMessage:
    ticket = answer.ticket
    context = {"number": ticket.number if ticket else None, "url": _panel_url(ticket)}
    with translation.override(answer.language or settings.LANGUAGE_CODE):
        subject = _("Please do not send access data by e-mail")
        if ticket is not None:
            subject = f"[#{ticket.number}] {subject}"
        body = render_to_string(f"mailin/email/{answer.kind}.txt", context)
    headers = {"Message-ID": answer.message_id, **own_mail.loop_headers()}
    if inbound.message_id:
        headers |= {"In-Reply-To": f"<{inbound.message_id}>", "References": f"<{inbound.message_id}>"}
    if ticket is not None:
        headers["X-Helpdesk-Ticket"] = str(ticket.number)
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[answer.to_address],
        reply_to=[notification_services.reply_to_address(ticket)] if ticket is not None else None,
        headers=headers,
    )


def _panel_url(ticket: Ticket | None) -> str:
    site = settings.SITE_URL.rstrip("/")
    if not site or ticket is None:
        return ""
    return site + reverse("panel-ticket", args=[ticket.number])


# --- after the fact -------------------------------------------------------------------------


def reprocess(inbound: InboundMessage) -> InboundMessage:
    """Try again to file a message that could not be filed (e.g. once a line is set up)."""
    if inbound.outcome not in (Outcome.RECEIVED, Outcome.FAILED, Outcome.FAILED_PARSE):
        raise Conflict(_("Only messages that could not be filed are processed again."), code="already_processed")
    return process(inbound)


@transaction.atomic
def link_sender(*, inbound_message: InboundMessage, customer: User, actor: User) -> InboundMessage:
    """An agent says who an unmatched sender is: the ticket (and the sender's other tickets filed
    for the same placeholder) move to `customer`, and later mail from the address goes to them."""
    inbound = InboundMessage.objects.select_for_update(of=("self",)).select_related("sender").get(pk=inbound_message.pk)
    if inbound.ticket_id is None:
        raise Conflict(_("This e-mail did not open or answer a ticket."), code="no_ticket")
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line", "customer").get(pk=inbound.ticket_id)
    if not can_work_ticket(actor, ticket):
        if actor.is_customer:
            raise NotFound(_("No such ticket."))
        raise PermissionDenied(_("Only staff of the line “%(line)s” may do this.") % {"line": ticket.line.name})
    if inbound.sender_matched or inbound.linked_customer_id:
        raise Conflict(_("This sender is already matched to a customer."), code="already_matched")
    placeholder = inbound.sender
    now = timezone.now()
    tickets = Ticket.objects.filter(pk=ticket.pk)
    if placeholder is not None and placeholder.username.startswith(PLACEHOLDER_PREFIX) and not placeholder.is_active:
        tickets = Ticket.objects.filter(Q(pk=ticket.pk) | Q(customer=placeholder))
    moved = []
    reason = system_reason(SystemReason.SENDER_LINKED, address=inbound.from_address)
    for item in tickets.select_for_update(of=("self",)).select_related("line"):
        if item.pk != ticket.pk and not can_work_ticket(actor, item):
            continue  # in a line the agent does not work in: its staff can link it from there
        ticket_services.ticket_change_customer(ticket=item, actor=actor, customer=customer, reason=reason)
        moved.append(item.number)
    inbound.linked_customer = customer
    inbound.linked_by = actor
    inbound.linked_at = now
    inbound.save(update_fields=["linked_customer", "linked_by", "linked_at"])
    logger.info(
        "inbound e-mail %s: sender %s linked to customer %s by %s; tickets moved: %s",
        inbound.pk,
        inbound.from_address,
        customer.username,
        actor.username,
        ", ".join(f"#{number}" for number in moved),
    )
    return inbound


@transaction.atomic
def kept_dismiss(*, inbound_message: InboundMessage, actor: User) -> InboundMessage:
    """Staff have looked at a message kept without a ticket (and filed it by hand, or found
    nothing to file): the workspace stops showing it. The raw message stays in the admin."""
    inbound = InboundMessage.objects.select_for_update(of=("self",)).get(pk=inbound_message.pk)
    if not actor.is_support_staff:
        raise PermissionDenied(_("Only support staff may do this."))
    if not mailin_selectors.kept_without_ticket(user=actor).filter(pk=inbound.pk).exists():
        raise NotFound(_("No such e-mail waiting to be looked at."))
    inbound.dismissed_at = timezone.now()
    inbound.dismissed_by = actor
    inbound.save(update_fields=["dismissed_at", "dismissed_by"])
    logger.info("inbound e-mail %s kept without a ticket: looked at by %s", inbound.pk, actor.username)
    return inbound
