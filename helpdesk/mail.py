"""What marks an e-mail as the helpdesk's own: its Message-IDs and its loop headers.

Every e-mail the helpdesk sends, whoever composes it (notifications, the answers to inbound
mail, password resets, the status page's subscribers), goes through `StampingBackend` (the
setting EMAIL_BACKEND; the real transport is EMAIL_DELIVERY_BACKEND), which adds what the
sender left out: a Message-ID in MESSAGE_ID_DOMAIN, `Auto-Submitted: auto-generated` (RFC 3834:
no auto-responder should answer it) and an `X-Loop` naming the helpdesk. Inbound mail
(mailin.parser.classify) recognises all three, so a message of ours that comes back, through
a forwarder that rewrites its From or another helpdesk, is never filed as a customer's.
"""

from __future__ import annotations

import uuid
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

AUTO_SUBMITTED = "auto-generated"


def new_message_id() -> str:
    """A Message-ID of our own, in the configured domain (angle brackets included)."""
    return f"<{uuid.uuid4().hex}@{settings.MESSAGE_ID_DOMAIN}>"


def loop_token() -> str:
    """The value of our X-Loop header: the helpdesk's own address."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower() or f"helpdesk@{settings.MESSAGE_ID_DOMAIN}"


def loop_headers() -> dict[str, str]:
    """The headers every e-mail of the helpdesk carries."""
    return {"Auto-Submitted": AUTO_SUBMITTED, "X-Loop": loop_token(), "X-Auto-Response-Suppress": "All"}


def stamp(message) -> None:
    """Add our Message-ID and loop headers to an EmailMessage where its sender did not set them."""
    present = {name.lower() for name in message.extra_headers}
    if "message-id" not in present:
        message.extra_headers["Message-ID"] = new_message_id()
    for name, value in loop_headers().items():
        if name.lower() not in present:
            message.extra_headers[name] = value


class StampingBackend(BaseEmailBackend):
    """Stamps each message (see `stamp`) and hands it to EMAIL_DELIVERY_BACKEND."""

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently)
        self.inner = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=fail_silently, **kwargs)

    def open(self):
        return self.inner.open()

    def close(self):
        return self.inner.close()

    def send_messages(self, email_messages):
        for message in email_messages:
            stamp(message)
        return self.inner.send_messages(email_messages)
