"""Ticket changes pushed to the pages that show them, over the channel layer.

`publish` is registered in `tickets.events.EVENT_HOOKS` (see `chat.apps`): it is called with
the ticket events of each write once the transaction that wrote them has committed, never
inside it. It
decides which groups hear of the change and sends each a small notice; the consumers
(`chat.live`) pass it on to the pages, which fetch what they show again. A notice carries no
text of the ticket: the pages read it through the views, with their permission checks.

The groups:

- `live.ticket.<id>`: staff on the ticket's page (`chat.live.DeskTicketConsumer`);
- `live.line.<id>`: staff of a line, on the workspace's lists and home (`DeskConsumer`);
  a transfer is told to the old line and the new one;
- `live.agent.<user id>`: the ticket's assignee, wherever the ticket is;
- `live.panel.<id>`: the customer's page of the ticket (`PanelTicketConsumer`), only for
  what the customer sees (never an internal note or a file);
- `live.queue.<line id>`: the customers' pages of tickets waiting in a line, told that the
  queue moved (nothing else: their consumer reads the position of its own ticket).

The write is committed before any of this runs, so a channel layer that fails (Redis down)
is logged and forgotten: the pages catch up on their next fetch. After a failure nothing is
sent for `PAUSE_SECONDS`, so that requests do not each wait for an absent Redis.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from queues.models import Line
from tickets.models import EventKind, Message, TicketEvent

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 2.0
PAUSE_SECONDS = 10.0
# How long the lines' ids by code are kept (`_line_ids`).
LINE_IDS_SECONDS = 60.0
# Group sends in flight at once (each holds a Redis connection while it runs).
SEND_CONCURRENCY = 16
# From this many messages on, the groups nobody is in are found first and skipped (`_listened`).
LISTENED_CHECK_FROM = 8

# What the customer's page hears about (never notes, files, access data, the SLA's notes...).
PANEL_KINDS = frozenset(
    {
        EventKind.MESSAGE,
        EventKind.STATUS,
        EventKind.ASSIGN,
        EventKind.TRANSFER,
        EventKind.PROMISE,
        EventKind.URGENCY,
        EventKind.BOOST,
        EventKind.PACKAGE_TASK,
        EventKind.INCIDENT,
    }
)
# What can move a ticket in its line's queue (or in or out of it).
QUEUE_KINDS = frozenset(
    {
        EventKind.CREATED,
        EventKind.STATUS,
        EventKind.ASSIGN,
        EventKind.TRANSFER,
        EventKind.BOOST,
        EventKind.URGENCY,
        EventKind.SLA,
        EventKind.PACKAGE_TASK,
        EventKind.CUSTOMER,
    }
)


def ticket_group(ticket_id: int) -> str:
    return f"live.ticket.{ticket_id}"


def line_group(line_id: int) -> str:
    return f"live.line.{line_id}"


def agent_group(user_id: int) -> str:
    return f"live.agent.{user_id}"


def panel_group(ticket_id: int) -> str:
    return f"live.panel.{ticket_id}"


def queue_group(line_id: int) -> str:
    return f"live.queue.{line_id}"


class _LineIds:
    """Lines' ids by code, for the old line of a transfer: kept for LINE_IDS_SECONDS, forgotten
    when this process saves or deletes a line, and read again for a code not among them, so
    that a write transferring tickets costs no query."""

    lock = threading.Lock()
    read_at = 0.0
    ids: dict[str, int] = {}


@receiver([post_save, post_delete], sender=Line, dispatch_uid="chat.broadcast.line_ids")
def _lines_changed(**kwargs: Any) -> None:
    with _LineIds.lock:
        _LineIds.ids, _LineIds.read_at = {}, 0.0


def _line_ids(codes: set[str]) -> dict[str, int]:
    with _LineIds.lock:
        fresh = time.monotonic() - _LineIds.read_at < LINE_IDS_SECONDS
        known = dict(_LineIds.ids) if fresh else {}
    if codes - known.keys():
        known = dict(Line.objects.values_list("code", "id"))
        with _LineIds.lock:
            _LineIds.ids, _LineIds.read_at = known, time.monotonic()
    return {code: known[code] for code in codes if code in known}


class _Pause:
    """Until when sending is skipped after the channel layer failed."""

    lock = threading.Lock()
    until = 0.0


def messages_for(event: TicketEvent, line_ids: dict[str, int] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(group, message) for each group that hears of the event (`line_ids`: lines' ids by code,
    read once for many events)."""
    ticket = event.ticket
    kind = str(event.kind)
    actor = event.actor
    message_kind = event.data.get("message_kind") if kind == EventKind.MESSAGE else None
    staff = {
        "type": "live.ticket",
        "ticket": ticket.number,
        "id": ticket.pk,
        "kind": kind,
        "actor": actor.pk if actor is not None else None,
        "actor_name": actor.display_name if actor is not None else "",
        "message_kind": message_kind,
        "line": ticket.line_id,
        "assignee": ticket.assignee_id,
    }
    lines = {ticket.line_id}
    if kind == EventKind.TRANSFER and event.data.get("old"):
        if line_ids is None:
            line_ids = dict(Line.objects.filter(code=event.data["old"]).values_list("code", "id"))
        if event.data["old"] in line_ids:
            lines.add(line_ids[event.data["old"]])
    sent: list[tuple[str, dict[str, Any]]] = [(ticket_group(ticket.pk), staff)]
    sent += [(line_group(line_id), staff) for line_id in sorted(lines)]
    if ticket.assignee_id is not None:
        sent.append((agent_group(ticket.assignee_id), staff))
    if kind in PANEL_KINDS and message_kind != Message.Kind.NOTE:
        sent.append((panel_group(ticket.pk), {"type": "live.panel", "ticket": ticket.number, "kind": kind}))
    if kind in QUEUE_KINDS:
        sent += [(queue_group(line_id), {"type": "live.queue"}) for line_id in sorted(lines)]
    return sent


