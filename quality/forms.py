"""The quality desk's forms: a rating, a scorecard, a dispute, its settlement, a calibration session."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from quality.models import SCORE_MAX, SCORE_MIN, Criterion, DisputeState, Verdict
from quality.services import COMMENT_MAX, REASON_MAX, TITLE_MAX

SCORE_CHOICES = [(value, str(value)) for value in range(SCORE_MIN, SCORE_MAX + 1)]
FAIR_CHOICES = [("yes", _("Yes, the rating was fair")), ("no", _("No, the rating was unfair"))]


class RatingForm(forms.Form):
    verdict = forms.ChoiceField(label=_("Your rating"), choices=Verdict.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ScorecardForm(forms.Form):
    correct = forms.TypedChoiceField(label=Criterion.CORRECT.label, choices=SCORE_CHOICES, coerce=int)
    complete = forms.TypedChoiceField(label=Criterion.COMPLETE.label, choices=SCORE_CHOICES, coerce=int)
    tone = forms.TypedChoiceField(label=Criterion.TONE.label, choices=SCORE_CHOICES, coerce=int)
    rules = forms.TypedChoiceField(label=Criterion.RULES.label, choices=SCORE_CHOICES, coerce=int)
    rating_fair = forms.TypedChoiceField(
        label=_("Was the customer's rating fair?"),
        choices=FAIR_CHOICES,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the review wrong?"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class SettleForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (DisputeState.UPHELD, DisputeState.UPHELD.label),
            (DisputeState.REJECTED, DisputeState.REJECTED.label),
        ],
        widget=forms.RadioSelect,
    )
    rating_fair = forms.TypedChoiceField(
        label=_("If upheld: was the customer's rating fair?"),
        choices=[("", _("No verdict")), *FAIR_CHOICES],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    settlement = forms.CharField(
        label=_("Note"), required=False, max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        for value in (start, end):
            if value is not None and not dt.date(2000, 1, 1) <= value <= dt.date(2100, 12, 31):
                raise forms.ValidationError(_("Choose a day between 2000 and 2100."))
        if start and end and start > end:
            raise forms.ValidationError(_("The period ends before it starts."))
        if start and end and end - start > dt.timedelta(days=732):
            raise forms.ValidationError(_("Choose a period of two years at most."))
        return data
