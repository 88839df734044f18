"""Every change to a chat: guarded, in a transaction, with its audit event (ChatEvent).

The only code that writes chat rows. Sockets (chat.consumers), pages and the API call these
functions with who is asking (a `Participant`: a signed-in user or the holder of a visitor's
token); the guards here decide. A message is written to PostgreSQL, with the chat's next
sequence number, before anything is broadcast: what a service has to tell the sockets is
published to the channel layer only once its transaction has committed, and a broadcast
that fails (Redis away) loses nothing, since every page catches up from the last number it
saw. A chat becomes a ticket through tickets.services (ticket_create, ticket_add_transcript).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import User
from accounts.services import customer_for_address, placeholder_for_staff_address
from chat import bot, policy, selectors
from chat.models import (
    AuthorKind,
    Chat,
    ChatEvent,
    ChatEventKind,
    ChatMessage,
    ChatSettings,
    ChatStatus,
    Rating,
)
from chat.policy import Participant
from helpdesk.errors import Conflict, DomainError, PermissionDenied
from queues.models import Line, QueuePolicy
from tickets import services as ticket_services
from tickets.models import Category, Channel, Ticket

logger = logging.getLogger(__name__)

NAME_MAX = 150
COMMENT_MAX = 1000
SUBJECT_MAX = 200


# --- groups and publishing -----------------------------------------------------------------


def chat_group(chat_id: int) -> str:
    return f"chat-{chat_id}"


def line_group(line_id: int) -> str:
    return f"chat-line-{line_id}"


def agent_group(user_id: int) -> str:
    return f"chat-agent-{user_id}"


def _send(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "chat.event", **payload})
    except Exception:  # Redis away: the rows are stored; pages catch up by number when they reconnect.
        logger.warning("chat broadcast to %s failed", group, exc_info=True)


# Set by a socket around a service call: what the call has to broadcast is collected here once
# committed, and the socket sends it from its own event loop (no thread waits for Redis).
PUBLISH_SINK: contextvars.ContextVar[list[tuple[str, dict]] | None] = contextvars.ContextVar(
    "chat_publish_sink", default=None
)


def _publish(group: str, payload: dict) -> None:
    """Broadcast once the transaction commits (never what could still be rolled back)."""
    sink = PUBLISH_SINK.get()
    if sink is not None:
        transaction.on_commit(lambda: sink.append((group, payload)))
    else:
        transaction.on_commit(lambda: _send(group, payload))


def _publish_message(chat: Chat, message: ChatMessage) -> None:
    _publish(
        chat_group(chat.pk), {"event": "message", "chat": chat.pk, "message": selectors.message_dict(message, chat)}
    )


def _publish_state(chat: Chat) -> None:
    _publish(chat_group(chat.pk), {"event": "state", "chat": chat.pk})


def _publish_queue(*line_ids: int | None) -> None:
    for line_id in {line_id for line_id in line_ids if line_id is not None}:
        _publish(line_group(line_id), {"event": "queue", "line": line_id})


# --- helpers -----------------------------------------------------------------------------


def _event(chat: Chat, kind: str, actor: User | None, **data) -> ChatEvent:
    return ChatEvent.objects.create(chat=chat, kind=kind, actor=actor, data=data)


def _lock(chat_id: int, who: Participant) -> Chat:
    return selectors.chat_get(who=who, chat_id=chat_id, for_update=True)


def _append(
    chat: Chat, *, kind: str, body: str, author: User | None = None, client_id: str = "", data: dict | None = None
) -> ChatMessage:
    """The chat's next message (the chat row is locked by the caller), broadcast after commit."""
    chat.last_seq += 1
    message = ChatMessage.objects.create(
        chat=chat,
        seq=chat.last_seq,
        client_id=client_id,
        author_kind=kind,
        author=author,
        body=body,
        data=data or {},
        created_at=timezone.now(),
    )
    fields = ["last_seq"]
    if kind == AuthorKind.CUSTOMER:
        chat.customer_read_seq = chat.last_seq
        fields.append("customer_read_seq")
    elif kind == AuthorKind.AGENT:
        chat.agent_read_seq = chat.last_seq
        fields.append("agent_read_seq")
    chat.save(update_fields=fields)
    _publish_message(chat, message)
    return message


