"""The filters every report page and API call shares (a GET form)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from accounts.models import Plan, Role, User
from queues.models import Line
from reports import cube
from reports.selectors import Filters, ForecastTarget
from tickets.models import Category, Channel, Urgency

MAX_DAYS = 3 * 366


def _blank(choices) -> list[tuple[str, str]]:
    return [("", _("All")), *choices]


class _ReadInOneQuery(ModelChoiceIterator):
    """A select's options in one query. Django reads a model choice field's options through a
    server-side cursor (DECLARE, FETCH, CLOSE: three round trips for a list of a few dozen
    lines, plans or agents), which every report page paid three times."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class _ChoiceField(forms.ModelChoiceField):
    iterator = _ReadInOneQuery


class FilterForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    line = _ChoiceField(
        label=_("Line"), queryset=Line.objects.order_by("position", "code"), required=False, to_field_name="code"
    )
    plan = _ChoiceField(
        label=_("Plan"), queryset=Plan.objects.order_by("kind", "level"), required=False, to_field_name="code"
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=_blank(Urgency.choices), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=_blank(Channel.choices), required=False)
    category = forms.ChoiceField(label=_("Category"), choices=_blank(Category.choices), required=False)
    agent = _ChoiceField(
        label=_("Agent"),
        queryset=User.objects.filter(role=Role.AGENT, is_active=True).order_by("username"),
        required=False,
        to_field_name="username",
    )

    def __init__(self, *args, days: int = 30, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_days = days
        for name in ("line", "plan", "agent"):
            self.fields[name].empty_label = _("All")
        if not self.is_bound:
            # The page shows the period it reports on, not empty date boxes.
            today = cube.local_today()
            self.initial.setdefault("end", today)
            self.initial.setdefault("start", today - dt.timedelta(days=days - 1))

    def clean(self):
        data = super().clean()
        today = cube.local_today()
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=self.default_days - 1)
        if start > end:
            raise forms.ValidationError(_("The period must start before it ends."))
        if (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("The period may span at most three years."))
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> Filters:
        """The filters of a valid form (or the defaults for an invalid one)."""
        if not self.is_valid():
            today = cube.local_today()
            return Filters(start=today - dt.timedelta(days=self.default_days - 1), end=today)
        d = self.cleaned_data
        return Filters(
            start=d["start"],
            end=d["end"],
            line=d["line"].id if d.get("line") else None,
            plan=d["plan"].id if d.get("plan") else None,
            urgency=d.get("urgency") or None,
            channel=d.get("channel") or None,
            category=d.get("category") or None,
            agent=d["agent"].id if d.get("agent") else None,
        )


class ForecastForm(forms.Form):
    share = forms.IntegerField(
        label=_("Taken within the time (%)"), min_value=1, max_value=99, initial=80, required=False
    )
    minutes = forms.IntegerField(
        label=_("Within (minutes)"), min_value=1, max_value=24 * 60, initial=10, required=False
    )
    shrinkage = forms.IntegerField(label=_("Shrinkage (%)"), min_value=0, max_value=90, initial=30, required=False)

    def target(self) -> ForecastTarget:
        if not self.is_valid():
            return ForecastTarget()
        d = self.cleaned_data
        return ForecastTarget(
            share=(d.get("share") or 80) / 100,
            seconds=(d.get("minutes") or 10) * 60,
            shrinkage=(d.get("shrinkage") if d.get("shrinkage") is not None else 30) / 100,
        )
