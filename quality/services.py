"""Every write of the quality desk: ratings (panel, API, the e-mail's signed link), the review
queue, scorecards, disputes and their settlement, calibration sessions, the settings.

Keyword-only `<entity>_<verb>` functions; each runs in a transaction, locks the row it changes,
checks who asks, raises helpdesk.errors and writes a QualityEvent (the audit trail). Nothing
here writes a ticket: a rating only reads the ticket's state.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from quality import policy, selectors
from quality.models import (
    CRITERIA,
    SCORE_MAX,
    SCORE_MIN,
    CalibrationSession,
    Dispute,
    DisputeState,
    QualityEvent,
    QualityEventKind,
    QualitySettings,
    QueueReason,
    QueueState,
    Rating,
    RatingSource,
    Review,
    ReviewItem,
    SessionState,
    Verdict,
)
from tickets.models import LineStint, Message

COMMENT_MAX = 2000
REASON_MAX = 2000
TITLE_MAX = 200


def _event(kind: str, actor: User | None, **fields) -> QualityEvent:
    data = fields.pop("data", {})
    return QualityEvent.objects.create(kind=kind, actor=actor, data=data, **fields)


def _text(value: str | None, *, field: str, max_length: int, required: bool = False, label: str = "") -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_("%(label)s must not be empty.") % {"label": label}, code="required", field=field)
    if len(value) > max_length:
        raise DomainError(
            _("The text is too long (%(length)d characters, at most %(max)d).")
            % {"length": len(value), "max": max_length},
            code="too_long",
            field=field,
        )
    return value


def _verdict(value: str) -> str:
    if value not in Verdict.values:
        raise DomainError(_("Choose like or dislike."), code="invalid", field="verdict")
    return value


# --- settings -------------------------------------------------------------------------------


@transaction.atomic
def settings_update(
    *, actor: User, change_window_hours: int, like_sample_percent: Decimal, link_valid_days: int
) -> QualitySettings:
    if not (actor.is_active and (actor.is_staff or policy.can_settle(actor))):
        raise PermissionDenied(_("Only administrators and managers may change the quality settings."))
    if not Decimal(0) <= Decimal(like_sample_percent) <= Decimal(100):
        raise DomainError(_("The sample is a share from 0 to 100 %."), code="invalid", field="like_sample_percent")
    current = QualitySettings.objects.select_for_update().filter(pk=1).first() or QualitySettings(pk=1)
    before = {
        "change_window_hours": current.change_window_hours,
        "like_sample_percent": str(current.like_sample_percent),
        "link_valid_days": current.link_valid_days,
    }
    current.change_window_hours = change_window_hours
    current.like_sample_percent = Decimal(like_sample_percent)
    current.link_valid_days = link_valid_days
    current.updated_at = timezone.now()
    current.save()
    after = {
        "change_window_hours": current.change_window_hours,
        "like_sample_percent": str(current.like_sample_percent),
        "link_valid_days": current.link_valid_days,
    }
    _event(QualityEventKind.SETTINGS_CHANGED, actor, data={"old": before, "new": after})
    return current


# --- ratings ---------------------------------------------------------------------------------


def _line_at(message: Message):
    """The line that held the ticket when the reply was written (its stint), else the ticket's line."""
    stint = (
        LineStint.objects.select_related("line")
        .filter(ticket_id=message.ticket_id, entered_at__lte=message.created_at)
        .order_by("-entered_at", "-id")
        .first()
    )
    return stint.line if stint is not None else message.ticket.line


def _queue(rating: Rating, quality: QualitySettings, actor: User | None, now: dt.datetime) -> None:
    """Every dislike is in the review queue, and the likes the sample picks; an open item whose
    rating no longer qualifies is withdrawn."""
    wanted: str | None
    if rating.verdict == Verdict.DISLIKE:
        wanted = QueueReason.DISLIKE
    elif policy.sampled(rating.id, quality.like_sample_percent):
        wanted = QueueReason.SAMPLE
    else:
        wanted = None
    item = ReviewItem.objects.select_for_update().filter(rating=rating).first()
    if item is None:
        if wanted is not None:
            ReviewItem.objects.create(rating=rating, reason=wanted, created_at=now)
            _event(QualityEventKind.QUEUED, actor, rating=rating, data={"reason": wanted})
        return
    if item.state == QueueState.REVIEWED:
        return
    if wanted is None and item.state == QueueState.OPEN:
        item.state, item.closed_at = QueueState.WITHDRAWN, now
        item.save(update_fields=["state", "closed_at"])
        _event(QualityEventKind.WITHDRAWN, actor, rating=rating, data={"reason": item.reason})
    elif wanted is not None and (item.state != QueueState.OPEN or item.reason != wanted):
        item.state, item.reason, item.closed_at = QueueState.OPEN, wanted, None
        item.save(update_fields=["state", "reason", "closed_at"])
        _event(QualityEventKind.QUEUED, actor, rating=rating, data={"reason": wanted})