def _system(chat: Chat, body: str, **data) -> ChatMessage:
    return _append(chat, kind=AuthorKind.SYSTEM, body=body, data=data)


def _require_staff_of(chat: Chat, who: Participant, line: Line | None = None) -> User:
    """Staff of the chat's (or the given) line, or management; PermissionDenied for other staff."""
    user = who.user
    if user is None or not who.is_staff:
        raise PermissionDenied(_("Only support staff may do this."))
    target = line or chat.line
    line_id = target.pk if target is not None else None
    if user.is_management or line_id in selectors.staff_line_ids(user):
        return user
    raise PermissionDenied(_("Only agents of the chat's line may do this."), code="not_your_line")


def _clean_body(body: object, config: ChatSettings) -> str:
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise DomainError(_("A message must not be empty."), code="required", field="body")
    if len(text) > config.max_message_chars:
        raise DomainError(
            _("A message is at most %(max)d characters long.") % {"max": config.max_message_chars},
            code="too_long",
            field="body",
        )
    return text


def _enqueue(chat: Chat, line: Line, now: dt.datetime) -> None:
    profile = getattr(chat.customer, "customer_profile", None) if chat.customer is not None else None
    order = policy.queue_order(profile=profile, now=now, policy=QueuePolicy.current())
    chat.line = line
    chat.status = ChatStatus.WAITING
    chat.agent = None
    chat.queued_at = order.queued_at
    chat.credit_minutes = order.credit_minutes
    chat.weight_parts = order.parts
    chat.virtual_time = order.virtual_time


QUEUE_FIELDS = ["line", "status", "agent", "queued_at", "credit_minutes", "weight_parts", "virtual_time"]


# --- starting and writing ----------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    chat: Chat
    token: str  # the visitor's token ("" for a signed-in customer)


@transaction.atomic
def chat_start(*, user: User | None, name: str = "", email: str = "", language: str = "en") -> Started:
    """A new chat: a signed-in customer's, or an anonymous visitor's, who gives a name and an
    e-mail address and gets a signed token for this chat only. The bot greets first."""
    language = language if language in ("en", "ru") else "en"
    chat = Chat(language=language)
    if user is not None and user.is_authenticated:
        if not user.is_customer or not user.is_active:
            raise PermissionDenied(_("Chats are started by customers."), code="not_a_customer")
        chat.customer = user
    else:
        name = (name or "").strip()
        email = (email or "").strip()
        if not name:
            raise DomainError(_("Give your name."), code="required", field="name")
        if len(name) > NAME_MAX:
            raise DomainError(_("The name is too long."), code="too_long", field="name")
        try:
            validate_email(email)
        except ValidationError as exc:
            raise DomainError(_("Give a valid e-mail address."), code="invalid_email", field="email") from exc
        chat.visitor_name, chat.visitor_email = name, email
        chat.visitor_key = secrets.token_hex(16)
    chat.save()
    _event(chat, ChatEventKind.STARTED, chat.customer, visitor=chat.customer is None)
    config = ChatSettings.current()
    if config.bot_enabled:
        greeting = bot.greeting(language=language)
        _append(chat, kind=AuthorKind.BOT, body=greeting.body, data=greeting.data)
    token = policy.sign_visitor(chat) if chat.customer is None else ""
    logger.info("chat started: id=%s visitor=%s", chat.pk, chat.customer is None)
    return Started(chat=chat, token=token)


@dataclass(frozen=True)
class Posted:
    message: ChatMessage
    duplicate: bool  # the same client id was stored before: nothing new was written


