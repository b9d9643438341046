"""``RoomDirectory``: the rooms this node serves, and the ticker that flushes batched likes.

The application creates one directory (with the store for its deployment), starts it, and closes it on
shutdown; closing cancels the ticker and flushes the likes still pending, so no tap is lost on a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from rooms.clock import Clock
from rooms.errors import Conflict
from rooms.moderation import NoModeration, TextModerator
from rooms.room import HOST, STATUS, EventSink, Room, RoomConfig
from rooms.store import RoomStore

log = logging.getLogger(__name__)


class RoomDirectory:
    def __init__(
        self, store: RoomStore, clock: Clock, sink: EventSink, *, config: RoomConfig | None = None,
        moderator: TextModerator | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config or RoomConfig()
        self._sink = sink
        self._moderator = moderator or NoModeration()
        self._likes: dict[str, int] = {}  # taps on this node not yet announced, by room
        self._ticker: asyncio.Task[None] | None = None

    def room(self, room_id: str) -> Room:
        """A handle on a room (cheap, not kept); whether the room exists is checked by each action."""
        return Room(room_id, self.store, self.clock, self._sink, self.config, self._moderator, self._likes)

    async def open(self, room_id: str, host_id: str) -> Room:
        """Open the room of a live that is starting (exactly once, whichever node asks)."""
        await self.store.put(room_id, HOST, host_id, expect=None)
        if not await self.store.put(room_id, STATUS, "live", expect=None):
            raise Conflict(f"the room {room_id!r} was already opened", slug="room-exists")
        if await self.store.get(room_id, HOST) != host_id:
            raise Conflict(f"the room {room_id!r} belongs to another host", slug="room-exists")
        return self.room(room_id)

    async def forget(self, room_id: str) -> None:
        """Drop an ended room's state (after the edge has told its viewers)."""
        await self.room(room_id).flush_likes()
        await self.store.drop(room_id)

    async def flush_likes(self) -> None:
        for room_id in list(self._likes):
            try:
                await self.room(room_id).flush_likes()
            except Exception:  # one room's failure must not stop the others' likes
                log.exception("flushing likes of room %s", room_id)

    def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="rooms-likes")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.like_window_s)
            await self.flush_likes()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.flush_likes()
