"""The quality desk's reads, always scoped by who asks: a customer's ratings, an agent's own
reviews and results, everything for reviewers and management."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.errors import Conflict, NotFound, PermissionDenied
from quality import policy
from quality import scores as quality_scores
from quality.models import (
    CalibrationSession,
    Dispute,
    DisputeState,
    QualitySettings,
    QueueState,
    Rating,
    Review,
    ReviewItem,
    SessionState,
)
from queues.models import Line
from tickets.models import Message, Ticket

is_rateable = policy.is_rateable


def can_rate(user: User, message: Message) -> bool:
    """Customers rate only the staff's replies on their own tickets."""
    return bool(
        policy.is_active(user) and user.is_customer and is_rateable(message) and message.ticket.customer_id == user.id
    )


def reply_to_rate(*, user: User, message_id: int) -> Message:
    """A reply the customer may rate, or NotFound (whatever the reason: it tells nothing)."""
    message = (
        Message.objects.select_related("ticket", "author").filter(id=message_id, ticket__customer=user).first()
        if user.is_authenticated and user.is_customer
        else None
    )
    if message is None or not can_rate(user, message):
        raise NotFound(_("No such reply."))
    return message


def link_state(*, message_id: int, token: str) -> tuple[Message, Rating | None]:
    """For the link's page: the reply and its rating, or the error the link would meet."""
    customer_id = policy.link_customer_id(token=token, message_id=message_id, quality=QualitySettings.current())
    message = Message.objects.select_related("ticket", "author__agent_profile").filter(id=message_id).first()
    customer = User.objects.filter(id=customer_id, is_active=True).first()
    if message is None or customer is None or not can_rate(customer, message):
        raise NotFound(_("This rating link is not valid."), code="link_invalid")
    rating = Rating.objects.filter(message=message).first()
    if rating is not None and rating.link_used_at is not None:
        raise Conflict(
            _("This link has already been used. Sign in to the control panel to change your rating."),
            code="link_used",
        )
    return message, rating


def ratings_visible_to(user: User) -> QuerySet[Rating]:
    """Customers: the ratings they gave. Agents: the ratings of their own replies. Reviewers and
    management: all."""
    ratings = Rating.objects.select_related("agent__agent_profile", "line", "ticket", "message", "item")
    if not policy.is_active(user):
        return ratings.none()
    if user.is_customer:
        return ratings.filter(rater=user)
    if policy.sees_all(user):
        return ratings
    if user.is_support_staff:
        return ratings.filter(agent=user)
    return ratings.none()


def rating_get(*, user: User, rating_id: int) -> Rating:
    rating = ratings_visible_to(user).filter(id=rating_id).first()
    if rating is None:
        raise NotFound(_("No such rating."))
    return rating


def ratings_for_thread(*, user: User, messages: list[Message]) -> dict[int, Rating]:
    """The ratings of a thread's replies that this reader may see, by message id."""
    ids = [message.id for message in messages if is_rateable(message)]
    if not ids:
        return {}
    found: dict[int, Rating] = {}
    for rating in ratings_visible_to(user).filter(message_id__in=ids):
        if rating.message_id is not None:
            found[rating.message_id] = rating
    return found


# --- the review queue ---------------------------------------------------------------------


def _require_reviewer(user: User) -> None:
    if not policy.can_review(user):
        raise PermissionDenied(_("Only quality reviewers and managers may do this."))


def queue(*, user: User, state: str = QueueState.OPEN) -> QuerySet[ReviewItem]:
    """Items waiting for a review: dislikes first, then the oldest."""
    _require_reviewer(user)
    items = ReviewItem.objects.select_related(
        "rating__agent__agent_profile", "rating__line", "rating__ticket", "rating__message"
    ).filter(state=state)
    return items.order_by("reason", "created_at", "id")


def item_get(*, user: User, item_id: int) -> ReviewItem:
    _require_reviewer(user)
    item = (
        ReviewItem.objects.select_related(
            "rating__agent__agent_profile",
            "rating__line",
            "rating__ticket__customer",
            "rating__message",
            "rating__rater",
        )
        .filter(id=item_id)
        .first()
    )
    if item is None:
        raise NotFound(_("No such item in the review queue."))
    return item


@dataclass
class Conversation:
    """A ticket as its customer saw it when they rated: no internal notes, nothing written after."""

    ticket: Ticket | None
    messages: list[Message]
    rated_id: int | None


def conversation(*, rating: Rating) -> Conversation:
    if rating.ticket_id is None or rating.message_id is None:
        return Conversation(ticket=None, messages=[], rated_id=None)
    messages = list(
        Message.objects.select_related("author__agent_profile")
        .filter(ticket_id=rating.ticket_id, created_at__lte=rating.created_at)
        .exclude(kind=Message.Kind.NOTE)
        .order_by("created_at", "id")
    )
    return Conversation(ticket=rating.ticket, messages=messages, rated_id=rating.message_id)


# --- reviews and disputes -------------------------------------------------------------------


def reviews_visible_to(user: User) -> QuerySet[Review]:
    """The reviews that count (not calibration scores): agents see those of their own work."""
    reviews = Review.objects.filter(session__isnull=True).select_related(
        "agent__agent_profile", "reviewer", "item__rating__line", "item__rating__ticket", "dispute"
    )
    if not policy.is_active(user) or user.is_customer:
        return reviews.none()
    if policy.sees_all(user):
        return reviews
    return reviews.filter(agent=user)


