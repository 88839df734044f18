"""Schedules in the admin: edits go through the services, so each one leaves its roster event."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

from helpdesk.errors import DomainError
from shifts import services
from shifts.models import RosterEvent, Shift, ShiftException
from shifts.services import SHIFT_FIELDS


class ServiceAdmin(admin.ModelAdmin):
    """Saves and deletes through the schedule services instead of the ORM."""

    def _domain_call(self, request, call):
        try:
            return call()
        except DomainError as error:
            messages.error(request, error.message)
            raise DjangoPermissionDenied(error.message) from error

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Shift)
class ShiftAdmin(ServiceAdmin):
    list_display = ("agent", "line", "weekday", "starts_at", "ends_at", "time_zone", "valid_from", "valid_until")
    list_filter = ("line", "weekday")
    search_fields = ("agent__username", "agent__first_name", "agent__last_name")
    autocomplete_fields = ("agent",)

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: getattr(obj, name) for name in form.changed_data if name in SHIFT_FIELDS}
            self._domain_call(request, lambda: services.shift_update(actor=request.user, shift=obj, **changes))
        else:
            values = {name: getattr(obj, name) for name in SHIFT_FIELDS}
            created = self._domain_call(request, lambda: services.shift_create(actor=request.user, **values))
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self._domain_call(request, lambda: services.shift_delete(actor=request.user, shift=obj))


@admin.register(ShiftException)
class ShiftExceptionAdmin(ServiceAdmin):
    list_display = ("agent", "kind", "line", "starts_at", "ends_at", "note")
    list_filter = ("kind", "line")
    search_fields = ("agent__username", "note")
    autocomplete_fields = ("agent",)

    def has_change_permission(self, request, obj=None):
        # An exception is added or removed, never edited in place: the trail stays readable.
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = self._domain_call(
            request,
            lambda: services.exception_create(
                actor=request.user,
                agent=obj.agent,
                kind=obj.kind,
                starts_at=obj.starts_at,
                ends_at=obj.ends_at,
                line=obj.line,
                note=obj.note,
            ),
        )
        obj.pk = created.pk

    def delete_model(self, request, obj):
        self._domain_call(request, lambda: services.exception_delete(actor=request.user, exception=obj))


@admin.register(RosterEvent)
class RosterEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "agent", "actor")
    list_filter = ("action",)
    readonly_fields = ("action", "actor", "agent", "data", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
