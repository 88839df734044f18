"""The channel layer of the sockets: channels-redis's Redis pub/sub layer, made to lose nothing unseen.

Why pub/sub (`python -m bench chat`, docs/chat.md): channels-redis's list-based layer
(`RedisChannelLayer`) hands every message for the sockets of one process through one receive
loop that takes one message at a time with four Redis round trips (clean-up script, BZPOPMIN,
backup ZADD, ZPOPMIN) and wakes a thousand waiting consumers per message; with 1,000 sockets in
a process it fell seconds behind 200 deliveries a second, and it silently drops a group message
to a process whose inbox holds `capacity` messages, or one left in it longer than `expiry`.
With pub/sub a group message is one PUBLISH, Redis pushes it to each process subscribed to the
group, and the process copies it into the in-memory queue of each of its sockets in the group
(unbounded: never dropped for being many).

What pub/sub can lose, and how nobody misses it here:

- A message published while a process's subscribing connection is broken (Redis restarted,
  the network hiccuped, Redis closed a subscriber over its output buffer limit) never reaches
  it. redis-py reconnects and subscribes again; the first subscription confirmed again after
  such a break makes this layer put a `layer.resync` message into the queue of every socket of
  the process, after the subscriptions are back, so each consumer reads from the database what
  it may have missed (`chat.consumers`) or has its page reconnect and fetch again (`chat.live`).
- A subscription is only in force once Redis has confirmed it: `group_add` waits for the
  confirmation (at most `SUBSCRIBE_TIMEOUT_SECONDS`), so that what a socket reads from the
  database after joining a group and what it receives from the group leave no gap between them.

Publishing is not serialised behind subscriptions (each PUBLISH takes a connection of the pool).
"""

from __future__ import annotations

import asyncio
import logging

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close

logger = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_SECONDS = 10.0
RESYNC = {"type": "layer.resync"}


class _Shard(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._confirmed: set[str] = set()  # subscriptions Redis has confirmed on the current connection
        self._waiting: dict[str, list[asyncio.Future]] = {}
        self._broken = False  # the receiving connection failed; the next confirmation means it is back

    async def publish(self, channel, message):
        self._ensure_redis()
        await self._redis.publish(channel, message)

    async def subscribe(self, channel):
        if channel in self._confirmed:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(channel, []).append(waiter)
        try:
            await super().subscribe(channel)
            await asyncio.wait_for(asyncio.shield(waiter), timeout=SUBSCRIBE_TIMEOUT_SECONDS)
        finally:
            waiters = self._waiting.get(channel, [])
            if waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiting[channel]

    async def unsubscribe(self, channel):
        await super().unsubscribe(channel)
        self._confirmed.discard(channel)

    async def flush(self):
        await super().flush()
        self._confirmed = set()
        self._broken = False

    async def _do_receiving(self):
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=0.1)
                    if message is not None:
                        self._dispatch(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except BaseException:
                if not self._broken:
                    logger.warning("channel layer: the subscribing connection failed; reconnecting", exc_info=True)
                self._broken = True
                await asyncio.sleep(0.5)

    def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind in ("message", "pmessage", "smessage"):
            self._receive_message(message)
            return
        name = message.get("channel")
        name = name.decode() if isinstance(name, bytes) else str(name)
        if kind == "subscribe":
            self._subscribed(name)
        elif kind == "unsubscribe":
            self._confirmed.discard(name)

    def _subscribed(self, name: str) -> None:
        if self._broken or name in self._confirmed:
            # A subscription confirmed a second time: the connection was lost and redis-py has
            # subscribed to everything again (in one command, so all of it is in force now).
            self._broken = False
            self._confirmed = set()
            self._resync()
        self._confirmed.add(name)
        for waiter in self._waiting.pop(name, []):
            if not waiter.done():
                waiter.set_result(None)

    def _resync(self) -> None:
        channels = self.channel_layer.channels
        logger.warning("channel layer: reconnected; %d sockets catch up", len(channels))
        payload = self.channel_layer.channel_layer.serialize(RESYNC)
        for queue in channels.values():
            queue.put_nowait(payload)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shards = [_Shard(shard.host, self) for shard in self._shards]


class ChannelLayer(RedisPubSubChannelLayer):
    """`CHANNEL_LAYERS` backend: Redis pub/sub, with confirmed subscriptions and a resync after a reconnect."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
