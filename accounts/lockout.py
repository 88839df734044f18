"""The answer to a locked-out login (django-axes calls `lockout_response`, see AXES_* settings)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

STATUS = 429
# The length of django-axes' username columns.
USERNAME_MAX = 255


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a login attempt is counted under, as django-axes' default takes it, cut to
    what its table holds: login forms pass any length to authenticate(), and a name longer
    than any account's is still one attacker's attempts."""
    source = credentials or getattr(request, "data", request.POST)
    username = source.get("username")
    if username is None:
        return None
    return str(username).replace("\x00", "")[:USERNAME_MAX]


def cooloff_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    minutes = cooloff_minutes()
    return ngettext(
        "Too many failed attempts to log in to this account from your address. Logging in is paused "
        "for %(minutes)d minute after the last attempt; reset your password or ask an administrator "
        "to unlock the account if you cannot wait.",
        "Too many failed attempts to log in to this account from your address. Logging in is paused "
        "for %(minutes)d minutes after the last attempt; reset your password or ask an administrator "
        "to unlock the account if you cannot wait.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The lockout page in the reader's language, or the API's error shape for API callers."""
    message = lockout_message()
    if request.path.startswith("/api/") or request.headers.get("x-requested-with") == "XMLHttpRequest":
        return JsonResponse({"error": "locked_out", "detail": message}, status=STATUS)
    return render(
        request,
        "registration/lockout.html",
        {"message": message, "minutes": cooloff_minutes()},
        status=STATUS,
    )
