"""The chat's socket: `/ws/chat/`, one per page, for the customer's widget and the agents' console.

Thin: it reads who speaks (the session's user, or the visitor's signed token sent with `join`),
refuses oversized frames and frames over the rate limit, and hands every change to
chat.services (in a worker thread, database_sync_to_async); it never writes to the database
itself. Messages reach it from the channel layer once they are stored. Per chat it remembers
the last number it sent, so a page gets every message exactly once and in order: a number it
already sent is dropped, a gap is filled from the database, and `join` with `last_seq` sends
what the page missed while it was away (docs/chat.md).

Frames from the page (JSON, each may carry a `ref` that the answer repeats):
join {chat, last_seq, token?}, leave {chat}, send {chat, client_id, body}, typing {chat},
read {chat, seq}, handoff {chat}, leave_message {chat, body}, rate {chat, rating, comment},
accept {chat}, transfer {chat, agent | line}, convert {chat, subject?, category?}, close {chat},
console {}, ping {}.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from chat import selectors, services
from chat.models import ChatSettings, ChatStatus
from chat.policy import FRAME_MAX_BYTES, Participant, TokenBucket, can_speak, read_visitor_token
from helpdesk.errors import DomainError, NotFound

logger = logging.getLogger(__name__)

# Database work runs in the default executor's threads, several sockets' at once, not all in the
# one shared thread of thread_sensitive mode (each thread keeps its connection in the pool). A
# socket still handles its own frames one after another, so its messages keep their order.
# Their own pool: the loop's default one has min(32, cores + 4) threads, and a chat's database
# work mostly waits for PostgreSQL (the row lock, the commit), not for the processor.
DB_THREADS = 16
_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="chat-db")
_in_a_thread = functools.partial(database_sync_to_async, thread_sensitive=False, executor=_executor)

CLOSE_RATE_LIMITED = 4429


@dataclass
class Joined:
    who: Participant
    last_sent: int
    line_id: int | None
    status: str
    speaks: bool


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


@_in_a_thread
def _settings() -> ChatSettings:
    return ChatSettings.cached()


@_in_a_thread
def _join(who: Participant, chat_id: int, last_seq: int):
    chat = selectors.chat_get(who=who, chat_id=chat_id)
    missed = [selectors.message_dict(m, chat) for m in selectors.messages_after(chat=chat, seq=last_seq)]
    return chat, selectors.chat_state(chat), missed


@_in_a_thread
def _missed(who: Participant, chat_id: int, last_seq: int):
    chat = selectors.chat_get(who=who, chat_id=chat_id)
    return [selectors.message_dict(m, chat) for m in selectors.messages_after(chat=chat, seq=last_seq)]


@_in_a_thread
def _state(who: Participant, chat_id: int):
    chat = selectors.chat_get(who=who, chat_id=chat_id)
    return chat, selectors.chat_state(chat)


@_in_a_thread
def _console(user):
    lines = selectors.console_lines(user=user)
    now = timezone.now()
    waiting = [selectors.waiting_dict(chat, now) for chat in selectors.waiting_chats(line_ids=lines)]
    mine = [selectors.chat_state(chat) for chat in selectors.agent_chats(user=user)]
    return lines, waiting, mine


def _collecting(function, kwargs):
    sink: list[tuple[str, dict]] = []
    token = services.PUBLISH_SINK.set(sink)
    try:
        return function(**kwargs), sink
    finally:
        services.PUBLISH_SINK.reset(token)


@_in_a_thread
def _call(function, kwargs):
    return _collecting(function, kwargs)


@_in_a_thread
def _post(who: Participant, chat_id: int, body, client_id: str, last_sent: int | None):
    """chat_post, and, in the same thread, the messages the sender's own page is to get now (its
    own message and what the post made, e.g. the bot's answer): read from the database only when
    they do not follow on from `last_sent` (another message came in between)."""
    posted, sink = _collecting(services.chat_post, {"chat_id": chat_id, "who": who, "body": body,
                                                    "client_id": client_id})  # fmt: skip
    own: list[dict] = []
    if last_sent is not None and not posted.duplicate:
        own = sorted(
            (payload["message"] for group, payload in sink
             if payload.get("event") == "message" and payload.get("chat") == chat_id),
            key=lambda message: message["seq"],
        )  # fmt: skip
        if own and own[0]["seq"] > last_sent + 1:
            chat = selectors.chat_get(who=who, chat_id=chat_id)
            own = [selectors.message_dict(m, chat) for m in selectors.messages_after(chat=chat, seq=last_sent)]
    return posted, sink, own


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        self.user = user if user is not None and user.is_authenticated and user.is_active else None
        self.session_who = Participant(user=self.user)
        self.joined: dict[int, Joined] = {}
        self.console_lines: set[int] = set()
        self.line_groups: set[int] = set()
        self.language = self._language()
        config = await _settings()
        self.bucket = TokenBucket(
            rate_per_minute=config.messages_per_minute, burst=max(5, config.messages_per_minute // 3)
        )
        self.refused = 0
        await self.accept()
        if self.user is not None and self.user.is_support_staff:
            await self.channel_layer.group_add(services.agent_group(self.user.pk), self.channel_name)
        await self._send({"type": "hello", "staff": bool(self.user and self.user.is_support_staff)})

    def _language(self) -> str:
        cookies = self.scope.get("cookies") or {}
        language = cookies.get(settings.LANGUAGE_COOKIE_NAME) or (self.user.language if self.user else "")
        return language if language in ("en", "ru") else "en"

    async def disconnect(self, code):
        groups = [services.chat_group(chat_id) for chat_id in self.joined]
        groups += [services.line_group(line_id) for line_id in self.line_groups]
        if self.user is not None and self.user.is_support_staff:
            groups.append(services.agent_group(self.user.pk))
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # the layer may be the reason the socket went away
                logger.debug("group_discard failed", exc_info=True)

    async def _send(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload, ensure_ascii=False))

    # --- frames from the page ------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        ref = None
        with override(self.language):
            try:
                if bytes_data is not None or text_data is None:
                    raise DomainError("text frames only", code="invalid")
                if len(text_data.encode()) > FRAME_MAX_BYTES:
                    raise DomainError(
                        _("A frame is at most %(max)d bytes long.") % {"max": FRAME_MAX_BYTES},
                        code="too_large",
                        field="body",
                    )
                if not self.bucket.allow():
                    self.refused += 1
                    raise RateLimited(_("Too many messages; please slow down."), code="rate_limited")
                try:
                    frame = json.loads(text_data)
                except ValueError as exc:
                    raise DomainError("not JSON", code="invalid") from exc
                if not isinstance(frame, dict):
                    raise DomainError("not an object", code="invalid")
                ref = frame.get("ref")
                handler = getattr(self, "do_" + str(frame.get("type", "")), None)
                if handler is None:
                    raise DomainError("unknown frame type", code="invalid")
                await handler(frame, ref)
            except DomainError as exc:
                await self._send(
                    {"type": "error", "ref": ref, "code": exc.code, "detail": str(exc.message), "field": exc.field}
                )
                if isinstance(exc, RateLimited) and self.refused > 50:
                    await self.close(code=CLOSE_RATE_LIMITED)

    def _chat_id(self, frame: dict) -> int:
        value = frame.get("chat")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise DomainError("chat must be a positive number", code="invalid", field="chat")
        return value

    def _who(self, chat_id: int) -> Participant:
        joined = self.joined.get(chat_id)
        return joined.who if joined is not None else self.session_who

    async def _run(self, function, **kwargs):
        """A service call in a worker thread; what it committed is then broadcast from here."""
        result, broadcasts = await _call(function, kwargs)
        for group, payload in broadcasts:
            await self._broadcast(group, {"type": "chat.event", **payload})
        return result

    async def _broadcast(self, group: str, event: dict) -> None:
        """Send to a group, trying again briefly: a message that is stored but not broadcast reaches
        the other side only with the next one or when its page reconnects."""
        for pause in (0.05, 0.2, 0.5, None):
            try:
                await self.channel_layer.group_send(group, event)
                return
            except Exception:  # Redis busy or away: the rows are stored; pages catch up by number.
                if pause is None:
                    logger.warning("chat broadcast to %s failed", group, exc_info=True)
                    return
                await asyncio.sleep(pause)

    async def _ok(self, ref, **extra) -> None:
        await self._send({"type": "ok", "ref": ref, **extra})

    async def do_ping(self, frame, ref):
        await self._send({"type": "pong", "ref": ref})

    async def do_join(self, frame, ref):
        chat_id = self._chat_id(frame)
        token = frame.get("token")
        if token:
            who = read_visitor_token(str(token))
            if who is None:
                raise NotFound(_("This chat link is not valid; start a new chat."), code="bad_token")
        else:
            who = self.session_who
        last_seq = frame.get("last_seq") or 0
        last_seq = last_seq if isinstance(last_seq, int) and last_seq >= 0 else 0
        # In the group first, then the backlog: whatever arrives meanwhile is dropped by number.
        await self.channel_layer.group_add(services.chat_group(chat_id), self.channel_name)
        try:
            chat, state, missed = await _join(who, chat_id, last_seq)
        except DomainError:
            if chat_id not in self.joined:
                await self.channel_layer.group_discard(services.chat_group(chat_id), self.channel_name)
            raise
        joined = Joined(who=who, last_sent=last_seq, line_id=chat.line_id, status=chat.status,
                        speaks=can_speak(chat, who))  # fmt: skip
        self.joined[chat_id] = joined
        if chat.status == ChatStatus.WAITING:  # its place in the queue moves with the line's queue
            await self._follow_line(chat.line_id)
        await self._send({"type": "joined", "ref": ref, "chat": chat_id, "state": state})
        await self._deliver_list(chat_id, missed)

    async def do_leave(self, frame, ref):
        chat_id = self._chat_id(frame)
        if self.joined.pop(chat_id, None) is not None:
            await self.channel_layer.group_discard(services.chat_group(chat_id), self.channel_name)
        await self._ok(ref)

    async def do_send(self, frame, ref):
        """One trip to a worker thread: the message is stored (and numbered) there. The other side gets
        the broadcast, sent once the row is committed; the sender's page gets its ack and its own
        copy straight away, not back through Redis."""
        chat_id = self._chat_id(frame)
        joined = self.joined.get(chat_id)
        posted, broadcasts, own = await _post(
            self._who(chat_id), chat_id, frame.get("body"), frame.get("client_id") or "",
            joined.last_sent if joined is not None else None,
        )  # fmt: skip
        # The other side first: should this page be gone already, the broadcast still goes out.
        for group, payload in broadcasts:
            await self._broadcast(group, {"type": "chat.event", **payload})
        message = posted.message
        await self._send(
            {"type": "ack", "ref": ref, "chat": chat_id, "client_id": message.client_id, "seq": message.seq,
             "duplicate": posted.duplicate}
        )  # fmt: skip
        await self._deliver_list(chat_id, own)

    async def do_typing(self, frame, ref):
        chat_id = self._chat_id(frame)
        joined = self.joined.get(chat_id)
        if joined is None or not joined.speaks:
            raise DomainError("join the chat first", code="not_in_chat")
        side = "agent" if joined.who.is_staff else "customer"
        await self.channel_layer.group_send(
            services.chat_group(chat_id),
            {"type": "chat.event", "event": "typing", "chat": chat_id, "side": side, "sender": self.channel_name},
        )

    async def do_read(self, frame, ref):
        chat_id = self._chat_id(frame)
        seq = frame.get("seq")
        if not isinstance(seq, int):
            raise DomainError("seq must be a number", code="invalid", field="seq")
        await self._run(services.chat_mark_read, chat_id=chat_id, who=self._who(chat_id), seq=seq)
        await self._ok(ref)

    async def do_handoff(self, frame, ref):
        chat_id = self._chat_id(frame)
        await self._run(services.chat_handoff, chat_id=chat_id, who=self._who(chat_id))
        await self._ok(ref)

    async def do_leave_message(self, frame, ref):
        chat_id = self._chat_id(frame)
        ticket = await self._run(
            services.chat_leave_message, chat_id=chat_id, who=self._who(chat_id), body=frame.get("body")
        )
        await self._ok(ref, ticket=ticket.number)

    async def do_rate(self, frame, ref):
        chat_id = self._chat_id(frame)
        await self._run(services.chat_rate, chat_id=chat_id, who=self._who(chat_id), rating=frame.get("rating"),
                   comment=frame.get("comment") or "")  # fmt: skip
        await self._ok(ref)

    async def do_accept(self, frame, ref):
        chat_id = self._chat_id(frame)
        await self._run(services.chat_accept, chat_id=chat_id, who=self.session_who)
        await self._ok(ref, chat=chat_id)

    async def do_transfer(self, frame, ref):
        chat_id = self._chat_id(frame)
        agent, line = frame.get("agent"), frame.get("line")
        await self._run(
            services.chat_transfer,
            chat_id=chat_id,
            who=self.session_who,
            to_agent_id=agent if isinstance(agent, int) else None,
            to_line_id=line if isinstance(line, int) else None,
        )
        await self._ok(ref)

    async def do_convert(self, frame, ref):
        chat_id = self._chat_id(frame)
        subject, category = frame.get("subject"), frame.get("category")
        ticket = await self._run(
            services.chat_convert,
            chat_id=chat_id,
            who=self.session_who,
            subject=subject if isinstance(subject, str) else "",
            category=category if isinstance(category, str) and category else "general",
        )
        await self._ok(ref, ticket=ticket.number)

    async def do_close(self, frame, ref):
        chat_id = self._chat_id(frame)
        await self._run(services.chat_close, chat_id=chat_id, who=self._who(chat_id))
        await self._ok(ref)

    async def do_console(self, frame, ref):
        if self.user is None or not self.user.is_support_staff:
            raise DomainError(_("Only support staff see the chat console."), code="permission_denied")
        lines, waiting, mine = await _console(self.user)
        self.console_lines = set(lines)
        for line_id in lines:
            await self._follow_line(line_id)
        await self._send({"type": "console", "ref": ref, "waiting": waiting, "mine": mine})

    async def _follow_line(self, line_id: int | None) -> None:
        if line_id is not None and line_id not in self.line_groups:
            self.line_groups.add(line_id)
            await self.channel_layer.group_add(services.line_group(line_id), self.channel_name)

    # --- events from the channel layer -----------------------------------------------------

    async def _deliver_list(self, chat_id: int, messages: list[dict]) -> None:
        joined = self.joined.get(chat_id)
        for message in messages:
            if joined is None or message["seq"] <= joined.last_sent:
                continue
            await self._send({"type": "message", "chat": chat_id, "message": message})
            joined.last_sent = message["seq"]

    async def chat_event(self, event):
        kind, chat_id = event.get("event"), event.get("chat")
        with override(self.language):
            if kind == "message":
                await self._on_message(chat_id, event["message"])
            elif kind == "state":
                await self._on_state(chat_id)
            elif kind in ("read", "typing"):
                if chat_id in self.joined and event.get("sender") != self.channel_name:
                    await self._send(
                        {"type": kind, **{k: v for k, v in event.items() if k not in ("type", "event", "sender")}}
                    )
            elif kind == "queue":
                await self._on_queue(event.get("line"))
            elif kind == "assigned":
                await self._send({"type": "assigned", "chat": chat_id})

    async def layer_resync(self, event):
        """The channel layer was cut off from Redis for a while (helpdesk.channel_layer): whatever was
        broadcast meanwhile is read from the database, as a page rejoining would."""
        with override(self.language):
            for chat_id, joined in list(self.joined.items()):
                try:
                    await self._deliver_list(chat_id, await _missed(joined.who, chat_id, joined.last_sent))
                except NotFound:
                    await self._drop(chat_id)
                    continue
                await self._on_state(chat_id)
            if self.console_lines and self.user is not None:
                _lines, waiting, mine = await _console(self.user)
                await self._send({"type": "console", "waiting": waiting, "mine": mine})

    async def _on_message(self, chat_id: int, message: dict) -> None:
        joined = self.joined.get(chat_id)
        if joined is None or message["seq"] <= joined.last_sent:
            return
        if message["seq"] > joined.last_sent + 1:
            # A gap (a broadcast lost or overtaken): the database has every message.
            try:
                await self._deliver_list(chat_id, await _missed(joined.who, chat_id, joined.last_sent))
            except NotFound:
                await self._drop(chat_id)
            return
        await self._deliver_list(chat_id, [message])

    async def _on_state(self, chat_id: int) -> None:
        joined = self.joined.get(chat_id)
        if joined is None:
            return
        try:
            chat, state = await _state(joined.who, chat_id)
        except NotFound:
            await self._drop(chat_id)
            return
        joined.status, joined.line_id, joined.speaks = chat.status, chat.line_id, can_speak(chat, joined.who)
        if chat.status == ChatStatus.WAITING:
            await self._follow_line(chat.line_id)
        await self._send({"type": "state", "chat": chat_id, "state": state})

    async def _on_queue(self, line_id: int | None) -> None:
        if line_id in self.console_lines and self.user is not None:
            lines, waiting, mine = await _console(self.user)
            await self._send({"type": "console", "waiting": waiting, "mine": mine})
        for chat_id, joined in list(self.joined.items()):
            if joined.line_id == line_id and joined.status == ChatStatus.WAITING and not joined.who.is_staff:
                await self._on_state(chat_id)

    async def _drop(self, chat_id: int) -> None:
        self.joined.pop(chat_id, None)
        await self.channel_layer.group_discard(services.chat_group(chat_id), self.channel_name)
        await self._send({"type": "left", "chat": chat_id})
