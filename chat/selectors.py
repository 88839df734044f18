"""Reads of the chat, scoped by who asks: a chat and its messages, the queue and a chat's place
in it, whether the chats' line is at work, what the agents' console shows beside a chat."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from chat.models import OPEN_CHAT_STATUSES, Chat, ChatMessage, ChatSettings, ChatStatus
from chat.policy import Participant, can_view
from helpdesk.errors import NotFound
from queues.models import Line
from shifts.selectors import line_has_roster, on_duty
from sla.calendar import is_working_time
from tickets.models import ReplyTemplate, Ticket
from tickets.selectors import member_line_ids, tickets_visible_to

# How many messages one read hands back (a reconnect asks again from the last one it got).
PAGE = 500


def chat_line(config: ChatSettings | None = None) -> Line | None:
    """The line that handles chats: the setting, or the first line (active tier, lowest level)."""
    config = config or ChatSettings.current()
    if config.line_id is not None and config.line is not None and config.line.is_active:
        return config.line
    return (
        Line.objects.filter(kind=Line.Kind.TIER, is_active=True, level__isnull=False)
        .order_by("level", "position", "code")
        .first()
    )


def line_is_open(*, line: Line, at: dt.datetime | None = None) -> bool:
    """Whether someone answers chats on the line now: its roster when it has one (somebody on
    duty), otherwise its working hours (no calendar: 24/7)."""
    at = at or timezone.now()
    if line_has_roster(line_id=line.pk):
        return bool(on_duty(line_id=line.pk, at=at))
    calendar = line.calendar if line.calendar_id is not None else None
    if calendar is None:
        return True
    return is_working_time(calendar.as_calendar(), at)


def staff_line_ids(user: User) -> set[int]:
    return set(member_line_ids(user)) if user.is_support_staff else set()


def participant_lines(who: Participant) -> set[int]:
    return staff_line_ids(who.user) if who.user is not None and who.is_staff else set()


def chat_get(*, who: Participant, chat_id: int, for_update: bool = False) -> Chat:
    """A chat its viewer may see; NotFound for anyone else (which also hides that it exists)."""
    chats = Chat.objects.select_related("customer", "agent", "line", "ticket")
    if for_update:
        chats = chats.select_for_update(of=("self",))
    chat = chats.filter(pk=chat_id).first()
    if chat is None or not can_view(chat, who, participant_lines(who)):
        raise NotFound(_("No such chat."), code="chat_not_found")
    return chat


def chat_to_post_in(*, who: Participant, chat_id: int, client_id: str = "") -> Chat:
    """`chat_get` for storing a message, in one statement: the chat's row locked, with no more than
    a message needs (the customer and the profile behind their name), and the id of the message
    already stored with `client_id`, if any, as `earlier_message_id` (a resend). Every message
    runs it, so it is lean: no ORDER BY, no joins the message does not use."""
    chats = Chat.objects.select_related("customer", "customer__agent_profile").select_for_update(of=("self",))
    chats = chats.order_by()
    if client_id:
        earlier = ChatMessage.objects.filter(chat=OuterRef("pk"), client_id=client_id).order_by().values("pk")[:1]
        chats = chats.annotate(earlier_message_id=Subquery(earlier))
    found = list(chats.filter(pk=chat_id)[:1])
    chat = found[0] if found else None
    if chat is None or not can_view(chat, who, participant_lines(who)):
        raise NotFound(_("No such chat."), code="chat_not_found")
    return chat


def chat_list(*, user: User, status: str | None = None) -> QuerySet[Chat]:
    """Customers: their own chats. Agents: their lines' and their own. Management: all."""
    chats = Chat.objects.select_related("customer", "agent", "line", "ticket")
    if not user.is_authenticated or not user.is_active:
        return chats.none()
    if user.is_customer:
        chats = chats.filter(customer=user)
    elif user.is_support_staff and not user.is_management:
        chats = chats.filter(Q(line_id__in=staff_line_ids(user)) | Q(agent=user))
    elif not user.is_management:
        return chats.none()
    if status:
        chats = chats.filter(status=status)
    return chats.order_by("-created_at", "-id")


def messages_after(*, chat: Chat, seq: int = 0, limit: int = PAGE) -> list[ChatMessage]:
    """The chat's messages numbered above `seq`, in order (what a reconnecting page missed)."""
    return list(
        ChatMessage.objects.filter(chat=chat, seq__gt=max(0, seq)).select_related("author").order_by("seq")[:limit]
    )


