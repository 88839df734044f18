"""Each reader's time zone: dates and times are shown and entered in it.

The zone is the signed-in user's setting (`User.time_zone`); until they have one, the zone
their browser reports, which `app.js` detects on the first visit, keeps in a cookie and saves
to the account. Without either, the helpdesk's own zone (`TIME_ZONE`). Django then renders
every aware datetime in that zone and reads a form's date and time without an offset (the
promise's `datetime-local` field) in it. The API is left in UTC offsets of its own: its
datetimes carry their offset and its input needs one.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.utils import timezone

from helpdesk.api import is_api_request

# Set by app.js from Intl.DateTimeFormat().resolvedOptions().timeZone.
TIME_ZONE_COOKIE = "helpdesk_tz"


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone of an IANA name, or None for anything else (a cookie is whatever the client sent)."""
    if not name or len(name) > 64 or name not in _names():
        return None
    return zoneinfo.ZoneInfo(name)


def reader_zone(request) -> zoneinfo.ZoneInfo | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.time_zone:
        zone = zone_named(user.time_zone)
        if zone is not None:
            return zone
    return zone_named(request.COOKIES.get(TIME_ZONE_COOKIE))


class TimeZoneMiddleware:
    """Activates the reader's zone for the request (after the authentication middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = None if is_api_request(request) else reader_zone(request)
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