@transaction.atomic
def _post(chat_id: int, who: Participant, body: object, client_id: str) -> tuple[Posted, Chat]:
    """BEGIN, the chat's row locked and a stored resend looked for (one statement), the message,
    the chat's number, COMMIT."""
    text = _clean_body(body, ChatSettings.cached())
    chat = selectors.chat_to_post_in(who=who, chat_id=chat_id, client_id=client_id)
    if not policy.can_speak(chat, who):
        if chat.status == ChatStatus.CLOSED:
            raise Conflict(_("This chat is closed."), code="chat_closed")
        raise PermissionDenied(_("You may not write in this chat."), code="not_in_chat")
    earlier_id = getattr(chat, "earlier_message_id", None)
    if earlier_id is not None:
        earlier = ChatMessage.objects.select_related("author").get(pk=earlier_id)
        return Posted(message=earlier, duplicate=True), chat
    if policy.is_customer_side(chat, who):
        message = _append(chat, kind=AuthorKind.CUSTOMER, body=text, author=who.user, client_id=client_id)
    else:
        message = _append(chat, kind=AuthorKind.AGENT, body=text, author=who.user, client_id=client_id)
    return Posted(message=message, duplicate=False), chat


def chat_post(*, chat_id: int, who: Participant, body: object, client_id: str = "") -> Posted:
    """A message from the chat's customer or its agent, with the chat's next number. A resend
    (the same client id) returns the stored message and writes nothing. While the chat is
    with the bot, the bot answers; when it does not know, the chat goes on to a person."""
    client_id = policy.clean_client_id(client_id)
    try:
        posted, chat = _post(chat_id, who, body, client_id)
    except IntegrityError:
        if not client_id:
            raise
        # The same client id was stored by a resend that committed while this one waited for the
        # chat's lock (the locking read looked for it before the wait): now it is found.
        posted, chat = _post(chat_id, who, body, client_id)
    if not posted.duplicate and chat.status == ChatStatus.BOT and posted.message.author_kind == AuthorKind.CUSTOMER:
        _bot_answers(chat_id, who, posted.message)
    return posted


def _bot_answers(chat_id: int, who: Participant, question: ChatMessage) -> None:
    config = ChatSettings.current()
    if not config.bot_enabled:
        return
    with transaction.atomic():
        chat = _lock(chat_id, who)
        answer_user = chat.customer
    # The search runs outside the lock; the answer is stored only if the chat is still the bot's.
    found = bot.reply(question=question.body, language=chat.language, user=answer_user)
    with transaction.atomic():
        chat = _lock(chat_id, who)
        if chat.status != ChatStatus.BOT:
            return
        _append(chat, kind=AuthorKind.BOT, body=found.body, data=found.data)
    if not found.knows:
        chat_handoff(chat_id=chat_id, who=who)


@transaction.atomic
def chat_handoff(*, chat_id: int, who: Participant) -> Chat:
    """ "Talk to a person": the chat joins the queue of the line that handles chats, in the tickets'
    weighted order; outside that line's working hours the customer is offered to leave a message."""
    chat = _lock(chat_id, who)
    if not policy.is_customer_side(chat, who):
        raise PermissionDenied(_("Only the customer can ask for a person."), code="not_in_chat")
    if chat.status != ChatStatus.BOT:
        if chat.status == ChatStatus.CLOSED:
            raise Conflict(_("This chat is closed."), code="chat_closed")
        return chat  # already waiting or with an agent
    line = selectors.chat_line()
    now = timezone.now()
    with override(chat.language):
        if line is None or not selectors.line_is_open(line=line, at=now):
            if not chat.offline:
                chat.offline = True
                chat.save(update_fields=["offline"])
                _event(chat, ChatEventKind.OFFLINE, who.actor, line=line.code if line else None)
                _system(chat, _("Our agents are not at work now. Leave us a message and we will answer by e-mail."))
                _publish_state(chat)
            return chat
        _enqueue(chat, line, now)
        chat.offline = False
        chat.save(update_fields=[*QUEUE_FIELDS, "offline"])
        _event(chat, ChatEventKind.HANDOFF, who.actor, line=line.code, credit_minutes=chat.credit_minutes)
        _system(chat, _("You are in the queue; an agent will join you shortly."))
    _publish_state(chat)
    _publish_queue(line.pk)
    return chat


