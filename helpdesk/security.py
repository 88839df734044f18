"""Response headers that keep pages out of other sites' reach and out of caches.

The Content-Security-Policy itself is `CONTENT_SECURITY_POLICY` in the settings (django-csp);
this module only loosens it for the two pages whose third-party markup cannot follow it.
"""

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.utils.deprecation import MiddlewareMixin

# Two developer tools bring markup of their own. Swagger UI (drf-spectacular-sidecar) ships a
# <style> block, React sets style attributes, and its stylesheet draws icons from data: URLs;
# DRF's browsable API (what a browser gets from /api/v1/) inlines its code highlighting
# styles. Their scripts still come from our own origin (Swagger UI's start-up script is a
# file, served by the split view), so scripts stay 'self' everywhere. First match wins.
LOOSER_POLICIES = {
    "/api/docs/": {"style-src": [SELF, UNSAFE_INLINE], "img-src": [SELF, "data:"]},
    "/api/v1/": {"style-src": [SELF, UNSAFE_INLINE]},
}


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware with a per-path exception table (`LOOSER_POLICIES`)."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        for prefix, directives in LOOSER_POLICIES.items():
            if request.path_info.startswith(prefix):
                parts.replace = {**directives, **(parts.replace or {})}
                break
        return parts


class NoStoreMiddleware(MiddlewareMixin):
    """`Cache-Control: no-store` on every answer to a signed-in user and on every page that
    carries a CSRF token, so a shared computer's browser cache or a proxy keeps no copy of
    a ticket, and the back button after logging out shows nothing.

    A page used its CSRF token if the token is still marked for sending (CsrfViewMiddleware,
    which runs after this one, sends it), or if a view's own csrf_protect already put the
    cookie on the response. Static files never get here (WhiteNoise answers them earlier)
    and keep their long cache lifetime.
    """

    def process_response(self, request, response):
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        used_csrf_token = request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or settings.CSRF_COOKIE_NAME in response.cookies
        if signed_in or used_csrf_token:
            response["Cache-Control"] = "no-store"
        return response
