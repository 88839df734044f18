"""Writes to accounts.

Accounts have no audit table of their own: every write here that matters to security (API
tokens issued and revoked, password-reset e-mails held back) leaves a structured line on the
`helpdesk.audit.accounts` logger, with the fields also under `extra["audit"]`.
"""

import hashlib
import logging
import secrets
import zoneinfo
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, User
from helpdesk import ratelimit
from helpdesk.errors import DomainError, NotFound

audit_log = logging.getLogger("helpdesk.audit.accounts")

SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """Remember the language a user reads the helpdesk (and its e-mails) in."""
    if language not in SUPPORTED_LANGUAGES:
        raise DomainError(
            _("Unsupported language “%(language)s”; choose one of: %(choices)s.")
            % {"language": language, "choices": ", ".join(sorted(SUPPORTED_LANGUAGES))},
            code="unsupported_language",
            field="language",
        )
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


def time_zone_names() -> frozenset[str]:
    """The IANA zone names the helpdesk accepts (those Python's zoneinfo knows)."""
    return _TIME_ZONES


_TIME_ZONES = frozenset(zoneinfo.available_timezones())


@transaction.atomic
def user_set_time_zone(*, user: User, time_zone: str) -> User:
    """Remember the zone a user reads and enters dates and times in (an IANA name such as
    Asia/Tokyo); helpdesk.middleware.TimeZoneMiddleware activates it on every page."""
    time_zone = (time_zone or "").strip()
    if time_zone not in _TIME_ZONES:
        raise DomainError(
            _("Unknown time zone “%(zone)s”; give an IANA name such as Europe/Moscow.") % {"zone": time_zone[:64]},
            code="unknown_time_zone",
            field="time_zone",
        )
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.time_zone != time_zone:
        user.time_zone = time_zone
        user.save(update_fields=["time_zone"])
    return user


def audit(event: str, **fields) -> None:
    """One audit line: `event key=value …`, and the same fields for structured handlers."""
    text = " ".join(f"{key}={value}" for key, value in fields.items())
    audit_log.info("%s %s", event, text, extra={"audit": {"event": event, **fields}})


def api_token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_issue(*, user: User, name: str = "", via: str = "api") -> tuple[ApiToken, str]:
    """A new API token for the user; returns it and its key, which is never shown again.

    The user's expired tokens go; past API_TOKENS_PER_USER live ones, the least recently
    used goes too (a script that asks for a token on every run must not pile them up)."""
    if not user.is_active:
        raise DomainError(_("This account is disabled."), code="inactive_account")
    name = (name or "").strip()[:100] or "API"
    now = timezone.now()
    # Lock the user's row so that two issues at once keep to the limit.
    User.objects.select_for_update().filter(pk=user.pk).first()
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    live = ApiToken.objects.filter(user=user).order_by(Coalesce("last_used_at", "created_at").asc(), "id")
    surplus = live.count() - settings.API_TOKENS_PER_USER + 1
    if surplus > 0:
        evicted = list(live.values_list("id", "prefix")[:surplus])
        ApiToken.objects.filter(id__in=[token_id for token_id, _prefix in evicted]).delete()
        for token_id, prefix in evicted:
            audit("api_token.revoked", user=user.pk, token=token_id, prefix=prefix, reason="limit")
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:8],
        key_digest=api_token_digest(key),
        expires_at=now + timedelta(days=settings.API_TOKEN_TTL_DAYS),
    )
    audit("api_token.issued", user=user.pk, token=token.pk, prefix=token.prefix, via=via, expires=token.expires_at)
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens (NotFound for anyone else's)."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound(_("No such API token."), code="token_not_found")
    token.delete()
    audit("api_token.revoked", user=user.pk, token=token_id, prefix=token.prefix, reason="owner")


@transaction.atomic
def api_tokens_revoke_all(*, user: User, reason: str) -> int:
    """Revoke every token of the user (e.g. when the password changes); returns how many."""
    count, _by_model = ApiToken.objects.filter(user=user).delete()
    if count:
        audit("api_tokens.revoked_all", user=user.pk, count=count, reason=reason)
    return count


def login_lockouts_clear(*, username: str, reason: str) -> int:
    """Forget the failed logins of a username from every address (an administrator can do the
    same in the admin's "Access attempts" or with `manage.py axes_reset_username`)."""
    count = AxesProxyHandler.reset_attempts(username=username)
    if count:
        audit("login_lockouts.cleared", username=username, count=count, reason=reason)
    return count


def api_token_mark_used(*, token: ApiToken, at) -> None:
    """Remember when a token was last used (at most once a minute, so reads stay reads)."""
    fresh_since = at - timedelta(minutes=1)
    if token.last_used_at is not None and token.last_used_at > fresh_since:
        return
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=fresh_since).update(last_used_at=at)
    token.last_used_at = at