def queue_position(*, chat: Chat) -> int | None:
    """1 for the next chat an agent of the line accepts; None when the chat does not wait."""
    if chat.status != ChatStatus.WAITING or chat.virtual_time is None or chat.line_id is None:
        return None
    ahead = Chat.objects.filter(status=ChatStatus.WAITING, line_id=chat.line_id).filter(
        Q(virtual_time__lt=chat.virtual_time) | Q(virtual_time=chat.virtual_time, id__lt=chat.pk)
    )
    return ahead.count() + 1


def waiting_chats(*, line_ids: set[int] | list[int], limit: int = 100) -> list[Chat]:
    """The waiting chats of these lines in the order agents accept them."""
    return list(
        Chat.objects.filter(status=ChatStatus.WAITING, line_id__in=list(line_ids))
        .select_related("customer", "line")
        .order_by("virtual_time", "id")[:limit]
    )


def console_lines(*, user: User) -> set[int]:
    """The lines whose waiting chats an agent's console shows: their own lines; management: all."""
    if user.is_management:
        return set(Line.objects.filter(is_active=True).values_list("pk", flat=True))
    return staff_line_ids(user)


def agent_chats(*, user: User) -> list[Chat]:
    """The open chats an agent is in (several at once)."""
    return list(
        Chat.objects.filter(agent=user, status__in=OPEN_CHAT_STATUSES)
        .select_related("customer", "line", "ticket")
        .order_by("accepted_at", "id")
    )


def customer_tickets(*, chat: Chat, user: User, limit: int = 10) -> list[Ticket]:
    """The chat customer's recent tickets, as far as the agent may see them (beside the chat)."""
    customer = chat.customer
    if customer is None and chat.visitor_email:
        customer = User.objects.filter(email__iexact=chat.visitor_email, role="customer").order_by("-is_active").first()
    if customer is None:
        return []
    return list(
        tickets_visible_to(user).filter(customer=customer).select_related("line").order_by("-last_activity_at")[:limit]
    )


def reply_templates(*, chat: Chat, language: str) -> list[ReplyTemplate]:
    """The active reply templates of the chat's line in the agent's language (English if none)."""
    if chat.line_id is None:
        return []
    templates = ReplyTemplate.objects.filter(line_id=chat.line_id, is_active=True)
    found = list(templates.filter(language=language))
    return found or list(templates.filter(language="en"))


def transfer_targets(*, chat: Chat) -> tuple[list[User], list[Line]]:
    """Who a chat may be handed to: the active agents of its line, and the other active lines."""
    lines = Line.objects.filter(is_active=True).order_by("position", "code")
    if chat.line_id is None:
        return [], list(lines)
    agents = User.objects.filter(line_memberships__line_id=chat.line_id, is_active=True)
    if chat.agent_id is not None:
        agents = agents.exclude(pk=chat.agent_id)
    return list(agents.order_by("first_name", "username").distinct()), list(lines.exclude(pk=chat.line_id))


# --- what sockets and the API send ---------------------------------------------------------


def author_name(message: ChatMessage, chat: Chat) -> str:
    if message.author_kind == "customer":
        return chat.customer_name
    if message.author_kind == "agent" and message.author is not None:
        return message.author.first_name or message.author.display_name
    if message.author_kind == "bot":
        return _("Bot")
    return ""


def message_dict(message: ChatMessage, chat: Chat) -> dict:
    return {
        "id": message.pk,
        "chat": chat.pk,
        "seq": message.seq,
        "client_id": message.client_id,
        "author_kind": message.author_kind,
        "author_name": author_name(message, chat),
        "body": message.body,
        "data": message.data,
        "created_at": message.created_at.isoformat(),
    }


def chat_state(chat: Chat) -> dict:
    """What a page shows about a chat besides its messages (the position is read now)."""
    agent = chat.agent
    return {
        "chat": chat.pk,
        "status": chat.status,
        "status_label": str(ChatStatus(chat.status).label),
        "position": queue_position(chat=chat),
        "offline": chat.offline,
        "line": chat.line_id,
        "agent": agent.pk if agent is not None else None,
        "agent_name": (agent.first_name or agent.display_name) if agent is not None else "",
        "ticket": chat.ticket.number if chat.ticket_id is not None and chat.ticket is not None else None,
        "last_seq": chat.last_seq,
        "customer_read_seq": chat.customer_read_seq,
        "agent_read_seq": chat.agent_read_seq,
        "rating": chat.rating,
        "customer_name": chat.customer_name,
    }


def waiting_dict(chat: Chat, now: dt.datetime) -> dict:
    return {
        "chat": chat.pk,
        "customer_name": chat.customer_name,
        "line": chat.line_id,
        "queued_at": chat.queued_at.isoformat() if chat.queued_at else None,
        "wait_seconds": int((now - chat.queued_at).total_seconds()) if chat.queued_at else 0,
    }
