"""The live workspace's sockets: pushes of ticket changes, and who is on a ticket's page.

Three routes (`chat.routing`), each for one kind of page:

- `/ws/live/desk/`: the workspace's lists and home. Staff only; joins the groups of the
  lines the user may see (a member's lines, every line for management) and their own.
- `/ws/live/desk/tickets/<number>/`: a ticket's page in the workspace. Staff who may see
  the ticket (`tickets.selectors.ticket_get`); joins the ticket's group, and there tells
  the others who is viewing and who is typing a reply (presence).
- `/ws/live/panel/tickets/<number>/`: the customer's page of their ticket. Customers who
  may see it; hears what the customer may see of it and, while it waits, its place in the
  queue (read here from the database for this ticket only, `queues.selectors.queue_position`).

The session authenticates (`AuthMiddlewareStack`), `AllowedHostsOriginValidator` refuses
other origins (`helpdesk.asgi`); anyone else is refused before the handshake completes.
Nothing here writes to the database: the pushes come from `chat.broadcast` after the
writes commit, and presence lives in group messages only, each entry forgotten when its
sender's heartbeat stops (`PRESENCE_TTL_SECONDS`).

Frames from the page (JSON text, at most `FRAME_MAX_BYTES`, binary refused): `{"type": "here"}`
(a heartbeat, every `HEARTBEAT_SECONDS`), `{"type": "typing"}` (while typing a reply).
More than the rate allows are dropped, and a page that keeps flooding is closed.
Frames to the page: `ticket` (a change: `ticket`, `kind`, `actor_name`, `mine`,
`message_kind`), `presence` (`viewers`: `name`, `typing`), `queue` (`position`), `gone`
(the ticket is no longer the reader's to see), `error` (`code`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.permissions import can_enter
from chat.broadcast import agent_group, line_group, panel_group, queue_group, ticket_group
from helpdesk.errors import NotFound
from queues.models import Line
from queues.selectors import queue_position
from tickets.models import EventKind, Ticket
from tickets.selectors import member_line_ids, ticket_get

logger = logging.getLogger(__name__)

FRAME_MAX_BYTES = 1024
HEARTBEAT_SECONDS = 20
PRESENCE_TTL_SECONDS = 45
TYPING_TTL_SECONDS = 6
SWEEP_SECONDS = 2
# Per connection: a burst of RATE_BURST frames, then RATE_PER_SECOND; a page that sends
# FLOOD_LIMIT frames over the limit is closed.
RATE_BURST = 10
RATE_PER_SECOND = 1.0
FLOOD_LIMIT = 30
# The queue position is read at most once per this many seconds per page.
QUEUE_READ_SECONDS = 1.0

CLOSE_REFUSED = 4403
CLOSE_TOO_LARGE = 4413
CLOSE_FLOODING = 4429
CLOSE_BAD_FRAME = 4400
# The channel layer lost Redis for a while and pushes may have been missed: the page reconnects
# and fetches its regions again ("service restart").
CLOSE_RESYNC = 1012


@dataclass
class Bucket:
    """A token bucket: `take()` is False once the burst is spent until tokens come back."""

    burst: float = RATE_BURST
    rate: float = RATE_PER_SECOND
    tokens: float = RATE_BURST
    at: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class LiveConsumer(AsyncJsonWebsocketConsumer, metaclass=ABCMeta):
    """What the three sockets share: who may connect, the groups, the frame checks."""

    async def connect(self) -> None:
        self.joined: list[str] = []
        self.bucket = Bucket()
        self.over_limit = 0
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_REFUSED)
            return
        self.user = user
        groups = await self.allowed_groups()
        if groups is None:
            await self.close(code=CLOSE_REFUSED)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = list(groups)
        await self.accept()
        await self.joined_groups()

    @abstractmethod
    async def allowed_groups(self) -> list[str] | None:
        """The groups to join, or None to refuse."""

    async def joined_groups(self) -> None:
        """Once accepted."""

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def layer_resync(self, event: dict[str, Any]) -> None:
        """Sent by helpdesk.channel_layer after it reconnected to Redis."""
        await self.close(code=CLOSE_RESYNC)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None or text_data is None:
            await self.close(code=CLOSE_BAD_FRAME)
            return
        if len(text_data) > FRAME_MAX_BYTES or len(text_data.encode()) > FRAME_MAX_BYTES:
            await self.close(code=CLOSE_TOO_LARGE)
            return
        if not self.bucket.take():
            self.over_limit += 1
            if self.over_limit >= FLOOD_LIMIT:
                await self.close(code=CLOSE_FLOODING)
            elif self.over_limit == 1 or self.over_limit % 10 == 0:
                await self.send_json({"type": "error", "code": "rate_limited"})
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.close(code=CLOSE_BAD_FRAME)
            return
        if not isinstance(content, dict):
            await self.close(code=CLOSE_BAD_FRAME)
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        """Frames these pages do not send are ignored."""

    async def move_group(self, old: str, new: str) -> None:
        if old == new:
            return
        await self.channel_layer.group_discard(old, self.channel_name)
        self.joined = [group for group in self.joined if group != old]
        await self.channel_layer.group_add(new, self.channel_name)
        self.joined.append(new)

    def _staff_frame(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "ticket",
            "ticket": event["ticket"],
            "kind": event["kind"],
            "actor_name": event["actor_name"],
            "mine": event["actor"] == self.user.pk,
            "message_kind": event["message_kind"],
        }


# --- the workspace's lists and home ------------------------------------------------------------


@database_sync_to_async
def _desk_line_ids(user) -> list[int]:
    if user.is_management:
        return list(Line.objects.values_list("id", flat=True))
    return member_line_ids(user)


class DeskConsumer(LiveConsumer):
    async def allowed_groups(self) -> list[str] | None:
        if not can_enter(self.user, "desk"):
            return None
        line_ids = await _desk_line_ids(self.user)
        return [line_group(line_id) for line_id in line_ids] + [agent_group(self.user.pk)]

    async def live_ticket(self, event: dict[str, Any]) -> None:
        await self.send_json(self._staff_frame(event))


# --- a ticket's page in the workspace -------------------------------------------------------------


@database_sync_to_async
def _visible_ticket(user, number: int) -> Ticket | None:
    try:
        return ticket_get(user=user, number=number)
    except NotFound:
        return None


@dataclass
class Viewer:
    user: int
    name: str
    expires: float
    typing_until: float = 0.0


class DeskTicketConsumer(LiveConsumer):
    """A ticket's page: its changes, and presence (who else is viewing, who is typing)."""

    async def allowed_groups(self) -> list[str] | None:
        if not can_enter(self.user, "desk"):
            return None
        ticket = await _visible_ticket(self.user, int(self.scope["url_route"]["kwargs"]["number"]))
        if ticket is None:
            return None
        self.ticket_id = ticket.pk
        self.number = ticket.number
        self.name = await database_sync_to_async(lambda: self.user.display_name)()
        self.viewers: dict[str, Viewer] = {}
        self.shown: list[dict[str, Any]] = []
        self.typing_until = 0.0
        return [ticket_group(ticket.pk)]

    async def joined_groups(self) -> None:
        await self.announce(hello=True)
        self.sweeper = asyncio.ensure_future(self._sweep())

    async def disconnect(self, code: int) -> None:
        sweeper = getattr(self, "sweeper", None)
        if sweeper is not None:
            sweeper.cancel()
        if getattr(self, "joined", None):
            await self.channel_layer.group_send(
                ticket_group(self.ticket_id), {"type": "live.leave", "channel": self.channel_name}
            )
        await super().disconnect(code)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content.get("type")
        if kind == "here":
            await self.announce()
        elif kind == "typing":
            self.typing_until = time.monotonic() + TYPING_TTL_SECONDS
            await self.announce()

    async def announce(self, *, hello: bool = False) -> None:
        """Tell the ticket's other pages that this one is here (and whether its user is typing)."""
        await self.channel_layer.group_send(
            ticket_group(self.ticket_id),
            {
                "type": "live.presence",
                "channel": self.channel_name,
                "user": self.user.pk,
                "name": self.name,
                "typing": time.monotonic() < self.typing_until,
                "hello": hello,
            },
        )

    async def live_presence(self, event: dict[str, Any]) -> None:
        if event["channel"] == self.channel_name:
            return
        now = time.monotonic()
        known = event["channel"] in self.viewers
        self.viewers[event["channel"]] = Viewer(
            user=int(event["user"]),
            name=str(event["name"]),
            expires=now + PRESENCE_TTL_SECONDS,
            typing_until=now + TYPING_TTL_SECONDS if event.get("typing") else 0.0,
        )
        if event.get("hello") and not known:
            # A page just opened: it learns about this one without waiting for a heartbeat.
            await self.announce()
        await self.show_presence()

    async def live_leave(self, event: dict[str, Any]) -> None:
        if self.viewers.pop(event["channel"], None) is not None:
            await self.show_presence()

    async def show_presence(self) -> None:
        now = time.monotonic()
        self.viewers = {channel: viewer for channel, viewer in self.viewers.items() if viewer.expires > now}
        people: dict[int, dict[str, Any]] = {}
        for viewer in self.viewers.values():
            if viewer.user == self.user.pk:
                continue  # the same person in another tab
            entry = people.setdefault(viewer.user, {"name": viewer.name, "typing": False})
            entry["typing"] = entry["typing"] or viewer.typing_until > now
        shown = sorted(people.values(), key=lambda entry: entry["name"])
        if shown != self.shown:
            self.shown = shown
            await self.send_json({"type": "presence", "viewers": shown})

    async def _sweep(self) -> None:
        """Forget viewers whose heartbeat stopped, and typing that stopped."""
        try:
            while True:
                await asyncio.sleep(SWEEP_SECONDS)
                await self.show_presence()
        except asyncio.CancelledError:
            pass

    async def live_ticket(self, event: dict[str, Any]) -> None:
        moved = event["kind"] in (EventKind.TRANSFER, EventKind.CUSTOMER, EventKind.ASSIGN)
        if moved and await _visible_ticket(self.user, self.number) is None:
            # The ticket left what this agent may see: no more of it reaches this page.
            await self.send_json({"type": "gone", "ticket": self.number})
            await self.close(code=CLOSE_REFUSED)
            return
        await self.send_json(self._staff_frame(event))


