"""Outbound e-mail: one row per message sent (or tried), and what each agent wants to hear about."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk import mail


def new_message_id() -> str:
    """Our own Message-ID: replies quote it, so inbound mail finds the ticket and spots our own mail."""
    return mail.new_message_id()


class Notification(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply to the customer")
        STATUS = "status", _("Status change")
        PROMISE = "promise", _("Promised solution time")
        REMINDER = "reminder", _("Reminder to the customer")
        NEW_IN_LINE = "new_in_line", _("New ticket in the line")
        TRANSFER_TO_LINE = "transfer_to_line", _("Ticket transferred to the line")
        TRANSFER_TO_ME = "transfer_to_me", _("Ticket handed to the agent")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    email = models.EmailField(_("e-mail address"))
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(
        "tickets.TicketEvent",
        verbose_name=_("event"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True, default=new_message_id, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # A delivery report came back for it (mailin): the reason is in last_error.
    bounced_at = models.DateTimeField(_("bounced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Dispatching an event again finds the rows it made the first time: nobody hears twice.
            models.UniqueConstraint(fields=["event", "email"], name="notifications_once_per_event"),
        ]
        indexes = [
            # The thread of a ticket's mail to one address (In-Reply-To / References).
            models.Index(fields=["ticket", "email", "id"], name="notifications_thread"),
            models.Index(fields=["recipient", "-created_at"], name="notifications_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id} → {self.email}"


class BouncedAddress(models.Model):
    """An address our e-mail to it bounced from. After BOUNCES_BEFORE_SUPPRESSION hard bounces
    (5.x.x) it is suppressed: nothing more is sent to it until staff clear it."""

    email = models.EmailField(_("e-mail address"))
    hard_bounces = models.PositiveIntegerField(_("hard bounces"), default=0)
    soft_bounces = models.PositiveIntegerField(_("temporary failures"), default=0)
    last_bounce_at = models.DateTimeField(_("last bounce at"), null=True, blank=True)
    last_reason = models.TextField(_("last reason"), blank=True)
    suppressed_at = models.DateTimeField(_("not mailed since"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleared by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("bounced address")
        verbose_name_plural = _("bounced addresses")
        ordering = ["-last_bounce_at", "-id"]
        constraints = [models.UniqueConstraint(Lower("email"), name="notifications_bounced_email_unique_ci")]

    def __str__(self) -> str:
        return self.email

    @property
    def suppressed(self) -> bool:
        return self.suppressed_at is not None


class AgentNotificationPreference(models.Model):
    """Which e-mails an agent gets; an agent without a row gets all of them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    on_new_in_line = models.BooleanField(_("a new ticket arrives in my line"), default=True)
    on_transfer_to_me = models.BooleanField(_("a ticket is handed to me"), default=True)
    on_transfer_to_my_line = models.BooleanField(_("a ticket is transferred to my line"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("agent notification preference")
        verbose_name_plural = _("agent notification preferences")

    def __str__(self) -> str:
        return str(self.user)
