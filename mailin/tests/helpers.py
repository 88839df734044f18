"""Loading the sample messages and delivering them the ways mail comes in."""

from __future__ import annotations

import io
import json
from pathlib import Path

from django.core.management import CommandError, call_command

from mailin.models import InboundMessage

MESSAGES = Path(__file__).parent / "messages"
TOKEN = "test-inbound-token"
ENDPOINT = "/api/v1/inbound/email/"


def load(name: str, **values) -> bytes:
    """A sample message; {{NAME}} placeholders are filled from `values` (e.g. TICKET=100001)."""
    raw = (MESSAGES / name).read_bytes()
    for key, value in values.items():
        raw = raw.replace(f"{{{{{key}}}}}".encode(), str(value).encode())
    return raw


def simple(
    *,
    sender: str = "Ivan Petrov <customer-a@example.com>",
    to: str = "support@hosting.example",
    subject: str = "Hello",
    body: str = "Please help.",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A small plain-text message."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", "Date: Tue, 19 Mar 2024 10:00:00 +0300"]
    if message_id is not None:
        lines.append(f"Message-ID: <{message_id}>")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode("utf-8")


def via_command(raw: bytes, *, mailbox: str | None = None) -> tuple[InboundMessage, int, dict]:
    out, err = io.StringIO(), io.StringIO()
    args = ["--mailbox", mailbox] if mailbox else []
    try:
        call_command("receive_email", *args, stdin=io.BytesIO(raw), stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    result = json.loads(out.getvalue())
    return InboundMessage.objects.get(pk=result["id"]), code, result


def via_endpoint(client, raw: bytes, *, mailbox: str | None = None, content_type: str = "message/rfc822"):
    url = ENDPOINT + (f"?mailbox={mailbox}" if mailbox else "")
    response = client.post(url, data=raw, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 202, response.content[:500]
    result = response.json()
    return InboundMessage.objects.get(pk=result["id"]), response.status_code, result


class Deliverer:
    """Delivers raw mail through one way in and checks that way's answer matches the outcome."""

    def __init__(self, way: str, client) -> None:
        self.way = way
        self.client = client

    def __call__(self, raw: bytes, *, mailbox: str | None = None) -> InboundMessage:
        if self.way == "command":
            inbound, code, result = via_command(raw, mailbox=mailbox)
            # Stored is delivered: any other status would bounce it to a possibly forged sender.
            assert code == 0, (code, inbound.outcome)
        else:
            inbound, _status, result = via_endpoint(self.client, raw, mailbox=mailbox)
        assert result["outcome"] == inbound.outcome
        assert result["ticket"] == (inbound.ticket.number if inbound.ticket_id else None)
        return inbound
