"""The quality desk: customers' ratings of agents' replies (and, later, of chats), the review
queue, reviewers' scorecards, the agents' disputes, calibration sessions, the settings and the
audit trail. Every write goes through quality.services (docs/quality.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Status

# Each criterion of a scorecard is scored from 1 (poor) to 5 (excellent).
SCORE_MIN = 1
SCORE_MAX = 5


class Verdict(models.TextChoices):
    LIKE = "like", _("Like")
    DISLIKE = "dislike", _("Dislike")


class RatedKind(models.TextChoices):
    """What a rating is about: an agent's reply in a ticket, or a whole chat (once chats are rated here)."""

    REPLY = "reply", _("Reply in a ticket")
    CHAT = "chat", _("Chat")


class RatingSource(models.TextChoices):
    PANEL = "panel", _("Control panel")
    EMAIL = "email", _("Link in an e-mail")
    API = "api", _("API")


class QueueReason(models.TextChoices):
    DISLIKE = "dislike", _("Dislike")
    SAMPLE = "sample", _("Sampled like")


class QueueState(models.TextChoices):
    OPEN = "open", _("Waiting for a review")
    REVIEWED = "reviewed", _("Reviewed")
    # The rating changed to a like that the sample did not pick: nothing left to review.
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Criterion(models.TextChoices):
    """The scored criteria of a scorecard, in the order they are shown."""

    CORRECT = "correct", _("Correct")
    COMPLETE = "complete", _("Complete")
    TONE = "tone", _("Tone")
    RULES = "rules", _("Followed the line's rules")


CRITERIA = tuple(Criterion.values)


