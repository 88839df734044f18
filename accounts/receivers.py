"""What the accounts app does when its signals fire (connected in AccountsConfig.ready)."""

from django.dispatch import receiver

from accounts.services import api_tokens_revoke_all, login_lockouts_clear
from accounts.signals import password_changed


@receiver(password_changed, dispatch_uid="accounts.revoke_api_tokens_on_password_change")
def revoke_api_tokens_on_password_change(sender, user, **kwargs):
    # Whoever learnt the old password may have made tokens with it; they go with it.
    api_tokens_revoke_all(user=user, reason="password_changed")
    # The person who reset a forgotten password may have locked themselves out trying it.
    login_lockouts_clear(username=user.get_username(), reason="password_changed")
