"""PK battles: the whole lifecycle as event histories in both rooms, scoring rules, the referee ending a
battle exactly once with two nodes racing and after a restart, and the leaderboards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from rooms.actor import Actor
from rooms.clock import to_datetime
from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, Unauthenticated
from rooms.events import PkEnded, PkScore, RankedUser
from rooms.gifts import GiftDesk
from rooms.memory_store import MemoryRoomStore
from rooms.pk import PkBattles, PkConfig, Ranking
from rooms.referee import PkReferee
from rooms.store import SEATS, RoomStore
from store.database import Database
from store.schema.rooms import pk_battles
from tests.rooms.conftest import ALICE, ANON, BOB, HOST, FakeCharger, FakeClock, Sink

HOST2 = Actor("host2")


@dataclass
class Node:
    """What one server process holds: its room directory, battles, referee and gift desk."""

    rooms: RoomDirectory
    battles: PkBattles
    referee: PkReferee
    gifts: GiftDesk


def node(db: Database, store: RoomStore, clock: FakeClock, sink: Sink, charger: FakeCharger) -> Node:
    rooms = RoomDirectory(store, clock, sink)
    battles = PkBattles(db, rooms, PkConfig(countdown_s=3))
    return Node(rooms, battles, PkReferee(battles, interval_s=0.01), GiftDesk(rooms, charger, battles))


@pytest.fixture
def charger() -> FakeCharger:
    return FakeCharger({"alice": 10_000, "bob": 10_000, "carol": 10_000})


@pytest.fixture
async def one(db: Database, store: RoomStore, clock: FakeClock, sink: Sink,
              charger: FakeCharger) -> AsyncIterator[Node]:
    first = node(db, store, clock, sink, charger)
    await first.rooms.open("live1", "host")
    await first.rooms.open("live2", "host2")
    yield first
    await first.referee.close()
    await first.rooms.close()


async def gift(n: Node, actor: Actor, room: str, receiver: str, coins: int, key: str) -> None:
    await n.gifts.send(room, actor, receiver_id=receiver, gift_id="rose", quantity=coins, key=key)


async def test_a_battle_from_invitation_to_result(one: Node, clock: FakeClock, sink: Sink) -> None:
    view = await one.battles.invite(HOST, "live1", "live2", 60)
    assert (view.state, view.expires_at, view.time_left_ms(clock.ms)) == ("invited", clock.ms + 30_000, 30_000)
    clock.advance(10)
    view = await one.battles.accept(HOST2, view.battle_id)
    start = clock.ms + 3000
    assert (view.state, view.starts_at, view.ends_at) == ("countdown", start, start + 60_000)
    await gift(one, ALICE, "live1", "host", 5, "early")  # during the countdown: not counted
    clock.advance(3)
    assert await one.referee.tick() == 1
    await gift(one, ALICE, "live1", "host", 30, "a1")
    await gift(one, BOB, "live2", "host2", 20, "b1")
    await gift(one, Actor("carol"), "live1", "host", 15, "a2")
    await one.rooms.store.put_score("live1", SEATS, "guest", clock.ms)
    await gift(one, BOB, "live1", "guest", 500, "g1")  # to a guest: shown, not counted
    clock.advance(59.999)
    assert await one.referee.tick() == 0  # not yet
    await gift(one, BOB, "live2", "host2", 10, "b2")
    clock.advance(0.001)
    assert await one.referee.tick() == 1
    await gift(one, BOB, "live2", "host2", 100, "late")  # at the end: shown, not counted
    assert await one.referee.tick() == 0

    result = await one.battles.get(view.battle_id)
    assert (result.state, result.a.score, result.b.score, result.winner) == ("ended", 45, 30, "a")
    assert result.a.mvp == RankedUser(user_id="alice", score=30)
    assert result.b.mvp == RankedUser(user_id="bob", score=30)
    assert sink.history("live1") == [
        (1, "pk.invited"), (2, "pk.countdown"), (3, "gift.sent"), (4, "pk.started"), (5, "gift.sent"),
        (6, "pk.score"), (7, "pk.score"), (8, "gift.sent"), (9, "pk.score"), (10, "gift.sent"), (11, "pk.score"),
        (12, "pk.ended"),
    ]
    assert sink.history("live2") == [
        (1, "pk.invited"), (2, "pk.countdown"), (3, "pk.started"), (4, "pk.score"), (5, "gift.sent"),
        (6, "pk.score"), (7, "pk.score"), (8, "gift.sent"), (9, "pk.score"), (10, "pk.ended"), (11, "gift.sent"),
    ]
    scores = [(e.data.score_a, e.data.score_b) for e in sink.events
              if e.room == "live2" and isinstance(e.data, PkScore)]
    assert scores == [(30, 0), (30, 20), (45, 20), (45, 30)]
    ended = [e.data for e in sink.events if isinstance(e.data, PkEnded)]
    assert len(ended) == 2 and all(e.battle == result for e in ended)
    snap = await one.rooms.room("live2").snapshot()
    assert snap.pk == result and snap.pk_time_left_ms == 0
    # both lives are free for the next battle (once the guest, seated above behind the stage's back, is gone)
    await one.rooms.store.remove("live1", SEATS, "guest")
    await one.battles.invite(HOST2, "live2", "live1")


async def test_a_tie_is_a_draw(one: Node, clock: FakeClock) -> None:
    view = await one.battles.invite(HOST, "live1", "live2", 30)
    await one.battles.accept(HOST2, view.battle_id)
    clock.advance(3)
    await one.referee.tick()
    await gift(one, ALICE, "live1", "host", 7, "a")
    await gift(one, BOB, "live2", "host2", 7, "b")
    clock.advance(30)
    await one.referee.tick()
    result = await one.battles.get(view.battle_id)
    assert (result.a.score, result.b.score, result.winner) == (7, 7, "draw")


async def test_invitation_expires_or_is_rejected(one: Node, clock: FakeClock, sink: Sink) -> None:
    view = await one.battles.invite(HOST, "live1", "live2")
    with pytest.raises(Conflict):
        await one.battles.invite(HOST2, "live2", "live1")  # both are busy while it is open
    clock.advance(30)
    with pytest.raises(Conflict):
        await one.battles.accept(HOST2, view.battle_id)
    assert await one.referee.tick() == 1
    assert (await one.battles.get(view.battle_id)).state == "expired"
    second = await one.battles.invite(HOST, "live1", "live2")
    with pytest.raises(NotAllowed):
        await one.battles.reject(HOST, second.battle_id)  # only the invitee answers
    assert (await one.battles.reject(HOST2, second.battle_id)).state == "rejected"
    with pytest.raises(Conflict):
        await one.battles.accept(HOST2, second.battle_id)
    clock.advance(60)
    assert await one.referee.tick() == 0
    assert sink.history("live1") == [(1, "pk.invited"), (2, "pk.cancelled"), (3, "pk.invited"), (4, "pk.cancelled")]
    assert sink.history("live2") == sink.history("live1")


async def test_who_may_battle(one: Node) -> None:
    with pytest.raises(Unauthenticated):
        await one.battles.invite(ANON, "live1", "live2")
    with pytest.raises(NotAllowed):
        await one.battles.invite(ALICE, "live1", "live2")
    with pytest.raises(Invalid):
        await one.battles.invite(HOST, "live1", "live1")
    for bad in (0, 5, 3601):
        with pytest.raises(Invalid):
            await one.battles.invite(HOST, "live1", "live2", bad)
    with pytest.raises(Invalid):
        await one.battles.accept(HOST2, "x" * 100)
    await one.rooms.room("live2").end(HOST2)
    with pytest.raises(Conflict):
        await one.battles.invite(HOST, "live1", "live2")


async def test_two_referees_end_a_battle_once(db: Database, db_url: str, store: RoomStore, clock: FakeClock,
                                              sink: Sink, charger: FakeCharger, one: Node) -> None:
    """Two nodes: their own Database engines and directories, one shared database and room store."""
    other_db = Database(db_url)
    two = node(other_db, store, clock, sink, charger)
    try:
        view = await one.battles.invite(HOST, "live1", "live2", 30)
        await two.battles.accept(HOST2, view.battle_id)
        clock.advance(3)
        started = await asyncio.gather(one.referee.tick(), two.referee.tick())
        await gift(one, ALICE, "live1", "host", 3, "a")
        await gift(two, BOB, "live2", "host2", 4, "b")
        clock.advance(30)
        ended = await asyncio.gather(*(n.referee.tick() for n in (one, two, one, two)))
        assert sum(started) == 1 and sum(ended) == 1
        for room in ("live1", "live2"):
            assert [t for _, t in sink.history(room)].count("pk.ended") == 1
            assert [s for s, _ in sink.history(room)] == list(range(1, len(sink.history(room)) + 1))
        result = await two.battles.get(view.battle_id)
        assert (result.state, result.a.score, result.b.score, result.winner) == ("ended", 3, 4, "b")
    finally:
        await other_db.close()


async def test_a_battle_ends_on_time_after_a_restart(db_url: str, store: RoomStore, clock: FakeClock, sink: Sink,
                                                     charger: FakeCharger, one: Node) -> None:
    view = await one.battles.invite(HOST, "live1", "live2", 30)
    await one.battles.accept(HOST2, view.battle_id)
    clock.advance(3)
    await one.referee.tick()
    await gift(one, ALICE, "live1", "host", 9, "a")
    await one.referee.close()
    await one.rooms.close()

    clock.advance(600)  # the process was down when the battle should have ended
    restarted_db = Database(db_url)
    again = node(restarted_db, store, clock, sink, charger)
    try:
        assert await again.referee.tick() == 1
        assert await again.referee.tick() == 0
        result = await again.battles.get(view.battle_id)
        assert (result.state, result.a.score, result.winner) == ("ended", 9, "a")
        async with restarted_db.read() as conn:
            ended_at = await conn.scalar(sa.select(pk_battles.c.ended_at))
        assert ended_at is not None
        assert [t for _, t in sink.history("live1")].count("pk.ended") == 1
    finally:
        await again.rooms.close()
        await restarted_db.close()


async def test_an_unannounced_transition_is_announced_once_later(one: Node, clock: FakeClock, sink: Sink) -> None:
    """A node that ended a battle and died before telling the rooms: another referee tells them, once."""
    view = await one.battles.invite(HOST, "live1", "live2", 30)
    await one.battles.accept(HOST2, view.battle_id)
    clock.advance(33)
    await one.battles.advance(view.battle_id)  # started and announced
    assert await one.battles._end(view.battle_id, to_datetime(clock.ms))  # the transition, without its events
    assert [t for _, t in sink.history("live1")][-1] == "pk.started"
    assert await one.referee.tick() == 0  # not yet: the owner normally announces within a moment
    clock.advance(2)
    await one.referee.tick()
    await one.referee.tick()
    await one.battles.announce(view.battle_id)  # a late retry by the original node changes nothing
    assert [t for _, t in sink.history("live1")].count("pk.ended") == 1
    assert [t for _, t in sink.history("live2")].count("pk.ended") == 1


async def test_the_referee_task_ends_battles_by_itself(one: Node, clock: FakeClock, sink: Sink) -> None:
    view = await one.battles.invite(HOST, "live1", "live2", 30)
    await one.battles.accept(HOST2, view.battle_id)
    one.referee.start()
    clock.advance(33)
    for _ in range(500):
        if len(sink.of("pk.ended")) == 2:  # both rooms told
            break
        await asyncio.sleep(0.01)
    await one.referee.close()
    assert len(sink.of("pk.ended")) == 2 and len(sink.of("pk.started")) == 2


async def test_rankings_per_day_week_and_all_time(one: Node, clock: FakeClock, db: Database) -> None:
    async def battle(winner_coins: tuple[int, int], host_a: Actor = HOST) -> None:
        room_a, room_b = ("live1", "live2") if host_a is HOST else ("live2", "live1")
        host_b = HOST2 if host_a is HOST else HOST
        view = await one.battles.invite(host_a, room_a, room_b, 30)
        await one.battles.accept(host_b, view.battle_id)
        clock.advance(3)
        await one.referee.tick()
        coins_a, coins_b = winner_coins
        if coins_a:
            await gift(one, ALICE, room_a, host_a.user_id or "", coins_a, f"{view.battle_id}a")
        if coins_b:
            await gift(one, BOB, room_b, host_b.user_id or "", coins_b, f"{view.battle_id}b")
        clock.advance(30)
        await one.referee.tick()

    clock.ms = 1_800_000_000_000  # Friday 2027-01-15 08:00 UTC
    await battle((10, 5))  # host wins
    clock.advance(86_400)  # Saturday, same ISO week
    await battle((2, 8))  # host2 wins
    await battle((4, 4), host_a=HOST2)  # draw
    assert await one.battles.rankings("day") == [
        Ranking("host2", wins=1, draws=1, losses=0, points=12), Ranking("host", wins=0, draws=1, losses=1, points=6),
    ]
    assert await one.battles.rankings("week") == [  # equal wins: more coins first
        Ranking("host2", wins=1, draws=1, losses=1, points=17), Ranking("host", wins=1, draws=1, losses=1, points=16),
    ]
    clock.advance(7 * 86_400)
    assert await one.battles.rankings("week") == []
    assert [r.host_id for r in await one.battles.rankings("all")] == ["host2", "host"]


async def test_a_restart_that_loses_in_process_state_keeps_the_checkpointed_score(
    db_url: str, db: Database, clock: FakeClock, sink: Sink, charger: FakeCharger
) -> None:
    """Single node, in-process store: the process restarts mid-battle and its room state is gone."""
    first = node(db, MemoryRoomStore(), clock, sink, charger)
    for room_id, host in (("live1", "host"), ("live2", "host2")):
        await first.rooms.open(room_id, host)
    view = await first.battles.invite(HOST, "live1", "live2", 60)
    await first.battles.accept(HOST2, view.battle_id)
    clock.advance(3)
    await first.referee.tick()
    await gift(first, ALICE, "live1", "host", 30, "a1")
    await gift(first, BOB, "live2", "host2", 12, "b1")
    clock.advance(1)
    await first.referee.tick()  # checkpoints the scores
    await first.rooms.close()

    restarted_db = Database(db_url)
    again = node(restarted_db, MemoryRoomStore(), clock, sink, charger)
    try:
        for room_id, host in (("live1", "host"), ("live2", "host2")):
            await again.rooms.open(room_id, host)  # what Livestreams.start does after a restart
        await again.referee.tick()  # the rooms learn their battle again; the scoreboard is restored
        await gift(again, Actor("carol"), "live1", "host", 5, "a2")
        assert (await again.battles.get(view.battle_id)).a.score == 35
        clock.advance(60)
        assert await again.referee.tick() == 1
        result = await again.battles.get(view.battle_id)
        assert (result.a.score, result.b.score, result.winner) == (35, 12, "a")
        assert result.a.mvp == RankedUser(user_id="alice", score=30)
        assert result.b.mvp == RankedUser(user_id="bob", score=12)
    finally:
        await again.rooms.close()
        await restarted_db.close()
