"""Reading a raw RFC 822 message: headers, the text, the files, and whether a person wrote it.

Python's `email` package with `policy.default` does the MIME work (RFC 2047 headers, RFC 2231
file names, transfer encodings). Everything here is lenient: a body in an unknown or wrong
charset is read in the likeliest Cyrillic charset, or with replacement characters, and marked
as possibly damaged; a broken MIME structure is read as far as it goes. Only a message without
a usable sender is refused (`ParseError`). A forwarded message (`message/rfc822`) gives its text
and is kept whole as an `.eml` file; Outlook's `winmail.dat` gives the files inside it
(tnefparse). Delivery reports and the receiving server's Authentication-Results are read here
too; what they mean for a ticket is decided in mailin.services.
"""

from __future__ import annotations

import codecs
import datetime as dt
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

import tnefparse

# How deep forwarded messages inside forwarded messages are read, and how many parts at most.
MAX_DEPTH = 5
MAX_PARTS = 500
# Headers are looked at in the first this many bytes when only the headers are needed.
HEADER_PEEK_BYTES = 256 * 1024

MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
PLUS_ADDRESS = re.compile(r"^(?P<local>[^@+\s]+)\+(?P<tag>[^@\s]+)@(?P<domain>[^@\s]+)$")


class ParseError(Exception):
    """The message cannot be read as an e-mail from someone."""


@dataclass
class MailFile:
    name: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class BouncedRecipient:
    """One recipient of a delivery report: `hard` for a permanent failure (5.x.x)."""

    address: str
    action: str = ""
    status: str = ""
    diagnostic: str = ""

    @property
    def hard(self) -> bool:
        if self.status:
            return self.status.startswith("5")
        return self.action == "failed"

    @property
    def failed(self) -> bool:
        """Given up on: a `delayed` (or `relayed`, `delivered`) report says the mail may still arrive."""
        return self.action in ("failed", "")

    def reason(self) -> str:
        parts = [part for part in (self.status, self.diagnostic) if part]
        return " ".join(parts) or self.action or "undeliverable"


@dataclass
class DeliveryReport:
    """What a bounce says: the recipients it is about and the Message-IDs of the mail it returns."""

    recipients: list[BouncedRecipient] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    reporting_mta: str = ""


@dataclass
class AuthResults:
    """The receiving server's verdicts (RFC 8601 Authentication-Results): pass, fail, none..."""

    server: str = ""
    spf: str = ""
    dkim: str = ""
    dmarc: str = ""

    def summary(self) -> str:
        found = [f"{name}={value}" for name, value in (("spf", self.spf), ("dkim", self.dkim), ("dmarc", self.dmarc))]
        found = [item for item in found if not item.endswith("=")]
        return (f"{self.server}: " if self.server else "") + " ".join(found) if found else ""