def _ticket_customer(chat: Chat) -> tuple[User, bool]:
    """Whom a ticket made of the chat is filed for, and whether that sender is verified (a signed-in
    customer is; a visitor's typed address is not, as on the contact form)."""
    if chat.customer is not None:
        return chat.customer, True
    customer, _matched = customer_for_address(email=chat.visitor_email, name=chat.visitor_name)
    if not customer.is_customer:
        customer = placeholder_for_staff_address(email=chat.visitor_email, name=chat.visitor_name)
    return customer, False


@transaction.atomic
def chat_leave_message(*, chat_id: int, who: Participant, body: object) -> Ticket:
    """Outside working hours: the customer's message becomes a ticket (with the conversation so far
    as its description) and the chat closes, linked to it."""
    chat = _lock(chat_id, who)
    if not policy.is_customer_side(chat, who):
        raise PermissionDenied(_("Only the customer can leave a message."), code="not_in_chat")
    if chat.status == ChatStatus.CLOSED:
        raise Conflict(_("This chat is closed."), code="chat_closed")
    text = _clean_body(body, ChatSettings.current())
    customer, verified = _ticket_customer(chat)
    earlier = [m.body for m in chat.messages.filter(author_kind=AuthorKind.CUSTOMER).order_by("seq")]
    description = "\n\n".join([*earlier, text])
    with override(chat.language):
        subject = _("Message from the chat: %(text)s") % {"text": text.splitlines()[0][:120]}
        ticket = ticket_services.ticket_create(
            customer=customer,
            subject=subject[:SUBJECT_MAX],
            body=description,
            category=Category.GENERAL,
            channel=Channel.CHAT,
            allow_inactive=True,
            sender_verified=verified,
        )
        _append(chat, kind=AuthorKind.CUSTOMER, body=text, author=who.user)
        chat.ticket = ticket
        chat.status = ChatStatus.CLOSED
        chat.closed_at = timezone.now()
        chat.save(update_fields=["ticket", "status", "closed_at"])
        _event(chat, ChatEventKind.LEFT_MESSAGE, who.actor, ticket=ticket.number)
        _system(
            chat,
            _("Thank you. Your message is request #%(number)s; we will answer by e-mail.") % {"number": ticket.number},
        )
    _publish_state(chat)
    return ticket


# --- the agents' side ----------------------------------------------------------------------


@transaction.atomic
def chat_accept(*, chat_id: int, who: Participant) -> Chat:
    """An agent of the chat's line takes a waiting chat (agents hold several at once)."""
    chat = _lock(chat_id, who)
    agent = _require_staff_of(chat, who)
    if chat.status == ChatStatus.ACTIVE and chat.agent_id == agent.pk:
        raise Conflict(_("You already have this chat."), code="already_yours")
    if chat.status != ChatStatus.WAITING:
        raise Conflict(_("This chat is not waiting for an agent."), code="not_waiting")
    chat.status = ChatStatus.ACTIVE
    chat.agent = agent
    chat.accepted_at = timezone.now()
    chat.save(update_fields=["status", "agent", "accepted_at"])
    wait = (chat.accepted_at - chat.queued_at).total_seconds() if chat.queued_at else None
    _event(chat, ChatEventKind.ACCEPTED, agent, wait_seconds=wait)
    with override(chat.language):
        _system(chat, _("%(name)s has joined the chat.") % {"name": agent.first_name or agent.display_name})
    _publish_state(chat)
    _publish_queue(chat.line_id)
    return chat


