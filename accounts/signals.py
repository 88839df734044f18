"""Signals of the accounts app."""

from django.dispatch import Signal

# Sent after a saved user's new password is stored (password change, reset, the admin,
# `manage.py changepassword`), not when an account is created nor when a hash is upgraded.
# Arguments: user.
password_changed = Signal()
