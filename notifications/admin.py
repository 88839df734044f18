from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications import tasks
from notifications.models import AgentNotificationPreference, Notification


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


@admin.register(AgentNotificationPreference)
class AgentNotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "on_new_in_line", "on_transfer_to_me", "on_transfer_to_my_line", "updated_at"]
    list_filter = ["on_new_in_line", "on_transfer_to_me", "on_transfer_to_my_line"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
