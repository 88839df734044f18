"""The help centre in the Django admin: sections, articles (saved through the services, so every
save is a revision), the ticket form's guided questions, and what readers did (read-only)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.errors import DomainError
from knowledge import services
from knowledge.models import (
    Article,
    ArticleFeedback,
    ArticleRevision,
    ArticleUse,
    DeflectionEvent,
    GuideStep,
    HelpCategory,
    SearchMiss,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HelpCategory)
class HelpCategoryAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_ru", "slug", "ticket_category", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name_en"]}


class RevisionInline(admin.TabularInline):
    model = ArticleRevision
    fields = ["number", "action", "author", "created_at", "changed", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "category", "kind", "status", "visibility", "view_count", "updated_at"]
    list_filter = ["status", "visibility", "kind", "category"]
    search_fields = ["slug", "title_en", "title_ru"]
    prepopulated_fields = {"slug": ["title_en"]}
    inlines = [RevisionInline]
    actions = ["publish", "unpublish"]
    fieldsets = [
        (None, {"fields": ["category", "kind", "status", "visibility", "slug", "position"]}),
        (_("English"), {"fields": ["title_en", "body_en"]}),
        (_("Russian"), {"fields": ["title_ru", "body_ru"]}),
    ]

    def save_model(self, request, obj, form, change):
        # Through the services: the revision (who changed what) and the search vocabulary follow.
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        try:
            if change:
                saved = services.article_update(article=obj, author=request.user, **data)
            else:
                fields = {name: form.cleaned_data[name] for name in form.cleaned_data}
                saved = services.article_create(author=request.user, **fields)
        except DomainError as error:
            raise ValidationError(error.message) from error
        obj.pk = saved.pk

    @admin.action(description=_("Publish the selected articles"))
    def publish(self, request, queryset):
        self._set_status(request, queryset, Article.Status.PUBLISHED)

    @admin.action(description=_("Return the selected articles to drafts"))
    def unpublish(self, request, queryset):
        self._set_status(request, queryset, Article.Status.DRAFT)

    def _set_status(self, request, queryset, status):
        for article in queryset:
            try:
                services.article_update(article=article, author=request.user, status=status)
            except DomainError as error:
                self.message_user(request, f"{article}: {error.message}", messages.ERROR)


@admin.register(GuideStep)
class GuideStepAdmin(admin.ModelAdmin):
    """The ticket form's decision tree: a root per ticket category asks the first question; each
    child is an answer, which asks a further question or names the articles to suggest."""

    list_display = ["__str__", "ticket_category", "parent", "position"]
    list_filter = ["ticket_category"]
    raw_id_fields = ["parent"]
    filter_horizontal = ["articles"]
    search_fields = ["question_en", "question_ru", "answer_en", "answer_ru"]


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(ReadOnly):
    list_display = ["article", "helpful", "comment", "language", "updated_at"]
    list_filter = ["helpful", "language"]
    raw_id_fields = ["article", "user"]


@admin.register(SearchMiss)
class SearchMissAdmin(ReadOnly):
    list_display = ["query", "language", "count", "last_at"]
    list_filter = ["language"]
    search_fields = ["query"]


@admin.register(DeflectionEvent)
class DeflectionEventAdmin(ReadOnly):
    list_display = ["attempt", "kind", "ticket_category", "article", "user", "created_at"]
    list_filter = ["kind", "ticket_category"]
    raw_id_fields = ["article", "user"]


@admin.register(ArticleUse)
class ArticleUseAdmin(ReadOnly):
    list_display = ["ticket", "article", "agent", "created_at"]
    raw_id_fields = ["ticket", "article", "agent"]
