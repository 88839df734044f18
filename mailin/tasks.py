"""IMAP polling: beat runs `poll_mailboxes` every minute ("mailin-poll").

For each active mailbox with IMAP settings, unseen messages are fetched without marking them
(BODY.PEEK[]), each is stored and processed, and only then marked seen. A run that dies half
way leaves the rest unseen for the next run; a message fetched twice is recorded as a
duplicate, never filed twice. One poller per mailbox at a time (a lock in the cache).
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
import uuid

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from mailin import services
from mailin.models import Mailbox, Source

logger = logging.getLogger(__name__)

IMAP_TIMEOUT = 30
LOCK_SECONDS = 300
ImapError = imaplib.IMAP4.error  # also covers IMAP4.abort and IMAP4.readonly


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(mailbox: Mailbox):
    """A logged-in IMAP connection to the mailbox's server."""
    context = ssl.create_default_context()
    if mailbox.imap_use_ssl:
        conn = imaplib.IMAP4_SSL(mailbox.imap_host, mailbox.imap_port, ssl_context=context, timeout=IMAP_TIMEOUT)
    else:
        conn = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=IMAP_TIMEOUT)
        if "STARTTLS" in getattr(conn, "capabilities", ()):
            conn.starttls(ssl_context=context)
    conn.login(mailbox.imap_user, mailbox.imap_password())
    return conn


def _fetched_bytes(data) -> bytes | None:
    for item in data or []:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes | bytearray):
            return bytes(item[1])
    return None


def poll_mailbox(mailbox: Mailbox) -> dict:
    """Fetch, store and process the mailbox's unseen messages; returns counts by outcome."""
    counts: dict[str, int] = {}
    conn = connect(mailbox)
    try:
        status, _data = conn.select(_quote(mailbox.imap_folder or "INBOX"))
        if status != "OK":
            raise ImapError(f"cannot open the folder {mailbox.imap_folder!r}")
        status, data = conn.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise ImapError("the search for unseen messages failed")
        uids = (data[0] or b"").split()[: settings.INBOUND_POLL_BATCH]
        for uid in uids:
            status, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = _fetched_bytes(fetched) if status == "OK" else None
            if raw is None:
                logger.warning("mailbox %s: message uid %s could not be fetched", mailbox.address, uid)
                continue
            inbound = services.receive(raw, origin=Source.IMAP, mailbox=mailbox)
            # Stored (committed) and processed: now it may be marked.
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            counts[inbound.outcome] = counts.get(inbound.outcome, 0) + 1
    finally:
        with contextlib.suppress(ImapError, OSError):
            conn.logout()
    return counts


@shared_task(
    name="mailin.tasks.poll_mailboxes", acks_late=True, time_limit=300, soft_time_limit=240, ignore_result=True
)
def poll_mailboxes() -> dict:
    """Poll every active mailbox with IMAP settings; one failing server does not stop the others."""
    results: dict[str, dict | str] = {}
    for mailbox in Mailbox.objects.filter(is_active=True).exclude(imap_host="").exclude(imap_user="").order_by("id"):
        lock = f"mailin:poll:{mailbox.pk}"
        token = uuid.uuid4().hex
        if not cache.add(lock, token, LOCK_SECONDS):
            results[mailbox.address] = "busy"
            continue
        try:
            counts = poll_mailbox(mailbox)
        except SoftTimeLimitExceeded:
            _record(mailbox, "stopped by the time limit; the rest is fetched next time")
            raise
        except (ImapError, OSError) as exc:
            logger.warning("mailbox %s: polling failed: %s", mailbox.address, exc)
            _record(mailbox, f"{type(exc).__name__}: {exc}")
            results[mailbox.address] = f"error: {exc}"
        else:
            _record(mailbox, "")
            results[mailbox.address] = counts
        finally:
            if cache.get(lock) == token:
                cache.delete(lock)
    return results


def _record(mailbox: Mailbox, error: str) -> None:
    mailbox.last_polled_at = timezone.now()
    mailbox.last_poll_error = error[:2000]
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=mailbox.last_polled_at, last_poll_error=error[:2000])
