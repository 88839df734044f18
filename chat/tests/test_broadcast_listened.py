"""chat.broadcast with a large write (the SLA sweep's batch: the pages of hundreds of tickets):
only the groups someone is in are sent to, found in one round trip, and the old lines of the
transfers are not read again for every write."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat import broadcast
from queues.tests.factories import LineFactory
from tickets.models import EventKind, Ticket, TicketEvent

BASE = 987_600


def notices() -> list[tuple[str, dict]]:
    return [(broadcast.ticket_group(BASE + n), {"type": "live.ticket", "n": n}) for n in range(100)] + [
        (broadcast.panel_group(BASE + n), {"type": "live.panel", "n": n}) for n in range(100)
    ]


def test_a_large_write_is_sent_only_to_the_groups_someone_is_in():
    layer = get_channel_layer()
    listened_group = broadcast.ticket_group(BASE + 54)

    async def scenario() -> None:
        channel = await layer.new_channel()
        await layer.group_add(listened_group, channel)
        try:
            kept = await broadcast._listened(layer, notices())
            assert kept == [(listened_group, {"type": "live.ticket", "n": 54})]
            await broadcast._send(layer, notices())
            received = await asyncio.wait_for(layer.receive(channel), timeout=5)
            assert received["n"] == 54
        finally:
            await layer.group_discard(listened_group, channel)

    async_to_sync(scenario)()


def test_every_message_is_sent_when_the_groups_cannot_be_read(monkeypatch):
    async def broken(layer, groups):
        raise ConnectionError("no Redis")

    monkeypatch.setattr(broadcast, "_listened_pubsub", broken)
    messages = notices()
    assert async_to_sync(broadcast._listened)(get_channel_layer(), messages) == messages
    # A layer it does not know gets every message too; so does a small write.
    assert async_to_sync(broadcast._listened)(object(), messages) == messages
    assert async_to_sync(broadcast._listened)(get_channel_layer(), messages[:2]) == messages[:2]


@pytest.mark.django_db
def test_the_old_lines_of_transfers_are_read_once_then_kept(django_assert_num_queries, line, monkeypatch):
    sent: list[list] = []
    monkeypatch.setattr(broadcast, "send", sent.append)
    old = LineFactory(code="live-old", name="Old")
    ticket = Ticket(id=BASE, number=BASE, line=line)  # what the notices name, in memory
    transfer = TicketEvent(ticket=ticket, kind=EventKind.TRANSFER, data={"old": old.code, "new": ticket.line.code})
    broadcast._lines_changed()
    with django_assert_num_queries(1):
        broadcast.publish([transfer])
    with django_assert_num_queries(0):
        broadcast.publish([transfer])
    assert all(any(group == broadcast.line_group(old.id) for group, _m in messages) for messages in sent)
    # A line saved (here: a new one) is read again, with its code.
    newer = LineFactory(code="live-newer", name="Newer")
    transfer.data["old"] = newer.code
    with django_assert_num_queries(1):
        broadcast.publish([transfer])
    assert any(group == broadcast.line_group(newer.id) for group, _m in sent[-1])
