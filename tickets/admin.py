from django.contrib import admin

from tickets.models import Message, ReplyTemplate, Ticket


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-mostly: changes of state go through the workspace and services, which audit them."""

    list_display = ["number", "subject", "status", "urgency", "category", "line", "assignee", "customer", "created_at"]
    list_filter = ["status", "urgency", "category", "channel", "line"]
    search_fields = ["=number", "subject", "customer__username", "customer__email"]
    list_select_related = ["line", "assignee", "customer"]
    raw_id_fields = ["customer", "assignee", "organisation"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in Ticket._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "author", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["ticket", "author"]
    list_select_related = ["ticket", "author"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "line", "language", "position", "is_active"]
    list_filter = ["line", "language", "is_active"]
    search_fields = ["title", "body", "code"]
