"""The Redis ``MediaBus`` (redis.asyncio), for many nodes sharing one Redis.

A stream's state is one hash, ``<prefix>:{<stream>}`` (fields ``home``, ``ended``, ``bar:<slot>``,
``mute:<slot>``;
the braces are a Redis Cluster hash tag), and every command is published on one channel,
``<prefix>:commands``. ``send`` writes the state and publishes in one MULTI/EXEC transaction
(https://redis.io/docs/latest/develop/interact/transactions/), so no node can read the state without the
command having been published, nor receive the command before the state is there.

Pub/sub delivers at most once (https://redis.io/docs/latest/develop/interact/pubsub/: a subscriber that is
disconnected misses what is published meanwhile). So the listener reconciles whenever it (re)subscribes:
at start, after an error (it retries with a backoff up to 5 s), and when redis-py reconnects the
subscription by itself (a connect callback on its connection). Until it is back, a kick through another node
is in force at every WHIP edge (they read the state) but this node's open session of the kicked guest stays
up; it is closed on reconciling.

The client is the application's (``api/app.py`` creates and closes it); this class never closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from api.live.commands import (
    Admit,
    End,
    Hosted,
    Kick,
    MediaCommand,
    Mute,
    PkPicture,
    StreamMedia,
    decode,
    encode,
)
from api.live.mediabus import Execute, Reconcile
from store.ids import new_id

log = logging.getLogger(__name__)

BACKOFF_MAX_S = 5.0


class RedisMediaBus:
    def __init__(self, redis: Redis, ttl_s: int, *, prefix: str = "mixillo:media", node: str | None = None,
                 poll_s: float = 1.0) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._prefix = prefix
        self._channel = f"{prefix}:commands"
        self.node = node or new_id()
        self._poll_s = poll_s  # how soon a reconnect redis-py made by itself is noticed
        self._execute: Execute | None = None
        self._reconcile: Reconcile | None = None
        self._listener: asyncio.Task[None] | None = None
        self._stale = False
        self.subscribed = asyncio.Event()  # set once the listener is subscribed and has reconciled

    def _key(self, stream: str) -> str:
        return f"{self._prefix}:{{{stream}}}"

    # --- lifetime ---------------------------------------------------------------------------------------

    def start(self, execute: Execute, reconcile: Reconcile) -> None:
        self._execute, self._reconcile = execute, reconcile
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen_forever(), name=f"media-bus:{self.node}")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._execute = self._reconcile = None

    # --- commands and state -----------------------------------------------------------------------------

    async def send(self, command: MediaCommand) -> None:
        try:
            await self._publish(command)
        finally:  # Redis failing, this node still does its share (the error goes on to the caller)
            if self._execute is not None:  # its own message comes back from the channel: skipped there
                await self._execute(command)

    async def _publish(self, command: MediaCommand) -> None:
        async with self._redis.pipeline(transaction=True) as tx:
            if not isinstance(command, PkPicture):
                key = self._key(command.stream)
                if isinstance(command, Hosted):
                    tx.hset(key, "home", command.url)
                elif isinstance(command, Kick):
                    tx.hset(key, f"bar:{command.user}", "1")
                    tx.hdel(key, f"mute:{command.user}")
                elif isinstance(command, Admit):
                    tx.hdel(key, f"bar:{command.user}")
                elif isinstance(command, Mute):
                    if command.muted:
                        tx.hset(key, f"mute:{command.user}", "1")
                    else:
                        tx.hdel(key, f"mute:{command.user}")
                elif isinstance(command, End):
                    tx.delete(key)
                    tx.hset(key, "ended", "1")
                tx.expire(key, self._ttl_s)
            tx.publish(self._channel, encode(self.node, command))
            await tx.execute()

    async def state(self, stream: str) -> StreamMedia:
        fields: dict[bytes, bytes] = await self._redis.hgetall(self._key(stream))  # type: ignore[misc]
        names = [name.decode() for name in fields]
        home = fields.get(b"home")
        return StreamMedia(
            ended="ended" in names,
            barred=frozenset(n.removeprefix("bar:") for n in names if n.startswith("bar:")),
            muted=frozenset(n.removeprefix("mute:") for n in names if n.startswith("mute:")),
            home=home.decode() if home is not None else None,
        )

    # --- listening --------------------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        delay = 0.1
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                log.warning("media bus: listening failed; retrying in %.1f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    async def _listen(self, pubsub: PubSub) -> None:
        await pubsub.subscribe(self._channel)
        assert pubsub.connection is not None
        connection = pubsub.connection
        connection.register_connect_callback(self._reconnected)
        try:
            await self._caught_up()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self._poll_s)
                if self._stale:
                    await self._caught_up()
                if message is not None and message.get("type") == "message":
                    await self._deliver(message["data"])
        finally:
            connection.deregister_connect_callback(self._reconnected)

    async def _reconnected(self, _connection: Any) -> None:
        self._stale = True

    async def _caught_up(self) -> None:
        self._stale = False
        if self._reconcile is not None:
            await self._reconcile()
        self.subscribed.set()

    async def _deliver(self, raw: bytes) -> None:
        try:
            node, command = decode(raw)
        except ValueError:
            log.warning("media bus: dropped a message that is not a media command: %r", raw[:200])
            return
        if node == self.node or self._execute is None:
            return
        try:
            await self._execute(command)
        except Exception:  # one command failing must not stop the others
            log.exception("media bus: executing %r", command)
