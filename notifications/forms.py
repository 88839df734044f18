from django import forms

from notifications.models import AgentNotificationPreference


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = AgentNotificationPreference
        fields = ["on_new_in_line", "on_transfer_to_my_line", "on_transfer_to_me"]
