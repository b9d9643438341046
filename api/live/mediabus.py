"""``MediaBus``: media commands (``api.live.commands``) reach every node's media, and the state they leave
(:class:`~api.live.commands.StreamMedia`) is kept where every node reads it. One small interface, two
backends: :class:`MemoryMediaBus` (one process: this node is every node) and
``api.live.redis_bus.RedisMediaBus`` (many nodes, with ``REDIS_URL``), in the manner of python-socketio's
pub/sub client manager (``_publish`` / ``_listen``).

``send`` records the command's state first, then delivers it: to this node at once (awaited, so a kick
through this node has closed what this node holds before it returns), and to the other nodes. A node that
(re)joins the bus calls its ``reconcile`` hook, which brings what it holds in line with the stored state:
that is how a command a node missed (it was restarting, or cut off from Redis) still takes effect. State
outlives the last command by ``ttl_s`` (the media tokens' lifetime): as long as a token minted before a kick
or an end can be presented, the bar is there to refuse it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from api.live.commands import MediaCommand, StreamMedia

Execute = Callable[[MediaCommand], Awaitable[None]]  # this node's media acts on a command
Reconcile = Callable[[], Awaitable[None]]  # this node re-reads the state of what it holds


class MediaBus(Protocol):
    def start(self, execute: Execute, reconcile: Reconcile) -> None:
        """Deliver commands to ``execute`` from now on (the other nodes' too, in the order sent)."""
        ...

    async def send(self, command: MediaCommand) -> None: ...

    async def state(self, stream: str) -> StreamMedia: ...

    async def close(self) -> None:
        """Stop listening; the commands already executing finish first."""
        ...


class MemoryMediaBus:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._streams: dict[str, tuple[StreamMedia, float]] = {}  # stream -> (state, expiry)
        self._execute: Execute | None = None

    def start(self, execute: Execute, reconcile: Reconcile) -> None:
        self._execute = execute  # nothing to reconcile: this process never missed a command

    async def send(self, command: MediaCommand) -> None:
        now = self._clock()
        state = await self.state(command.stream)
        after = state.after(command)
        if after != state or command.stream in self._streams:
            self._streams[command.stream] = (after, now + self._ttl_s)
        for stream in [s for s, (_, expiry) in self._streams.items() if expiry <= now]:
            del self._streams[stream]
        if self._execute is not None:
            await self._execute(command)

    async def state(self, stream: str) -> StreamMedia:
        held = self._streams.get(stream)
        if held is None or held[1] <= self._clock():
            return StreamMedia()
        return held[0]

    async def close(self) -> None:
        self._execute = None
