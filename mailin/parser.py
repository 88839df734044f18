"""Reading a raw RFC 822 message: headers, the text, the files, and whether a person wrote it.

Python's `email` package with `policy.default` does the MIME work (RFC 2047 headers, RFC 2231
file names, transfer encodings). Everything here is lenient: a body in an unknown charset is
decoded with replacement characters and the fact noted, a broken MIME structure is read as far
as it goes. Only a message without a usable sender is refused (`ParseError`).
"""

from __future__ import annotations

import codecs
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

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
class ParsedMail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    from_name: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    date: str = ""
    text: str = ""
    files: list[MailFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Lower-cased header name -> raw values, for the automatic-mail checks.
    headers: dict[str, list[str]] = field(default_factory=dict)
    content_type: str = ""
    report_type: str = ""

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
    except Exception:  # noqa: BLE001 - a broken header must not stop the message
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
    except Exception:  # noqa: BLE001
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
    except Exception:  # noqa: BLE001 - whatever it is, it is kept and reported
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


def decode_text(payload: bytes, charset: str | None) -> tuple[str, str]:
    """Text of a part in its declared charset; (text, note) where note says what went wrong."""
    charset = (charset or "").strip().strip('"').lower()
    charset = CHARSET_ALIASES.get(charset, charset)
    known = bool(charset) and charset not in UNKNOWN_CHARSETS
    if known:
        try:
            codecs.lookup(charset)
        except LookupError:
            known = False
    if known:
        try:
            return payload.decode(charset), ""
        except UnicodeDecodeError:
            if charset in ("us-ascii", "ascii"):
                try:
                    return payload.decode("utf-8"), ""
                except UnicodeDecodeError:
                    pass
            return (
                payload.decode(charset, "replace"),
                f"the text is not valid {charset}; unreadable characters were replaced",
            )
    try:
        text = payload.decode("utf-8")
        note = f"unknown charset “{charset}”; the text was read as UTF-8" if charset else ""
    except UnicodeDecodeError:
        text = payload.decode("utf-8", "replace")
        note = (
            f"unknown charset “{charset or 'none'}”; the text was read as UTF-8 and unreadable characters were replaced"
        )
    return text, note


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
    except Exception:  # noqa: BLE001 - a page the parser chokes on is reduced to its text
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
        except Exception:  # noqa: BLE001
            payload = b""
            self.note("a part could not be decoded")
        text, note = decode_text(payload, part.get_param("charset"))
        self.note(note)
        if part.get_content_subtype() == "html":
            return html_to_text(text)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def body_and_files(self, msg: EmailMessage, depth: int) -> str:
        """The text of `msg`; its files are added to the parsed message."""
        try:
            body = msg.get_body(preferencelist=("plain", "html"))
        except Exception:  # noqa: BLE001
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
        except Exception:  # noqa: BLE001
            data = b""
            self.note("a file could not be decoded")
        inline = disposition == "inline" or (disposition is None and bool(part.get("content-id")))
        name = filename or _generated_name(content_type, len(self.parsed.files) + 1, inline)
        self.parsed.files.append(MailFile(name=name, content_type=content_type, data=data, inline=inline))

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


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001
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
    except Exception as exc:  # noqa: BLE001
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
    parsed.content_type = msg.get_content_type()
    parsed.report_type = (msg.get_param("report-type") or "").lower() if parsed.content_type else ""
    if "\ufffd" in parsed.subject or "\ufffd" in parsed.from_name:
        parsed.notes.append("some characters of the headers could not be decoded")
    walker = _Walker(parsed)
    parsed.text = walker.body_and_files(msg, 0)
    defects = {type(defect).__name__ for defect in msg.defects}
    for part in msg.walk():
        defects |= {type(defect).__name__ for defect in getattr(part, "defects", [])}
    if defects:
        parsed.notes.append("MIME defects: " + ", ".join(sorted(defects)))
    return parsed


# --- mail nobody wrote ----------------------------------------------------------------------

AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autogenerated", "x-autoresponder")
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)


def own_message_id(message_id: str, domain: str) -> bool:
    """Does this Message-ID come from the helpdesk (its domain is ours or a subdomain of it)?"""
    if not message_id or "@" not in message_id or not domain:
        return False
    right = message_id.rsplit("@", 1)[1].lower().rstrip(">")
    return right == domain or right.endswith("." + domain)


def classify(parsed: ParsedMail, *, own_addresses: set[str], message_id_domain: str) -> tuple[str, str] | None:
    """("ignored_loop" | "ignored_bounce" | "ignored_auto_reply", why) for mail no person wrote."""
    sender = parsed.from_address.lower()
    if own_message_id(parsed.message_id, message_id_domain):
        return "ignored_loop", f"the Message-ID <{parsed.message_id}> is one of the helpdesk's own"
    if base_address(sender) in own_addresses or (sender.startswith("support+") and plus_tag(sender).isdigit()):
        return "ignored_loop", f"the sender {parsed.from_address} is the helpdesk's own address"
    null_sender = parsed.header("return-path").replace(" ", "") == "<>"
    if parsed.content_type == "multipart/report" and parsed.report_type == "delivery-status":
        return "ignored_bounce", "a delivery status report (multipart/report)"
    if BOUNCE_SENDERS.match(sender):
        return "ignored_bounce", f"sent by {parsed.from_address}"
    if parsed.content_type == "multipart/report":
        return "ignored_auto_reply", f"an automatic report ({parsed.report_type or 'unknown type'})"
    auto_submitted = parsed.header("auto-submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "ignored_auto_reply", f"Auto-Submitted: {auto_submitted}"
    precedence = parsed.header("precedence").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return "ignored_auto_reply", f"Precedence: {precedence}"
    for name in AUTO_HEADERS:
        if name in parsed.headers:
            return "ignored_auto_reply", f"{name.title()} header"
    if null_sender:
        return "ignored_auto_reply", "sent with an empty return path (<>)"
    return None
