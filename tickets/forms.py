from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sla.models import Component
from tickets.models import Category, Message, Status, Urgency
from tickets.services import BODY_MAX, SUBJECT_MAX


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; the size and type checks live in tickets.uploads."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class TicketForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    category = forms.ChoiceField(label=_("Topic"), choices=Category.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    # `list`: the provider's services offered as choices (status/_catalogue.html), typing stays free.
    service = forms.CharField(
        label=_("Service or server"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "status-catalogue", "autocomplete": "off"}),
    )
    hardware_component = forms.ChoiceField(
        label=_("Component to replace (hardware requests)"),
        choices=[("", "—"), *Component.choices],
        required=False,
    )
    body = forms.CharField(
        label=_("Describe the problem"), widget=forms.Textarea(attrs={"rows": 8}), max_length=BODY_MAX
    )
    access_data = forms.CharField(
        label=_("Access data (stored encrypted, shown only to the engineers of the ticket, deleted on closing)"),
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        required=False,
        max_length=10_000,
    )
    attachments = MultipleFileField(label=_("Files"))


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=BODY_MAX)
    attachments = MultipleFileField(label=_("Files"))


class AgentReplyForm(ReplyForm):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(Message.Kind.PUBLIC, _("Reply to the customer")), (Message.Kind.NOTE, _("Internal note"))],
        initial=Message.Kind.PUBLIC,
    )
    wait_for_customer = forms.BooleanField(label=_("Wait for the customer's answer"), required=False)
    # The last message the page showed: the reply is refused if someone wrote since (collision).
    seen = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class ReopenForm(forms.Form):
    body = forms.CharField(
        label=_("What is still wrong?"), widget=forms.Textarea(attrs={"rows": 4}), max_length=BODY_MAX
    )


class TransferForm(forms.Form):
    line = forms.ChoiceField(label=_("To"))
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        # In the page's language, as the lines are named everywhere else (helpdesk_tags.localized).
        self.fields["line"].choices = [(line.code, line.localized_name(get_language())) for line in lines]


class PromiseForm(forms.Form):
    promised_by = forms.DateTimeField(
        label=_("Expected to be solved by"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    reason = forms.CharField(label=_("Reason (needed when changing)"), max_length=1000, required=False)


class AccessDataForm(forms.Form):
    access_data = forms.CharField(
        label=_("Access data"), widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}), max_length=10_000
    )


class ListFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any status")), *Status.choices])


class CallForm(forms.Form):
    customer = forms.CharField(label=_("Customer login"), max_length=150)
    ticket = forms.IntegerField(label=_("Existing ticket number (empty: a new ticket)"), required=False, min_value=1)
    minutes = forms.DecimalField(label=_("Duration, minutes"), min_value=0.1, max_value=480, decimal_places=1)
    subject = forms.CharField(label=_("Subject (new ticket)"), max_length=200, required=False)
    category = forms.ChoiceField(label=_("Topic"), choices=Category.choices, initial=Category.GENERAL)
    summary = forms.CharField(label=_("What the customer said"), widget=forms.Textarea(attrs={"rows": 6}))
