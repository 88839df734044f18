from django.contrib import admin

from tickets.models import Attachment, LineStint, Message, ReplyTemplate, SavedView, Tag, Ticket, TicketEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Tickets change through the workspace and the API, whose services write the audit
    trail; the admin only shows them."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["number", "subject", "status", "urgency", "category", "line", "assignee", "customer", "created_at"]
    list_filter = ["status", "urgency", "category", "channel", "line"]
    search_fields = ["=number", "subject", "customer__username", "customer__email"]
    list_select_related = ["line", "assignee", "customer"]
    raw_id_fields = ["customer", "assignee", "organisation"]
    date_hierarchy = "created_at"


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "kind", "author", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["ticket", "author"]
    list_select_related = ["ticket", "author"]


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["ticket", "actor"]
    list_select_related = ["ticket", "actor"]


@admin.register(LineStint)
class LineStintAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "line", "entered_at", "left_at"]
    list_filter = ["line"]
    raw_id_fields = ["ticket"]
    list_select_related = ["ticket", "line"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "ticket", "content_type", "size", "uploaded_by", "created_at"]
    raw_id_fields = ["ticket", "message", "uploaded_by"]
    exclude = ["file"]  # downloads go through the permission-checked view only


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "line", "language", "position", "is_active"]
    list_filter = ["line", "language", "is_active"]
    search_fields = ["title", "body", "code"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Tags are put on tickets through the workspace (with their history line); here they are
    renamed or removed from the vocabulary."""

    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "line", "sort", "position", "updated_at"]
    list_filter = ["line"]
    search_fields = ["name", "created_by__username"]
    raw_id_fields = ["created_by"]
