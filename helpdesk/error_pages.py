"""The 403, 404 and 500 pages (handler403/404/500 in helpdesk.urls), and Django's plain 400
(handler400) outside /api/.

Each web area has its own: the page names the area, says what usually leads there and
links back to the area's start page, in the reader's language. The area comes from the
path and, for a signed-in user who may not enter that area, from their role, so a
customer who follows a workspace link is sent back to their control panel. Under /api/
the answer is JSON in the API's error shape (the api_* views of helpdesk.api).
"""

import sys

from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views import defaults

from accounts.permissions import can_enter
from helpdesk import api
from helpdesk.context_processors import AREAS

AREA_PREFIXES = (("/panel/", "panel"), ("/desk/", "desk"), ("/manage/", "manage"))
# The order of helpdesk.views.home: where a user lands when they open the site.
HOME_ORDER = ("panel", "manage", "desk")
AREA_LABELS = dict(AREAS)
WAY_BACK = {
    "panel": gettext_lazy("Back to your control panel"),
    "desk": gettext_lazy("Back to the workspace"),
    "manage": gettext_lazy("Back to management"),
    None: gettext_lazy("Go to the start page"),
}


def area_of_path(path: str) -> str | None:
    return next((area for prefix, area in AREA_PREFIXES if path.startswith(prefix)), None)


def area_for(request) -> str | None:
    """The path's area if the user may enter it, else the signed-in user's own area."""
    area = area_of_path(request.path_info)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return area
    if area is not None and can_enter(user, area):
        return area
    return next((home for home in HOME_ORDER if can_enter(user, home)), None)


def _context(area: str | None, status: int) -> dict:
    return {
        "status": status,
        "area": area,
        "area_label": AREA_LABELS.get(area, ""),
        "back_url": reverse(area) if area else reverse("home"),
        "back_label": WAY_BACK[area],
    }


def bad_request(request, exception):
    """Django's own 400 (a request too large, or with too many fields, to parse) is a page; under
    /api/ it is JSON."""
    if api.is_api_request(request):
        return api.api_bad_request(request, exception)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if api.is_api_request(request):
        return api.api_permission_denied(request, exception)
    area = area_for(request)
    return render(request, "errors/403.html", _context(area, 403), status=403)


def page_not_found(request, exception):
    if api.is_api_request(request):
        return api.api_not_found(request, exception)
    area = area_for(request)
    return render(request, "errors/404.html", {**_context(area, 404), "path": request.path}, status=404)


def server_error(request):
    """Rendered without a request context: the failure may be the database or the session
    store, which the navigation bar and the user's role would need. So the area comes from
    the path alone."""
    if api.is_transient_failure(sys.exc_info()[1]):
        return service_unavailable(request)
    if api.is_api_request(request):
        return api.api_server_error(request)
    area = area_of_path(request.path_info)
    return HttpResponse(loader.get_template("errors/500.html").render(_context(area, 500)), status=500)


def service_unavailable(request):
    """The database or the disk failed for a moment (helpdesk.api.is_transient_failure), wherever
    it happened (a view, the session or the login read by a middleware): 503 with Retry-After,
    a page that says to try again, or under /api/ the API's error shape with `unavailable`.
    Django still logs the exception with its traceback, for the people who run the site."""
    if api.is_api_request(request):
        return api.unavailable_response()
    area = area_of_path(request.path_info)
    page = loader.get_template("errors/503.html").render(_context(area, 503))
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(api.RETRY_AFTER_SECONDS)
    return response
