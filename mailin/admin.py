from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mailin import services
from mailin.models import AutoReply, InboundMessage, Mailbox, Outcome


class MailboxForm(forms.ModelForm):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the current one."),
    )
    clear_imap_password = forms.BooleanField(label=_("Remove the stored IMAP password"), required=False)

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "address",
            "line",
            "category",
            "is_active",
            "imap_host",
            "imap_port",
            "imap_use_ssl",
            "imap_user",
            "imap_folder",
        ]

    def save(self, commit=True):
        mailbox = super().save(commit=False)
        if self.cleaned_data.get("clear_imap_password"):
            mailbox.set_imap_password("")
        elif self.cleaned_data.get("imap_password"):
            mailbox.set_imap_password(self.cleaned_data["imap_password"])
        if commit:
            mailbox.save()
        return mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["name", "address", "line", "category", "is_active", "polled", "last_polled_at"]
    list_filter = ["is_active", "line"]
    search_fields = ["name", "address"]
    readonly_fields = ["password_stored", "last_polled_at", "last_poll_error"]
    fieldsets = [
        (None, {"fields": ["name", "address", "line", "category", "is_active"]}),
        (
            _("IMAP polling (optional)"),
            {
                "fields": [
                    "imap_host",
                    "imap_port",
                    "imap_use_ssl",
                    "imap_user",
                    "imap_password",
                    "password_stored",
                    "clear_imap_password",
                    "imap_folder",
                    "last_polled_at",
                    "last_poll_error",
                ]
            },
        ),
    ]

    @admin.display(boolean=True, description=_("polled over IMAP"))
    def polled(self, obj):
        return obj.polls_imap

    @admin.display(boolean=True, description=_("password stored"))
    def password_stored(self, obj):
        return bool(obj.imap_password_encrypted)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "outcome", "from_address", "short_subject", "ticket_link", "size", "source"]
    list_filter = [
        "outcome",
        "source",
        "sender_matched",
        "authentication",
        "text_damaged",
        "access_data_moved",
        "mailbox",
    ]
    search_fields = ["message_id", "from_address", "subject", "sha256"]
    date_hierarchy = "received_at"
    list_select_related = ["ticket"]
    actions = ["process_again"]
    exclude = ["raw", "raw_file"]
    readonly_fields = [
        "mailbox",
        "source",
        "raw_download",
        "size",
        "sha256",
        "message_id",
        "in_reply_to",
        "references",
        "from_address",
        "from_name",
        "to_addresses",
        "subject",
        "received_at",
        "sent_at",
        "processed_at",
        "outcome",
        "outcome_detail",
        "authentication",
        "authentication_detail",
        "text_damaged",
        "access_data_moved",
        "notification",
        "dismissed_at",
        "dismissed_by",
        "ticket",
        "ticket_message",
        "sender",
        "sender_matched",
        "duplicate_of",
        "attachments_kept",
        "attachments_refused",
        "linked_customer",
        "linked_by",
        "linked_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Received mail is evidence; it is kept.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="mailin_inboundmessage_raw",
            ),
            *super().get_urls(),
        ]

    def raw_view(self, request, pk):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        inbound = get_object_or_404(InboundMessage, pk=pk)
        if inbound.access_data_moved and not request.user.is_superuser:
            # The raw message still holds the access data the ticket shows masked.
            return HttpResponse(_("This e-mail held access data: only superusers may download it."), status=403)
        response = HttpResponse(inbound.raw_bytes(), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="inbound-{inbound.pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.display(description=_("subject"))
    def short_subject(self, obj):
        return obj.subject[:80]

    @admin.display(description=_("ticket"))
    def ticket_link(self, obj):
        if not obj.ticket_id:
            return "—"
        return format_html('<a href="{}">#{}</a>', reverse("desk-ticket", args=[obj.ticket.number]), obj.ticket.number)

    @admin.display(description=_("raw message"))
    def raw_download(self, obj):
        url = reverse("admin:mailin_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">{}</a> ({} bytes)', url, _("Download .eml"), obj.size)

    @admin.action(description=_("Process again (messages that could not be filed)"))
    def process_again(self, request, queryset):
        done = 0
        for inbound in queryset.filter(outcome__in=[Outcome.RECEIVED, Outcome.FAILED, Outcome.FAILED_PARSE]):
            services.reprocess(inbound)
            done += 1
        self.message_user(request, _("%(count)d message(s) processed again.") % {"count": done}, messages.INFO)


@admin.register(AutoReply)
class AutoReplyAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to_address", "status", "ticket", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["to_address", "message_id"]
    readonly_fields = [field.name for field in AutoReply._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
