"""Checks on uploaded files: size, count, and the type read from the content, not the name."""

from __future__ import annotations

import hashlib
import os
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

from helpdesk.errors import DomainError

# (magic bytes at offset 0, MIME type); checked in order.
SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
]
ALLOWED_DESCRIPTION = "PNG, JPEG, GIF, WebP, PDF, ZIP, GZIP, plain text"


def sniff_content_type(head: bytes) -> str | None:
    """The MIME type of an allowed kind of file, judged by its first bytes; None if not allowed."""
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if not head:
        return "text/plain"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.reason == "unexpected end of data" and exc.start >= len(head) - 3:
            return "text/plain"
        # 8-bit text (windows-1251, KOI8-R logs and configs) has no control bytes; binaries do.
        if b"\x7f" in head or any(byte < 0x20 and byte not in b"\t\r\n\x0c" for byte in head):
            return None
    return "text/plain"


def clean_filename(name: str) -> str:
    """A display name without paths, control characters or leading dots; kept for the download."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".")
    return name[:200] or "file"


def validate_upload(upload, *, count: int) -> tuple[str, str, str]:
    """Check one uploaded file; returns (display name, content type, sha256) or raises DomainError."""
    if count > settings.ATTACHMENT_MAX_FILES:
        raise DomainError(
            _("At most %(count)d files can be attached at once.") % {"count": settings.ATTACHMENT_MAX_FILES},
            code="too_many_files",
            field="attachments",
        )
    name = clean_filename(upload.name)
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise DomainError(
            _("“%(name)s” is %(size)s MB; the limit is %(limit)s MB.")
            % {
                "name": name,
                "size": round(upload.size / 1048576, 1),
                "limit": round(settings.ATTACHMENT_MAX_BYTES / 1048576, 1),
            },
            code="file_too_large",
            field="attachments",
        )
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise DomainError(
            _("“%(name)s” is not a file type we accept (%(allowed)s).")
            % {"name": name, "allowed": ALLOWED_DESCRIPTION},
            code="file_type_not_allowed",
            field="attachments",
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return name, content_type, digest.hexdigest()
