"""One constructor per kind of thing that can happen to a ticket: the history's vocabulary.

Each is called by a service inside the transaction that makes the change.
"""

from __future__ import annotations

import datetime as dt

from tickets.models import EventKind, EventOutbox, TicketEvent

# Only these kinds of ticket events can lead to an e-mail (see notifications.services.recipients_for);
# the others (SLA records, boosts, files, access data...) never enter the outbox.
NOTIFIED_KINDS = frozenset(
    {EventKind.CREATED, EventKind.MESSAGE, EventKind.STATUS, EventKind.PROMISE, EventKind.TRANSFER, EventKind.ASSIGN}
)


def needs_dispatch(kind: str, actor, data: dict) -> bool:
    """Whether an event of this kind goes to the outbox for the notifications to look at.

    An agent taking a ticket themselves is not: nobody is told (see recipients_for)."""
    if kind not in NOTIFIED_KINDS:
        return False
    return not (kind == EventKind.ASSIGN and actor is not None and data.get("new") == actor.get_username())


def _event(ticket, kind: str, actor, **data) -> TicketEvent:
    event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data)
    if needs_dispatch(kind, actor, data):
        # Committed or rolled back with the change; notifications.tasks.drain_outbox sends the e-mail.
        EventOutbox.objects.create(event=event)
    return event


def created(ticket, actor) -> TicketEvent:
    return _event(
        ticket, EventKind.CREATED, actor, line=ticket.line.code, channel=ticket.channel, urgency=ticket.urgency
    )


def status_changed(ticket, actor, *, old: str, new: str, reason: str = "") -> TicketEvent:
    return _event(ticket, EventKind.STATUS, actor, old=old, new=new, reason=reason)


def transferred(
    ticket, actor, *, old_line, new_line, reason: str, seconds_in_old_line: int, **reason_code_and_params
) -> TicketEvent:
    """`reason_code_and_params`: for the helpdesk's own reasons (tickets.history.system_reason)."""
    return _event(
        ticket,
        EventKind.TRANSFER,
        actor,
        old=old_line.code,
        new=new_line.code,
        old_name=old_line.name,
        new_name=new_line.name,
        reason=reason,
        seconds_in_old_line=seconds_in_old_line,
        **reason_code_and_params,
    )


def assignee_changed(ticket, actor, *, old, new) -> TicketEvent:
    # The line lets the queue measure each line's pace from these events.
    return _event(
        ticket,
        EventKind.ASSIGN,
        actor,
        old=old.username if old else None,
        new=new.username if new else None,
        line=ticket.line.code,
    )


def customer_changed(ticket, actor, *, old, new, reason: str) -> TicketEvent:
    return _event(ticket, EventKind.CUSTOMER, actor, old=old.get_username(), new=new.get_username(), reason=reason)


def urgency_changed(ticket, actor, *, old: str, new: str, reason: str) -> TicketEvent:
    return _event(ticket, EventKind.URGENCY, actor, old=old, new=new, reason=reason)


def promise_set(ticket, actor, *, old: dt.datetime | None, new: dt.datetime, reason: str) -> TicketEvent:
    return _event(
        ticket, EventKind.PROMISE, actor, old=old.isoformat() if old else None, new=new.isoformat(), reason=reason
    )


def message_added(ticket, actor, *, message, to_customer: bool = False) -> TicketEvent:
    """`to_customer`: a message of the helpdesk's own (a reminder) that is mailed to the customer."""
    extra = {"to_customer": True} if to_customer else {}
    return _event(ticket, EventKind.MESSAGE, actor, message_id=message.id, message_kind=message.kind, **extra)


def attachment_added(ticket, actor, *, attachment) -> TicketEvent:
    return _event(
        ticket,
        EventKind.ATTACHMENT,
        actor,
        attachment_id=attachment.id,
        name=attachment.original_name,
        size=attachment.size,
        content_type=attachment.content_type,
    )


def secret_stored(ticket, actor) -> TicketEvent:
    return _event(ticket, EventKind.SECRET_SET, actor)


def secret_revealed(ticket, actor) -> TicketEvent:
    return _event(ticket, EventKind.SECRET_REVEAL, actor)


def secret_wiped(ticket, actor, *, reason: str) -> TicketEvent:
    return _event(ticket, EventKind.SECRET_WIPE, actor, reason=reason)


def call_logged(ticket, actor, *, call) -> TicketEvent:
    return _event(
        ticket,
        EventKind.CALL,
        actor,
        call_id=call.id,
        seconds=int(call.duration.total_seconds()),
        message_id=call.message_id,
    )