@dataclass
class ParsedMail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    from_name: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    date: str = ""
    sent_at: dt.datetime | None = None
    text: str = ""
    # Some characters were guessed (unknown or wrong charset) or replaced: agents are told.
    text_damaged: bool = False
    files: list[MailFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Lower-cased header name -> raw values, for the automatic-mail checks.
    headers: dict[str, list[str]] = field(default_factory=dict)
    content_type: str = ""
    report_type: str = ""
    report: DeliveryReport | None = None
    auth: AuthResults = field(default_factory=AuthResults)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""


@dataclass
class HeaderSummary:
    """What the first bytes of a message say about it (for messages too large to read)."""

    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    from_address: str = ""
    from_name: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""


# --- headers --------------------------------------------------------------------------------


def _safe_header(msg: EmailMessage, name: str) -> str:
    """A header's decoded value; never raises on a malformed header."""
    try:
        value = msg.get(name)
    except Exception:  # a broken header must not stop the message
        value = None
    if value is None:
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                return _lenient(str(raw))
        return ""
    return _lenient(str(value))


def _safe_all(msg: EmailMessage, name: str) -> list[str]:
    try:
        values = msg.get_all(name) or []
        return [_lenient(str(value)) for value in values]
    except Exception:
        return [_lenient(str(raw)) for key, raw in msg.raw_items() if key.lower() == name.lower()]


def _lenient(value: str) -> str:
    """Undecodable bytes in a header (8-bit without an encoding) become replacement characters."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        raw = value.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace")
    return value


def one_line(value: str) -> str:
    return " ".join((value or "").split())


def message_ids(value: str) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References header, without angle brackets."""
    found = MESSAGE_ID.findall(value or "")
    if not found and value and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return [item[:998] for item in found if item]


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs with a plausible address, lower-cased domain."""
    pairs = []
    for name, address in getaddresses(values):
        address = address.strip()
        if address.count("@") != 1 or any(ch.isspace() for ch in address):
            continue
        local, domain = address.split("@")
        if not local or not domain:
            continue
        pairs.append((one_line(name), f"{local}@{domain.lower()}"))
    return pairs


def base_address(address: str) -> str:
    """support+123@example.com -> support@example.com (lower-cased)."""
    match = PLUS_ADDRESS.match(address or "")
    if match:
        return f"{match['local']}@{match['domain']}".lower()
    return (address or "").lower()


def plus_tag(address: str) -> str:
    match = PLUS_ADDRESS.match(address or "")
    return match["tag"] if match else ""


def is_reply_address(address: str, local_part: str) -> bool:
    """<local_part>+<digits>@any domain: the Reply-To address the helpdesk gives its e-mails
    (notifications.services.reply_to_address, setting REPLY_ADDRESS_LOCAL_PART)."""
    match = PLUS_ADDRESS.match(address or "")
    return bool(match) and match["local"].lower() == local_part.lower() and match["tag"].isdigit()


RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "to", "cc", "resent-to")


def _recipients(msg: EmailMessage) -> list[str]:
    seen: list[str] = []
    for name in RECIPIENT_HEADERS:
        for _display, address in addresses(_safe_all(msg, name)):
            if address.lower() not in (item.lower() for item in seen):
                seen.append(address)
    return seen


def _sender(msg: EmailMessage) -> tuple[str, str]:
    for name in ("from", "sender", "reply-to"):
        found = addresses(_safe_all(msg, name))
        if found:
            return found[0][1], found[0][0][:200]
    return "", ""


def peek_headers(raw: bytes) -> HeaderSummary:
    """The identifying headers from the start of a message, without reading its body."""
    head = raw[:HEADER_PEEK_BYTES]
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = head.find(separator)
        if end != -1:
            head = head[: end + len(separator)]
            break
    try:
        msg = BytesHeaderParser(policy=policy.default).parsebytes(head)
    except Exception:  # whatever it is, it is kept and reported
        return HeaderSummary()
    address, name = _sender(msg)
    ids = message_ids(_safe_header(msg, "message-id"))
    return HeaderSummary(
        message_id=ids[0] if ids else "",
        in_reply_to=" ".join(message_ids(_safe_header(msg, "in-reply-to"))),
        references=" ".join(message_ids(" ".join(_safe_all(msg, "references")))),
        from_address=address,
        from_name=name,
        recipients=_recipients(msg),
        subject=one_line(_safe_header(msg, "subject")),
    )


# --- bodies ---------------------------------------------------------------------------------

UNKNOWN_CHARSETS = {"unknown-8bit", "x-unknown", "unknown", "x-user-defined"}
CHARSET_ALIASES = {"cp-1251": "cp1251", "win-1251": "cp1251", "koi8r": "koi8-r", "utf8": "utf-8"}
# The charsets Russian mail comes in when it says nothing, or something wrong, about it.
CYRILLIC_CHARSETS = ("cp1251", "koi8-r")
SINGLE_BYTE_CYRILLIC = {"cp1251", "windows-1251", "koi8-r", "koi8-u", "iso-8859-5", "cp866", "mac-cyrillic"}
# The most frequent Russian letters: a reading full of them is Russian, one of rare letters,
# capitals inside words or box-drawing characters is the wrong charset.
FREQUENT_LETTERS = set("оеаинтсрвлкмдпу")


def _russian_score(text: str) -> float:
    """How much `text` reads like Russian, per non-ASCII character (about 1 for real text)."""
    score = 0.0
    high = 0
    previous = " "
    for ch in text:
        if ord(ch) < 128:
            previous = ch
            continue
        high += 1
        lower = ch.lower()
        if "а" <= lower <= "я" or lower == "ё":
            if ch != lower and previous.isalpha():
                score -= 1  # a capital inside a word: case inverted, KOI8-R read as cp1251 or back
            else:
                score += 1.0 if lower in FREQUENT_LETTERS else 0.6
        elif ch in "«»—–№…“”„’":
            score += 0.5
        else:
            score -= 2
        previous = ch
    return score / high if high else 0.0


def _guess_cyrillic(payload: bytes) -> tuple[str, str] | None:
    """(text, charset) of the likeliest Cyrillic reading, if one reads like Russian."""
    best = max(((payload.decode(name), name) for name in CYRILLIC_CHARSETS), key=lambda item: _russian_score(item[0]))
    letters = sum(1 for ch in best[0] if "а" <= ch.lower() <= "я")
    if letters >= 4 and _russian_score(best[0]) >= 0.6:
        return best
    return None


@dataclass(frozen=True)
class Decoded:
    text: str
    note: str = ""
    damaged: bool = False


def decode_text(payload: bytes, charset: str | None) -> Decoded:
    """Text of a part in its declared charset, or the likeliest one when that is unknown or
    wrong; `note` says what went wrong, `damaged` that characters were guessed or replaced."""
    charset = (charset or "").strip().strip('"').lower()
    charset = CHARSET_ALIASES.get(charset, charset)
    known = bool(charset) and charset not in UNKNOWN_CHARSETS
    if known:
        try:
            charset = codecs.lookup(charset).name
        except LookupError:
            known = False
    if known:
        try:
            text = payload.decode(charset)
        except UnicodeDecodeError:
            pass
        else:
            if charset in SINGLE_BYTE_CYRILLIC and _russian_score(text) < 0:
                # The Bat! and old Outlooks label windows-1251 as KOI8-R and back.
                guess = _guess_cyrillic(payload)
                if guess is not None and guess[1] != charset:
                    return Decoded(guess[0], f"the text is labelled {charset} but reads as {guess[1]}", True)
            return Decoded(text)
        if charset in ("ascii", "us-ascii", "utf-8"):
            try:
                return Decoded(payload.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        guess = _guess_cyrillic(payload)
        if guess is not None:
            return Decoded(guess[0], f"the text is not valid {charset}; it was read as {guess[1]}", True)
        return Decoded(
            payload.decode(charset, "replace"),
            f"the text is not valid {charset}; unreadable characters were replaced",
            True,
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return Decoded(text, f"unknown charset “{charset}”; the text was read as UTF-8" if charset else "")
    guess = _guess_cyrillic(payload)
    if guess is not None:
        return Decoded(guess[0], f"unknown charset “{charset or 'none'}”; the text was read as {guess[1]}", True)
    return Decoded(
        payload.decode("utf-8", "replace"),
        f"unknown charset “{charset or 'none'}”; the text was read as UTF-8 and unreadable characters were replaced",
        True,
    )


class _HtmlToText(HTMLParser):
    """HTML mail as plain text: blocks become lines, quotes become "> " lines, links keep their
    http(s)/mailto address. Scripts, styles and everything else markup are dropped."""

    BLOCK = {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    }  # fmt: skip
    PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote"}
    SKIP = {"script", "style", "head", "title", "template", "noscript", "iframe", "object", "svg", "math"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.quote_depth = 0
        self.pre_depth = 0
        self.links: list[str | None] = []

    def _break(self) -> None:
        text = "".join(self.current)
        pieces = text.split("\n") if self.pre_depth else [" ".join(text.split())]
        prefix = "> " * self.quote_depth
        for piece in pieces:
            self.lines.append(f"{prefix}{piece}".rstrip() if piece else prefix.rstrip())
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag == "br":
            self._break()
        elif tag in self.BLOCK:
            if "".join(self.current).strip():
                self._break()
            if tag == "blockquote":
                self.quote_depth += 1
            elif tag == "pre":
                self.pre_depth += 1
            elif tag == "li":
                self.current.append("- ")
            elif tag == "hr":
                self.lines.append("---")
        elif tag in ("td", "th"):
            if "".join(self.current).strip():
                self.current.append(" | ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            href = href.strip()
            self.links.append(href if re.match(r"^(https?:|mailto:)", href, re.I) else None)
            self.current.append("\x00")  # where the link text starts

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag == "a" and self.links:
            href = self.links.pop()
            text = "".join(self.current)
            start = text.rfind("\x00")
            label = text[start + 1 :] if start != -1 else text
            before = text[:start] if start != -1 else ""
            if href and href.removeprefix("mailto:") not in label:
                label = f"{label} ({href})" if label.strip() else href
            self.current = [before, label]
        elif tag in self.BLOCK:
            if "".join(self.current).strip():
                self._break()
            if tag in self.PARAGRAPH and self.lines and self.lines[-1].strip("> "):
                self.lines.append(("> " * self.quote_depth).rstrip())
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            elif tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)

    def handle_data(self, data):
        if not self.skip_depth:
            self.current.append(data)

    def text(self) -> str:
        self._break()
        joined = "\n".join(line.replace("\x00", "") for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", joined).strip()


def html_to_text(markup: str) -> str:
    parser = _HtmlToText()
    try:
        parser.feed(markup or "")
        parser.close()
    except Exception:  # a page the parser chokes on is reduced to its text
        return one_line(html.unescape(re.sub(r"<[^>]*>", " ", markup or "")))
    return parser.text()


# --- replies: quotes and signatures -------------------------------------------------------

QUOTE_HEADERS = [
    re.compile(r"^\s*On\b.{0,400}\bwrote:\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*Исходное сообщение\s*-{2,}\s*$", re.I),
    re.compile(r"^.{0,400}(?:писал|написал)(?:\(а\)|а)?\s*:\s*$", re.I),
    re.compile(r"^.{0,400}\bпишет\s*:\s*$", re.I),
    re.compile(r"^\s*Am\b.{0,400}\bschrieb\b.{0,200}:\s*$", re.I),
    re.compile(r"^\s*Le\b.{0,400}\ba écrit\s*:\s*$", re.I),
]
HEADER_BLOCK_FROM = re.compile(r"^\s*\*?(From|От|Von)\s*:\*?\s", re.I)
HEADER_BLOCK_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Subject|Отправлено|Дата|Кому|Тема|Gesendet)\s*:", re.I)
UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
MOBILE_SIGNATURES = re.compile(
    r"^\s*(Sent from my \w+.*|Get Outlook for \w+.*|Отправлено с (моего )?\w+.*|Отправлено из .*)\s*$", re.I
)
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|пересл|перес)\s*[:\]]", re.I)


def _quote_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        candidates = [line]
        if index + 1 < len(lines):
            candidates.append(f"{line} {lines[index + 1]}")
        if any(pattern.match(text) for pattern in QUOTE_HEADERS for text in candidates):
            return index
        if UNDERSCORES.match(line) and index + 1 < len(lines) and HEADER_BLOCK_FROM.match(lines[index + 1]):
            return index
        if HEADER_BLOCK_FROM.match(line) and any(HEADER_BLOCK_NEXT.match(nxt) for nxt in lines[index + 1 : index + 4]):
            return index
    return None


def strip_reply(text: str) -> str:
    """A reply without the quoted earlier mail, "> " lines and the signature."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _quote_start(lines)
    if start is not None:
        lines = lines[:start]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = strip_signature_lines(lines)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_signature_lines(lines: list[str]) -> list[str]:
    for index in range(len(lines) - 1, 0, -1):
        if lines[index] in ("-- ", "--"):
            lines = lines[:index]
            break
    while lines and (not lines[-1].strip() or MOBILE_SIGNATURES.match(lines[-1])):
        lines = lines[:-1]
    return lines


def is_forward(subject: str) -> bool:
    return bool(FORWARD_SUBJECT.match(subject or ""))


# --- the message ------------------------------------------------------------------------------


class _Walker:
    def __init__(self, parsed: ParsedMail) -> None:
        self.parsed = parsed
        self.parts_seen = 0

    def note(self, text: str) -> None:
        if text and text not in self.parsed.notes:
            self.parsed.notes.append(text)

    def part_text(self, part: EmailMessage) -> str:
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:
            payload = b""
            self.note("a part could not be decoded")
        decoded = decode_text(payload, part.get_param("charset"))
        text = decoded.text
        self.note(decoded.note)
        self.parsed.text_damaged |= decoded.damaged
        if part.get_content_subtype() == "html":
            return html_to_text(text)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def body_and_files(self, msg: EmailMessage, depth: int) -> str:
        """The text of `msg`; its files are added to the parsed message."""
        try:
            body = msg.get_body(preferencelist=("plain", "html"))
        except Exception:
            body = None
        if body is None and not msg.is_multipart() and msg.get_content_maintype() == "text":
            body = msg
        texts = [self.part_text(body)] if body is not None else []
        self.collect(msg, body, texts, depth, in_alternative=False)
        return "\n\n".join(text.strip("\n") for text in texts if text.strip())

    def collect(self, part, body, texts: list[str], depth: int, *, in_alternative: bool) -> None:
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS:
            self.note(f"the message has more than {MAX_PARTS} parts; the rest was not read")
            return
        if part is body:
            return
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            self.forwarded(part, texts, depth)
            return
        if content_type in REPORT_PARTS:
            return  # a delivery report's machine-readable parts: read by delivery_report
        if part.is_multipart():
            for sub in part.iter_parts():
                alternative = in_alternative or content_type == "multipart/alternative"
                self.collect(sub, body, texts, depth, in_alternative=alternative)
            return
        filename = _filename(part)
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and not filename and disposition != "attachment":
            if in_alternative or content_type not in ("text/plain", "text/html"):
                return  # another rendering of the same text
            texts.append(self.part_text(part))  # more text after an inline picture (Apple Mail)
            return
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
            self.note("a file could not be decoded")
        is_tnef = content_type == "application/ms-tnef" or filename.lower() == "winmail.dat"
        if is_tnef and self.tnef(data):
            return
        inline = disposition == "inline" or (disposition is None and bool(part.get("content-id")))
        name = filename or _generated_name(content_type, len(self.parsed.files) + 1, inline)
        self.parsed.files.append(MailFile(name=name, content_type=content_type, data=data, inline=inline))

    def tnef(self, data: bytes) -> bool:
        """The files inside Outlook's winmail.dat, in its place; False to keep it as it is."""
        try:
            wrapped = tnefparse.TNEF(data, do_checksum=False)
            found = [(item.long_filename() or item.name, item.data) for item in wrapped.attachments]
        except Exception:  # tnefparse raises whatever its reading of a broken file hits
            self.note("winmail.dat could not be read; it is kept as it came")
            return False
        found = [(one_line(_lenient(str(name))), payload) for name, payload in found if payload]
        if not found:
            self.note("winmail.dat (Outlook's formatting) held no files")
            return True
        for name, payload in found:
            name = name or _generated_name("application/octet-stream", len(self.parsed.files) + 1, False)
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.parsed.files.append(MailFile(name=name, content_type=content_type, data=payload))
        return True

    def forwarded(self, part, texts: list[str], depth: int) -> None:
        inner = part.get_payload(0) if part.is_multipart() else None
        if not isinstance(inner, EmailMessage):
            return
        if depth >= MAX_DEPTH:
            self.note("forwarded messages are nested too deep; the innermost were not read")
            return
        address, name = _sender(inner)
        header = ["---------- Forwarded message ----------"]
        sender = f"{name} <{address}>" if name else address
        for label, value in (
            ("From", sender),
            ("Date", _safe_header(inner, "date")),
            ("Subject", one_line(_safe_header(inner, "subject"))),
        ):
            if value:
                header.append(f"{label}: {value}")
        text = self.body_and_files(inner, depth + 1)
        texts.append("\n".join(header) + "\n\n" + text)
        # And the message itself, whole: its headers, its route, its own attachments.
        subject = re.sub(r'[\\/:*?"<>|]+', " ", one_line(_safe_header(inner, "subject")))[:100].strip(" .")
        try:
            data = inner.as_bytes(policy=inner.policy.clone(refold_source="none"))
        except Exception:  # a forwarded message the generator cannot write back is still read
            self.note("a forwarded message could not be kept as a file")
            return
        name = f"{subject or 'forwarded message'}.eml"
        self.parsed.files.append(MailFile(name=name, content_type="message/rfc822", data=data))


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    return one_line(_lenient(name))


def _generated_name(content_type: str, number: int, inline: bool) -> str:
    extension = mimetypes.guess_extension(content_type) or ".bin"
    stem = "image" if content_type.startswith("image/") and inline else "attachment"
    return f"{stem}-{number}{extension}"


def parse(raw: bytes) -> ParsedMail:
    """Read a raw message; ParseError when it has no usable sender or is not an e-mail at all."""
    if not raw or not raw.strip():
        raise ParseError("the message is empty")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:
        raise ParseError(f"the message cannot be read: {exc}") from exc
    if not list(msg.raw_items()):
        raise ParseError("the message has no headers")
    parsed = ParsedMail()
    for key, value in msg.raw_items():
        parsed.headers.setdefault(key.lower(), []).append(one_line(_lenient(str(value))))
    from_values = _safe_all(msg, "from")
    found = addresses(from_values)
    if not found:
        raw_from = " ".join(parsed.headers.get("from", []))
        if raw_from:
            raise ParseError(f"the sender “{raw_from[:200]}” is not a valid address")
        raise ParseError("the message has no sender (From)")
    parsed.from_name, parsed.from_address = found[0][0][:200], found[0][1]
    ids = message_ids(_safe_header(msg, "message-id"))
    parsed.message_id = ids[0] if ids else ""
    parsed.in_reply_to = message_ids(_safe_header(msg, "in-reply-to"))
    parsed.references = message_ids(" ".join(_safe_all(msg, "references")))
    parsed.recipients = _recipients(msg)
    parsed.subject = one_line(_safe_header(msg, "subject"))
    parsed.date = _safe_header(msg, "date")
    parsed.sent_at = parse_date(parsed.date)
    parsed.content_type = msg.get_content_type()
    parsed.report_type = (msg.get_param("report-type") or "").lower() if parsed.content_type else ""
    if "\ufffd" in parsed.subject or "\ufffd" in parsed.from_name:
        parsed.notes.append("some characters of the headers could not be decoded")
    walker = _Walker(parsed)
    parsed.text = walker.body_and_files(msg, 0)
    if "\ufffd" in parsed.subject:
        parsed.text_damaged = True
    if parsed.content_type == "multipart/report" or parsed.headers.get("x-failed-recipients"):
        parsed.report = delivery_report(msg, parsed)
    defects = {type(defect).__name__ for defect in msg.defects}
    for part in msg.walk():
        defects |= {type(defect).__name__ for defect in getattr(part, "defects", [])}
    if defects:
        parsed.notes.append("MIME defects: " + ", ".join(sorted(defects)))
    return parsed


# --- dates, delivery reports, authentication -----------------------------------------------

REPORT_PARTS = ("message/delivery-status", "text/rfc822-headers", "message/disposition-notification")
# Dates outside these years are a broken clock or a forged header, not a time worth showing.
SANE_YEARS = range(1990, 2200)


def parse_date(value: str) -> dt.datetime | None:
    """The Date header as an aware datetime; None when missing or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None or moment.year not in SANE_YEARS:
        return None
    if moment.tzinfo is None:  # "-0000": the sender's zone is unknown; the time is UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _field_value(value) -> str:
    """`rfc822; user@example.com` -> `user@example.com`; `smtp; 550 ...` -> `550 ...`."""
    text = one_line(_lenient(str(value or "")))
    kind, sep, rest = text.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else text


def delivery_report(msg: EmailMessage, parsed: ParsedMail) -> DeliveryReport:
    """The recipients and returned Message-IDs of a bounce (RFC 3464, Exchange's and Exim's too)."""
    report = DeliveryReport()
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            blocks = part.get_payload() if isinstance(part.get_payload(), list) else []
            for block in blocks:
                if block.get("reporting-mta") and not report.reporting_mta:
                    report.reporting_mta = _field_value(block.get("reporting-mta"))
                recipient = _field_value(block.get("final-recipient") or block.get("original-recipient"))
                if "@" not in recipient:
                    continue
                report.recipients.append(
                    BouncedRecipient(
                        address=recipient.strip("<>").lower(),
                        action=one_line(str(block.get("action") or "")).lower(),
                        status=one_line(str(block.get("status") or "")),
                        diagnostic=_field_value(block.get("diagnostic-code"))[:500],
                    )
                )
        elif content_type == "text/rfc822-headers":
            try:
                headers = HeaderParser(policy=policy.default).parsestr(part.get_content())
            except Exception:  # the returned headers are a hint; a broken block is skipped
                headers = None
            if headers is not None:
                report.message_ids += message_ids(_safe_header(headers, "message-id"))
        elif content_type == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, EmailMessage):
                report.message_ids += message_ids(_safe_header(inner, "message-id"))
    if not report.recipients:
        # Exim and qmail: no machine-readable part, the failed addresses in a header.
        for _name, address in addresses(parsed.headers.get("x-failed-recipients", [])):
            report.recipients.append(BouncedRecipient(address=address.lower(), action="failed"))
    if not report.message_ids:
        report.message_ids = [item for item in MESSAGE_ID.findall(parsed.text) if "@" in item]
    report.message_ids = list(dict.fromkeys(report.message_ids))
    return report


AUTH_METHOD = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.I)
COMMENT = re.compile(r"\([^()]*\)")


def authentication_results(parsed: ParsedMail, *, server: str = "") -> AuthResults:
    """The verdicts of the receiving server: the Authentication-Results header it added, the
    topmost one (a sender can put any below it), or the one of `server` when it is named."""
    for value in parsed.headers.get("authentication-results", []):
        text = COMMENT.sub(" ", value)
        authserv, _sep, rest = text.partition(";")
        authserv_id = (authserv.split() or [""])[0].lower()
        if server and authserv_id != server:
            continue
        found: dict[str, list[str]] = {}
        for method, result in AUTH_METHOD.findall(rest):
            found.setdefault(method.lower(), []).append(result.lower())
        return AuthResults(
            server=authserv_id,
            spf=_verdict(found.get("spf", [])),
            dkim=_verdict(found.get("dkim", [])),
            dmarc=_verdict(found.get("dmarc", [])),
        )
    return AuthResults()


def _verdict(values: list[str]) -> str:
    """One method's result; of several signatures (DKIM), one that passes is enough."""
    if "pass" in values:
        return "pass"
    return values[0] if values else ""


# --- mail nobody wrote ----------------------------------------------------------------------

BULK_PRECEDENCE = {"bulk", "junk", "list"}
AUTO_PRECEDENCE = {"auto_reply", "auto-reply"}
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autogenerated", "x-autoresponder")
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
# Put on every e-mail the helpdesk sends (notifications.services.build_message); no other
# system writes it, so mail carrying it at the top is ours coming back.
OWN_TICKET_HEADER = "x-helpdesk-ticket"


def own_message_id(message_id: str, domain: str) -> bool:
    """Does this Message-ID come from the helpdesk (its domain is ours or a subdomain of it)?"""
    if not message_id or "@" not in message_id or not domain:
        return False
    right = message_id.rsplit("@", 1)[1].lower().rstrip(">")
    domain = domain.lower()
    return right == domain or right.endswith("." + domain)


def _loop_values(parsed: ParsedMail) -> set[str]:
    values: set[str] = set()
    for value in parsed.headers.get("x-loop", []):
        values |= {item.strip("<> ").lower() for item in re.split(r"[\s,]+", value) if item.strip("<> ")}
    return values


def classify(
    parsed: ParsedMail,
    *,
    own_addresses: set[str],
    message_id_domain: str,
    reply_local_part: str,
    loop_token: str = "",
) -> tuple[str, str] | None:
    """("ignored_loop" | "ignored_bounce" | "ignored_auto_reply" | "ignored_bulk", why) for mail
    no person wrote."""
    sender = parsed.from_address.lower()
    if own_message_id(parsed.message_id, message_id_domain):
        return "ignored_loop", f"the Message-ID <{parsed.message_id}> is one of the helpdesk's own"
    loops = _loop_values(parsed) & ({loop_token.lower()} | own_addresses if loop_token else own_addresses)
    if loops:
        return "ignored_loop", f"X-Loop: {sorted(loops)[0]} is the helpdesk's own"
    if OWN_TICKET_HEADER in parsed.headers:
        return "ignored_loop", "it carries the helpdesk's own X-Helpdesk-Ticket header"
    if base_address(sender) in own_addresses or is_reply_address(sender, reply_local_part):
        return "ignored_loop", f"the sender {parsed.from_address} is the helpdesk's own address"
    null_sender = parsed.header("return-path").replace(" ", "") == "<>"
    if parsed.content_type == "multipart/report" and parsed.report_type == "delivery-status":
        return "ignored_bounce", "a delivery status report (multipart/report)"
    if BOUNCE_SENDERS.match(sender) or "x-failed-recipients" in parsed.headers:
        return "ignored_bounce", f"sent by {parsed.from_address}"
    if parsed.content_type == "multipart/report":
        return "ignored_auto_reply", f"an automatic report ({parsed.report_type or 'unknown type'})"
    auto_submitted = parsed.header("auto-submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "ignored_auto_reply", f"Auto-Submitted: {auto_submitted}"
    for name in AUTO_HEADERS:
        if name in parsed.headers:
            return "ignored_auto_reply", f"{name.title()} header"
    precedence = parsed.header("precedence").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return "ignored_auto_reply", f"Precedence: {precedence}"
    if precedence in BULK_PRECEDENCE:
        return "ignored_bulk", f"Precedence: {precedence}"
    for name in LIST_HEADERS:
        if name in parsed.headers:
            return "ignored_bulk", f"{name.title()} header (a mailing list or a newsletter)"
    if null_sender:
        return "ignored_auto_reply", "sent with an empty return path (<>)"
    return None