def password_reset_may_send(*, email: str, client_ip: str | None) -> bool:
    """Whether a password-reset e-mail may go to this address, asked from this client.

    Counts every request, for an existing address or not, so the answer tells nothing about
    which addresses exist. Over a limit the caller sends nothing and answers as usual."""
    address = (email or "").strip().lower()
    by_address = ratelimit.hit(
        scope="password-reset-address",
        key=address,
        limit=settings.PASSWORD_RESET_PER_ADDRESS_PER_HOUR,
        window_seconds=3600,
    )
    by_client = ratelimit.hit(
        scope="password-reset-ip",
        key=client_ip or "unknown",
        limit=settings.PASSWORD_RESET_PER_IP_PER_HOUR,
        window_seconds=3600,
    )
    if by_address and by_client:
        return True
    audit(
        "password_reset.held_back",
        address_digest=hashlib.sha256(address.encode()).hexdigest()[:12],
        client_ip=client_ip,
        limit="address" if not by_address else "client",
    )
    return False


# Placeholders' usernames: this prefix and a digest of the lower-cased address.
PLACEHOLDER_PREFIX = "email-"


def _placeholder(address: str, name: str, *, keep_address: bool) -> User:
    """The one placeholder customer of an address, found by its username (made from the address)
    and made on first use: whoever asks for it, whatever the address's owner does later (a
    staff member whose address changes), the same address always finds the same account."""
    from accounts.models import Role

    username = PLACEHOLDER_PREFIX + hashlib.sha256(address.lower().encode()).hexdigest()[:16]
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username,
            email=address if keep_address else "",
            role=Role.CUSTOMER,
            is_active=False,
            first_name=(name or "").strip()[:150],
            last_name="" if keep_address else f"({address})"[:150],
        )
        user.set_unusable_password()
        user.save()
    return user


@transaction.atomic
def customer_for_address(*, email: str, name: str = "") -> tuple[User, bool]:
    """The account with this e-mail address, or a placeholder for an unknown sender.

    Returns (user, matched). A placeholder is an inactive customer without a password, so a
    ticket always has a customer; an agent can later move the ticket to the real account. The
    account found may be a staff member's: the caller files for placeholder_for_staff_address."""
    from accounts.models import Role

    address = (email or "").strip()
    if not address or "@" not in address:
        raise DomainError(_("Give a valid e-mail address."), code="invalid_email", field="email")
    existing = User.objects.filter(email__iexact=address).order_by("-is_active", "id").first()
    if existing is not None:
        return existing, existing.is_active and existing.role == Role.CUSTOMER
    return _placeholder(address, name, keep_address=True), False


@transaction.atomic
def placeholder_for_staff_address(*, email: str, name: str = "") -> User:
    """The customer a message from a staff member's address is filed for (feedback form, e-mail).

    Staff accounts never own tickets, and whoever typed or sent the address need not be that
    staff member. The placeholder is an inactive customer without a password and, so that
    nothing finds or mails it by the staff address, without an e-mail address: the address is
    kept in its name for the agents."""
    return _placeholder((email or "").strip(), name, keep_address=False)
