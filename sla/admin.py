from django.contrib import admin

from sla.models import (
    BusinessCalendar,
    HardwareWindow,
    Holiday,
    LimitedServicePeriod,
    SlaPolicy,
    SlaRecord,
    SlaTarget,
    WorkingInterval,
)


@admin.register(HardwareWindow)
class HardwareWindowAdmin(admin.ModelAdmin):
    list_display = ["component", "plan", "hours"]
    list_filter = ["component", "plan"]


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "always_open"]
    inlines = [WorkingIntervalInline, HolidayInline]


@admin.register(LimitedServicePeriod)
class LimitedServicePeriodAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_at", "ends_at", "response_minutes", "critical_minutes"]


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = ["plan", "urgency", "first_response_minutes", "next_response_minutes", "resolution_minutes"]
    list_filter = ["plan", "urgency"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "warn_at_share", "escalation", "first_line_escalation_minutes", "updated_at"]

    def has_add_permission(self, request):
        return not SlaPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SlaRecord)
class SlaRecordAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "target", "due_at", "line", "created_at"]
    list_filter = ["kind", "target", "line"]
    raw_id_fields = ["ticket"]
    list_select_related = ["ticket", "line"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