# --- the customer's page of a ticket ----------------------------------------------------------------


@database_sync_to_async
def _customer_ticket(user, number: int) -> Ticket | None:
    try:
        return ticket_get(user=user, number=number)
    except NotFound:
        return None


@database_sync_to_async
def _place(ticket_id: int) -> tuple[int, int | None]:
    """The ticket's line and its place in that line's queue (None when not waiting)."""
    ticket = Ticket.objects.get(pk=ticket_id)
    return ticket.line_id, queue_position(ticket=ticket)


class PanelTicketConsumer(LiveConsumer):
    async def allowed_groups(self) -> list[str] | None:
        if not can_enter(self.user, "panel"):
            return None
        ticket = await _customer_ticket(self.user, int(self.scope["url_route"]["kwargs"]["number"]))
        if ticket is None:
            return None
        self.ticket_id = ticket.pk
        self.number = ticket.number
        self.line_id, self.position = await _place(ticket.pk)
        self.read_at = 0.0
        self.pending: asyncio.Future | None = None
        return [panel_group(ticket.pk), queue_group(self.line_id)]

    async def joined_groups(self) -> None:
        await self.send_json({"type": "queue", "ticket": self.number, "position": self.position})

    async def disconnect(self, code: int) -> None:
        if getattr(self, "pending", None) is not None:
            self.pending.cancel()
        await super().disconnect(code)

    async def live_panel(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "ticket", "ticket": self.number, "kind": event["kind"]})
        await self.queue_moved()

    async def live_queue(self, event: dict[str, Any]) -> None:
        await self.queue_moved()

    async def queue_moved(self) -> None:
        """Read the place again, at most once per QUEUE_READ_SECONDS (a burst of changes is one read)."""
        if self.pending is not None and not self.pending.done():
            return
        wait = self.read_at + QUEUE_READ_SECONDS - time.monotonic()
        if wait > 0:
            self.pending = asyncio.ensure_future(self._read_later(wait))
        else:
            await self.read_place()

    async def _read_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        await self.read_place()

    async def read_place(self) -> None:
        self.read_at = time.monotonic()
        line_id, position = await _place(self.ticket_id)
        if line_id != self.line_id:
            await self.move_group(queue_group(self.line_id), queue_group(line_id))
            self.line_id = line_id
        if position != self.position:
            self.position = position
            await self.send_json({"type": "queue", "ticket": self.number, "position": position})
