from django import forms
from django.utils.translation import gettext_lazy as _

from status.models import ACTIVE_STATE_CHOICES, Component, Severity


class ComponentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.label(None)


def _components_field(label):
    return ComponentChoiceField(
        label=label,
        queryset=Component.objects.select_related("service"),
        widget=forms.CheckboxSelectMultiple,
    )


class IncidentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.MAJOR)
    components = _components_field(_("Affected components"))
    body = forms.CharField(label=_("First public update"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)


class UpdateForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=ACTIVE_STATE_CHOICES)
    body = forms.CharField(label=_("Public update"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)


class ResolveForm(forms.Form):
    body = forms.CharField(
        label=_("Resolution, as published on the status page"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )
    reply = forms.CharField(
        label=_("Reply to every linked ticket and resolve them (empty: put them back in their queues)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=50_000,
        required=False,
    )


class LinkForm(forms.Form):
    numbers = forms.CharField(
        label=_("Ticket numbers, separated by spaces or commas"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=20_000,
        required=False,
    )

    def clean_numbers(self):
        raw = self.cleaned_data["numbers"].replace(",", " ").replace("#", " ").split()
        numbers = []
        for part in raw:
            if not (part.isascii() and part.isdigit() and len(part) <= 18):
                raise forms.ValidationError(_("“%(value)s” is not a ticket number.") % {"value": part[:20]})
            numbers.append(int(part))
        return numbers


class MaintenanceForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("What happens"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False
    )
    components = _components_field(_("Components"))
    starts_at = forms.DateTimeField(label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("Ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
