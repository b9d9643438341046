"""Two nodes on one redis-server: each has its own client, store and directory; the room is one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.events import GiftSent, RankedUser, ViewerLeft
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


async def test_the_viewers_of_a_dead_node_are_reaped_once(redis_url: str, clock: FakeClock) -> None:
    prefix = f"nodes{next(_prefixes)}:room"
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    sink = Sink()
    a, b, c = (RoomDirectory(RedisRoomStore(cl, prefix=prefix), clock, sink, node_id=n, presence_ttl_s=30)
               for cl, n in zip(clients, "ABC", strict=True))
    try:
        await a.open("live1", "host")
        for directory in (a, b, c):
            await directory.heartbeat()
        await a.room("live1").join(ALICE)
        await a.room("live1").join(Actor.anonymous("s1"))
        await b.room("live1").join(BOB)
        await c.room("live1").join(Actor("alice", "tab2"))  # alice also watches through C
        assert await b.reap() == [] and await c.reap() == []  # everyone is alive
        await clients[0].delete(f"{prefix}:node:A")  # node A dies: its heartbeat runs out
        left = [e for events in await asyncio.gather(b.reap(), c.reap()) for e in events]
        assert left == []  # alice is still there through C; the anonymous viewer is counted, not announced
        assert (await b.room("live1").snapshot()).viewers == 2
        await c.room("live1").leave(Actor("alice", "tab2"))
        await clients[1].delete(f"{prefix}:node:C")
        await b.room("live1").join(Actor("carol", "sid-c"))
        await c.room("live1").join(Actor("dave", "sid-d"))
        reaped = await asyncio.gather(b.reap(), b.reap())
        assert [e.data for events in reaped for e in events] == [ViewerLeft(user_id="dave", viewers=2)]
        assert sink.history() == [(1, "viewer.joined"), (2, "viewer.joined"), (3, "viewer.left"),
                                  (4, "viewer.joined"), (5, "viewer.joined"), (6, "viewer.left")]
    finally:
        for client in clients:
            await client.aclose()
