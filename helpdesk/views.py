"""The customer's and the workspace's home pages (the management area opens on reports.views.Dashboard)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.generic import TemplateView

from accounts.permissions import AreaRequiredMixin
from tickets import selectors


@login_required
def home(request):
    """Send everyone to their own area."""
    if request.user.is_customer:
        return redirect("panel")
    if request.user.is_management:
        return redirect("manage")
    return redirect("desk")


class PanelHome(AreaRequiredMixin, TemplateView):
    area = "panel"
    template_name = "panel/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            profile=getattr(user, "customer_profile", None),
            counts=selectors.ticket_counts_for_customer(user=user),
            recent_tickets=list(selectors.ticket_list_for_customer(user=user)[:10]),
            **kwargs,
        )


class DeskHome(AreaRequiredMixin, TemplateView):
    area = "desk"
    template_name = "desk/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            lines=list(selectors.line_overview(lines=selectors.lines_for_agent(user=user))),
            assigned=selectors.tickets_assigned_to(user=user),
            **kwargs,
        )
