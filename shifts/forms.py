from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from queues.models import Line
from shifts.models import ShiftException
from sla.models import Weekday


def _staff():
    return User.objects.filter(is_active=True, role__in=[Role.AGENT, Role.MANAGER, Role.ADMIN]).order_by("username")


class ShiftForm(forms.Form):
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=_staff(), to_field_name="username")
    line = forms.ModelChoiceField(label=_("Line"), queryset=Line.objects.filter(is_active=True), to_field_name="code")
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=Weekday.choices, coerce=int)
    starts_at = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends_at = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))
    valid_from = forms.DateField(label=_("From date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Until date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = _staff()


class ExceptionForm(forms.Form):
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=_staff(), to_field_name="username")
    kind = forms.ChoiceField(label=_("Kind"), choices=ShiftException.Kind.choices)
    line = forms.ModelChoiceField(
        label=_("Line"),
        queryset=Line.objects.filter(is_active=True),
        to_field_name="code",
        required=False,
        empty_label=_("All lines"),
    )
    starts_at = forms.DateTimeField(
        label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = _staff()