@transaction.atomic
def chat_transfer(
    *, chat_id: int, who: Participant, to_agent_id: int | None = None, to_line_id: int | None = None
) -> Chat:
    """Hand an open chat to another agent of its line (who has it at once) or to another line
    (where it waits in that line's queue, keeping nothing of its old place)."""
    if (to_agent_id is None) == (to_line_id is None):
        raise DomainError(_("Name either an agent or a line."), code="invalid", field="agent")
    chat = _lock(chat_id, who)
    actor = _require_staff_of(chat, who)
    if chat.status not in (ChatStatus.WAITING, ChatStatus.ACTIVE):
        raise Conflict(_("Only a chat that waits or is with an agent can be transferred."), code="not_open")
    if chat.status == ChatStatus.ACTIVE and chat.agent_id != actor.pk and not actor.is_management:
        raise PermissionDenied(_("Only the agent the chat is with may hand it on."), code="not_your_chat")
    old_line, old_agent = chat.line, chat.agent
    with override(chat.language):
        if to_agent_id is not None:
            target = User.objects.filter(pk=to_agent_id, is_active=True).first()
            if target is None or not target.is_support_staff:
                raise DomainError(_("No such agent."), code="invalid", field="agent")
            if not target.is_management and chat.line_id not in selectors.staff_line_ids(target):
                raise DomainError(_("That agent does not work in the chat's line."), code="not_in_line", field="agent")
            if target.pk == chat.agent_id:
                raise Conflict(_("The chat is already with that agent."), code="already_theirs")
            chat.status = ChatStatus.ACTIVE
            chat.agent = target
            chat.accepted_at = timezone.now()
            chat.save(update_fields=["status", "agent", "accepted_at"])
            _event(chat, ChatEventKind.TRANSFERRED, actor, to_agent=target.username,
                   from_agent=old_agent.username if old_agent else None)  # fmt: skip
            _system(chat, _("%(name)s has taken over the chat.") % {"name": target.first_name or target.display_name})
            _publish(agent_group(target.pk), {"event": "assigned", "chat": chat.pk})
        else:
            line = Line.objects.filter(pk=to_line_id or 0, is_active=True).first()
            if line is None:
                raise DomainError(_("No such line."), code="invalid", field="line")
            if line.pk == chat.line_id and chat.status == ChatStatus.WAITING:
                raise Conflict(_("The chat already waits in that line."), code="already_there")
            _enqueue(chat, line, timezone.now())
            chat.save(update_fields=QUEUE_FIELDS)
            _event(chat, ChatEventKind.TRANSFERRED, actor, to_line=line.code,
                   from_line=old_line.code if old_line else None)  # fmt: skip
            _system(
                chat, _("You were passed on to %(line)s; please wait.") % {"line": line.localized_name(chat.language)}
            )
            _publish_queue(line.pk)
    _publish_state(chat)
    _publish_queue(old_line.pk if old_line else None)
    return chat


def _transcript(chat: Chat) -> list[ticket_services.TranscriptEntry]:
    entries = []
    for message in chat.messages.select_related("author").order_by("seq"):
        if message.author_kind == AuthorKind.SYSTEM:
            continue
        author = message.author
        if message.author_kind == AuthorKind.CUSTOMER:
            author = chat.ticket.customer if chat.ticket is not None else author
        body = message.body
        if message.author_kind == AuthorKind.BOT:
            author = None
            titles = [f"{a['title']} ({a['url']})" for a in message.data.get("articles", [])]
            body = "\n".join([_("Bot:") + " " + body, *titles])
        entries.append(ticket_services.TranscriptEntry(author=author, body=body, created_at=message.created_at))
    return entries


@transaction.atomic
def chat_convert(*, chat_id: int, who: Participant, subject: str = "", category: str = Category.GENERAL) -> Ticket:
    """The question needs a ticket (diagnostics, access data): a ticket is filed for the chat's
    customer, its first messages are the chat's transcript, and the chat closes linked to it."""
    chat = _lock(chat_id, who)
    actor = _require_staff_of(chat, who)
    if chat.ticket_id is not None:
        raise Conflict(_("This chat is already a ticket."), code="already_converted")
    if chat.status == ChatStatus.ACTIVE and chat.agent_id != actor.pk and not actor.is_management:
        raise PermissionDenied(_("Only the agent the chat is with may convert it."), code="not_your_chat")
    if chat.status == ChatStatus.CLOSED:
        raise Conflict(_("This chat is closed."), code="chat_closed")
    customer, verified = _ticket_customer(chat)
    asked = [m.body for m in chat.messages.filter(author_kind=AuthorKind.CUSTOMER).order_by("seq")]
    with override(chat.language):
        subject = (subject or "").strip() or (asked[0].splitlines()[0] if asked else _("Chat conversation"))
        body = "\n\n".join(asked) or _("Chat conversation")
        ticket = ticket_services.ticket_create(
            customer=customer,
            created_by=actor,
            subject=subject[:SUBJECT_MAX],
            body=body,
            category=category,
            channel=Channel.CHAT,
            allow_inactive=True,
            sender_verified=verified,
        )
        chat.ticket = ticket
        ticket_services.ticket_add_transcript(ticket=ticket, actor=actor, entries=_transcript(chat))
        chat.status = ChatStatus.CLOSED
        chat.closed_at = timezone.now()
        chat.save(update_fields=["ticket", "status", "closed_at"])
        _event(chat, ChatEventKind.CONVERTED, actor, ticket=ticket.number)
        _system(
            chat, _("This conversation is now request #%(number)s; we will go on there.") % {"number": ticket.number}
        )
    _publish_state(chat)
    _publish_queue(chat.line_id)
    return ticket


