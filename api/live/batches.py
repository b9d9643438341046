"""``EventBatches``: a room's events of one tick, delivered as ONE Socket.IO event ``events`` to the clients
that joined with ``batch: true`` (Socket.IO room ``live:<room>:batch``).

Why: each delivered Socket.IO event costs the server a fixed amount of Python per recipient (a queue put, a
writer wake-up, a WebSocket frame), so at 2,000 viewers a gift storm is bound by events x viewers. Batching
bounds it by ticks x viewers instead: at a 50 ms tick a client gets at most 20 frames a second whatever the
gift rate. The envelopes are unchanged (``rooms.events.batch``: ``seq`` ascending), so order, gap detection
by ``seq``, replay and snapshots work as with per-event delivery.

The batching happens on the emitting node: the node that appended an event batches it and emits the batch
through the Socket.IO manager, so with Redis (``AsyncRedisManager``) one pub/sub message per room per tick
reaches every node, and each node writes one frame per local client. Events of one room appended on two
nodes travel in two batches (each ascending); a client orders across batches by ``seq`` as it already must
across nodes with per-event delivery.

Each room with pending events has one tick task (owned here, per room): it sleeps one tick, emits what
gathered, and ends when a tick gathered nothing, so a room that closed has no task one tick later. The
room's end (``room.ended``) is emitted at once with what is pending; ``close`` cancels every tick task and
emits what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rooms.events import RoomEnded, RoomEvent, batch

log = logging.getLogger(__name__)

BATCH_EVENT = "events"
BatchEmit = Callable[[str, list[dict[str, Any]]], Awaitable[None]]  # (room id, envelopes)


class EventBatches:
    def __init__(self, emit: BatchEmit, tick_s: float = 0.05) -> None:
        if tick_s <= 0:
            raise ValueError("a batch tick is a positive number of seconds")
        self._emit = emit
        self.tick_s = tick_s
        self._pending: dict[str, list[RoomEvent]] = {}
        self._ticks: dict[str, asyncio.Task[None]] = {}

    def add(self, event: RoomEvent) -> None:
        """Queue ``event`` for its room's next tick (starting the room's tick task if it has none)."""
        self._pending.setdefault(event.room, []).append(event)
        if event.room not in self._ticks:
            self._ticks[event.room] = asyncio.create_task(self._tick(event.room), name=f"batch:{event.room}")

    async def publish(self, event: RoomEvent) -> None:
        """``add``, except that a room's end is sent at once with what is pending (its tick task then finds
        nothing at its next tick and ends)."""
        self.add(event)
        if isinstance(event.data, RoomEnded):
            await self.flush(event.room)

    async def flush(self, room_id: str) -> None:
        events = self._pending.pop(room_id, None)
        if not events:
            return
        try:
            await self._emit(room_id, [event.model_dump(mode="json") for event in batch(events)])
        except Exception:  # the events are in the room's log: a client that missed them resumes by seq
            log.exception("emitting a batch of %d events of room %s", len(events), room_id)

    async def _tick(self, room_id: str) -> None:
        try:
            while True:
                await asyncio.sleep(self.tick_s)
                if not self._pending.get(room_id):
                    return
                # Shielded: a tick cancelled (on close) mid-emit must not drop a batch half sent.
                await asyncio.shield(self.flush(room_id))
        finally:
            if self._ticks.get(room_id) is asyncio.current_task():
                del self._ticks[room_id]

    async def close(self) -> None:
        tasks = list(self._ticks.values())
        self._ticks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for room_id in sorted(self._pending):
            await self.flush(room_id)
