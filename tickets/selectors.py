"""Read queries shared by pages and the API, always scoped by who is asking."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.errors import NotFound
from helpdesk.request_cache import memo
from queues.models import Line, LineMembership
from tickets.models import (
    OPEN_STATUSES,
    Attachment,
    EventKind,
    Message,
    ReplyTemplate,
    Status,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketSecret,
)


def _customer_scope(user: User) -> Q:
    scope = Q(customer=user)
    profile = getattr(user, "customer_profile", None)
    if user.organisation_id and profile is not None and profile.can_see_organisation_tickets:
        scope |= Q(organisation_id=user.organisation_id)
    return scope


def customer_can_see_ticket(user: User, ticket: Ticket) -> bool:
    if not user.is_customer:
        return False
    if ticket.customer_id == user.id:
        return True
    profile = getattr(user, "customer_profile", None)
    return bool(
        user.organisation_id
        and ticket.organisation_id == user.organisation_id
        and profile is not None
        and profile.can_see_organisation_tickets
    )


def member_line_ids(user: User) -> list[int]:
    """Every line the user is a member of, active or not: a line closed to new tickets keeps
    the ones it holds visible to its members until they are moved on. Taking tickets reads
    only the active ones (queues.selectors.active_line_ids). Read once per request
    (helpdesk.request_cache): a ticket's page asks it for the ticket, the work on it, the
    customer's card and the related tickets."""
    lines = memo(
        ("member_line_ids", user.pk),
        lambda: tuple(LineMembership.objects.filter(user=user).values_list("line_id", flat=True)),
    )
    return list(lines)


def is_line_member(user: User, line_id: int | None) -> bool:
    return line_id is not None and line_id in member_line_ids(user)


def can_work_ticket(user: User, ticket: Ticket) -> bool:
    """Staff of the ticket's current line, or management."""
    if not user.is_authenticated or not user.is_support_staff:
        return False
    if user.is_management:
        return True
    return is_line_member(user, ticket.line_id)


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    """Customers: their own (or their organisation's, when allowed). Agents: their lines' and
    those they worked on. Management: all."""
    tickets = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    if user.is_customer:
        return tickets.filter(_customer_scope(user))
    if user.is_management:
        return tickets
    if user.is_support_staff:
        worked = TicketEvent.objects.filter(ticket=OuterRef("pk"), actor=user)
        return tickets.filter(Q(line_id__in=member_line_ids(user)) | Q(assignee=user) | Exists(worked))
    return tickets.none()


def ticket_list(
    *,
    user: User,
    status: str | None = None,
    line: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    urgency: str | None = None,
    category: str | None = None,
    open_only: bool = False,
    visible: QuerySet[Ticket] | None = None,
) -> QuerySet[Ticket]:
    """A list page's tickets, newest activity first, with what the list shows loaded in bulk.
    `visible`: `tickets_visible_to(user)` read already (a page of several lists reads the
    user's lines once)."""
    tickets = visible if visible is not None else tickets_visible_to(user)
    tickets = tickets.select_related("line", "assignee__agent_profile", "customer__agent_profile")
    if status:
        tickets = tickets.filter(status=status)
    if open_only:
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    if line:
        tickets = tickets.filter(line__code=line)
    if urgency:
        tickets = tickets.filter(urgency=urgency)
    if category:
        tickets = tickets.filter(category=category)
    if assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    if search:
        # Full text (numbers too: `502` finds ticket 502 and those that mention 502). Imported
        # here: tickets.search reads the scope from this module.
        from tickets.search import matching

        tickets = matching(tickets, user=user, text=search)
    return tickets.order_by("-last_activity_at", "-id")


