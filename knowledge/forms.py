from django import forms
from django.utils.translation import gettext_lazy as _

from knowledge.models import Article
from tickets.models import Category

PUBLIC_TOPICS = [
    (Category.GENERAL, _("General question")),
    (Category.PRESALE, _("Before buying")),
    (Category.BILLING, _("Payments and documents")),
    (Category.TECH_SIMPLE, _("Technical problem")),
]


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    topic = forms.ChoiceField(label=_("Topic"), choices=PUBLIC_TOPICS)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}), max_length=20_000)
    # Bots fill every field they see; people never see this one.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))
    # When the form was shown, signed: too fast or too old means a script or a stale page.
    started = forms.CharField(widget=forms.HiddenInput)

    def renew_timer(self, token: str) -> None:
        """After a failed attempt: the same typed values and errors, with a new anti-bot timer."""
        self.errors  # noqa: B018 - validated against the old values before they change
        self.data = self.data.copy()
        self.data["started"] = token


class FollowReplyForm(forms.Form):
    message = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20_000)


class FeedbackForm(forms.Form):
    helpful = forms.ChoiceField(choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("What was missing or wrong? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ArticleEditForm(forms.ModelForm):
    note = forms.CharField(label=_("What changed (for the history)"), required=False, max_length=300)

    class Meta:
        model = Article
        fields = [
            "category", "kind", "status", "visibility", "slug", "position",
            "title_en", "body_en", "title_ru", "body_ru",
        ]  # fmt: skip
        widgets = {
            "body_en": forms.Textarea(attrs={"rows": 14}),
            "body_ru": forms.Textarea(attrs={"rows": 14}),
        }

    def validate_unique(self):
        # The service checks the address and says so in the reader's language.
        pass
