"""The public feedback form: a ticket without an account, and a signed link to follow it."""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.services import customer_for_address
from helpdesk.errors import DomainError, NotFound
from tickets import services as ticket_services
from tickets.models import Channel, Ticket

FOLLOW_SALT = "helpdesk.ticket-follow"
FORM_SALT = "helpdesk.contact-form"
FORM_MIN_SECONDS = 3  # people need longer than this to fill the form in
FORM_MAX_SECONDS = 24 * 3600


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


def form_token() -> str:
    return signing.dumps(int(time.time()), salt=FORM_SALT)


def check_not_a_bot(*, honeypot: str, token: str) -> None:
    if honeypot:
        raise DomainError(_("The form could not be accepted."), code="bot_suspected")
    try:
        started = signing.loads(token, salt=FORM_SALT, max_age=FORM_MAX_SECONDS)
    except signing.BadSignature as exc:
        raise DomainError(_("The form expired; please send it again."), code="form_expired") from exc
    if time.time() - started < FORM_MIN_SECONDS:
        raise DomainError(_("That was too fast; please send the form again."), code="bot_suspected")


def check_rate(*, key: str, limit: int, window_seconds: int) -> None:
    """At most `limit` submissions per `window_seconds` for this key (an IP or an address)."""
    cache_key = f"contact-rate:{key}"
    cache.add(cache_key, 0, window_seconds)
    if cache.incr(cache_key) > limit:
        raise RateLimited(_("Too many requests from you; please try again in an hour."))


def follow_token(ticket: Ticket) -> str:
    return signing.TimestampSigner(salt=FOLLOW_SALT).sign(str(ticket.number))


def ticket_from_follow_token(token: str) -> Ticket:
    """The ticket of a follow link; NotFound for a tampered or expired link."""
    try:
        number = signing.TimestampSigner(salt=FOLLOW_SALT).unsign(token, max_age=settings.FOLLOW_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise NotFound(_("This link has expired; write to us again or sign in."), code="link_expired") from exc
    except signing.BadSignature as exc:
        raise NotFound(_("This link is not valid."), code="link_invalid") from exc
    ticket = Ticket.objects.select_related("line", "customer").filter(number=int(number)).first()
    if ticket is None:
        raise NotFound(_("This link is not valid."), code="link_invalid")
    return ticket


@transaction.atomic
def feedback_submit(*, name: str, email: str, topic: str, subject: str, message: str, client_ip: str) -> Ticket:
    """A ticket from the anonymous form, matched to an account by e-mail when there is one."""
    check_rate(key=f"ip:{client_ip}", limit=settings.CONTACT_RATE_PER_HOUR, window_seconds=3600)
    check_rate(key=f"email:{email.lower()}", limit=settings.CONTACT_RATE_PER_HOUR, window_seconds=3600)
    customer, _matched = customer_for_address(email=email, name=name)
    return ticket_services.ticket_create(
        customer=customer,
        created_by=None,
        channel=Channel.FORM,
        subject=subject,
        body=message,
        category=topic,
        allow_inactive=True,
    )
