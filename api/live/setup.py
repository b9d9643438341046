"""Builds the live rooms onto the application; called by ``create_app`` after the ledger, the media engine,
commerce and social exist.

The store is Redis when ``REDIS_URL`` is set (any node serves any viewer; the Socket.IO server then fans
out through Redis too), in process otherwise. The room service starts after the database is up and stops
before it closes (a cleanup context placed after the database's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from redis.asyncio import Redis

from api.config import Settings
from api.creator.analytics import ActivityEvent, Metric
from api.live.charger import LedgerGiftCharger
from api.live.media import EngineMediaControl
from api.live.mediabus import MediaBus, MemoryMediaBus
from api.live.moderator import AiChatModerator
from api.live.orders import CommerceOrderPlacer
from api.live.pkstage import PkStage
from api.live.redis_bus import RedisMediaBus
from api.live.sockets import LiveNamespace
from api.state import (
    ACCESS_TOKENS,
    AI_PROVIDER,
    ANALYTICS_FEED,
    ECONOMY,
    ENGINE,
    IDEMPOTENCY,
    LIVE_SOCKETS,
    LIVES,
    MEDIA_BUS,
    MEDIA_TOKENS,
    ORDERS,
    ROOMS,
    SOCIAL,
)
from rooms.events import RoomEvent, ViewerCount, ViewerJoined
from rooms.memory_store import MemoryRoomStore
from rooms.redis_store import RedisRoomStore
from rooms.service import RoomService, RoomServiceConfig
from rooms.store import RoomStore
from signaling.socketio import SocketServer, user_room
from signaling.tokens import LEEWAY_S
from store.database import Database
from store.schema.accounts import users
from store.schema.rooms import livestreams


def install(app: web.Application, settings: Settings, db: Database, redis: Redis | None,
            sockets: SocketServer) -> RoomService:
    config = RoomServiceConfig.from_settings(settings)
    store: RoomStore = (RedisRoomStore(redis, buffer_size=config.replay_buffer) if redis is not None
                        else MemoryRoomStore(buffer_size=config.replay_buffer))
    live = LiveNamespace(app[ACCESS_TOKENS], batch_tick_s=settings.room_batch_tick_ms / 1000)
    sockets.sio.register_namespace(live)
    async def username(user_id: str) -> str:
        """The name a live's program shows for a participant."""
        async with db.read() as conn:
            name = await conn.scalar(sa.select(users.c.username).where(users.c.id == user_id))
        return str(name) if name is not None else user_id

    # A media command's state lasts as long as a token minted before it may still be presented.
    ttl_s = settings.media_token_ttl_s + LEEWAY_S
    bus: MediaBus = RedisMediaBus(redis, ttl_s) if redis is not None else MemoryMediaBus(ttl_s)
    app[MEDIA_BUS] = bus
    pk_stage = PkStage(app[LIVES], username)
    media = EngineMediaControl(app[ENGINE], app[LIVES], app[MEDIA_TOKENS], settings.base_url, bus, username,
                               pictures=pk_stage.apply)

    feed = app[ANALYTICS_FEED]
    hosts: dict[str, str] = {}

    async def host_of(stream_id: str) -> str | None:
        if stream_id not in hosts:
            async with db.read() as conn:
                host = await conn.scalar(sa.select(livestreams.c.host_id).where(livestreams.c.id == stream_id))
            if host is None:
                return None
            hosts[stream_id] = str(host)
        return hosts[stream_id]

    async def sink(event: RoomEvent) -> None:
        await live.publish(event)  # viewers first: the picture may take a moment
        await media.picture(event)  # on the nodes that hold the battle's lives
        if isinstance(event.data, ViewerJoined | ViewerCount):
            # The creator's analytics keep each hour's peak audience of the live (a maximum, not a sum).
            host = await host_of(event.room)
            if host is not None:
                feed.add(ActivityEvent(Metric.LIVE_PEAK, host, event.room, value=event.data.viewers))

    service = RoomService(
        db, store, sink,
        charger=LedgerGiftCharger(app[ECONOMY]),
        media=media,
        orders=CommerceOrderPlacer(app[ORDERS], app[IDEMPOTENCY]),
        followers=app[SOCIAL].notifications,  # social's Notifications.notify_live is rooms.lives.Followers
        moderator=AiChatModerator(app[AI_PROVIDER]),
        config=config,
    )
    live.bind(service)
    app[ROOMS] = service
    app[LIVE_SOCKETS] = live

    async def rooms(app: web.Application) -> AsyncIterator[None]:
        media.start()
        try:
            async with service.running():
                yield
        finally:
            await bus.close()  # after the rooms (their wind-downs send ends), before the engine and Redis close
        await live.close()  # after the rooms: the last events they announced leave in the last batches

    app.cleanup_ctx.append(rooms)
    return service


async def deliver_to_user(app: web.Application, user_id: str, event: str, payload: dict[str, Any]) -> None:
    """Send ``event`` to every socket of one user (their personal room on the default namespace)."""
    await app[LIVE_SOCKETS].server.emit(event, payload, room=user_room(user_id))
