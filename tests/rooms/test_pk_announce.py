"""PK announcements: every phase of a battle reaches both rooms exactly once and in order
(invited → countdown → active → ended), whatever interleaving of nodes, referees and retry sweeps announces
it. Each test drives one race deterministically (a fake clock, explicit calls in the racy order) on both
RoomStore backends (in process, and a real redis-server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.pk import PkBattles, PkConfig
from rooms.referee import PkReferee
from rooms.store import RoomStore
from store.database import Database
from tests.rooms.conftest import HOST, FakeClock, Sink

HOST2 = Actor("host2")
ROOMS = ("live1", "live2")
WHOLE_BATTLE = ["pk.invited", "pk.countdown", "pk.started", "pk.ended"]


def pk_history(sink: Sink, room: str) -> list[str]:
    return [kind for _, kind in sink.history(room) if kind.startswith("pk.") and kind != "pk.score"]


class Interrupted(PkBattles):
    """A node whose next announcement is preceded by ``before`` (another node's referee acting meanwhile)."""

    before: Any = None

    async def announce(self, *args: Any, **kwargs: Any) -> Any:
        before, self.before = self.before, None
        if before is not None:
            await before()
        return await super().announce(*args, **kwargs)


@pytest.fixture
async def rooms(store: RoomStore, clock: FakeClock, sink: Sink) -> AsyncIterator[RoomDirectory]:
    directory = RoomDirectory(store, clock, sink)
    await directory.open("live1", "host")
    await directory.open("live2", "host2")
    yield directory
    await directory.close()


async def test_a_sweep_repeating_an_announcement_later_does_not_send_it_again(
        db: Database, rooms: RoomDirectory, clock: FakeClock, sink: Sink) -> None:
    """Node 1 ends the battle and announces it; node 2's sweep listed the battle before node 1 cleared its
    outbox mark and announces it again 2 s later (the duplicate ``pk.ended`` seen with two nodes on Redis)."""
    battles = PkBattles(db, rooms, PkConfig(countdown_s=3))
    view = await battles.invite(HOST, "live1", "live2", 30)
    await battles.accept(HOST2, view.battle_id)
    clock.advance(3)
    assert await battles.advance(view.battle_id)
    clock.advance(30)
    assert await battles.advance(view.battle_id)
    clock.advance(2)
    await battles.announce(view.battle_id)  # the sweep's retry of the current state
    for room in ROOMS:
        assert pk_history(sink, room) == WHOLE_BATTLE
    for phase in ("invited", "countdown", "active", "ended"):  # any phase retried, later each time
        clock.advance(2)
        await battles.announce(view.battle_id, phase)
    for room in ROOMS:
        assert pk_history(sink, room) == WHOLE_BATTLE


async def test_the_countdown_is_announced_when_the_referee_starts_the_battle_first(
        db: Database, rooms: RoomDirectory, clock: FakeClock, sink: Sink) -> None:
    """The referee moves the battle to active between accept's transition and accept's announcement: both
    phases are still told, once each, countdown first."""
    accepting = Interrupted(db, rooms, PkConfig(countdown_s=3))
    referee = PkReferee(PkBattles(db, rooms, PkConfig(countdown_s=3)))
    view = await accepting.invite(HOST, "live1", "live2", 30)

    async def start_meanwhile() -> None:
        clock.advance(3)
        assert await referee.tick() == 1

    accepting.before = start_meanwhile
    accepted = await accepting.accept(HOST2, view.battle_id)
    for room in ROOMS:
        assert pk_history(sink, room) == WHOLE_BATTLE[:3]
    assert accepted.state == "countdown"  # accept answers with the transition it made
    clock.advance(30)
    assert await referee.tick() == 1
    clock.advance(2)
    assert await referee.tick() == 0  # the sweep finds nothing left to tell
    for room in ROOMS:
        assert pk_history(sink, room) == WHOLE_BATTLE
        seqs = [seq for seq, _ in sink.history(room)]
        assert seqs == sorted(seqs)


async def test_a_late_countdown_announcement_comes_after_nothing_newer(
        db: Database, rooms: RoomDirectory, clock: FakeClock, sink: Sink) -> None:
    """The referee starts and ends the battle before the accepting node announces; the accepting node's late
    countdown announcement must neither repeat nor follow the newer phases, and the room keeps the final view."""
    accepting = Interrupted(db, rooms, PkConfig(countdown_s=3))
    referee = PkReferee(PkBattles(db, rooms, PkConfig(countdown_s=3)))
    view = await accepting.invite(HOST, "live1", "live2", 30)

    async def battle_meanwhile() -> None:
        clock.advance(3)
        assert await referee.tick() == 1
        clock.advance(30)
        assert await referee.tick() == 1

    accepting.before = battle_meanwhile
    await accepting.accept(HOST2, view.battle_id)
    for room in ROOMS:
        assert pk_history(sink, room) == WHOLE_BATTLE
        snapshot = await rooms.room(room).snapshot()
        assert snapshot.pk is not None and snapshot.pk.state == "ended"


async def test_an_expired_invitation_is_told_once_after_the_invitation(
        db: Database, rooms: RoomDirectory, clock: FakeClock, sink: Sink) -> None:
    battles = PkBattles(db, rooms, PkConfig(countdown_s=3))
    referee = PkReferee(battles)
    view = await battles.invite(HOST, "live1", "live2", 30)
    clock.advance(30)
    assert await referee.tick() == 1
    clock.advance(2)
    await referee.tick()
    await battles.announce(view.battle_id)  # a sweep that listed it before the outbox mark was cleared
    for room in ROOMS:
        assert pk_history(sink, room) == ["pk.invited", "pk.cancelled"]
    await battles.announce(view.battle_id, "invited")
    for room in ROOMS:
        assert pk_history(sink, room) == ["pk.invited", "pk.cancelled"]
        assert await rooms.store.get(room, "pk_lock") is None  # free for the next battle
