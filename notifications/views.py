"""The agent's e-mail preferences in the workspace (/desk/notifications/)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts.permissions import AreaRequiredMixin
from notifications import services
from notifications.forms import PreferenceForm
from notifications.models import Notification

RECENT = 20


class DeskNotifications(AreaRequiredMixin, View):
    area = "desk"

    def _render(self, request, form, status=200):
        recent = Notification.objects.filter(recipient=request.user).select_related("ticket")[:RECENT]
        return render(request, "notifications/desk_preferences.html", {"form": form, "recent": recent}, status=status)

    def get(self, request):
        return self._render(request, PreferenceForm(instance=services.preference_for(request.user)))

    def post(self, request):
        form = PreferenceForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        services.preference_update(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("desk-notifications")
