"""Builders for service-level ticket tests: tickets brought to a status through the services."""

from html.parser import HTMLParser

from django.core.files.uploadedfile import SimpleUploadedFile

from tickets import services
from tickets.models import EventKind, Status, Ticket, TicketEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def png_upload(name: str = "screenshot.png", content: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def make_ticket(customer, **kwargs) -> Ticket:
    fields = {"subject": "Server does not answer", "body": "It stopped answering an hour ago."} | kwargs
    return services.ticket_create(customer=customer, **fields)


def ticket_in_status(status: str, *, customer, agent) -> Ticket:
    """A ticket in `status`, reached the way it happens in production: through the services.

    The ticket has no assignee except when it is in progress (then it is `agent`'s).
    """
    ticket = make_ticket(customer)
    if status == Status.NEW:
        pass
    elif status == Status.WAITING_AGENT:
        services.ticket_take(ticket=ticket, agent=agent)
        services.ticket_release(ticket=ticket, agent=agent, reason="shift change")
    elif status == Status.IN_PROGRESS:
        services.ticket_take(ticket=ticket, agent=agent)
    elif status == Status.WAITING_CUSTOMER:
        services.message_add(ticket=ticket, author=agent, body="Which server is it?", wait_for_customer=True)
        services.ticket_release(ticket=ticket, agent=agent)
    elif status == Status.RESOLVED:
        services.ticket_resolve(ticket=ticket, actor=agent)
    elif status == Status.CLOSED:
        services.ticket_resolve(ticket=ticket, actor=agent)
        services.ticket_confirm(ticket=ticket, customer=customer)
    else:  # pragma: no cover - every status is listed above
        raise AssertionError(status)
    ticket.refresh_from_db()
    assert ticket.status == status
    return ticket


def events_of(ticket: Ticket, kind: str | None = None) -> list[TicketEvent]:
    events = TicketEvent.objects.filter(ticket=ticket).order_by("id")
    if kind is not None:
        events = events.filter(kind=kind)
    return list(events)


def status_events(ticket: Ticket) -> list[tuple[str, str]]:
    return [(e.data["old"], e.data["new"]) for e in events_of(ticket, EventKind.STATUS)]


# --- what a page would run --------------------------------------------------------------------

ACTIVE_SCHEMES = ("javascript:", "data:", "vbscript:")
ACTIVE_ELEMENTS = {"iframe", "object", "embed", "frame", "frameset", "applet", "base", "meta", "link", "style"}


class _ActiveMarkup(HTMLParser):
    """Collects what a browser would act on: real tags and attributes, never escaped text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self._in_data_block = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=…>")
            link = "".join((value or "").split()).lower()
            if name in ("href", "src", "action", "formaction", "xlink:href") and link.startswith(ACTIVE_SCHEMES):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and (dict(attrs).get("type") or "").lower() == "application/json":
            # A data block (Django's json_script): the browser never runs it; its text is checked
            # below for markup that could close it early.
            self._in_data_block = True
        elif tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.found.append(f"<script src={src!r}>")
            self._in_script = True
        elif tag in ACTIVE_ELEMENTS and tag not in ("meta", "link", "style"):
            self.found.append(f"<{tag}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
            self._in_data_block = False

    def handle_data(self, data):
        if self._in_data_block:
            if "<" in data or ">" in data:
                self.found.append(f"unescaped markup in a data block {data.strip()[:40]!r}")
            return
        if self._in_script and data.strip():
            self.found.append(f"inline script {data.strip()[:40]!r}")
        self.text.append(data)


def active_markup(html: str) -> list[str]:
    """Scripts, event handlers, style attributes, javascript:/data: links and frames in `html`
    (the page's own scripts from /static/ excepted). Escaped text such as `&lt;script&gt;` is
    text, not markup, and is not reported."""
    parser = _ActiveMarkup()
    parser.feed(html)
    parser.close()
    return parser.found


def text_of(html: str) -> str:
    """What the reader sees: the text of `html`, entities decoded."""
    parser = _ActiveMarkup()
    parser.feed(html)
    parser.close()
    return "".join(parser.text)
