"""``RoomDirectory``: the rooms this node serves, and its ticker: it flushes batched likes, keeps this
node's heartbeat in the store, and reaps the presence of dead nodes.

Presence is held per node: when a node dies, its connections would count as viewers forever. Every node
refreshes a heartbeat (``presence_ttl_s``); every node checks, in the rooms it serves (where the dead node's
viewers reconnect), which nodes holding connections have no heartbeat, and forgets their connections (one
``viewer.left`` per viewer gone; racing reapers announce each viewer once).

The application creates one directory (with the store for its deployment), starts it, and closes it on
shutdown; closing cancels the ticker and flushes the likes still pending, so no tap is lost on a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from rooms.actor import require_id
from rooms.clock import Clock
from rooms.errors import Conflict
from rooms.events import RoomEvent, ViewerLeft
from rooms.moderation import NoModeration, TextModerator
from rooms.room import HOST, STATUS, EventSink, Node, Room, RoomConfig
from rooms.store import RoomStore
from store.ids import new_id

log = logging.getLogger(__name__)


class RoomDirectory:
    def __init__(
        self, store: RoomStore, clock: Clock, sink: EventSink, *, config: RoomConfig | None = None,
        moderator: TextModerator | None = None, node_id: str | None = None, presence_ttl_s: float = 15.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config or RoomConfig()
        self._sink = sink
        self._moderator = moderator or NoModeration()
        node_id = node_id or new_id()
        if "|" in node_id:
            raise ValueError("a node id has no '|'")
        self.node = Node(node_id)
        self.presence_ttl_s = presence_ttl_s
        self._ticker: asyncio.Task[None] | None = None

    def room(self, room_id: str) -> Room:
        """A handle on a room (cheap, not kept); whether the room exists is checked by each action."""
        require_id(room_id, "room_id")
        return Room(room_id, self.store, self.clock, self._sink, self.config, self._moderator, self.node)

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
        """Announce, per room, the taps and the (crowded) viewer count gathered on this node."""
        for room_id in sorted(self.node.likes.keys() | self.node.crowds):
            try:
                await self.room(room_id).flush_likes()
                await self.room(room_id).flush_viewers()
            except Exception:  # one room's failure must not stop the others'
                log.exception("flushing likes and viewers of room %s", room_id)

    async def heartbeat(self) -> None:
        await self.store.heartbeat(self.node.id, self.presence_ttl_s)

    async def reap(self) -> list[RoomEvent]:
        """Forget the connections of nodes without a heartbeat in the rooms this node serves."""
        events = []
        for room_id in sorted(self.node.served):
            room = self.room(room_id)
            if await self.store.get(room_id, STATUS) is None:
                self.node.served.discard(room_id)  # expired or dropped
                continue
            others = await self.store.presence_nodes(room_id) - {self.node.id}
            for dead in sorted(others - await self.store.alive(sorted(others))):
                gone, count = await self.store.reap(room_id, dead)
                for viewer in gone:
                    if not viewer.startswith("anon:"):
                        events.append(await room.append(ViewerLeft(user_id=viewer, viewers=count)))
        return events

    def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="rooms-ticker")

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = next_reap = loop.time()
        while True:
            try:
                if loop.time() >= next_beat:
                    await self.heartbeat()
                    next_beat = loop.time() + self.presence_ttl_s / 3
                if loop.time() >= next_reap:
                    await self.reap()
                    next_reap = loop.time() + self.presence_ttl_s
            except Exception:  # the store may be briefly away; keep ticking
                log.exception("room presence upkeep")
            await asyncio.sleep(self.config.like_window_s)
            await self.flush_likes()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.flush_likes()
