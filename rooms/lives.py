"""``Livestreams``: a live's lifecycle. Create (title, cover, category) → start (the room opens; the host
gets a WHIP URL and a publish token; viewers get WHEP, HLS and LL-HLS URLs; followers are told) → end (the
room ends, guests leave the stage, the shopping session closes, the engine closes ingest and finalises the
recording, and the live's totals are stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from rooms.actor import Actor
from rooms.clock import to_datetime, to_ms
from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound, Unauthenticated, UnknownRoom
from rooms.media import Ingest, MediaControl, Playback
from rooms.room import LIKES, STATUS
from rooms.shopping import LiveShopping
from rooms.stage import Stage
from rooms.store import SUPPORTERS
from store.database import Database
from store.ids import new_id
from store.schema.rooms import livestreams
from store.types import UtcDateTime

log = logging.getLogger(__name__)

RETAIN_S = 3600  # an ended live's room state is kept this long for late clients, then forgotten


class Followers(Protocol):
    """The social side: tell a creator's followers that they went live."""

    async def notify_live(self, host_id: str, stream_id: str, title: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Livestream:
    id: str
    host_id: str
    title: str
    cover_url: str | None
    category: str
    status: str  # created | live | ended
    created_at: int
    started_at: int | None
    ended_at: int | None
    likes: int
    gift_coins: int


@dataclass(frozen=True, slots=True)
class GoLive:
    stream: Livestream
    ingest: Ingest
    playback: Playback


def _stream(row: Any) -> Livestream:
    return Livestream(
        id=row.id, host_id=row.host_id, title=row.title, cover_url=row.cover_url, category=row.category,
        status=row.status, created_at=to_ms(row.created_at),
        started_at=to_ms(row.started_at) if row.started_at else None,
        ended_at=to_ms(row.ended_at) if row.ended_at else None, likes=row.likes, gift_coins=row.gift_coins,
    )


class Livestreams:
    def __init__(self, db: Database, directory: RoomDirectory, media: MediaControl, stage: Stage,
                 shopping: LiveShopping, followers: Followers | None = None) -> None:
        self._db = db
        self._directory = directory
        self._media = media
        self._stage = stage
        self._shopping = shopping
        self._followers = followers
        # Wind-downs in progress, by live: owned here, not by the request that ended the live, so a client
        # that hangs up (its handler cancelled) does not leave a live half ended; ``close`` finishes them.
        self._winding: dict[str, asyncio.Task[None]] = {}

    async def create(self, actor: Actor, *, title: str, category: str, cover_url: str | None = None) -> Livestream:
        if actor.user_id is None:
            raise Unauthenticated("sign in to go live")
        title, category = title.strip(), category.strip()
        if not 1 <= len(title) <= 120:
            raise Invalid("a title has 1 to 120 characters", slug="bad-title")
        if not 1 <= len(category) <= 32:
            raise Invalid("a category has 1 to 32 characters", slug="bad-category")
        if cover_url is not None and (len(cover_url) > 512 or not cover_url.startswith(("https://", "http://"))):
            raise Invalid("a cover is an http(s) URL of at most 512 characters", slug="bad-cover-url")
        now = to_datetime(self._directory.clock.now_ms())
        stream_id = new_id()
        async with self._db.write() as conn:
            await conn.execute(livestreams.insert().values(
                id=stream_id, host_id=actor.user_id, title=title, cover_url=cover_url, category=category,
                status="created", created_at=now, likes=0, gift_coins=0))
        return await self.get(stream_id)

    async def get(self, stream_id: str) -> Livestream:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(livestreams).where(livestreams.c.id == stream_id))).one_or_none()
        if row is None:
            raise NotFound(f"no livestream {stream_id!r}", slug="unknown-livestream")
        return _stream(row)

    async def live(self, *, limit: int = 20, before: str | None = None) -> list[Livestream]:
        """Lives on air, newest first; ``before`` is the last id of the previous page (keyset)."""
        query = sa.select(livestreams).where(livestreams.c.status == "live")
        if before is not None:
            query = query.where(livestreams.c.id < before)
        async with self._db.read() as conn:
            rows = await conn.execute(query.order_by(livestreams.c.id.desc()).limit(max(1, min(limit, 100))))
            return [_stream(r) for r in rows]

    async def start(self, actor: Actor, stream_id: str) -> GoLive:
        """Go live (the host only). Starting a live that is already on air gives the host a fresh token, so a
        broadcaster that lost its connection can publish again."""
        stream = await self.get(stream_id)
        if actor.user_id != stream.host_id:
            raise NotAllowed("only the host starts their live", slug="not-host")
        if stream.status == "ended":
            raise Conflict("the live has ended", slug="room-ended")
        ingest = await self._media.host_ingest(stream_id, stream.host_id)
        playback = await self._media.playback(stream_id)
        now = to_datetime(self._directory.clock.now_ms())
        async with self._db.write() as conn:
            started = await conn.execute(livestreams.update().where(
                livestreams.c.id == stream_id, livestreams.c.status == "created").values(status="live", started_at=now))
        reopened = started.rowcount == 0 and await self._directory.store.get(stream_id, STATUS) is None
        if started.rowcount == 1 or reopened:  # reopened: the in-process room state did not survive a restart
            try:
                await self._directory.open(stream_id, stream.host_id)
            except Conflict:
                if started.rowcount == 1:
                    raise
                # a racing start (another node, a retry) opened it first: the room is live, which is the point
        if started.rowcount == 1 and self._followers is not None:
            try:
                await self._followers.notify_live(stream.host_id, stream_id, stream.title)
            except Exception:  # the live is on air; a notification failure must not take it down
                log.exception("notifying followers of live %s", stream_id)
        return GoLive(await self.get(stream_id), ingest, playback)

    async def playback(self, stream_id: str) -> Playback:
        stream = await self.get(stream_id)
        if stream.status != "live":
            raise Conflict("the live is not on air", slug="not-live")
        return await self._media.playback(stream_id)

    async def end(self, actor: Actor, stream_id: str) -> Livestream:
        """End the live (the host or a room moderator); every step after the room ends runs even if an
        earlier one fails, so a live never stays half ended."""
        stream = await self.get(stream_id)
        room = self._directory.room(stream_id)
        try:
            await room.end(actor)  # authorizes, and only one caller gets past it
        except UnknownRoom:
            # The room's state is gone (in-process state and a restart); the host may still end the live.
            if stream.status != "live" or actor.user_id != stream.host_id:
                raise Conflict("the live is not on air", slug="not-live") from None
        await self._wind_down_owned(stream_id)
        return await self.get(stream_id)

    async def terminate(self, stream_id: str, by: str) -> None:
        """End a live on the platform's authority (moderation removed it, or its host was banned): viewers
        get the end event like any other end, and everything the live holds is closed."""
        room = self._directory.room(stream_id)
        # No room state here, or it already ended: the rest still runs, each step is idempotent.
        with contextlib.suppress(UnknownRoom, Conflict):
            await room.terminate(by)
        await self._wind_down_owned(stream_id)

    async def _wind_down_owned(self, stream_id: str) -> None:
        """Run the wind-down as this object's task (one per live at a time; a second end joins it) and wait
        for it; cancelling the caller does not cancel it (``asyncio.shield``)."""
        task = self._winding.get(stream_id)
        if task is None:
            task = asyncio.create_task(self._wind_down(stream_id), name=f"wind-down:{stream_id}")
            self._winding[stream_id] = task
            # Only a task that is done leaves the dict, and only then may a new one be made for this live.
            task.add_done_callback(lambda _: self._winding.pop(stream_id, None))
        await asyncio.shield(task)

    async def close(self, grace_s: float = 10.0) -> None:
        """Let the wind-downs in progress finish (for ``grace_s`` at most), then cancel what is left."""
        tasks = list(self._winding.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _wind_down(self, stream_id: str) -> None:
        store = self._directory.store
        likes = (await store.counters(stream_id)).get(LIKES, 0)
        coins = sum(score for _, score in await store.top(stream_id, SUPPORTERS))
        ended_at = to_datetime(self._directory.clock.now_ms())
        async with self._db.write() as conn:
            first_end = sa.func.coalesce(livestreams.c.ended_at, sa.literal(ended_at, UtcDateTime))
            await conn.execute(livestreams.update().where(livestreams.c.id == stream_id).values(
                status="ended", ended_at=first_end, likes=likes, gift_coins=coins))
        steps: tuple[tuple[str, Callable[[], Awaitable[object]]], ...] = (
            ("stage", lambda: self._stage.clear(stream_id)), ("shop", lambda: self._shopping.close_room(stream_id)),
            ("media", lambda: self._media.end_stream(stream_id)), ("state", lambda: store.expire(stream_id, RETAIN_S)),
        )
        for step, run in steps:  # each step's coroutine is made only when it runs
            try:
                await run()
            except Exception:
                log.exception("ending live %s: %s", stream_id, step)