async def _listened(layer, messages: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The messages whose group someone is in, found with one PUBSUB NUMSUB per Redis shard
    instead of a send to each group.

    A group send costs a round trip even to a group nobody is in, and most groups of a large
    write (a sweep's batch: the pages of hundreds of tickets) have nobody. A page that joins
    between this read and the send misses the notice, as it would had it joined just after the
    send: the write committed before either, so its first read shows it. With another layer, or
    when the read fails, every message is sent."""
    if len(messages) < LISTENED_CHECK_FROM or not isinstance(layer, RedisPubSubChannelLayer):
        return messages
    groups = list(dict.fromkeys(group for group, _message in messages))
    try:
        listened = await _listened_pubsub(layer, groups)
    except Exception:  # an internal of channels-redis changed, or Redis failed: send them all
        logger.warning("live updates: could not tell which groups are listened to", exc_info=True)
        return messages
    return [(group, message) for group, message in messages if group in listened]


async def _listened_pubsub(layer: RedisPubSubChannelLayer, groups: list[str]) -> set[str]:
    """A group is a Redis channel its processes subscribe to: PUBSUB NUMSUB counts them."""
    loop_layer = layer._get_layer()
    by_shard: dict[int, tuple[Any, dict[str, str]]] = {}
    for group in groups:
        channel = loop_layer._get_group_channel_name(group)
        shard = loop_layer._get_shard(channel)
        by_shard.setdefault(id(shard), (shard, {}))[1][channel] = group
    listened: set[str] = set()
    for shard, channels in by_shard.values():
        shard._ensure_redis()
        for name, subscribers in await shard._redis.pubsub_numsub(*channels):
            if subscribers:
                listened.add(channels[name.decode() if isinstance(name, bytes) else name])
    return listened


async def _send(layer, messages: list[tuple[str, dict[str, Any]]]) -> None:
    async def sent() -> None:
        # A bounded number at a time: each group send in flight holds a connection of its own.
        room = asyncio.Semaphore(SEND_CONCURRENCY)

        async def one(group: str, message: dict[str, Any]) -> None:
            async with room:
                await layer.group_send(group, message)

        await asyncio.gather(*(one(group, message) for group, message in await _listened(layer, messages)))

    await asyncio.wait_for(sent(), timeout=SEND_TIMEOUT_SECONDS)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def send(messages: list[tuple[str, dict[str, Any]]]) -> bool:
    """Send to the groups; False (logged) when the channel layer is missing or failed."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return False
    with _Pause.lock:
        if time.monotonic() < _Pause.until:
            return False
    try:
        if _loop_running():
            # A thread that runs an event loop of its own cannot wait on another: send from a new thread.
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(async_to_sync(_send), layer, messages).result()
        else:
            async_to_sync(_send)(layer, messages)
    except Exception as exc:  # Redis down or slow: the change is committed, the pages catch up later.
        with _Pause.lock:
            _Pause.until = time.monotonic() + PAUSE_SECONDS
        logger.warning(
            "live updates not sent (%s: %s); none sent for %s s", type(exc).__name__, exc, int(PAUSE_SECONDS)
        )
        return False
    return True


def publish(events: list[TicketEvent]) -> None:
    """The EVENT_HOOKS hook: tell the groups about the events of one committed write, in one
    round of sends (a group told the same thing twice is told once). Never raises."""
    messages: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    try:
        old_lines = {event.data.get("old") for event in events if event.kind == EventKind.TRANSFER}
        line_ids = _line_ids(old_lines - {None}) if old_lines else {}
    except Exception:
        logger.exception("live updates not built")
        return
    for event in events:
        try:
            built = messages_for(event, line_ids)
        except Exception:
            logger.exception("live update for event %s not built", event.pk)
            continue
        for group, message in built:
            key = group + repr(sorted(message.items()))
            if key not in seen:
                seen.add(key)
                messages.append((group, message))
    send(messages)
