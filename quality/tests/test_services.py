"""The quality desk's services: a rating's life, the e-mail's signed link, the sample of likes,
scorecards, disputes and their settlement, calibration spread and the fairness-adjusted results."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from quality import policy, selectors, services
from quality.models import (
    DisputeState,
    QualityEvent,
    QualityEventKind,
    QualitySettings,
    QueueReason,
    QueueState,
    Rating,
    ReviewItem,
    SessionState,
)
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db

GOOD = {"correct": 5, "complete": 5, "tone": 5, "rules": 5}


def configure(**values):
    admin = values.pop("actor")
    current = QualitySettings.current()
    fields = {
        "change_window_hours": current.change_window_hours,
        "like_sample_percent": current.like_sample_percent,
        "link_valid_days": current.link_valid_days,
    }
    return services.settings_update(actor=admin, **{**fields, **values})


def kinds(**filters) -> list[str]:
    return list(QualityEvent.objects.filter(**filters).order_by("id").values_list("kind", flat=True))


# --- a rating's life ---------------------------------------------------------------------------


def test_a_rating_is_tied_to_the_agent_the_line_and_the_tickets_state_at_the_time(world):
    rating = services.rating_give(message=world["reply"], customer=world["customer"], verdict="dislike", comment="Rude")
    assert (rating.agent, rating.line, rating.ticket) == (world["ann"], world["line"], world["ticket"])
    # The customer's own message put the ticket back to the agents before they rated.
    assert rating.ticket_status == "waiting_agent"
    assert (rating.verdict, rating.comment, rating.source) == ("dislike", "Rude", "panel")
    assert rating.changeable_until == rating.created_at + dt.timedelta(hours=24)
    event = QualityEvent.objects.get(kind=QualityEventKind.RATING_CREATED)
    assert (event.actor, event.rating) == (world["customer"], rating)
    assert event.data["line"] == "first-line" and event.data["ticket_status"] == "waiting_agent"

    # Later changes of the ticket do not move what the rating recorded.
    consultants = type(world["line"]).objects.create(code="consultants", name="Consultants", kind="tier", level=2)
    ticket_services.ticket_transfer(ticket=world["ticket"], actor=world["ann"], to_line=consultants, reason="deeper")
    rating.refresh_from_db()
    assert (rating.line, rating.ticket_status) == (world["line"], "waiting_agent")


def test_a_rating_changes_within_the_window_and_is_fixed_after(world):
    start = timezone.now()
    rating = services.rating_give(message=world["reply"], customer=world["customer"], verdict="like", now=start)
    changed = services.rating_give(
        message=world["reply"],
        customer=world["customer"],
        verdict="dislike",
        comment="Thought again",
        now=start + dt.timedelta(hours=23, minutes=59),
    )
    assert changed.id == rating.id and Rating.objects.count() == 1
    assert (changed.verdict, changed.comment) == ("dislike", "Thought again")
    event = QualityEvent.objects.filter(kind=QualityEventKind.RATING_CHANGED).get()
    assert event.data["old"]["verdict"] == "like" and event.data["new"]["verdict"] == "dislike"

    with pytest.raises(Conflict) as refused:
        services.rating_give(
            message=world["reply"], customer=world["customer"], verdict="like", now=start + dt.timedelta(hours=24)
        )
    assert refused.value.code == "rating_fixed"
    with pytest.raises(Conflict):
        services.rating_change(
            rating=rating, customer=world["customer"], verdict="like", now=start + dt.timedelta(days=3)
        )
    rating.refresh_from_db()
    assert rating.verdict == "dislike"


def test_the_window_is_a_setting(world):
    configure(actor=world["admin"], change_window_hours=1)
    start = timezone.now()
    rating = services.rating_give(message=world["reply"], customer=world["customer"], verdict="like", now=start)
    assert rating.changeable_until == start + dt.timedelta(hours=1)
    with pytest.raises(Conflict):
        services.rating_give(
            message=world["reply"], customer=world["customer"], verdict="dislike", now=start + dt.timedelta(hours=2)
        )
    assert kinds()[0] == QualityEventKind.SETTINGS_CHANGED
    assert QualityEvent.objects.get(kind=QualityEventKind.SETTINGS_CHANGED).data["new"]["change_window_hours"] == 1


def test_only_staff_replies_on_ones_own_ticket_are_rated(world):
    for message in (world["note"], world["customer_message"]):
        with pytest.raises(NotFound):
            services.rating_give(message=message, customer=world["customer"], verdict="like")
    with pytest.raises(NotFound):
        services.rating_give(message=world["reply"], customer=world["other_customer"], verdict="dislike")
    with pytest.raises(NotFound):
        services.rating_give(message=world["reply"], customer=world["ann"], verdict="like")
    with pytest.raises(DomainError):
        services.rating_give(message=world["reply"], customer=world["customer"], verdict="meh")
    assert not Rating.objects.exists() and not QualityEvent.objects.exists()


# --- the signed link ---------------------------------------------------------------------------


def test_the_signed_link_works_once_for_its_reply(world):
    token = policy.link_token(message_id=world["reply"].id, customer_id=world["customer"].id)
    rating = services.rating_from_link(message_id=world["reply"].id, token=token, verdict="dislike", comment="Slow")
    assert (rating.source, rating.rater, rating.verdict) == ("email", world["customer"], "dislike")
    assert rating.link_used_at is not None
    with pytest.raises(Conflict) as again:
        services.rating_from_link(message_id=world["reply"].id, token=token, verdict="like")
    assert again.value.code == "link_used"
    rating.refresh_from_db()
    assert rating.verdict == "dislike"
    # The panel can still change it within the window.
    assert services.rating_give(message=world["reply"], customer=world["customer"], verdict="like").verdict == "like"


def test_the_signed_link_refuses_tampering_and_another_reply(world):
    reply, second = world["reply"], world["second"]
    token = policy.link_token(message_id=reply.id, customer_id=world["customer"].id)
    # Another reply's address with this reply's token.
    with pytest.raises(NotFound) as other:
        services.rating_from_link(message_id=second.id, token=token, verdict="like")
    assert other.value.code == "link_invalid"
    # A changed character in the signature, and a payload signed for another reply swapped in.
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = policy.link_token(message_id=second.id, customer_id=world["customer"].id).split(":")[0]
    for bad in (tampered, forged + ":" + token.split(":", 1)[1], "", "garbage"):
        with pytest.raises(NotFound):
            services.rating_from_link(message_id=reply.id, token=bad, verdict="like")
    # A token signed with another purpose's salt.
    from django.core import signing

    foreign = signing.dumps({"m": reply.id, "c": world["customer"].id}, salt="status.unsubscribe")
    with pytest.raises(NotFound):
        services.rating_from_link(message_id=reply.id, token=foreign, verdict="like")
    # A link made for someone who is not the ticket's customer.
    stranger = policy.link_token(message_id=reply.id, customer_id=world["other_customer"].id)
    with pytest.raises(NotFound):
        services.rating_from_link(message_id=reply.id, token=stranger, verdict="like")
    assert not Rating.objects.exists()


def test_the_signed_link_expires(world):
    token = policy.link_token(message_id=world["reply"].id, customer_id=world["customer"].id)
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)), pytest.raises(Conflict) as expired:
        services.rating_from_link(message_id=world["reply"].id, token=token, verdict="like")
    assert expired.value.code == "link_expired"


# --- the review queue's sample -------------------------------------------------------------------


def test_the_sample_of_likes_is_deterministic_and_follows_the_rate():
    ids = range(1, 20_001)
    picked = [rating_id for rating_id in ids if policy.sampled(rating_id, 10)]
    assert picked == [rating_id for rating_id in ids if policy.sampled(rating_id, Decimal("10.00"))]
    assert 1_900 <= len(picked) <= 2_100
    assert sum(policy.sampled(rating_id, 2.5) for rating_id in ids) in range(450, 551)
    assert not any(policy.sampled(rating_id, 0) for rating_id in ids)
    assert all(policy.sampled(rating_id, 100) for rating_id in ids)
    # A smaller rate picks a subset of a larger one.
    assert set(r for r in ids if policy.sampled(r, 5)) <= set(picked)


def test_every_dislike_is_queued_and_likes_by_the_sample(world):
    configure(actor=world["admin"], like_sample_percent=0)
    like = services.rating_give(message=world["reply"], customer=world["customer"], verdict="like")
    assert not ReviewItem.objects.filter(rating=like).exists()
    services.rating_give(message=world["reply"], customer=world["customer"], verdict="dislike")
    item = ReviewItem.objects.get(rating=like)
    assert (item.reason, item.state) == (QueueReason.DISLIKE, QueueState.OPEN)
    # Back to a like the sample did not pick: withdrawn, and audited.
    services.rating_give(message=world["reply"], customer=world["customer"], verdict="like")
    item.refresh_from_db()
    assert item.state == QueueState.WITHDRAWN
    assert kinds(rating=like).count(QualityEventKind.WITHDRAWN) == 1

    configure(actor=world["admin"], like_sample_percent=100)
    sampled = services.rating_give(message=world["second"], customer=world["customer"], verdict="like")
    assert ReviewItem.objects.get(rating=sampled).reason == QueueReason.SAMPLE
    assert [item.rating_id for item in selectors.queue(user=world["reviewer"])] == [sampled.id]


# --- scorecards --------------------------------------------------------------------------------


def dislike(world, message=None):
    rating = services.rating_give(
        message=message or world["reply"], customer=world["customer"], verdict="dislike", comment="Not helpful"
    )
    return rating.item


def test_a_scorecard_closes_the_item_fixes_the_rating_and_scores_0_to_100(world):
    item = dislike(world)
    review = services.review_create(
        item=item, reviewer=world["reviewer"], correct=5, complete=4, tone=3, rules=2, rating_fair=False, comment="Ok"
    )
    item.refresh_from_db()
    assert item.state == QueueState.REVIEWED
    # (4 + 3 + 2 + 1) of 16 points above the minimum.
    assert policy.review_score(review.scores()) == 62.5
    with pytest.raises(Conflict):
        services.rating_give(message=world["reply"], customer=world["customer"], verdict="like")
    with pytest.raises(Conflict):
        services.review_create(item=item, reviewer=world["manager"], **GOOD, rating_fair=True)
    event = QualityEvent.objects.get(kind=QualityEventKind.REVIEWED)
    assert (event.actor, event.review, event.data["score"]) == (world["reviewer"], review, 62.5)


def test_scorecards_are_checked_and_nobody_reviews_themselves(world):
    item = dislike(world)
    for bad in ({"correct": 0}, {"tone": 6}, {"rules": True}, {"complete": "5"}):
        with pytest.raises(DomainError):
            services.review_create(item=item, reviewer=world["reviewer"], **{**GOOD, **bad}, rating_fair=True)
    with pytest.raises(PermissionDenied):
        services.review_create(item=item, reviewer=world["ann"], **GOOD, rating_fair=True)
    with pytest.raises(PermissionDenied):
        services.review_create(item=item, reviewer=world["bob"], **GOOD, rating_fair=True)
    # A manager who wrote the reply may review others, never this one.
    manager_reply = ticket_services.message_add(ticket=world["ticket"], author=world["manager"], body="Sorry!")
    own = dislike(world, manager_reply)
    with pytest.raises(PermissionDenied) as refused:
        services.review_create(item=own, reviewer=world["manager"], **GOOD, rating_fair=True)
    assert refused.value.code == "own_work"
    assert not QualityEvent.objects.filter(kind=QualityEventKind.REVIEWED).exists()


# --- disputes ------------------------------------------------------------------------------------


def test_the_agent_disputes_a_review_and_a_manager_settles_it(world):
    review = services.review_create(
        item=dislike(world), reviewer=world["reviewer"], correct=2, complete=2, tone=2, rules=2, rating_fair=True
    )
    with pytest.raises(NotFound):
        services.dispute_open(review=review, agent=world["bob"], reason="Not mine but unfair")
    with pytest.raises(DomainError):
        services.dispute_open(review=review, agent=world["ann"], reason="  ")
    dispute = services.dispute_open(review=review, agent=world["ann"], reason="The customer's server was off")
    with pytest.raises(Conflict):
        services.dispute_open(review=review, agent=world["ann"], reason="Again")
    assert dispute.state == DisputeState.OPEN

    for someone in (world["reviewer"], world["ann"], world["bob"]):
        with pytest.raises(PermissionDenied):
            services.dispute_settle(dispute=dispute, manager=someone, outcome="upheld")
    with pytest.raises(DomainError):
        services.dispute_settle(dispute=dispute, manager=world["manager"], outcome="rejected", rating_fair=False)
    settled = services.dispute_settle(
        dispute=dispute, manager=world["manager"], outcome="upheld", settlement="Checked the logs", rating_fair=False
    )
    assert (settled.state, settled.settled_by, settled.rating_fair) == ("upheld", world["manager"], False)
    with pytest.raises(Conflict):
        services.dispute_settle(dispute=dispute, manager=world["admin"], outcome="rejected")
    assert kinds()[-2:] == [QualityEventKind.DISPUTED, QualityEventKind.SETTLED]


# --- calibration ---------------------------------------------------------------------------------


def test_calibration_is_blind_and_shows_the_spread_per_criterion(world):
    item = dislike(world)
    session = services.session_open(item=item, actor=world["reviewer"], title="March calibration")
    cards = {
        "reviewer": {"correct": 5, "complete": 4, "tone": 3, "rules": 5, "rating_fair": True},
        "manager": {"correct": 3, "complete": 4, "tone": 1, "rules": 5, "rating_fair": False},
        "admin": {"correct": 4, "complete": 4, "tone": 5, "rules": 2, "rating_fair": True},
    }
    services.session_score(session=session, reviewer=world["reviewer"], **cards["reviewer"])
    # Blind: who has not scored sees nothing of the others.
    view = selectors.session_view(session=session, user=world["manager"])
    assert (view.revealed, view.scores, view.spread, view.may_score) == (False, [], None, True)
    services.session_score(session=session, reviewer=world["manager"], **cards["manager"])
    services.session_score(session=session, reviewer=world["admin"], **cards["admin"])
    with pytest.raises(Conflict):
        services.session_score(session=session, reviewer=world["admin"], **cards["admin"])
    with pytest.raises(PermissionDenied):
        services.session_score(session=session, reviewer=world["ann"], **cards["admin"])

    spread = {
        row.criterion: row for row in selectors.session_view(session=session, user=world["manager"]).spread.criteria
    }
    # Hand-computed: correct 5, 3, 4 -> mean 4, range 2, population s.d. sqrt(2/3) = 0.816...
    assert (spread["correct"].mean, spread["correct"].range, spread["correct"].stdev) == (4.0, 2, 0.82)
    assert (spread["complete"].mean, spread["complete"].range, spread["complete"].stdev) == (4.0, 0, 0.0)
    # tone 3, 1, 5 -> mean 3, range 4, sqrt(8/3) = 1.633...; rules 5, 5, 2 -> mean 4, range 3, sqrt(2) = 1.414...
    assert (spread["tone"].mean, spread["tone"].range, spread["tone"].stdev) == (3.0, 4, 1.63)
    assert (spread["rules"].mean, spread["rules"].minimum, spread["rules"].maximum, spread["rules"].stdev) == (
        4.0,
        2,
        5,
        1.41,
    )
    full = selectors.session_view(session=session, user=world["admin"]).spread
    assert (full.fair, full.unfair, full.fairness_agreement) == (2, 1, 66.7)

    services.session_close(session=session, actor=world["manager"])
    session.refresh_from_db()
    assert session.state == SessionState.CLOSED
    # Closed: everyone who reviews sees the scores; nobody adds one.
    assert selectors.session_view(session=session, user=world["reviewer"]).revealed
    with pytest.raises(Conflict):
        services.session_score(session=session, reviewer=world["reviewer"], **cards["admin"])
    # Calibration scores never count as the item's review.
    item.refresh_from_db()
    assert item.state == QueueState.OPEN and selectors.review_of_item(item=item) is None
    assert kinds(session=session) == [
        QualityEventKind.SESSION_OPENED,
        QualityEventKind.SESSION_SCORED,
        QualityEventKind.SESSION_SCORED,
        QualityEventKind.SESSION_SCORED,
        QualityEventKind.SESSION_CLOSED,
    ]


# --- results ------------------------------------------------------------------------------------


def test_results_adjust_the_share_of_likes_by_the_fairness_verdicts(world):
    from quality import scores

    facts = [
        scores.RatingFact("a", "like"),
        scores.RatingFact("a", "like", fair=True, score=100.0),
        scores.RatingFact("a", "like", fair=False, score=50.0),
        scores.RatingFact("a", "dislike", fair=False, score=75.0, dispute="rejected"),
        scores.RatingFact("a", "dislike", fair=True, score=25.0),
        scores.RatingFact("a", "dislike", fair=None, dispute="upheld"),
        scores.RatingFact("b", "dislike", fair=False),
    ]
    table = scores.results(facts)
    a, b = table["a"], table["b"]
    # 3 likes of 6; leaving out the unfair like and the unfair dislike: 2 likes of 4 counted.
    assert (a.ratings, a.likes, a.like_share, a.counted, a.adjusted_like_share) == (6, 3, 50.0, 4, 50.0)
    assert (a.reviews, a.quality_score, a.disputes_won, a.disputes_lost) == (4, 62.5, 1, 1)
    # One unfair dislike and nothing else: no share of likes is left to count.
    assert (b.like_share, b.adjusted_like_share) == (0.0, None)


def test_an_unfair_dislike_does_not_count_against_the_agent(world):
    configure(actor=world["admin"], like_sample_percent=0)
    third = ticket_services.message_add(ticket=world["ticket"], author=world["ann"], body="Third answer")
    services.rating_give(message=world["second"], customer=world["customer"], verdict="like")
    services.rating_give(message=third, customer=world["customer"], verdict="dislike")
    unfair = services.review_create(item=dislike(world), reviewer=world["reviewer"], **GOOD, rating_fair=False)
    today = timezone.localdate()

    def ann_row(user):
        (row,) = [row for row in selectors.results(user=user, start=today, end=today) if row.key == world["ann"].id]
        return row.result

    result = ann_row(world["manager"])
    # 1 like of 3; the unfair dislike left out: 1 of 2.
    assert (result.ratings, result.like_share, result.adjusted_like_share, result.quality_score) == (
        3,
        33.3,
        50.0,
        100.0,
    )

    # The agent disputes the scorecard on the other dislike; a manager upholds: its score no longer counts.
    fair = services.review_create(
        item=Rating.objects.get(message=third).item,
        reviewer=world["reviewer"],
        correct=1,
        complete=1,
        tone=1,
        rules=1,
        rating_fair=True,
    )
    assert ann_row(world["manager"]).quality_score == 50.0
    dispute = services.dispute_open(review=fair, agent=world["ann"], reason="The customer ignored my steps")
    services.dispute_settle(dispute=dispute, manager=world["manager"], outcome="upheld", rating_fair=False)
    result = ann_row(world["ann"])
    assert (result.adjusted_like_share, result.quality_score, result.disputes_won, result.disputes_lost) == (
        100.0,
        100.0,
        1,
        0,
    )
    # Agents see only themselves; by line, the line's row holds the same ratings.
    assert [row.key for row in selectors.results(user=world["bob"], start=today, end=today)] == []
    (line_row,) = selectors.results(user=world["reviewer"], start=today, end=today, by="line")
    assert (line_row.label, line_row.result.ratings) == ("First line", 3)
    assert unfair.rating_fair is False
