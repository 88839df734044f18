from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from status import services
from status.models import (
    Component,
    CustomerComponent,
    Incident,
    IncidentTicket,
    IncidentUpdate,
    Maintenance,
    MonitoringToken,
    Service,
    SubscriberMail,
    Subscription,
)


class ComponentInline(admin.TabularInline):
    model = Component
    extra = 0
    fields = ["slug", "name", "name_ru", "aliases", "position"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    inlines = [ComponentInline]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "service", "slug", "aliases"]
    list_filter = ["service"]
    search_fields = ["name", "name_ru", "slug", "aliases"]


@admin.register(CustomerComponent)
class CustomerComponentAdmin(admin.ModelAdmin):
    list_display = ["customer", "component"]
    list_filter = ["component__service"]
    raw_id_fields = ["customer"]
    search_fields = ["customer__username", "customer__email"]


class UpdateInline(admin.TabularInline):
    model = IncidentUpdate
    extra = 0
    fields = ["created_at", "state", "body", "author", "source"]
    readonly_fields = fields
    can_delete = False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read here; written in the workspace (/desk/status/) and through the API, where the
    services publish the updates, mail the subscribers and deal with the linked tickets."""

    list_display = ["__str__", "severity", "state", "started_at", "resolved_at", "source"]
    list_filter = ["state", "severity"]
    readonly_fields = [field.name for field in Incident._meta.concrete_fields]
    inlines = [UpdateInline]

    def has_add_permission(self, request):
        return False


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_at", "ends_at", "cancelled_at"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["incident", "user", "via", "deflected", "created_at", "cancelled_at"]
    list_filter = ["via", "deflected"]
    raw_id_fields = ["user", "incident"]


@admin.register(SubscriberMail)
class SubscriberMailAdmin(admin.ModelAdmin):
    list_display = ["update", "email", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    readonly_fields = ["update", "subscription", "email", "status", "attempts", "last_error", "created_at", "sent_at"]


@admin.register(IncidentTicket)
class IncidentTicketAdmin(admin.ModelAdmin):
    list_display = ["incident", "ticket", "via", "linked_at", "outcome", "done_at"]
    list_filter = ["via", "outcome"]
    readonly_fields = ["incident", "ticket", "via", "linked_at", "linked_by", "outcome", "done_at"]


@admin.register(MonitoringToken)
class MonitoringTokenAdmin(admin.ModelAdmin):
    """Tokens are made with `manage.py status_token create` (the key is shown once there)."""

    list_display = ["name", "scope", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["scope"]
    readonly_fields = [
        "name",
        "scope",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the chosen tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            services.monitoring_token_revoke(token=token)
        self.message_user(request, _("Revoked."), messages.SUCCESS)
