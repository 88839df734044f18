"""The roster page of the manager area: who works when on each line, and the exceptions."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from accounts.permissions import AreaRequiredMixin
from helpdesk.errors import DomainError
from shifts import policy, selectors, services
from shifts.forms import ExceptionForm, ShiftForm
from shifts.models import Shift, ShiftException
from sla.models import Weekday

UPCOMING_DAYS = 7


def _roster(user, now: dt.datetime) -> list[dict]:
    """Per line: the agents with their shifts per weekday, and how many are on duty now."""
    by_line: dict[int, dict] = {}
    for shift in selectors.shift_list(user=user):
        line = by_line.setdefault(shift.line_id, {"line": shift.line, "agents": {}})
        days = line["agents"].setdefault(shift.agent_id, {"agent": shift.agent, "days": {d: [] for d in range(7)}})
        days["days"][shift.weekday].append(shift)
    rows = []
    for line_id, line in by_line.items():
        steps = selectors.line_staffing(line_id=line_id, start=now, end=now + dt.timedelta(days=UPCOMING_DAYS))
        rows.append(
            {
                "line": line["line"],
                "agents": [
                    {"agent": a["agent"], "days": [a["days"][d] for d in range(7)]}
                    for a in sorted(line["agents"].values(), key=lambda a: a["agent"].username)
                ],
                "on_duty_now": steps[0][1] if steps else 0,
                "next_opening": policy.next_opening(steps, now),
                "agent_hours_week": round(policy.agent_hours(steps, now, now + dt.timedelta(days=UPCOMING_DAYS))),
            }
        )
    rows.sort(key=lambda r: (r["line"].position, r["line"].code))
    return rows


class ManageShifts(AreaRequiredMixin, View):
    area = "manage"
    template_name = "shifts/manage_shifts.html"

    def context(self, request, shift_form=None, exception_form=None) -> dict:
        now = timezone.now()
        return {
            "roster": _roster(request.user, now),
            "weekdays": Weekday.choices,
            "exceptions": selectors.exception_list(user=request.user, since=now)[:100],
            "can_edit": selectors.can_edit_roster(request.user),
            "shift_form": shift_form or ShiftForm(),
            "exception_form": exception_form or ExceptionForm(),
            "now": now,
        }

    def get(self, request):
        return render(request, self.template_name, self.context(request))

    def post(self, request):
        action = request.POST.get("action", "")
        shift_form = exception_form = None
        try:
            if action == "add-shift":
                shift_form = ShiftForm(request.POST)
                if shift_form.is_valid():
                    services.shift_create(actor=request.user, **shift_form.cleaned_data)
                    messages.success(request, _("The shift is added."))
                    return redirect("manage-shifts")
            elif action == "add-exception":
                exception_form = ExceptionForm(request.POST)
                if exception_form.is_valid():
                    services.exception_create(actor=request.user, **exception_form.cleaned_data)
                    messages.success(request, _("The exception is added."))
                    return redirect("manage-shifts")
            elif action == "remove-shift":
                shift = get_object_or_404(Shift, pk=_int(request.POST.get("id")))
                services.shift_delete(actor=request.user, shift=shift)
                messages.success(request, _("The shift is removed."))
                return redirect("manage-shifts")
            elif action == "remove-exception":
                exception = get_object_or_404(ShiftException, pk=_int(request.POST.get("id")))
                services.exception_delete(actor=request.user, exception=exception)
                messages.success(request, _("The exception is removed."))
                return redirect("manage-shifts")
            else:
                messages.error(request, _("Unknown action."))
                return redirect("manage-shifts")
        except DomainError as error:
            form = shift_form or exception_form
            if form is not None:
                form.add_error(None, error.message)
            else:
                messages.error(request, error.message)
                return redirect("manage-shifts")
        return render(request, self.template_name, self.context(request, shift_form, exception_form), status=400)


def _int(value) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return 0
    return number if 0 < number < 2**63 else 0
