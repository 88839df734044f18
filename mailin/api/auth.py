"""The inbound endpoint's credential: one shared bearer token (HELPDESK_INBOUND_TOKEN) for the
MTA or the mail provider's webhook. It identifies no user."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header


class InboundNotConfigured(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Inbound e-mail is not configured: set HELPDESK_INBOUND_TOKEN.")
    default_code = "inbound_not_configured"


class InboundToken:
    """request.auth of a request that showed the right token."""


class InboundTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        expected = settings.INBOUND_TOKEN
        if not expected:
            raise InboundNotConfigured()
        parts = get_authorization_header(request).split()
        if not parts:
            return None
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            raise exceptions.AuthenticationFailed(_("Send the token as “Authorization: Bearer <token>”."))
        if not hmac.compare_digest(parts[1], expected.encode()):
            raise exceptions.AuthenticationFailed(_("Wrong inbound token."))
        return AnonymousUser(), InboundToken()

    # No authenticate_header: a missing or wrong token is answered with 403, not 401.


class HasInboundToken(permissions.BasePermission):
    message = _("This endpoint needs the inbound token (Authorization: Bearer <token>).")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, InboundToken)


class InboundTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mailin.api.auth.InboundTokenAuthentication"
    name = "inboundToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The shared inbound token (setting HELPDESK_INBOUND_TOKEN).",
        }
