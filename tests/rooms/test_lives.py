"""A live's lifecycle: create → start (room opens, ingest, playback, followers told) → end (cascade)."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound, Unauthenticated
from rooms.events import ProductCard
from rooms.gifts import GiftDesk
from rooms.lives import Livestreams
from rooms.media import Ingest
from rooms.memory_store import MemoryRoomStore
from rooms.shopping import LiveShopping
from rooms.stage import Stage
from store.database import Database
from tests.rooms.conftest import ALICE, ANON, BOB, HOST, FakeCharger, FakeClock, FakeMedia, Sink
from tests.rooms.test_shopping import FakeCommerce


class FakeFollowers:
    def __init__(self, fail: bool = False) -> None:
        self.told: list[tuple[str, str, str]] = []
        self.fail = fail

    async def notify_live(self, host_id: str, stream_id: str, title: str) -> None:
        if self.fail:
            raise RuntimeError("push service down")
        self.told.append((host_id, stream_id, title))


def lives_on(db: Database, directory: RoomDirectory, media: FakeMedia, followers: FakeFollowers) -> Livestreams:
    shopping = LiveShopping(db, directory, FakeCommerce())
    return Livestreams(db, directory, media, Stage(directory, media), shopping, followers)


async def test_create_start_end(db: Database, directory: RoomDirectory, clock: FakeClock, sink: Sink) -> None:
    media, followers = FakeMedia(), FakeFollowers()
    lives = lives_on(db, directory, media, followers)
    with pytest.raises(Unauthenticated):
        await lives.create(ANON, title="x", category="music")
    for bad in ({"title": " "}, {"category": ""}, {"cover_url": "ftp://x"}):
        with pytest.raises(Invalid):
            await lives.create(HOST, **{"title": "t", "category": "music", **bad})  # type: ignore[arg-type]
    stream = await lives.create(HOST, title=" Evening set ", category="music", cover_url="https://cdn.test/c.jpg")
    assert (stream.status, stream.title, stream.started_at) == ("created", "Evening set", None)
    with pytest.raises(NotAllowed):
        await lives.start(ALICE, stream.id)
    with pytest.raises(Conflict):
        await lives.playback(stream.id)
    clock.advance(1)
    go = await lives.start(HOST, stream.id)
    assert go.stream.status == "live" and go.stream.started_at == clock.ms
    assert go.ingest == Ingest(f"http://127.0.0.1/whip/{stream.id}", f"publish:{stream.id}:host")
    assert go.playback.whep_url.endswith("/whep") and (await lives.playback(stream.id)) == go.playback
    assert followers.told == [("host", stream.id, "Evening set")]
    again = await lives.start(HOST, stream.id)  # a reconnecting broadcaster gets a fresh token, no second notice
    assert again.stream.started_at == go.stream.started_at and len(followers.told) == 1
    assert [s.id for s in await lives.live()] == [stream.id]

    room = directory.room(stream.id)
    await room.join(ALICE)
    await room.like(ALICE, 4)
    stage = Stage(directory, media)
    await stage.invite(HOST, stream.id, "bob")
    await stage.accept(BOB, stream.id)
    await GiftDesk(directory, FakeCharger({"alice": 50})).send(stream.id, ALICE, receiver_id="host",
                                                               gift_id="rose", key="k", quantity=20)
    shop = LiveShopping(db, directory, FakeCommerce())
    session = await shop.open(HOST, stream.id)
    await shop.pin(HOST, session.id, ProductCard(product_id="p-cap", seller_id="host", title="Cap", price=900,
                                                 currency="EUR"))
    with pytest.raises(NotAllowed):
        await lives.end(ALICE, stream.id)
    ended = await lives.end(HOST, stream.id)
    assert (ended.status, ended.likes, ended.gift_coins) == ("ended", 4, 20)
    with pytest.raises(Conflict):
        await lives.end(HOST, stream.id)
    with pytest.raises(Conflict):
        await lives.start(HOST, stream.id)
    assert await lives.live() == []
    assert (await shop.analytics(session.id)).closed
    assert media.calls == [("ingest", "host"), ("ingest", "host"), ("token", "bob"), ("close", "bob"),
                           ("end", stream.id)]
    assert sink.history(stream.id) == [
        (1, "viewer.joined"), (2, "cohost.invited"), (3, "cohost.joined"), (4, "gift.sent"), (5, "shop.pinned"),
        (6, "likes"), (7, "room.ended"), (8, "cohost.left"),
    ]
    with pytest.raises(NotFound):
        await lives.get("nope")


async def test_a_follower_notice_failure_does_not_stop_the_live(db: Database, directory: RoomDirectory) -> None:
    lives = lives_on(db, directory, FakeMedia(), FakeFollowers(fail=True))
    stream = await lives.create(HOST, title="t", category="c")
    assert (await lives.start(HOST, stream.id)).stream.status == "live"


async def test_after_a_restart_with_in_process_state_the_host_can_resume_and_end(
    db: Database, clock: FakeClock, sink: Sink
) -> None:
    first = RoomDirectory(MemoryRoomStore(), clock, sink)
    stream = await lives_on(db, first, FakeMedia(), FakeFollowers()).create(HOST, title="t", category="c")
    await lives_on(db, first, FakeMedia(), FakeFollowers()).start(HOST, stream.id)
    restarted = RoomDirectory(MemoryRoomStore(), clock, sink)  # the room's state is gone
    lives = lives_on(db, restarted, FakeMedia(), FakeFollowers())
    await lives.start(HOST, stream.id)  # reopens the room
    assert (await restarted.room(stream.id).snapshot()).status == "live"
    again = RoomDirectory(MemoryRoomStore(), clock, sink)
    assert (await lives_on(db, again, FakeMedia(), FakeFollowers()).end(HOST, stream.id)).status == "ended"


class SlowEndMedia(FakeMedia):
    """Closing ingest and finalising the recording takes a while: ``end_stream`` waits for ``done``."""

    def __init__(self) -> None:
        super().__init__()
        self.ending = asyncio.Event()
        self.done = asyncio.Event()

    async def end_stream(self, room_id: str) -> None:
        self.ending.set()
        await self.done.wait()
        await super().end_stream(room_id)


class WatchedStore(MemoryRoomStore):
    def __init__(self) -> None:
        super().__init__()
        self.expiring: list[str] = []

    async def expire(self, room: str, after_s: float) -> None:
        self.expiring.append(room)
        await super().expire(room, after_s)


@pytest.mark.filterwarnings("error::RuntimeWarning")
async def test_a_cancelled_end_request_still_ends_the_live_fully(db: Database, clock: FakeClock, sink: Sink) -> None:
    store, media = WatchedStore(), SlowEndMedia()
    directory = RoomDirectory(store, clock, sink)
    lives = lives_on(db, directory, media, FakeFollowers())
    stream = await lives.create(HOST, title="t", category="c")
    await lives.start(HOST, stream.id)
    stage = Stage(directory, media)
    await stage.invite(HOST, stream.id, "alice")
    await stage.accept(ALICE, stream.id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        request = asyncio.create_task(lives.end(HOST, stream.id))
        await asyncio.wait_for(media.ending.wait(), 5)  # the room ended, the stage cleared; media is closing
        request.cancel()  # the client hung up: aiohttp cancels its handler
        with pytest.raises(asyncio.CancelledError):
            await request
        media.done.set()
        await lives.close()  # the app's shutdown (or just time) lets the wind-down finish
        del request
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
    assert ("end", stream.id) in media.calls and ("close", "alice") in media.calls  # ingest, recording, guest
    assert store.expiring == [stream.id]
    ended = await lives.get(stream.id)
    assert ended.status == "ended" and ended.ended_at is not None
    assert (await directory.room(stream.id).snapshot()).status == "ended"
    # Ending again joins nothing half done: it is refused as the room has ended.
    with pytest.raises(Conflict):
        await lives.end(HOST, stream.id)
    await directory.close()
