"""`Authorization: Bearer <key>` for the status endpoints, against status.MonitoringToken.

Used only by the status API's views: elsewhere the header is not read, so a monitoring token
opens nothing but the endpoints of its scope. The request has no user (AnonymousUser); the
token is `request.auth`, and the services check its scope."""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from status.models import MonitoringToken
from status.services import monitoring_token_digest, monitoring_token_mark_used


class MonitoringTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = parts[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        token = MonitoringToken.objects.filter(key_digest=monitoring_token_digest(key)).first()
        now = timezone.now()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired; ask for a new one."))
        monitoring_token_mark_used(token=token, at=now)
        return AnonymousUser(), token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="status"'


class MonitoringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "status.api.auth.MonitoringTokenAuthentication"
    name = "monitoringToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A monitoring token of the status (manage.py status_token), scoped to incidents or maintenance."
            ),
        }