@transaction.atomic
def chat_close(*, chat_id: int, who: Participant) -> Chat:
    """The customer, the chat's agent, or staff of its line end the chat."""
    chat = _lock(chat_id, who)
    if not policy.is_customer_side(chat, who):
        actor = _require_staff_of(chat, who)
        if chat.status == ChatStatus.ACTIVE and chat.agent_id != actor.pk and not actor.is_management:
            raise PermissionDenied(_("Only the agent the chat is with may close it."), code="not_your_chat")
    if chat.status == ChatStatus.CLOSED:
        raise Conflict(_("This chat is closed."), code="chat_closed")
    was_waiting = chat.status == ChatStatus.WAITING
    chat.status = ChatStatus.CLOSED
    chat.closed_at = timezone.now()
    chat.save(update_fields=["status", "closed_at"])
    _event(chat, ChatEventKind.CLOSED, who.actor, by_customer=policy.is_customer_side(chat, who))
    with override(chat.language):
        _system(chat, _("The chat is closed. How did we do?"))
    _publish_state(chat)
    if was_waiting:
        _publish_queue(chat.line_id)
    return chat


@transaction.atomic
def chat_rate(*, chat_id: int, who: Participant, rating: str, comment: str = "") -> Chat:
    """The customer likes or dislikes the chat, with an optional comment (again: the new rating)."""
    chat = _lock(chat_id, who)
    if not policy.is_customer_side(chat, who):
        raise PermissionDenied(_("Only the customer rates a chat."), code="not_in_chat")
    if rating not in Rating.values:
        raise DomainError(_("Rate the chat with a like or a dislike."), code="invalid", field="rating")
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if len(comment) > COMMENT_MAX:
        raise DomainError(
            _("A comment is at most %(max)d characters long.") % {"max": COMMENT_MAX}, code="too_long", field="comment"
        )
    if chat.accepted_at is None and chat.status != ChatStatus.CLOSED:
        raise Conflict(_("A chat is rated once a person has answered or it is closed."), code="not_rateable")
    chat.rating, chat.rating_comment, chat.rated_at = rating, comment, timezone.now()
    chat.save(update_fields=["rating", "rating_comment", "rated_at"])
    _event(chat, ChatEventKind.RATED, who.actor, rating=rating, comment=comment)
    _publish_state(chat)
    return chat


@transaction.atomic
def chat_mark_read(*, chat_id: int, who: Participant, seq: int) -> Chat:
    """The customer or the chat's agent has read up to message `seq` (never moves back)."""
    chat = _lock(chat_id, who)
    seq = min(max(0, int(seq)), chat.last_seq)
    if policy.is_customer_side(chat, who):
        field = "customer_read_seq"
    elif policy.is_chat_agent(chat, who):
        field = "agent_read_seq"
    else:
        raise PermissionDenied(_("You may not write in this chat."), code="not_in_chat")
    if seq <= getattr(chat, field):
        return chat
    setattr(chat, field, seq)
    chat.save(update_fields=[field])
    _event(chat, ChatEventKind.READ, who.actor, field=field, seq=seq)
    _publish(chat_group(chat.pk), {"event": "read", "chat": chat.pk, "field": field, "seq": seq})
    return chat
