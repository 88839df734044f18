from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from accounts.services import password_reset_may_send
from helpdesk.net import client_ip


class LimitedPasswordResetForm(PasswordResetForm):
    """Django's reset form, with at most so many e-mails per address and per client an hour.

    Over a limit it sends nothing; the view answers exactly as it does after a sent e-mail
    (or an unknown address), so the limit tells nobody which addresses have accounts."""

    def save(self, *args, request=None, **kwargs):
        if not password_reset_may_send(email=self.cleaned_data["email"], client_ip=client_ip(request)):
            return
        super().save(*args, request=request, **kwargs)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. the script that uses it."),
    )
