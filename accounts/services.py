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
