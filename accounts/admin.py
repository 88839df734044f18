from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import AgentProfile, CustomerProfile, Organisation, Plan, User


class CustomerProfileInline(admin.StackedInline):
    model = CustomerProfile
    can_delete = False
    extra = 0


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "organisation", "is_active"]
    list_filter = ["role", "is_active", "language"]
    search_fields = ["username", "email", "first_name", "last_name"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Helpdesk"), {"fields": ["role", "organisation", "language"]}),)
    add_fieldsets = DjangoUserAdmin.add_fieldsets + ((_("Helpdesk"), {"fields": ["role", "email", "language"]}),)
    inlines = [CustomerProfileInline, AgentProfileInline]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "level", "monthly_price", "currency", "tasks_per_month", "response_hours"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "customer_since",
        "support_plan",
        "admin_package",
        "spend_12m",
        "requests_12m",
        "is_vip",
        "is_problematic",
    ]
    list_filter = ["support_plan", "admin_package", "is_vip", "is_problematic"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "support_plan", "admin_package"]
    raw_id_fields = ["user"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "languages"]
    search_fields = ["display_name", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
