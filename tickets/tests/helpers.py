"""Builders for service-level ticket tests: tickets brought to a status through the services."""

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
