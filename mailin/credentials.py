"""Access data sent by e-mail: recognised in the text, so it is moved, not kept in clear.

E-mail is not the channel for server passwords (the control panel's encrypted access data is):
a customer who writes one anyway should have it in the ticket's encrypted access data, masked in
the text agents, the customer and the history read. Pure functions over the text; what is done
with the finding is mailin.services' business.

What counts, on purpose narrowly (a masked word that was no password costs an agent a look at
the access data; a password left in clear is what this is for):

* a private key block (PEM `-----BEGIN ... PRIVATE KEY-----` to its END line, PuTTY's key
  files), whole;
* a password written after its label (`password: x`, `pass=x`, `пароль от root: x`,
  `password is x`) when the lines around it name a host or a login (an address, a host
  name, `login:`, `user:`, `ssh`, `root`...): a password next to what it opens. Its value
  must look like one: with a digit or a sign, or in mixed case, or alone at the end of its line.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

MASK = "••••••••"
CONTEXT_LINES = 3

PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END (?P=kind)-----|\Z)"
    r"|PuTTY-User-Key-File-\d+:.*?(?:Private-MAC:[^\n]*|\Z)",
    re.S,
)
PASSWORD = re.compile(
    r"(?P<label>\b(?:password|passwd|passphrase|pass|pwd|пароль|паролем|пароля|пасс)\b)"
    r"(?P<between>[^\n:=]{0,40}?)"
    r"(?P<sep>\s*[:=]\s*|\s+(?:is|—|–|-)\s+)"
    r"(?P<value>[^\s]+)",
    re.I,
)
HOST = re.compile(
    r"\b\d{1,3}(?:\.\d{1,3}){3}\b"  # an IPv4 address
    r"|\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b"  # a host name
    r"|\b(?:host|hostname|server|ip|ssh|sftp|ftp|rdp|mysql|panel|сервер|хост|айпи|панел\w*)\b",
    re.I,
)
LOGIN = re.compile(r"\b(?:login|user|username|account|логин|пользователь|учётк\w*|root|admin|administrator)\b", re.I)
# Words that follow a password label in ordinary sentences ("the password is not accepted").
NOT_A_PASSWORD = {
    "not", "wrong", "incorrect", "invalid", "expired", "reset", "changed", "lost", "forgotten", "required",
    "the", "a", "an", "my", "your", "from", "for", "to", "and", "or", "please", "same", "ok",
    "не", "от", "для", "на", "сброшен", "изменён", "изменен", "неверный", "забыт", "утерян", "тот",
}  # fmt: skip
TRAILING = ",.;)»\"'"


@dataclass
class Found:
    """The text with the access data masked, and what is moved to the encrypted access data."""

    text: str
    access_data: str
    passwords: int = 0
    keys: int = 0
    lines: list[str] = field(default_factory=list)
    # The exact values masked (passwords and whole key blocks), to mask them wherever else the
    # message keeps them: its raw copy and the forwarded messages kept as files.
    secrets: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.passwords or self.keys)


def _looks_like_a_password(value: str, rest_of_line: str) -> bool:
    if len(value) < 3 or value.lower() in NOT_A_PASSWORD or value == MASK:
        return False
    if any(ch.isdigit() for ch in value) or any(not ch.isalnum() for ch in value):
        return True
    if value != value.lower() and value != value.upper() and value != value.capitalize():
        return True  # mixed case inside the word
    return not rest_of_line.strip()


def _near(lines: list[str], index: int, pattern: re.Pattern[str], skip: str) -> bool:
    window = lines[max(0, index - CONTEXT_LINES) : index + CONTEXT_LINES + 1]
    return any(pattern.search(line.replace(skip, " ")) for line in window)


def find(text: str) -> Found:
    """Mask the access data in `text`; `Found` is false when there was none."""
    moved: list[str] = []
    secrets: list[str] = []
    keys = 0

    def take_key(match: re.Match[str]) -> str:
        nonlocal keys
        keys += 1
        moved.append(match.group(0).strip())
        secrets.append(match.group(0).strip())
        return f"[{MASK} private key]"

    original = PRIVATE_KEY.sub(take_key, text or "")
    lines = original.split("\n")
    passwords = 0
    context: set[int] = set()
    for index, line in enumerate(lines):
        masked: list[str] = []
        position = 0
        for match in PASSWORD.finditer(line):
            value = match["value"].rstrip(TRAILING)
            rest = line[match.end("value") :]
            if not value or not _looks_like_a_password(value, rest):
                continue
            if not (_near(lines, index, HOST, match[0]) or _near(lines, index, LOGIN, match[0])):
                continue
            masked.append(line[position : match.start("value")] + MASK)
            secrets.append(value)
            position = match.start("value") + len(value)
            passwords += 1
        if masked:
            context |= set(range(max(0, index - CONTEXT_LINES), min(len(lines), index + CONTEXT_LINES + 1)))
            lines[index] = "".join(masked) + line[position:]
    if not passwords and not keys:
        return Found(text=text or "", access_data="")
    source = original.split("\n")
    kept_lines = [source[i] for i in sorted(context) if source[i].strip()]
    if kept_lines:
        moved.append("\n".join(kept_lines))
    return Found(
        text="\n".join(lines),
        access_data="\n\n".join(moved),
        passwords=passwords,
        keys=keys,
        lines=kept_lines,
        secrets=sorted(set(secrets), key=len, reverse=True),
    )


def mask(text: str, secrets: list[str]) -> str:
    """`text` with every occurrence of each secret masked (longest first, so a key block goes whole)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
        # A key block whose lines another client ended with CRLF, and the HTML rendering of a value.
        text = text.replace(secret.replace("\n", "\r\n"), MASK)
        escaped = html.escape(secret, quote=False)
        if escaped != secret:
            text = text.replace(escaped, MASK)
    return text


def _mask_part(part: EmailMessage, secrets: list[str]) -> bool:
    """Mask the secrets in one text part, keeping its type and disposition; True if it changed."""
    try:
        content = part.get_content()
    except Exception:  # an unreadable charset or encoding: the byte-level pass below covers it
        return False
    if not isinstance(content, str):
        return False
    masked = mask(content, secrets)
    if masked == content:
        return False
    disposition = part.get_content_disposition()
    filename = part.get_filename()
    part.set_content(masked, subtype=part.get_content_subtype(), disposition=disposition, filename=filename)
    return True


def _masked_parts(raw: bytes, secrets: list[str]) -> bytes:
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        changed = False
        for part in message.walk():
            if not part.is_multipart() and part.get_content_maintype() == "text":
                changed = _mask_part(part, secrets) or changed
        return message.as_bytes(policy=policy.default.clone(refold_source="none")) if changed else raw
    except Exception:  # a message the library cannot write back is masked byte by byte instead
        return raw


def mask_message(raw: bytes, secrets: list[str]) -> bytes:
    """The e-mail `raw` with the secrets masked in every text part, forwarded messages included,
    and in any header or undecoded part that still holds them verbatim."""
    if not secrets:
        return raw
    raw = _masked_parts(raw, secrets)
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, secret.replace("\n", "\r\n"), html.escape(secret, quote=False)}:
            raw = raw.replace(form.encode(), MASK.encode())
    return raw