def _change(rating: Rating, *, actor: User, verdict: str, comment: str, source: str, now: dt.datetime) -> Rating:
    if not rating.is_changeable(now):
        raise Conflict(_("This rating is fixed and can no longer be changed."), code="rating_fixed")
    old = {"verdict": rating.verdict, "comment": rating.comment}
    rating.verdict, rating.comment, rating.updated_at = verdict, comment, now
    rating.save(update_fields=["verdict", "comment", "updated_at"])
    _event(
        QualityEventKind.RATING_CHANGED,
        actor,
        rating=rating,
        data={"old": old, "new": {"verdict": verdict, "comment": comment}, "source": source},
    )
    return rating


@transaction.atomic
def rating_give(
    *,
    message: Message,
    customer: User,
    verdict: str,
    comment: str = "",
    source: str = RatingSource.PANEL,
    now: dt.datetime | None = None,
) -> Rating:
    """The customer likes or dislikes a reply on their own ticket; again within the window changes it."""
    now = now or timezone.now()
    verdict = _verdict(verdict)
    comment = _text(comment, field="comment", max_length=COMMENT_MAX)
    message = Message.objects.select_for_update(of=("self",)).select_related("ticket", "author").get(pk=message.pk)
    if not selectors.can_rate(customer, message):
        raise NotFound(_("No such reply."))
    quality = QualitySettings.current()
    rating = Rating.objects.select_for_update().filter(message=message).first()
    if rating is not None:
        rating = _change(rating, actor=customer, verdict=verdict, comment=comment, source=source, now=now)
    else:
        assert message.author is not None  # a rateable reply has its author  # noqa: S101
        rating = Rating.objects.create(
            message=message,
            ticket=message.ticket,
            rater=customer,
            agent=message.author,
            line=_line_at(message),
            ticket_status=message.ticket.status,
            verdict=verdict,
            comment=comment,
            source=source,
            created_at=now,
            updated_at=now,
            changeable_until=policy.changeable_until(now, quality),
        )
        _event(
            QualityEventKind.RATING_CREATED,
            customer,
            rating=rating,
            data={
                "verdict": verdict,
                "comment": comment,
                "source": source,
                "message": message.id,
                "ticket": message.ticket.number,
                "agent": rating.agent_id,
                "line": rating.line.code if rating.line else None,
                "ticket_status": rating.ticket_status,
            },
        )
    _queue(rating, quality, customer, now)
    return rating


@transaction.atomic
def rating_change(
    *, rating: Rating, customer: User, verdict: str, comment: str | None = None, now: dt.datetime | None = None
) -> Rating:
    """Change one's own rating while it is still changeable (the API's PATCH)."""
    now = now or timezone.now()
    rating = Rating.objects.select_for_update().get(pk=rating.pk)
    if rating.rater_id != customer.id:
        raise NotFound(_("No such rating."))
    new_comment = rating.comment if comment is None else _text(comment, field="comment", max_length=COMMENT_MAX)
    rating = _change(
        rating, actor=customer, verdict=_verdict(verdict), comment=new_comment, source=RatingSource.API, now=now
    )
    _queue(rating, QualitySettings.current(), customer, now)
    return rating


@transaction.atomic
def rating_from_link(
    *, message_id: int, token: str, verdict: str, comment: str = "", now: dt.datetime | None = None
) -> Rating:
    """The reply e-mail's signed link, without a login: it works for its reply and its customer
    only, and once; after that the customer changes the rating in the panel (within the window)."""
    now = now or timezone.now()
    customer_id = policy.link_customer_id(token=token, message_id=message_id, quality=QualitySettings.current())
    customer = User.objects.filter(id=customer_id, is_active=True).first()
    message = Message.objects.select_related("ticket", "author").filter(id=message_id).first()
    if customer is None or message is None or not selectors.can_rate(customer, message):
        raise NotFound(_("This rating link is not valid."), code="link_invalid")
    existing = Rating.objects.select_for_update().filter(message=message).first()
    if existing is not None and existing.link_used_at is not None:
        raise Conflict(
            _("This link has already been used. Sign in to the control panel to change your rating."),
            code="link_used",
        )
    rating = rating_give(
        message=message, customer=customer, verdict=verdict, comment=comment, source=RatingSource.EMAIL, now=now
    )
    rating.link_used_at = now
    rating.save(update_fields=["link_used_at"])
    return rating


