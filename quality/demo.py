"""The quality desk's demo data: customers' ratings of recent agent replies, the reviews of the
queue they fill, an unfair dislike, and a dispute a manager settled. Written through the
services (so the audit trail has them too), with a seeded generator; only while there are no
ratings at all, so loading the demo again adds nothing."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from accounts.models import Role, User
from quality import services
from quality.models import QueueState, Rating, ReviewItem
from tickets.models import Message

REPLIES = 60
DISLIKE_SHARE = 0.2
COMMENTS = [
    "Did not help, the site is still down.",
    "Too slow.",
    "The answer did not explain anything.",
    "",
]


def upsert_demo_quality(*, seed: int = 22) -> int:
    """Rate the latest agent replies of customers' tickets, review the queue; returns the ratings written."""
    if Rating.objects.exists():
        return 0
    reviewer = User.objects.filter(role=Role.QUALITY, is_active=True).order_by("id").first()
    manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id").first()
    if reviewer is None or manager is None:
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    replies = list(
        Message.objects.select_related("ticket__customer", "author")
        .filter(kind=Message.Kind.PUBLIC, author__role=Role.AGENT, ticket__customer__role=Role.CUSTOMER)
        .order_by("-created_at", "-id")[:REPLIES]
    )
    written = 0
    for message in replies:
        dislike = rng.random() < DISLIKE_SHARE
        services.rating_give(
            message=message,
            customer=message.ticket.customer,
            verdict="dislike" if dislike else "like",
            comment=rng.choice(COMMENTS) if dislike else "",
            # A while after the reply, and never after the moment the demo is loaded.
            now=min(message.created_at + dt.timedelta(minutes=rng.randint(5, 600)), timezone.now()),
        )
        written += 1
    items = ReviewItem.objects.filter(state=QueueState.OPEN).select_related("rating").order_by("id")
    disputed = False
    for index, item in enumerate(items):
        if index % 3 == 2:
            continue  # a third stays in the queue for the reviewers
        dislike = item.rating.verdict == "dislike"
        unfair = dislike and rng.random() < 0.4
        review = services.review_create(
            item=item,
            reviewer=reviewer,
            correct=rng.randint(4, 5) if unfair or not dislike else rng.randint(2, 4),
            complete=rng.randint(3, 5),
            tone=rng.randint(4, 5),
            rules=rng.randint(3, 5),
            rating_fair=not unfair,
            comment="The answer was right; the customer's problem had another cause." if unfair else "",
        )
        if dislike and not unfair and not disputed:
            dispute = services.dispute_open(
                review=review, agent=item.rating.agent, reason="The customer did not try the steps I gave."
            )
            services.dispute_settle(
                dispute=dispute, manager=manager, outcome="rejected", settlement="The steps were incomplete."
            )
            disputed = True
    return written
