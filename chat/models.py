"""Live chat: conversations, their numbered messages, their audit trail, and the chat's settings.

A chat starts with the bot; "talk to a person" puts it in the queue of the line that handles
chats, in the same weighted order as tickets (`queued_at - credit`); an agent of that line
accepts it; it ends closed, possibly converted into a ticket. Every message has a per-chat
sequence number (`seq`, 1, 2, 3, ...) and, when a client sent it, the client's own id, unique
within the chat, so a resend is recognised and never stored twice (docs/chat.md).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChatStatus(models.TextChoices):
    BOT = "bot", _("With the bot")
    WAITING = "waiting", _("Waiting for an agent")
    ACTIVE = "active", _("With an agent")
    CLOSED = "closed", _("Closed")


OPEN_CHAT_STATUSES = (ChatStatus.BOT, ChatStatus.WAITING, ChatStatus.ACTIVE)


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    BOT = "bot", _("Bot")
    SYSTEM = "system", _("System")


class Rating(models.TextChoices):
    LIKE = "like", _("Like")
    DISLIKE = "dislike", _("Dislike")


class ChatEventKind(models.TextChoices):
    STARTED = "started", _("Started")
    HANDOFF = "handoff", _("Asked for a person")
    OFFLINE = "offline", _("Outside working hours")
    ACCEPTED = "accepted", _("Accepted")
    TRANSFERRED = "transferred", _("Transferred")
    CONVERTED = "converted", _("Converted to a ticket")
    LEFT_MESSAGE = "left_message", _("Left a message")
    CLOSED = "closed", _("Closed")
    RATED = "rated", _("Rated")
    READ = "read", _("Read")


class ChatSettings(models.Model):
    """The chat's settings: one row, edited in the admin."""

    line = models.ForeignKey(
        "queues.Line",
        verbose_name=_("line that handles chats"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the first line (the active support tier of the lowest level)."),
    )
    bot_enabled = models.BooleanField(_("the bot answers first"), default=True)
    max_message_chars = models.PositiveIntegerField(_("longest message (characters)"), default=2000)
    messages_per_minute = models.PositiveIntegerField(
        _("messages a person may send per minute"),
        default=30,
        help_text=_("Over this, a socket's messages are refused for a while; typing and read marks count too."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("chat settings")
        verbose_name_plural = _("chat settings")

    def __str__(self) -> str:
        return str(_("Chat settings"))

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _SETTINGS_CACHE.clear()

    @classmethod
    def current(cls) -> ChatSettings:
        found = cls.objects.select_related("line").order_by("id").first()
        return found if found is not None else cls.objects.create()

    @classmethod
    def cached(cls) -> ChatSettings:
        """The settings as read at most SETTINGS_SECONDS ago in this process (every message reads
        them; a change in the admin applies within that time)."""
        now = time.monotonic()
        if _SETTINGS_CACHE and now - _SETTINGS_CACHE[0] < SETTINGS_SECONDS:
            return _SETTINGS_CACHE[1]
        found = cls.current()
        _SETTINGS_CACHE[:] = [now, found]
        return found


SETTINGS_SECONDS = 10.0
_SETTINGS_CACHE: list = []


class Chat(models.Model):
    # The customer side: a signed-in customer, or a visitor known by the name and address typed in.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="chats",
    )
    visitor_name = models.CharField(_("visitor's name"), max_length=150, blank=True)
    visitor_email = models.EmailField(_("visitor's e-mail"), blank=True)
    # Part of the visitor's signed token: a token is only good for the chat it was made for.
    visitor_key = models.CharField(max_length=32, blank=True, editable=False)
    language = models.CharField(_("language"), max_length=8, default="en")
    status = models.CharField(_("status"), max_length=8, choices=ChatStatus.choices, default=ChatStatus.BOT)
    line = models.ForeignKey(
        "queues.Line", verbose_name=_("line"), on_delete=models.PROTECT, null=True, blank=True, related_name="chats"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agent_chats",
    )
    # The weighted queue, as for tickets (queues.policy): agents accept in ascending virtual_time.
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    credit_minutes = models.PositiveIntegerField(_("head start (minutes)"), default=0)
    virtual_time = models.DateTimeField(_("queue order key"), null=True, blank=True)
    weight_parts = models.JSONField(_("weight, explained"), default=dict, blank=True)
    # Asked for a person outside the line's working hours: offered to leave a message.
    offline = models.BooleanField(_("outside working hours"), default=False)
    last_seq = models.PositiveIntegerField(_("last message number"), default=0)
    customer_read_seq = models.PositiveIntegerField(_("read by the customer up to"), default=0)
    agent_read_seq = models.PositiveIntegerField(_("read by the agent up to"), default=0)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chats",
    )
    rating = models.CharField(_("rating"), max_length=8, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(_("rating comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat")
        verbose_name_plural = _("chats")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["line", "virtual_time", "id"],
                name="chat_waiting_queue",
                condition=models.Q(status="waiting"),
            ),
            models.Index(fields=["agent", "status"], name="chat_agent_status"),
            models.Index(fields=["customer", "-created_at"], name="chat_customer_recent"),
        ]

    def __str__(self) -> str:
        return f"chat {self.pk} ({self.get_status_display()})"

    @property
    def customer_name(self) -> str:
        if self.customer_id is not None and self.customer is not None:
            return self.customer.display_name
        return self.visitor_name

    @property
    def customer_email(self) -> str:
        if self.customer_id is not None and self.customer is not None:
            return self.customer.email
        return self.visitor_email


class ChatMessage(models.Model):
    chat = models.ForeignKey(Chat, verbose_name=_("chat"), on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField(_("number"))
    # Generated by the sending page; a resend with the same id is the same message.
    client_id = models.CharField(_("client's id"), max_length=64, blank=True)
    author_kind = models.CharField(_("from"), max_length=8, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("text"))
    # The bot's articles and incidents, as shown.
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        ordering = ["chat", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chat", "seq"], name="chat_message_seq_unique"),
            models.UniqueConstraint(
                fields=["chat", "client_id"], name="chat_message_client_id_unique", condition=~models.Q(client_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"chat {self.chat_id} #{self.seq}"


class ChatEvent(models.Model):
    """The audit trail: one row for every change a chat service makes."""

    chat = models.ForeignKey(Chat, verbose_name=_("chat"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=16, choices=ChatEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("chat event")
        verbose_name_plural = _("chat events")
        ordering = ["chat", "created_at", "id"]

    def __str__(self) -> str:
        return f"chat {self.chat_id}: {self.kind}"
