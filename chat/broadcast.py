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

from queues.models import Line
from tickets.models import EventKind, Message, TicketEvent

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 2.0
PAUSE_SECONDS = 10.0

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


async def _send(layer, messages: list[tuple[str, dict[str, Any]]]) -> None:
    await asyncio.wait_for(
        asyncio.gather(*(layer.group_send(group, message) for group, message in messages)),
        timeout=SEND_TIMEOUT_SECONDS,
    )


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
        line_ids = dict(Line.objects.filter(code__in=old_lines - {None}).values_list("code", "id")) if old_lines else {}
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
