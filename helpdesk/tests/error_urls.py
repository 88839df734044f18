"""The site's URLs plus a view that fails in each area, for the 500 page's tests."""

from django.urls import path

from helpdesk.urls import handler403, handler404, handler500
from helpdesk.urls import urlpatterns as site_patterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


def fail(request):
    raise RuntimeError("a failure the 500 page must hide")


urlpatterns = [
    path("panel/fail/", fail),
    path("desk/fail/", fail),
    path("manage/fail/", fail),
    path("help/fail/", fail),
    path("api/v1/fail/", fail),
    *site_patterns,
]
