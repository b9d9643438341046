"""``RoomService``: the room domain assembled for one process, and the root of its ownership tree.

The composition root (``api/app.py``) builds one with the deployment's store (memory, or Redis when
``REDIS_URL`` is set), the edge's event sink (the Socket.IO emit), and the other domains' implementations of
the small protocols (ledger: ``GiftCharger``; engine: ``MediaControl``; commerce: ``OrderPlacer``; social:
``Followers``; AI provider: ``TextModerator``). ``start`` starts the tasks it owns (the likes ticker, the PK
referee) and ``close`` stops them in reverse order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from rooms.clock import Clock, SystemClock
from rooms.directory import RoomDirectory
from rooms.gifts import GiftCharger, GiftDesk
from rooms.lives import Followers, Livestreams
from rooms.media import MediaControl
from rooms.moderation import TextModerator
from rooms.pk import PkBattles, PkConfig
from rooms.referee import PkReferee
from rooms.room import EventSink, RoomConfig
from rooms.shopping import LiveShopping, OrderPlacer
from rooms.stage import Stage
from rooms.store import RoomStore
from store.database import Database


@dataclass(frozen=True, slots=True)
class RoomServiceConfig:
    room: RoomConfig = field(default_factory=RoomConfig)
    pk: PkConfig = field(default_factory=PkConfig)
    referee_interval_s: float = 1.0


class RoomService:
    def __init__(
        self, db: Database, store: RoomStore, sink: EventSink, *, charger: GiftCharger, media: MediaControl,
        orders: OrderPlacer, followers: Followers | None = None, moderator: TextModerator | None = None,
        config: RoomServiceConfig | None = None, clock: Clock | None = None,
    ) -> None:
        config = config or RoomServiceConfig()
        self.store = store
        self.rooms = RoomDirectory(store, clock or SystemClock(), sink, config=config.room, moderator=moderator)
        self.battles = PkBattles(db, self.rooms, config.pk)
        self.referee = PkReferee(self.battles, interval_s=config.referee_interval_s)
        self.gifts = GiftDesk(self.rooms, charger, self.battles)
        self.stage = Stage(self.rooms, media)
        self.shopping = LiveShopping(db, self.rooms, orders)
        self.lives = Livestreams(db, self.rooms, media, self.stage, self.shopping, followers)

    def start(self) -> None:
        self.rooms.start()
        self.referee.start()

    async def close(self) -> None:
        await self.referee.close()
        await self.rooms.close()
        await self.store.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RoomService]:
        """``start`` … ``close``, for an aiohttp cleanup context."""
        self.start()
        try:
            yield self
        finally:
            await self.close()
