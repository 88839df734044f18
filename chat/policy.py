"""The chat's rules, which write nothing: who may speak in a chat, the visitor's signed token,
the queue's order (the tickets' weights, queues.policy), the rate limit of a socket."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.core import signing
from django.utils import timezone

from accounts.models import CustomerProfile, User
from chat.models import OPEN_CHAT_STATUSES, Chat, ChatStatus
from queues.models import QueuePolicy
from queues.policy import customer_weight
from tickets.models import Urgency

VISITOR_SALT = "chat.visitor"
# A visitor's token is good as long as a conversation can reasonably last, and a little more.
VISITOR_TOKEN_MAX_AGE = 7 * 24 * 3600
# Any single frame a socket receives is refused beyond this (the text limit is a setting below it).
FRAME_MAX_BYTES = 16_384
CLIENT_ID_MAX = 64


@dataclass(frozen=True)
class Participant:
    """Who speaks on a socket or a request: a signed-in user, or a visitor holding the token
    of one chat (`visitor_chat`, `visitor_key`)."""

    user: User | None = None
    visitor_chat: int | None = None
    visitor_key: str = ""

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.is_active and self.user.is_support_staff

    @property
    def is_visitor(self) -> bool:
        return self.user is None and self.visitor_chat is not None

    @property
    def actor(self) -> User | None:
        return self.user


def sign_visitor(chat: Chat) -> str:
    """The visitor's token: the chat and its key, signed with the site's secret and timestamped."""
    return signing.TimestampSigner(salt=VISITOR_SALT).sign(f"{chat.pk}:{chat.visitor_key}")


def read_visitor_token(token: str) -> Participant | None:
    """The visitor a token speaks for; None for a forged, altered or expired token."""
    try:
        value = signing.TimestampSigner(salt=VISITOR_SALT).unsign(token or "", max_age=VISITOR_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    chat_id, _sep, key = value.partition(":")
    if not chat_id.isdigit() or not key:
        return None
    return Participant(visitor_chat=int(chat_id), visitor_key=key)


def is_customer_side(chat: Chat, who: Participant) -> bool:
    """The chat's customer: the signed-in customer who started it, or the holder of its token."""
    if who.user is not None:
        return who.user.is_active and who.user.is_customer and chat.customer_id == who.user.pk
    return who.visitor_chat == chat.pk and bool(chat.visitor_key) and who.visitor_key == chat.visitor_key


def is_chat_agent(chat: Chat, who: Participant) -> bool:
    """The agent the chat is with."""
    return who.is_staff and who.user is not None and chat.agent_id == who.user.pk


def can_view(chat: Chat, who: Participant, member_line_ids: set[int]) -> bool:
    """Its customer, its agent, staff of its line, and management."""
    if is_customer_side(chat, who):
        return True
    if not who.is_staff or who.user is None:
        return False
    return who.user.is_management or chat.agent_id == who.user.pk or chat.line_id in member_line_ids


def can_speak(chat: Chat, who: Participant) -> bool:
    """Only the customer and the agent the chat is with write in an open chat."""
    if chat.status not in OPEN_CHAT_STATUSES:
        return False
    if is_customer_side(chat, who):
        return True
    return chat.status == ChatStatus.ACTIVE and is_chat_agent(chat, who)


@dataclass(frozen=True)
class Order:
    queued_at: dt.datetime
    credit_minutes: int
    parts: dict[str, int]
    virtual_time: dt.datetime


def queue_order(*, profile: CustomerProfile | None, now: dt.datetime, policy: QueuePolicy) -> Order:
    """The chat's place in its line's queue: the same head start a ticket of the customer gets
    (tenure, spend, frequency, flags, plan; a chat is of normal urgency); a visitor has none."""
    weight = customer_weight(profile=profile, urgency=Urgency.NORMAL, policy=policy, today=timezone.localdate(now))
    return Order(
        queued_at=now,
        credit_minutes=weight.credit_minutes,
        parts=weight.parts,
        virtual_time=now - dt.timedelta(minutes=weight.credit_minutes),
    )


@dataclass
class TokenBucket:
    """A socket's rate limit: `rate_per_minute` frames a minute on average, bursts up to `burst`."""

    rate_per_minute: float
    burst: float
    tokens: float = field(default=-1.0)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate_per_minute / 60.0)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def clean_client_id(value: object) -> str:
    """A client's message id: printable ASCII, at most CLIENT_ID_MAX characters; '' when unusable."""
    if not isinstance(value, str) or len(value) > CLIENT_ID_MAX:
        return ""
    if not all(33 <= ord(char) < 127 for char in value):
        return ""
    return value
