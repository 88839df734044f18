from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications import services, tasks
from notifications.models import AgentNotificationPreference, BouncedAddress, Notification
from tickets.models import EventOutbox


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The record of every e-mail: read-only, except that failed ones can be queued again."""

    list_display = ["ticket", "kind", "email", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["email", "message_id", "subject", "=ticket__number"]
    list_select_related = ["ticket"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "recipient",
        "email",
        "ticket",
        "event",
        "kind",
        "subject",
        "status",
        "attempts",
        "last_error",
        "message_id",
        "created_at",
        "sent_at",
        "bounced_at",
    ]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=gettext_lazy("Send the selected failed e-mails again"))
    def send_again(self, request, queryset):
        ids = list(queryset.filter(status=Notification.Status.FAILED).values_list("id", flat=True))
        with transaction.atomic():
            Notification.objects.filter(id__in=ids).update(status=Notification.Status.QUEUED, last_error="")
            for notification_id in ids:
                transaction.on_commit(partial(tasks.send_notification.delay, notification_id))
        self.message_user(request, _("E-mails queued again: %(count)d.") % {"count": len(ids)}, messages.SUCCESS)


@admin.register(BouncedAddress)
class BouncedAddressAdmin(admin.ModelAdmin):
    """Addresses mail bounced from; suppressed ones are not mailed until cleared (also on the
    workspace's Mail page)."""

    list_display = ["email", "hard_bounces", "soft_bounces", "last_bounce_at", "suppressed_at", "cleared_at"]
    search_fields = ["email"]
    readonly_fields = [field.name for field in BouncedAddress._meta.fields]
    actions = ["clear"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=gettext_lazy("Mail the selected addresses again"))
    def clear(self, request, queryset):
        for address in queryset.filter(suppressed_at__isnull=False):
            services.bounced_address_clear(address=address, actor=request.user)
        self.message_user(request, _("Addresses cleared."), messages.SUCCESS)


@admin.register(AgentNotificationPreference)
class AgentNotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "on_new_in_line", "on_transfer_to_me", "on_transfer_to_my_line", "updated_at"]
    list_filter = ["on_new_in_line", "on_transfer_to_me", "on_transfer_to_my_line"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


class ParkedFilter(admin.SimpleListFilter):
    title = gettext_lazy("parked")
    parameter_name = "parked"

    def lookups(self, request, model_admin):
        return [("yes", _("Parked")), ("no", _("Waiting"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(parked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(parked_at__isnull=True)
        return queryset


@admin.register(EventOutbox)
class EventOutboxAdmin(admin.ModelAdmin):
    """Ticket events waiting for the notifications drain (a growing backlog: beat or the worker
    is down), and those it gave up on (parked, with the last error) until they are retried."""

    list_display = ["event", "created_at", "attempts", "next_attempt_at", "parked_at", "last_error_start"]
    list_filter = [ParkedFilter]
    list_select_related = ["event"]
    readonly_fields = ["event", "created_at", "attempts", "next_attempt_at", "parked_at", "last_error"]
    show_full_result_count = False
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("last error"))
    def last_error_start(self, row):
        return row.last_error[:100]

    @admin.action(description=gettext_lazy("Retry the selected parked events"), permissions=["change"])
    def retry(self, request, queryset):
        count = services.outbox_retry(event_ids=queryset.values_list("event_id", flat=True))
        self.message_user(
            request, _("Events to be tried again at the next drain: %(count)d.") % {"count": count}, messages.SUCCESS
        )
