from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.permissions import can_enter

AREAS = [
    ("panel", _("Control panel")),
    ("desk", _("Workspace")),
    ("manage", _("Management")),
]


def navigation(request):
    """The areas the signed-in user may enter, for the shared navigation bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_areas": []}
    items = [
        {"key": key, "label": label, "url": reverse(key), "active": request.path.startswith(reverse(key))}
        for key, label in AREAS
        if can_enter(user, key)
    ]
    if user.is_staff:
        items.append({"key": "admin", "label": _("Admin"), "url": reverse("admin:index"), "active": False})
    return {"nav_areas": items}