# --- reviews -----------------------------------------------------------------------------------


def _scores(values: dict) -> dict[str, int]:
    cleaned = {}
    for name in CRITERIA:
        value = values.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not SCORE_MIN <= value <= SCORE_MAX:
            raise DomainError(
                _("Score each criterion from %(min)d to %(max)d.") % {"min": SCORE_MIN, "max": SCORE_MAX},
                code="invalid",
                field=name,
            )
        cleaned[name] = value
    return cleaned


def _require_not_own(item: ReviewItem, reviewer: User) -> None:
    if not policy.can_review(reviewer):
        raise PermissionDenied(_("Only quality reviewers and managers may review replies."))
    if item.rating.agent_id == reviewer.id:
        raise PermissionDenied(_("Nobody reviews their own work."), code="own_work")


@transaction.atomic
def review_create(
    *,
    item: ReviewItem,
    reviewer: User,
    correct: int,
    complete: int,
    tone: int,
    rules: int,
    rating_fair: bool,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Review:
    """The scorecard that counts for a queue item. It closes the item and fixes the rating."""
    now = now or timezone.now()
    item = ReviewItem.objects.select_for_update().select_related("rating").get(pk=item.pk)
    _require_not_own(item, reviewer)
    values = _scores({"correct": correct, "complete": complete, "tone": tone, "rules": rules})
    if not isinstance(rating_fair, bool):
        raise DomainError(_("Say whether the customer's rating was fair."), code="invalid", field="rating_fair")
    comment = _text(comment, field="comment", max_length=COMMENT_MAX)
    if item.state == QueueState.REVIEWED or item.reviews.filter(session__isnull=True).exists():
        raise Conflict(_("This item has already been reviewed."), code="already_reviewed")
    if item.state == QueueState.WITHDRAWN:
        raise Conflict(_("This item was taken out of the queue."), code="withdrawn")
    rating = Rating.objects.select_for_update().get(pk=item.rating_id)
    review = Review.objects.create(
        item=item,
        reviewer=reviewer,
        agent_id=rating.agent_id,
        rating_fair=rating_fair,
        comment=comment,
        created_at=now,
        **values,
    )
    item.state, item.closed_at = QueueState.REVIEWED, now
    item.save(update_fields=["state", "closed_at"])
    if rating.changeable_until > now:
        # What was reviewed stays what the customer said.
        rating.changeable_until = now
        rating.save(update_fields=["changeable_until"])
    _event(
        QualityEventKind.REVIEWED,
        reviewer,
        rating=rating,
        review=review,
        data={**values, "rating_fair": rating_fair, "comment": comment, "score": policy.review_score(values)},
    )
    return review


@transaction.atomic
def dispute_open(*, review: Review, agent: User, reason: str, now: dt.datetime | None = None) -> Dispute:
    """The reviewed agent disputes a review of their own work, with a reason; once."""
    now = now or timezone.now()
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.session_id is not None:
        raise DomainError(_("Calibration scores cannot be disputed."), code="calibration")
    if review.agent_id != agent.id or not policy.is_active(agent):
        raise NotFound(_("No such review."))
    reason = _text(reason, field="reason", max_length=REASON_MAX, required=True, label=_("The reason"))
    if Dispute.objects.filter(review=review).exists():
        raise Conflict(_("This review has already been disputed."), code="already_disputed")
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(review=review, agent=agent, reason=reason, created_at=now)
    except IntegrityError as error:
        raise Conflict(_("This review has already been disputed."), code="already_disputed") from error
    _event(QualityEventKind.DISPUTED, agent, rating_id=review.item.rating_id, review=review, data={"reason": reason})
    return dispute


@transaction.atomic
def dispute_settle(
    *,
    dispute: Dispute,
    manager: User,
    outcome: str,
    settlement: str = "",
    rating_fair: bool | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """A manager settles: upheld sets the review aside (its score no longer counts; the manager
    may give the fairness verdict that stands instead), rejected keeps it."""
    now = now or timezone.now()
    if not policy.can_settle(manager):
        raise PermissionDenied(_("Only managers settle disputes."))
    dispute = Dispute.objects.select_for_update().select_related("review").get(pk=dispute.pk)
    if dispute.agent_id == manager.id or dispute.review.reviewer_id == manager.id:
        raise PermissionDenied(_("A dispute is settled by someone it is not about."), code="own_dispute")
    if outcome not in (DisputeState.UPHELD, DisputeState.REJECTED):
        raise DomainError(_("Uphold or reject the dispute."), code="invalid", field="outcome")
    if dispute.state != DisputeState.OPEN:
        raise Conflict(_("This dispute has already been settled."), code="already_settled")
    if rating_fair is not None and outcome != DisputeState.UPHELD:
        raise DomainError(
            _("A fairness verdict is given only when the dispute is upheld."), code="invalid", field="rating_fair"
        )
    dispute.state = outcome
    dispute.settled_by = manager
    dispute.settled_at = now
    dispute.settlement = _text(settlement, field="settlement", max_length=REASON_MAX)
    dispute.rating_fair = rating_fair
    dispute.save(update_fields=["state", "settled_by", "settled_at", "settlement", "rating_fair"])
    _event(
        QualityEventKind.SETTLED,
        manager,
        rating_id=dispute.review.item.rating_id,
        review=dispute.review,
        data={"outcome": outcome, "settlement": dispute.settlement, "rating_fair": rating_fair},
    )
    return dispute


# --- calibration -------------------------------------------------------------------------------


@transaction.atomic
def session_open(*, item: ReviewItem, actor: User, title: str, now: dt.datetime | None = None) -> CalibrationSession:
    now = now or timezone.now()
    if not policy.can_review(actor):
        raise PermissionDenied(_("Only quality reviewers and managers run calibration sessions."))
    title = _text(title, field="title", max_length=TITLE_MAX, required=True, label=_("The title"))
    item = ReviewItem.objects.select_related("rating").get(pk=item.pk)
    session = CalibrationSession.objects.create(item=item, title=title, created_by=actor, created_at=now)
    _event(QualityEventKind.SESSION_OPENED, actor, rating=item.rating, session=session, data={"title": title})
    return session


@transaction.atomic
def session_score(
    *,
    session: CalibrationSession,
    reviewer: User,
    correct: int,
    complete: int,
    tone: int,
    rules: int,
    rating_fair: bool,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Review:
    """One reviewer's blind scorecard in a session; once each, while it is open."""
    now = now or timezone.now()
    session = CalibrationSession.objects.select_for_update().select_related("item__rating").get(pk=session.pk)
    _require_not_own(session.item, reviewer)
    if session.state != SessionState.OPEN:
        raise Conflict(_("This calibration session is closed."), code="session_closed")
    values = _scores({"correct": correct, "complete": complete, "tone": tone, "rules": rules})
    if not isinstance(rating_fair, bool):
        raise DomainError(_("Say whether the customer's rating was fair."), code="invalid", field="rating_fair")
    comment = _text(comment, field="comment", max_length=COMMENT_MAX)
    if session.scores.filter(reviewer=reviewer).exists():
        raise Conflict(_("You have already scored this session."), code="already_scored")
    card = Review.objects.create(
        item=session.item,
        session=session,
        reviewer=reviewer,
        agent_id=session.item.rating.agent_id,
        rating_fair=rating_fair,
        comment=comment,
        created_at=now,
        **values,
    )
    _event(
        QualityEventKind.SESSION_SCORED,
        reviewer,
        rating=session.item.rating,
        review=card,
        session=session,
        data={**values, "rating_fair": rating_fair},
    )
    return card


@transaction.atomic
def session_close(*, session: CalibrationSession, actor: User, now: dt.datetime | None = None) -> CalibrationSession:
    now = now or timezone.now()
    if not policy.can_review(actor):
        raise PermissionDenied(_("Only quality reviewers and managers run calibration sessions."))
    session = CalibrationSession.objects.select_for_update().get(pk=session.pk)
    if session.state == SessionState.CLOSED:
        raise Conflict(_("This calibration session is closed."), code="session_closed")
    session.state, session.closed_at = SessionState.CLOSED, now
    session.save(update_fields=["state", "closed_at"])
    _event(QualityEventKind.SESSION_CLOSED, actor, session=session, data={"scores": session.scores.count()})
    return session
