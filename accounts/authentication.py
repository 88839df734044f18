"""`Authorization: Token <key>` for the API, against accounts.ApiToken."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.models import ApiToken
from accounts.services import api_token_digest, api_token_mark_used


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's token header, checked against the stored digests; expired tokens are refused.

    A subclass of DRF's class, so the OpenAPI schema describes it as the same `tokenAuth`."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        # With what the answers read of the caller: the display name, a customer's profile and plan.
        token = (
            ApiToken.objects.select_related("user__agent_profile", "user__customer_profile__support_plan")
            .filter(key_digest=api_token_digest(key))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired; ask for a new one."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        api_token_mark_used(token=token, at=now)
        return token.user, token