def ticket_get(*, user: User, number: int, related: tuple[str, ...] = ()) -> Ticket:
    """One ticket the user may see, or NotFound (also for tickets that exist but are not theirs).

    With what its pages show beside it in the same query: the assignee's display name, whether
    access data is stored (`access_data_stored`), and the relations named in `related`."""
    ticket = (
        tickets_visible_to(user)
        .select_related("line", "assignee__agent_profile", "customer", "organisation", *related)
        .annotate(access_data_stored=Exists(TicketSecret.objects.filter(ticket_id=OuterRef("pk"))))
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise NotFound(_("No such ticket."))
    return ticket


def ticket_thread(*, ticket: Ticket, user: User) -> list[Message]:
    """Messages in order; customers never see internal notes."""
    messages = ticket.messages.select_related("author", "author__agent_profile").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )
    if user.is_customer:
        messages = messages.exclude(kind=Message.Kind.NOTE)
    return list(messages)


@dataclass(frozen=True)
class Conversation:
    """A ticket's thread as `ticket_thread` reads it, and the files attached to the ticket itself."""

    thread: list[Message]
    ticket_files: list[Attachment]


def ticket_conversation(*, ticket: Ticket, user: User) -> Conversation:
    """The thread and every file of the ticket in two queries: the messages the user may read,
    then the ticket's files, each message's given to it as its prefetched `attachments`, the
    others (those of notes, for a customer) left out."""
    messages = ticket.messages.select_related("author", "author__agent_profile")
    if user.is_customer:
        messages = messages.exclude(kind=Message.Kind.NOTE)
    thread = list(messages)
    by_message: dict[int | None, list[Attachment]] = {message.id: [] for message in thread}
    by_message[None] = []
    for attachment in Attachment.objects.filter(ticket_id=ticket.pk).order_by("id"):
        if attachment.message_id in by_message:
            by_message[attachment.message_id].append(attachment)
    for message in thread:
        # As prefetch_related leaves them: `message.attachments.all()` reads no more.
        files = message.attachments.all()
        files._result_cache = by_message[message.id]
        setattr(files, "_prefetch_done", True)  # noqa: B010 - what prefetch_related sets
        setattr(message, "_prefetched_objects_cache", {"attachments": files})  # noqa: B010
    return Conversation(thread=thread, ticket_files=by_message[None])


def ticket_history(*, ticket: Ticket, user: User) -> list[TicketEvent]:
    """The audit trail; customers do not see what concerns internal notes."""
    history = ticket.events.select_related("actor__agent_profile").order_by("created_at", "id")
    if user.is_customer:
        note_ids = list(ticket.messages.filter(kind=Message.Kind.NOTE).values_list("id", flat=True))
        note_files = list(ticket.attachments.filter(message_id__in=note_ids).values_list("id", flat=True))
        history = history.exclude(kind=EventKind.MESSAGE, data__message_kind=Message.Kind.NOTE).exclude(
            kind=EventKind.ATTACHMENT, data__attachment_id__in=note_files
        )
    events = list(history)
    # The lines of the transfers, in one query, for their names in the reader's language.
    codes = {event.data.get(key) for event in events if event.kind == EventKind.TRANSFER for key in ("old", "new")}
    lines = {line.code: line for line in Line.objects.filter(code__in=codes - {None})} if codes else {}
    for event in events:
        if event.kind == EventKind.TRANSFER:
            # Read by tickets.history.change_text; not a field of the model.
            setattr(event, "lines", lines)  # noqa: B010
    return events


def ticket_stints(*, ticket: Ticket):
    return list(ticket.stints.select_related("line").order_by("entered_at", "id"))


def ticket_attachments(*, ticket: Ticket, user: User) -> list[Attachment]:
    attachments = ticket.attachments.select_related("message")
    if user.is_customer:
        attachments = attachments.exclude(message__kind=Message.Kind.NOTE)
    return list(attachments.order_by("id"))


