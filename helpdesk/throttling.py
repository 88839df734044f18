"""DRF throttles that key on the client address as the server fixed it (helpdesk.net)."""

from rest_framework.throttling import ScopedRateThrottle

from helpdesk.net import client_ip


class ClientScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, never keyed on a client's own X-Forwarded-For."""

    def get_ident(self, request):
        return client_ip(request) or "unknown"
