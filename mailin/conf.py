"""Settings of inbound e-mail, with their defaults.

Each can be set in the Django settings or, failing that, in the environment variable of the
same name: HELPDESK_INBOUND_TOKEN (the endpoint's bearer token; empty: the endpoint answers
503), HELPDESK_INBOUND_MAX_BYTES (larger messages are kept but not filed, default 25 MB),
HELPDESK_INBOUND_INLINE_BYTES (larger raw messages are kept as files under MEDIA_ROOT/inbound/
rather than in the database, default 1 MB), HELPDESK_MESSAGE_ID_DOMAIN (the domain of the
Message-IDs the helpdesk gives its own e-mails, default "helpdesk"), HELPDESK_INBOUND_POLL_BATCH
(messages fetched per mailbox and poll, default 50).
"""

from __future__ import annotations

import os

from django.conf import settings


def _value(name: str, default):
    value = getattr(settings, name, None)
    if value is None or value == "":
        value = os.environ.get(name, "")
    if value == "" or value is None:
        return default
    return type(default)(value) if not isinstance(default, str) else str(value)


def inbound_token() -> str:
    return _value("HELPDESK_INBOUND_TOKEN", "")


def max_bytes() -> int:
    return _value("HELPDESK_INBOUND_MAX_BYTES", 25 * 1024 * 1024)


def inline_bytes() -> int:
    return _value("HELPDESK_INBOUND_INLINE_BYTES", 1024 * 1024)


def message_id_domain() -> str:
    return _value("HELPDESK_MESSAGE_ID_DOMAIN", "helpdesk").strip().lower().lstrip(".")


def poll_batch() -> int:
    return _value("HELPDESK_INBOUND_POLL_BATCH", 50)
