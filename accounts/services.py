"""Writes to accounts."""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.errors import DomainError

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


@transaction.atomic
def user_issue_api_token(*, user: User) -> str:
    """The user's API token, created on first request (one token per user)."""
    from rest_framework.authtoken.models import Token

    if not user.is_active:
        raise DomainError(_("This account is disabled."), code="inactive_account")
    token, _created = Token.objects.get_or_create(user=user)
    return token.key


@transaction.atomic
def customer_for_address(*, email: str, name: str = "") -> tuple[User, bool]:
    """The customer account with this e-mail address, or a placeholder for an unknown sender.

    Returns (user, matched). A placeholder is an inactive customer without a password, so a
    ticket always has a customer; an agent can later move the ticket to the real account."""
    import hashlib

    from accounts.models import Role

    address = (email or "").strip()
    if not address or "@" not in address:
        raise DomainError(_("Give a valid e-mail address."), code="invalid_email", field="email")
    existing = User.objects.filter(email__iexact=address).order_by("-is_active", "id").first()
    if existing is not None:
        return existing, existing.is_active and existing.role == Role.CUSTOMER
    digest = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
    user = User(username=f"email-{digest}", email=address, role=Role.CUSTOMER, is_active=False)
    user.first_name = (name or "").strip()[:150]
    user.set_unusable_password()
    user.save()
    return user, False
