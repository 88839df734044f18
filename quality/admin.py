"""The quality desk in the admin: its settings (written through the service, so the change is
audited), and the ratings, reviews, disputes and audit trail to read."""

from django.contrib import admin

from quality import services
from quality.models import CalibrationSession, Dispute, QualityEvent, QualitySettings, Rating, Review, ReviewItem


@admin.register(QualitySettings)
class QualitySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "change_window_hours", "like_sample_percent", "link_valid_days", "updated_at"]
    fields = ["change_window_hours", "like_sample_percent", "link_valid_days", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not QualitySettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        saved = services.settings_update(
            actor=request.user,
            change_window_hours=obj.change_window_hours,
            like_sample_percent=obj.like_sample_percent,
            link_valid_days=obj.link_valid_days,
        )
        obj.pk = saved.pk


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the quality desk's services only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ["id", "verdict", "agent", "line", "ticket", "source", "created_at", "changeable_until"]
    list_filter = ["verdict", "source", "kind", "line"]
    raw_id_fields = ["message", "ticket", "rater", "agent"]
    search_fields = ["agent__username", "rater__username", "comment"]


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "reason", "state", "rating", "created_at"]
    list_filter = ["reason", "state"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "agent", "reviewer", "correct", "complete", "tone", "rules", "rating_fair", "session"]
    list_filter = ["rating_fair"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["id", "agent", "state", "created_at", "settled_by", "settled_at"]
    list_filter = ["state"]


@admin.register(CalibrationSession)
class CalibrationSessionAdmin(ReadOnlyAdmin):
    list_display = ["title", "state", "created_by", "created_at"]


@admin.register(QualityEvent)
class QualityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "actor", "rating", "review", "session"]
    list_filter = ["kind"]
    date_hierarchy = "created_at"
