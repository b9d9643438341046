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
from typing import Protocol

from rooms.actor import Actor
from rooms.clock import Clock, SystemClock
from rooms.directory import RoomDirectory
from rooms.events import RoomEvent
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


class RoomSettings(Protocol):
    """The fields of ``api.config.Settings`` the room domain reads (matched structurally: no import of api)."""

    @property
    def room_replay_buffer(self) -> int: ...
    @property
    def room_chat_max_chars(self) -> int: ...
    @property
    def room_chat_per_minute(self) -> int: ...
    @property
    def room_chat_burst(self) -> int: ...
    @property
    def room_like_window_ms(self) -> int: ...
    @property
    def room_cohost_seats(self) -> int: ...
    @property
    def room_cohost_invite_ttl_s(self) -> int: ...
    @property
    def pk_invite_ttl_s(self) -> int: ...
    @property
    def pk_countdown_s(self) -> int: ...
    @property
    def pk_duration_s(self) -> int: ...


@dataclass(frozen=True, slots=True)
class RoomServiceConfig:
    room: RoomConfig = field(default_factory=RoomConfig)
    pk: PkConfig = field(default_factory=PkConfig)
    referee_interval_s: float = 1.0
    replay_buffer: int = 512

    @classmethod
    def from_settings(cls, settings: RoomSettings) -> RoomServiceConfig:
        return cls(
            room=RoomConfig(
                chat_max_chars=settings.room_chat_max_chars, chat_per_s=settings.room_chat_per_minute / 60,
                chat_burst=settings.room_chat_burst, like_window_s=settings.room_like_window_ms / 1000,
                cohost_seats=settings.room_cohost_seats, cohost_invite_ttl_s=settings.room_cohost_invite_ttl_s,
            ),
            pk=PkConfig(invite_ttl_s=settings.pk_invite_ttl_s, countdown_s=settings.pk_countdown_s,
                        default_duration_s=settings.pk_duration_s),
            replay_buffer=settings.room_replay_buffer,
        )


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

    async def kick(self, actor: Actor, room_id: str, user_id: str, *, ban: bool = False) -> RoomEvent:
        """Remove someone from the live (``Room.kick``) and, if they were a co-host, from the stage, closing
        their media. The edges call this rather than ``Room.kick``."""
        event = await self.rooms.room(room_id).kick(actor, user_id, ban=ban)
        await self.stage.remove(room_id, user_id)
        return event

    def start(self) -> None:
        self.rooms.start()
        self.referee.start()

    async def close(self) -> None:
        await self.lives.close()  # lives being ended finish first: they need the store and the rooms
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
