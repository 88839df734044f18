"""The quality desk's rules, which write nothing: who may do what, how long a rating may change,
which likes the sample picks, the signed rating link of the reply e-mails."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Role, User
from helpdesk.errors import Conflict, NotFound
from quality.models import CRITERIA, SCORE_MAX, SCORE_MIN, QualitySettings, Verdict
from tickets.models import Message

# Who reviews (scorecards, calibration) and who settles disputes.
REVIEWER_ROLES = frozenset({Role.QUALITY, Role.MANAGER, Role.ADMIN})
SETTLER_ROLES = frozenset({Role.MANAGER, Role.ADMIN})

LINK_SALT = "quality.rating-link"
SAMPLE_SALT = "quality.like-sample"
SAMPLE_BUCKETS = 10_000


def is_rateable(message: Message) -> bool:
    """A public reply written by support staff."""
    author = message.author
    return message.kind == Message.Kind.PUBLIC and author is not None and author.is_support_staff


def is_active(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_review(user: User | None) -> bool:
    """Quality reviewers, managers and administrators score replies (never their own)."""
    return is_active(user) and user is not None and user.role in REVIEWER_ROLES


def can_settle(user: User | None) -> bool:
    return is_active(user) and user is not None and user.role in SETTLER_ROLES


def sees_all(user: User | None) -> bool:
    """Reviewers and management see every rating, review and result; agents only their own."""
    return can_review(user)


def changeable_until(created_at: dt.datetime, quality: QualitySettings) -> dt.datetime:
    return created_at + dt.timedelta(hours=quality.change_window_hours)


def sampled(rating_id: int, percent: Decimal | float | int) -> bool:
    """Whether the like with this id joins the review queue: a hash of the id, so the choice is
    the same every time it is asked (a change of the rating keeps it) and spread evenly."""
    digest = hashlib.sha256(f"{SAMPLE_SALT}:{rating_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % SAMPLE_BUCKETS
    return bucket < Decimal(str(percent)) * SAMPLE_BUCKETS / 100


def review_score(scores: dict[str, int]) -> float:
    """A scorecard's quality score from 0 to 100: every criterion at 1 is 0, every one at 5 is 100."""
    span = (SCORE_MAX - SCORE_MIN) * len(CRITERIA)
    return round(sum(scores[name] - SCORE_MIN for name in CRITERIA) * 100 / span, 1)


# --- the signed link of the reply e-mail ----------------------------------------------------


def link_token(*, message_id: int, customer_id: int) -> str:
    """Signed for this reply and this customer, nothing else (its own salt)."""
    return signing.dumps({"m": message_id, "c": customer_id}, salt=LINK_SALT, compress=False)


def link_customer_id(*, token: str, message_id: int, quality: QualitySettings) -> int:
    """The customer a link was made for, if the token is genuine, unexpired and for this reply."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=dt.timedelta(days=quality.link_valid_days))
    except signing.SignatureExpired as error:
        raise Conflict(_("This rating link has expired."), code="link_expired") from error
    except signing.BadSignature as error:
        raise NotFound(_("This rating link is not valid."), code="link_invalid") from error
    if not isinstance(payload, dict) or payload.get("m") != message_id or not isinstance(payload.get("c"), int):
        raise NotFound(_("This rating link is not valid."), code="link_invalid")
    return payload["c"]


def link_url(*, message_id: int, customer_id: int, verdict: str = "") -> str:
    """The absolute address of the rating page for a reply (empty without SITE_URL)."""
    site = settings.SITE_URL.rstrip("/")
    if not site:
        return ""
    path = reverse("quality-rate-link", args=[message_id, link_token(message_id=message_id, customer_id=customer_id)])
    return site + path + (f"?verdict={verdict}" if verdict else "")


def reply_rating_links(*, message: Message, recipient: User | None) -> dict[str, str]:
    """The like and dislike links of a reply's e-mail to the ticket's customer (none for anyone else)."""
    if recipient is None or recipient.id != message.ticket.customer_id or not is_rateable(message):
        return {}
    # One token and one address for both: they differ only in the verdict asked.
    url = link_url(message_id=message.id, customer_id=recipient.id)
    return {
        f"rate_{verdict}_url": f"{url}?verdict={verdict}" if url else "" for verdict in (Verdict.LIKE, Verdict.DISLIKE)
    }
