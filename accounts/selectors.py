"""Reads of accounts, scoped by who asks."""

from django.db.models import QuerySet

from accounts.models import ApiToken, User


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first, expired ones included until they are cleared."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
