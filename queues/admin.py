from django.contrib import admin

from queues.models import BalanceEntry, Boost, BoostPrice, Line, LineMembership, QueuePolicy, RoutingRule


class LineMembershipInline(admin.TabularInline):
    model = LineMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Line)
class LineAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "short_name", "kind", "level", "next_line", "position", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    inlines = [LineMembershipInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "urgency", "line"]
    list_filter = ["line", "category"]


@admin.register(QueuePolicy)
class QueuePolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "max_credit_minutes", "updated_at"]

    def has_add_permission(self, request):
        return not QueuePolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BoostPrice)
class BoostPriceAdmin(admin.ModelAdmin):
    list_display = ["kind", "plan", "price", "currency"]
    list_filter = ["kind", "plan"]


@admin.register(BalanceEntry)
class BalanceEntryAdmin(admin.ModelAdmin):
    """Append-only: credits are added here (or by the billing integration), nothing is edited."""

    list_display = ["customer", "kind", "amount", "currency", "description", "reference", "created_at"]
    list_filter = ["kind"]
    search_fields = ["customer__username", "reference", "description"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Boost)
class BoostAdmin(admin.ModelAdmin):
    list_display = ["ticket", "customer", "kind", "price", "credit_minutes", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["ticket", "customer", "ledger_entry"]
    list_select_related = ["ticket", "customer"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