def attachment_get(*, user: User, attachment_id: int) -> Attachment:
    attachment = (
        Attachment.objects.select_related("ticket", "message")
        .filter(id=attachment_id, ticket__in=tickets_visible_to(user))
        .first()
    )
    if attachment is None or (
        user.is_customer and attachment.message is not None and attachment.message.kind == Message.Kind.NOTE
    ):
        raise NotFound(_("No such file."))
    return attachment


def templates_for(*, ticket: Ticket, language: str | None = None) -> list[ReplyTemplate]:
    """The line's active reply templates; those in the ticket's language first."""
    templates = ReplyTemplate.objects.filter(line_id=ticket.line_id, is_active=True)
    if language:
        templates = templates.filter(language=language)
    return sorted(templates.order_by("position", "code"), key=lambda template: template.language != ticket.language)


def active_lines() -> QuerySet[Line]:
    return Line.objects.filter(is_active=True).order_by("position", "code")


def transfer_targets(*, ticket: Ticket) -> list[Line]:
    return list(active_lines().exclude(id=ticket.line_id))


def ticket_counts_for_customer(*, user: User) -> dict[str, int]:
    return tickets_visible_to(user).aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        waiting_for_you=Count("id", filter=Q(status=Status.WAITING_CUSTOMER)),
        resolved=Count("id", filter=Q(status=Status.RESOLVED)),
    )


def ticket_list_for_customer(*, user: User) -> QuerySet[Ticket]:
    return ticket_list(user=user)


def _line_count(statuses: list[str]) -> Coalesce:
    """The number of the line's tickets in these statuses, read from the index on (line, status, ...)."""
    tickets = (
        Ticket.objects.filter(line=OuterRef("pk"), status__in=statuses)
        .order_by()
        .values("line")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(tickets, output_field=IntegerField()), 0)


def line_overview(*, lines: QuerySet[Line]) -> QuerySet[Line]:
    """Lines with the number of tickets in each open status, in one query.

    Each count is a subquery over the line's tickets in those statuses alone, answered from the
    index that starts with (line, status): joining the lines to all their tickets made
    PostgreSQL read every closed ticket too (439,478 rows for 11,069 open ones at a million).
    """
    return lines.annotate(
        waiting=_line_count([Status.NEW, Status.WAITING_AGENT]),
        in_progress=_line_count([Status.IN_PROGRESS]),
        waiting_customer=_line_count([Status.WAITING_CUSTOMER]),
    ).order_by("position", "code")


def lines_for_agent(*, user: User) -> QuerySet[Line]:
    if user.is_management:
        return Line.objects.filter(is_active=True)
    return Line.objects.filter(is_active=True, memberships__user=user)


def tickets_assigned_to(*, user: User, limit: int = 20) -> list[Ticket]:
    return list(
        Ticket.objects.filter(assignee=user, status__in=OPEN_STATUSES)
        .select_related("line", "customer")
        .order_by("last_activity_at")[:limit]
    )


def messages_since(*, ticket: Ticket, user: User, after: int) -> list[Message]:
    """Messages written by someone other than `user` after the message `after` (an id; 0 for
    the start), among those `user` may read: what a writer has not seen yet (collision warning)."""
    messages = (
        ticket.messages.filter(id__gt=after, author__isnull=False)
        .exclude(author=user)
        .select_related("author", "author__agent_profile")
        .order_by("id")
    )
    if user.is_customer:
        messages = messages.exclude(kind=Message.Kind.NOTE)
    return list(messages)


def ticket_related(*, ticket: Ticket, user: User) -> list[Ticket]:
    """The tickets marked as related to this one (tickets.services.ticket_link) that the user may
    see, and those merged into it, newest first."""
    links = TicketLink.objects.filter(Q(first=ticket) | Q(second=ticket)).values_list("first_id", "second_id")
    ids = {other for pair in links for other in pair if other != ticket.pk}
    related = tickets_visible_to(user).filter(Q(pk__in=ids) | Q(merged_into=ticket)).select_related("line")
    return list(related.order_by("-number")[:50])