def review_get(*, user: User, review_id: int) -> Review:
    review = reviews_visible_to(user).filter(id=review_id).first()
    if review is None:
        raise NotFound(_("No such review."))
    return review


def review_of_item(*, item: ReviewItem) -> Review | None:
    return item.reviews.filter(session__isnull=True).select_related("reviewer", "dispute").first()


def disputes_visible_to(user: User) -> QuerySet[Dispute]:
    disputes = Dispute.objects.select_related(
        "review__agent__agent_profile", "review__reviewer", "review__item__rating", "settled_by"
    )
    if not policy.is_active(user) or user.is_customer:
        return disputes.none()
    if policy.sees_all(user):
        return disputes
    return disputes.filter(agent=user)


def dispute_get(*, user: User, dispute_id: int) -> Dispute:
    dispute = disputes_visible_to(user).filter(id=dispute_id).first()
    if dispute is None:
        raise NotFound(_("No such dispute."))
    return dispute


# --- calibration ----------------------------------------------------------------------------


def sessions_visible_to(user: User) -> QuerySet[CalibrationSession]:
    _require_reviewer(user)
    return CalibrationSession.objects.select_related("item__rating__agent__agent_profile", "created_by")


def session_get(*, user: User, session_id: int) -> CalibrationSession:
    session = sessions_visible_to(user).filter(id=session_id).first()
    if session is None:
        raise NotFound(_("No such calibration session."))
    return session


@dataclass
class SessionView:
    """What one reviewer sees of a session: blind until they have scored or the session closed."""

    session: CalibrationSession
    own: Review | None
    revealed: bool
    scores: list[Review]
    spread: quality_scores.Spread | None
    may_score: bool


def session_view(*, session: CalibrationSession, user: User) -> SessionView:
    cards = list(session.scores.select_related("reviewer").order_by("created_at", "id"))
    own = next((card for card in cards if card.reviewer_id == user.id), None)
    revealed = own is not None or session.state == SessionState.CLOSED
    spread = (
        quality_scores.spread([{**card.scores(), "rating_fair": card.rating_fair} for card in cards])
        if revealed
        else None
    )
    may_score = (
        session.state == SessionState.OPEN
        and own is None
        and policy.can_review(user)
        and session.item.rating.agent_id != user.id
    )
    return SessionView(
        session=session,
        own=own,
        revealed=revealed,
        scores=cards if revealed else [],
        spread=spread,
        may_score=may_score,
    )


# --- results --------------------------------------------------------------------------------

GROUPS = ("agent", "line")


@dataclass
class ResultRow:
    key: int | None
    label: str
    result: quality_scores.Result


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last 30 days, today included."""
    today = today or timezone.localdate()
    return today - dt.timedelta(days=29), today


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def result_facts(*, user: User, start: dt.date, end: dt.date, by: str = "agent") -> list[quality_scores.RatingFact]:
    """One fact per rating given in the period (days, both included) that the reader may see."""
    if by not in GROUPS:
        raise NotFound(_("No such grouping."))
    if user.is_customer or not policy.is_active(user):
        raise PermissionDenied(_("Results are for the support team."))
    low, high = _bounds(start, end)
    ratings = ratings_visible_to(user).filter(created_at__gte=low, created_at__lt=high)
    rows = list(ratings.order_by().values_list("id", "agent_id", "line_id", "verdict"))
    official = {
        row["item__rating_id"]: row
        for row in Review.objects.filter(session__isnull=True, item__rating_id__in=[row[0] for row in rows])
        .order_by()
        .values(
            "item__rating_id",
            "correct",
            "complete",
            "tone",
            "rules",
            "rating_fair",
            "dispute__state",
            "dispute__rating_fair",
        )
    }
    facts = []
    for rating_id, agent_id, line_id, verdict in rows:
        review = official.get(rating_id)
        fair: bool | None = None
        score: float | None = None
        dispute = None
        if review is not None:
            dispute = review["dispute__state"]
            if dispute == DisputeState.UPHELD:
                # The review is set aside; the manager's verdict on fairness stands, if given.
                fair = review["dispute__rating_fair"]
            else:
                fair = review["rating_fair"]
                score = policy.review_score(
                    {
                        "correct": review["correct"],
                        "complete": review["complete"],
                        "tone": review["tone"],
                        "rules": review["rules"],
                    }
                )
        facts.append(
            quality_scores.RatingFact(
                key=agent_id if by == "agent" else line_id, verdict=verdict, fair=fair, score=score, dispute=dispute
            )
        )
    return facts


def results(*, user: User, start: dt.date, end: dt.date, by: str = "agent") -> list[ResultRow]:
    """Per agent or per line, the most rated first; agents get only their own ratings."""
    table = quality_scores.results(result_facts(user=user, start=start, end=end, by=by))
    keys = [key for key in table if isinstance(key, int)]
    language = translation.get_language()
    if by == "agent":
        people = {person.id: person for person in User.objects.select_related("agent_profile").filter(id__in=keys)}
        labels = {key: people[key].display_name for key in keys if key in people}
    else:
        labels = {line.id: line.localized_name(language) for line in Line.objects.filter(id__in=keys)}
    rows = [
        ResultRow(
            key=key if isinstance(key, int) else None,
            label=labels.get(key, "") if isinstance(key, int) else _("No line"),
            result=result,
        )
        for key, result in table.items()
    ]
    return sorted(rows, key=lambda row: (-row.result.ratings, row.label))


def open_disputes_count(*, user: User) -> int:
    if not policy.can_settle(user):
        return 0
    return Dispute.objects.filter(state=DisputeState.OPEN).count()
