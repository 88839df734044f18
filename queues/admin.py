from django.contrib import admin

from queues.models import Line, LineMembership, RoutingRule


class LineMembershipInline(admin.TabularInline):
    model = LineMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Line)
class LineAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "level", "next_line", "position", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    inlines = [LineMembershipInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "urgency", "line"]
    list_filter = ["line", "category"]