class DisputeState(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld: the agent won")
    REJECTED = "rejected", _("Rejected: the review stands")


class SessionState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class QualityEventKind(models.TextChoices):
    RATING_CREATED = "rating_created", _("Rating given")
    RATING_CHANGED = "rating_changed", _("Rating changed")
    QUEUED = "queued", _("Put in the review queue")
    WITHDRAWN = "withdrawn", _("Taken out of the review queue")
    REVIEWED = "reviewed", _("Reviewed")
    DISPUTED = "disputed", _("Review disputed")
    SETTLED = "settled", _("Dispute settled")
    SESSION_OPENED = "session_opened", _("Calibration session opened")
    SESSION_SCORED = "session_scored", _("Calibration score given")
    SESSION_CLOSED = "session_closed", _("Calibration session closed")
    SETTINGS_CHANGED = "settings_changed", _("Settings changed")


class QualitySettings(models.Model):
    """The quality desk's settings: one row (id 1), edited in the admin."""

    change_window_hours = models.PositiveIntegerField(
        _("ratings can be changed for (hours)"),
        default=24,
        help_text=_("After this long a rating is fixed. A review also fixes the rating it reviews."),
    )
    like_sample_percent = models.DecimalField(
        _("likes sampled for review (%)"),
        max_digits=5,
        decimal_places=2,
        default=10,
        help_text=_("Every dislike is reviewed; this share of likes joins the review queue too."),
    )
    link_valid_days = models.PositiveIntegerField(_("rating links in e-mails work for (days)"), default=30)
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("quality settings")
        verbose_name_plural = _("quality settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(like_sample_percent__gte=0, like_sample_percent__lte=100),
                name="quality_settings_sample_percent",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Quality settings"))

    @classmethod
    def current(cls) -> QualitySettings:
        """The saved settings, or the defaults (unsaved) while nobody has saved any."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class Rating(models.Model):
    """A customer's like or dislike of one agent reply (or one chat), with the agent, the line and
    the ticket's status as they were when it was given. Changeable until `changeable_until`."""

    kind = models.CharField(_("rated"), max_length=8, choices=RatedKind.choices, default=RatedKind.REPLY)
    message = models.OneToOneField(
        "tickets.Message",
        verbose_name=_("reply"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quality_rating",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quality_ratings",
    )
    # The rated chat's id (chat.Chat) once chat ratings join the queue; no key to it yet.
    chat_id = models.PositiveBigIntegerField(_("chat"), null=True, blank=True)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="quality_ratings"
    )
    line = models.ForeignKey(
        "queues.Line", verbose_name=_("line"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ticket_status = models.CharField(_("ticket status when rated"), max_length=16, blank=True)
    verdict = models.CharField(_("rating"), max_length=8, choices=Verdict.choices)
    comment = models.TextField(_("comment"), blank=True)
    source = models.CharField(_("given in"), max_length=8, choices=RatingSource.choices)
    created_at = models.DateTimeField(_("given at"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changeable_until = models.DateTimeField(_("changeable until"))
    # The e-mail's signed link works once: when it was used.
    link_used_at = models.DateTimeField(_("e-mail link used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind=RatedKind.REPLY, message__isnull=False, chat_id__isnull=True)
                    | models.Q(kind=RatedKind.CHAT, message__isnull=True, chat_id__isnull=False)
                ),
                name="quality_rating_one_subject",
            ),
            models.UniqueConstraint(
                fields=["chat_id"], condition=models.Q(chat_id__isnull=False), name="quality_rating_chat_once"
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "created_at"], name="quality_rating_agent"),
            models.Index(fields=["line", "created_at"], name="quality_rating_line"),
            models.Index(fields=["created_at"], name="quality_rating_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} #{self.pk}"

    @property
    def ticket_status_label(self) -> str:
        return str(Status(self.ticket_status).label) if self.ticket_status in Status.values else self.ticket_status

    def is_changeable(self, now=None) -> bool:
        return (now or timezone.now()) < self.changeable_until


class ReviewItem(models.Model):
    """A rating in the review queue: every dislike, and the sampled likes."""

    rating = models.OneToOneField(Rating, verbose_name=_("rating"), on_delete=models.CASCADE, related_name="item")
    reason = models.CharField(_("why"), max_length=8, choices=QueueReason.choices)
    state = models.CharField(_("state"), max_length=10, choices=QueueState.choices, default=QueueState.OPEN)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("review queue item")
        verbose_name_plural = _("review queue")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "created_at"], name="quality_item_queue")]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_reason_display()})"


class CalibrationSession(models.Model):
    """Several reviewers score the same conversation blind; the spread per criterion is shown."""

    item = models.ForeignKey(
        ReviewItem, verbose_name=_("conversation"), on_delete=models.PROTECT, related_name="calibrations"
    )
    title = models.CharField(_("title"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=8, choices=SessionState.choices, default=SessionState.OPEN)
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calibration session")
        verbose_name_plural = _("calibration sessions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Review(models.Model):
    """A scorecard: four criteria from 1 to 5, whether the customer's rating was fair, a comment.

    The review of an item (`session` empty) is the one that counts; a calibration session's
    scores are reviews of the same item with their session, and never count in the results.
    """

    item = models.ForeignKey(ReviewItem, verbose_name=_("queue item"), on_delete=models.PROTECT, related_name="reviews")
    session = models.ForeignKey(
        CalibrationSession,
        verbose_name=_("calibration session"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scores",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="quality_reviews"
    )
    correct = models.PositiveSmallIntegerField(_("correct"))
    complete = models.PositiveSmallIntegerField(_("complete"))
    tone = models.PositiveSmallIntegerField(_("tone"))
    rules = models.PositiveSmallIntegerField(_("followed the line's rules"))
    rating_fair = models.BooleanField(_("the customer's rating was fair"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("reviewed at"), default=timezone.now)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=models.Q(session__isnull=True), name="quality_review_one_per_item"
            ),
            models.UniqueConstraint(
                fields=["session", "reviewer"],
                condition=models.Q(session__isnull=False),
                name="quality_review_one_per_session_reviewer",
            ),
            models.CheckConstraint(condition=~models.Q(reviewer=models.F("agent")), name="quality_review_not_self"),
            *[
                models.CheckConstraint(
                    condition=models.Q(**{f"{name}__gte": SCORE_MIN, f"{name}__lte": SCORE_MAX}),
                    name=f"quality_review_{name}_range",
                )
                for name in CRITERIA
            ],
        ]
        indexes = [models.Index(fields=["agent", "created_at"], name="quality_review_agent")]

    def __str__(self) -> str:
        return f"{_('Review')} #{self.pk}"

    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in CRITERIA}


class Dispute(models.Model):
    """The reviewed agent disputes a review with a reason; a manager settles it."""

    review = models.OneToOneField(Review, verbose_name=_("review"), on_delete=models.PROTECT, related_name="dispute")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=8, choices=DisputeState.choices, default=DisputeState.OPEN)
    created_at = models.DateTimeField(_("disputed at"), default=timezone.now)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("settled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    settlement = models.TextField(_("settlement"), blank=True)
    # An upheld dispute sets the review aside; the manager may give the fairness verdict that stands instead.
    rating_fair = models.BooleanField(_("the customer's rating was fair (manager's verdict)"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="quality_dispute_state")]

    def __str__(self) -> str:
        return f"{_('Dispute')} #{self.pk}"


class QualityEvent(models.Model):
    """The quality desk's audit trail: one row per write, by whom, with what changed."""

    kind = models.CharField(_("kind"), max_length=20, choices=QualityEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    rating = models.ForeignKey(
        Rating, verbose_name=_("rating"), on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    review = models.ForeignKey(
        Review, verbose_name=_("review"), on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    session = models.ForeignKey(
        CalibrationSession,
        verbose_name=_("calibration session"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("quality event")
        verbose_name_plural = _("quality events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at"], name="quality_event_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"
