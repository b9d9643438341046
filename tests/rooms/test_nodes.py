"""Two nodes on one redis-server: each has its own client, store and directory; the room is one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.events import GiftSent, RankedUser
from rooms.gifts import GiftDesk
from rooms.redis_store import RedisRoomStore
from tests.rooms.conftest import ALICE, BOB, HOST, FakeCharger, FakeClock, Sink

_prefixes = itertools.count()


@pytest.fixture
async def nodes(redis_url: str, clock: FakeClock) -> AsyncIterator[tuple[RoomDirectory, RoomDirectory, Sink]]:
    prefix = f"nodes{next(_prefixes)}:room"
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    sink = Sink()  # what the fan-out (python-socketio's AsyncRedisManager) delivers, from both nodes
    a, b = (RoomDirectory(RedisRoomStore(c, buffer_size=64, prefix=prefix), clock, sink) for c in clients)
    yield a, b, sink
    for client in clients:
        await client.aclose()


async def test_a_room_served_by_two_nodes(nodes: tuple[RoomDirectory, RoomDirectory, Sink]) -> None:
    a, b, sink = nodes
    await a.open("live1", "host")
    await b.room("live1").join(ALICE)  # alice's socket is on node B
    await a.room("live1").join(Actor("alice", "tab-on-a"))  # her second tab on node A: still one viewer
    await a.room("live1").join(Actor("carol", "sid-c"))
    charger = FakeCharger({"bob": 100, "carol": 100})  # one ledger (the shared database)
    desk_a, desk_b = GiftDesk(a, charger), GiftDesk(b, charger)

    await asyncio.gather(
        *(desk_a.send("live1", BOB, receiver_id="host", gift_id="rose", key=f"a{n}", combo_id="x")
          for n in range(10)),
        *(desk_b.send("live1", Actor("carol"), receiver_id="host", gift_id="rose", key=f"b{n}") for n in range(5)),
        *(b.room("live1").chat(HOST, f"hi {n}") for n in range(5)),
    )
    retried = await desk_b.send("live1", BOB, receiver_id="host", gift_id="rose", key="a0", combo_id="x")
    assert retried.event is None  # a client retrying through the other node: charged and shown once
    seqs = sorted(e.seq for e in sink.events)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 2 + 10 + 5 + 5
    streak = sorted(e.data.combo_count for e in sink.events if isinstance(e.data, GiftSent) and e.data.combo_id)
    assert streak == list(range(1, 11))
    snap_a, snap_b = await a.room("live1").snapshot(), await b.room("live1").snapshot()
    assert snap_a == snap_b and snap_a.viewers == 2
    assert snap_b.top_viewers == [RankedUser(user_id="carol", score=5), RankedUser(user_id="alice", score=0)]
    assert await desk_b.top_supporters("live1") == [RankedUser(user_id="bob", score=10),
                                                    RankedUser(user_id="carol", score=5)]
    # a viewer reconnecting to the other node catches up from the same log
    missed = await a.room("live1").resume(10)
    assert [e.seq for e in missed.events or []] == list(range(11, 23))
