"""The chat in the admin: its settings (the line that handles chats, the bot, the limits), and
the chats with their messages and audit trail, read-only (only chat.services writes them)."""

from django.contrib import admin

from chat.models import Chat, ChatEvent, ChatMessage, ChatSettings


@admin.register(ChatSettings)
class ChatSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "line", "bot_enabled", "max_message_chars", "messages_per_minute", "updated_at")

    def has_add_permission(self, request):
        return not ChatSettings.objects.exists()


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessageInline(ReadOnlyInline):
    model = ChatMessage
    fields = ("seq", "author_kind", "author", "body", "client_id", "created_at")
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = ChatEvent
    fields = ("created_at", "kind", "actor", "data")
    readonly_fields = fields


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "customer", "visitor_name", "line", "agent", "rating", "ticket", "created_at")
    list_filter = ("status", "rating", "line")
    search_fields = ("visitor_name", "visitor_email", "customer__username", "customer__email")
    inlines = [MessageInline, EventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
