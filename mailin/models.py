"""Inbound e-mail: the addresses the helpdesk receives mail at, and every message received.

Every message is stored raw before anything is done with it, so none is ever lost: what
became of it (a ticket, a reply on a ticket, ignored as an auto-reply, kept because it could
not be read) is its outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk import mail
from tickets import secrets
from tickets.models import Category


class Mailbox(models.Model):
    """An address customers write to; optionally read over IMAP by the poller."""

    name = models.CharField(_("name"), max_length=100)
    address = models.EmailField(_("address"), help_text=_("Mail to this address (and to its +tags) lands here."))
    line = models.ForeignKey(
        "queues.Line",
        verbose_name=_("line"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mailboxes",
        help_text=_(
            "The line new tickets from this address go to. Empty: the routing rules of the category decide. "
            "Choose a category that routes to this line, or the new ticket is passed on to it right away."
        ),
    )
    category = models.CharField(
        _("category of new tickets"), max_length=16, choices=Category.choices, default=Category.GENERAL
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive mailboxes are not polled; mail delivered to them is kept.")
    )
    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True, help_text=_("Empty: not polled."))
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_user = models.CharField(_("IMAP user"), max_length=255, blank=True)
    imap_password_encrypted = models.BinaryField(_("IMAP password (encrypted)"), blank=True, default=b"")
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    imap_use_ssl = models.BooleanField(_("IMAP over TLS"), default=True)
    last_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True)
    last_poll_error = models.TextField(_("last polling error"), blank=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("address"), name="mailin_mailbox_address_unique_ci")]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    @property
    def polls_imap(self) -> bool:
        return bool(self.is_active and self.imap_host and self.imap_user)

    def set_imap_password(self, plaintext: str) -> None:
        self.imap_password_encrypted = secrets.encrypt(plaintext) if plaintext else b""

    def imap_password(self) -> str:
        return secrets.decrypt(self.imap_password_encrypted) if self.imap_password_encrypted else ""


class Outcome(models.TextChoices):
    RECEIVED = "received", _("Received, not processed yet")
    TICKET_CREATED = "ticket_created", _("Ticket created")
    THREADED = "threaded", _("Added to its ticket")
    UNMATCHED_TICKET_CREATED = "unmatched_ticket_created", _("Ticket created, sender not matched")
    IGNORED_AUTO_REPLY = "ignored_auto_reply", _("Ignored: automatic reply")
    IGNORED_BOUNCE = "ignored_bounce", _("Ignored: bounce")
    IGNORED_LOOP = "ignored_loop", _("Ignored: our own mail")
    IGNORED_BULK = "ignored_bulk", _("Ignored: bulk mail")
    REJECTED_TOO_LARGE = "rejected_too_large", _("Kept, not filed: too large")
    FAILED_PARSE = "failed_parse", _("Kept, not filed: could not be read")
    FAILED = "failed", _("Kept, not filed: could not be filed")
    DUPLICATE = "duplicate", _("Duplicate delivery")


# Outcomes after which the message is in a ticket.
FILED_OUTCOMES = (Outcome.TICKET_CREATED, Outcome.THREADED, Outcome.UNMATCHED_TICKET_CREATED)
# Outcomes after which the message is kept without a ticket: the workspace tells the staff.
FAILED_OUTCOMES = (Outcome.REJECTED_TOO_LARGE, Outcome.FAILED_PARSE, Outcome.FAILED)


class Authentication(models.TextChoices):
    """The DMARC verdict of the receiving server (its Authentication-Results header)."""

    PASS = "pass", _("Passed the check")
    FAIL = "fail", _("Failed the check")
    NONE = "none", _("Not checked")


class Source(models.TextChoices):
    ENDPOINT = "endpoint", _("Inbound endpoint")
    COMMAND = "command", _("Management command")
    IMAP = "imap", _("IMAP polling")


class InboundMessage(models.Model):
    """One received e-mail, raw, with what became of it."""

    mailbox = models.ForeignKey(
        Mailbox,
        verbose_name=_("mailbox"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    source = models.CharField(_("received through"), max_length=16, choices=Source.choices)
    # The raw message: in the row when small, as a file under MEDIA_ROOT/inbound/ when large.
    raw = models.BinaryField(_("raw message"), null=True, blank=True)
    raw_file = models.FileField(_("raw message file"), upload_to="inbound/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size"))
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    in_reply_to = models.TextField(_("In-Reply-To"), blank=True)
    references = models.TextField(_("References"), blank=True)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    from_name = models.CharField(_("sender's name"), max_length=200, blank=True)
    to_addresses = models.TextField(_("recipients"), blank=True)
    subject = models.TextField(_("subject"), blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    # The sender's own Date header: their clock, not ours; empty when missing or unreadable.
    sent_at = models.DateTimeField(_("sent at (the sender's Date)"), null=True, blank=True)
    authentication = models.CharField(
        _("sender authentication (DMARC)"),
        max_length=8,
        choices=Authentication.choices,
        default=Authentication.NONE,
        help_text=_("From the receiving server's Authentication-Results header."),
    )
    authentication_detail = models.CharField(_("authentication results"), max_length=500, blank=True)
    text_damaged = models.BooleanField(
        _("text may be damaged"),
        default=False,
        help_text=_("Its charset was unknown or wrong: some characters were guessed or replaced."),
    )
    access_data_moved = models.BooleanField(
        _("access data moved"),
        default=False,
        help_text=_("Access data in the text was masked and moved to the ticket's encrypted access data."),
    )
    notification = models.ForeignKey(
        "notifications.Notification",
        verbose_name=_("our e-mail it reports on"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_reports",
    )
    # A message kept without a ticket is shown in the workspace until someone has looked at it.
    dismissed_at = models.DateTimeField(_("looked at"), null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("looked at by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, choices=Outcome.choices, default=Outcome.RECEIVED)
    outcome_detail = models.TextField(_("details"), blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    ticket_message = models.ForeignKey(
        "tickets.Message",
        verbose_name=_("message on the ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed as"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    sender_matched = models.BooleanField(
        _("sender matched"), default=False, help_text=_("The sender's address belongs to a customer account.")
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    attachments_kept = models.PositiveSmallIntegerField(_("files kept"), default=0)
    attachments_refused = models.PositiveSmallIntegerField(_("files not accepted"), default=0)
    # An agent's link of an unmatched sender to the real customer account (mailin.services.link_sender).
    linked_customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked to customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-id"]
        indexes = [
            # Threading: replies name earlier messages in In-Reply-To and References.
            models.Index(fields=["message_id"], name="mailin_inbound_message_id"),
            models.Index(Lower("from_address"), name="mailin_inbound_from_ci"),
            models.Index(fields=["outcome", "-received_at"], name="mailin_inbound_outcome"),
        ]
        constraints = [
            # A second delivery of a message is recorded as a duplicate, never filed twice.
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(message_id="") & ~models.Q(outcome="duplicate"),
                name="mailin_inbound_message_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.from_address or '?'} {self.subject[:60]}"

    def raw_bytes(self) -> bytes:
        """The message exactly as received."""
        if self.raw is not None:
            return bytes(self.raw)
        if self.raw_file:
            with self.raw_file.storage.open(self.raw_file.name, "rb") as handle:
                return handle.read()
        return b""

    @property
    def is_filed(self) -> bool:
        return self.outcome in FILED_OUTCOMES


class AutoReply(models.Model):
    """An answer the helpdesk wrote by itself to an inbound message (e.g. the reminder not to send
    access data by e-mail). Counted per address: past AUTO_REPLIES_PER_ADDRESS_PER_DAY the answer
    is recorded as suppressed and not sent, so two helpdesks answering each other stop."""

    class Kind(models.TextChoices):
        ACCESS_DATA = "access_data", _("Reminder: access data goes through the control panel")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Not sent")

    inbound = models.ForeignKey(
        InboundMessage, verbose_name=_("in answer to"), on_delete=models.CASCADE, related_name="auto_replies"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    to_address = models.CharField(_("to"), max_length=254)
    language = models.CharField(_("language"), max_length=8, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    detail = models.TextField(_("details"), blank=True)
    message_id = models.CharField(
        _("Message-ID"), max_length=255, unique=True, default=mail.new_message_id, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("automatic answer")
        verbose_name_plural = _("automatic answers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(Lower("to_address"), "created_at", name="mailin_autoreply_address")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to_address}"
