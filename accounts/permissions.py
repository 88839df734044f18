"""Who may see which part of the helpdesk, by role; shared by pages and the API."""

from django.contrib.auth.mixins import AccessMixin
from rest_framework.permissions import BasePermission

from accounts.models import MANAGEMENT_ROLES, STAFF_ROLES, Role

AREA_ROLES = {
    "panel": frozenset({Role.CUSTOMER}),
    "desk": STAFF_ROLES,
    "manage": MANAGEMENT_ROLES,
}


def can_enter(user, area: str) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in AREA_ROLES[area])


class AreaRequiredMixin(AccessMixin):
    """A page of one of the three web areas: anonymous users go to login, others get 403."""

    area: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_enter(request.user, self.area):
            self.raise_exception = True
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


class IsSupportStaff(BasePermission):
    message = "Only support staff may do this."

    def has_permission(self, request, view) -> bool:
        return can_enter(request.user, "desk")


class IsManagement(BasePermission):
    message = "Only managers, quality reviewers and administrators may do this."

    def has_permission(self, request, view) -> bool:
        return can_enter(request.user, "manage")
