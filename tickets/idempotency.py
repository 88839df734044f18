"""Filing a ticket once, whatever the number of times the request is sent.

A client that lost the answer to `POST /api/v1/tickets/` (a timeout, a connection cut, a 503
after the commit) sends the request again with the same `Idempotency-Key` header; a customer
who clicks "Send" twice posts the new-ticket form twice with the same hidden token. Either way
one ticket is filed: the key is written (`tickets.IdempotencyKey`, unique per user, scope and
key) in the filing's transaction, *before* the ticket, so a second request with the same key
waits on the unique index until the first commits and then finds its ticket and its answer, or
files the ticket itself if the first rolled back. A request that failed leaves no key behind:
sending it again, corrected, files it. The API gives back the first answer (its status and
body, and `Idempotent-Replayed: true`); the same key with a different request is a 409.
Keys are kept for IDEMPOTENCY_KEY_HOURS; each filing under a key drops that user's older ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.errors import Conflict, DomainError
from tickets.models import IdempotencyKey, Ticket

KEY_MAX = 255


@dataclass(frozen=True)
class Filed:
    """The ticket filed under a key, the answer given for it, and whether it was filed now."""

    ticket: Ticket
    status_code: int
    response: Any
    replayed: bool


def clean_key(key: str | None, *, field: str) -> str:
    """The key as given, or a DomainError: 1 to 255 visible ASCII characters (a UUID, say)."""
    key = key or ""
    if not key or len(key) > KEY_MAX or not all("!" <= ch <= "~" for ch in key):
        raise DomainError(
            _("The idempotency key must be 1 to %(max)s visible ASCII characters, e.g. a UUID.") % {"max": KEY_MAX},
            code="invalid_idempotency_key",
            field=field,
        )
    return key


def request_fingerprint(data: Mapping[str, Any]) -> str:
    """A digest of what a request asks for: its fields and, for files, their names and sizes."""

    def plain(value: Any) -> Any:
        if hasattr(value, "read") and hasattr(value, "size"):
            return ["file", getattr(value, "name", ""), value.size]
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value if isinstance(value, str | int | float | bool | type(None)) else str(value)

    items = data.lists() if hasattr(data, "lists") else data.items()
    canonical = json.dumps(sorted((str(name), plain(value)) for name, value in items), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def ticket_create_once(
    *,
    user: User,
    scope: str,
    key: str,
    create: Callable[[], Ticket],
    answer: Callable[[Ticket], Any] | None = None,
    fingerprint: str = "",
    status_code: int = 201,
) -> Filed:
    """File a ticket with `create` (which calls tickets.services.ticket_create) unless this user
    filed one under `key` already: then that ticket, and the answer `answer` made of it then.
    The key, the ticket and the answer commit together or not at all."""
    if scope not in IdempotencyKey.Scope.values:
        raise ValueError(f"unknown idempotency scope {scope!r}")
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=user, scope=scope, key=key, fingerprint=fingerprint, status_code=status_code, created_at=now
            )
        sent_before = False
    except IntegrityError:
        # Sent before: the unique index made this request wait until the first one committed.
        sent_before = True
    if sent_before:
        record = IdempotencyKey.objects.select_related("ticket").get(user=user, scope=scope, key=key)
        if now - record.created_at > dt.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS):
            record.delete()  # expired: the key is free again
            return ticket_create_once(
                user=user,
                scope=scope,
                key=key,
                create=create,
                answer=answer,
                fingerprint=fingerprint,
                status_code=status_code,
            )
        if fingerprint and record.fingerprint and record.fingerprint != fingerprint:
            raise Conflict(
                _("This idempotency key was used for a different request; use a new key for a new ticket."),
                code="idempotency_key_reused",
                field="Idempotency-Key" if scope == IdempotencyKey.Scope.API else None,
            )
        if record.ticket is None:  # pragma: no cover - written in the same transaction as its ticket
            raise Conflict(_("The first request with this key is still being handled."), code="in_progress")
        return Filed(ticket=record.ticket, status_code=record.status_code, response=record.response, replayed=True)
    ticket = create()
    record.ticket = ticket
    record.response = answer(ticket) if answer is not None else None
    record.save(update_fields=["ticket", "response"])
    expired = now - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    IdempotencyKey.objects.filter(user=user, created_at__lt=expired).delete()
    return Filed(ticket=ticket, status_code=status_code, response=record.response, replayed=False)
