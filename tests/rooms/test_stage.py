"""Co-hosts: invitations and requests with a time-to-live, the seat limit, media tokens, kick and mute."""

from __future__ import annotations

import asyncio

import pytest

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound, Unauthenticated
from rooms.events import CohostLeft, Seat
from rooms.gifts import GiftDesk
from rooms.stage import Stage
from tests.rooms.conftest import ALICE, ANON, BOB, HOST, MOD, FakeCharger, FakeClock, FakeMedia, Sink


@pytest.fixture
def media() -> FakeMedia:
    return FakeMedia()


@pytest.fixture
async def stage(directory: RoomDirectory, media: FakeMedia) -> Stage:
    room = await directory.open("live1", "host")
    await room.set_moderator(HOST, "mod", True)
    return Stage(directory, media)


async def test_invite_accept_mute_kick(stage: Stage, media: FakeMedia, clock: FakeClock, sink: Sink) -> None:
    with pytest.raises(NotAllowed):
        await stage.invite(MOD, "live1", "alice")  # inviting is the host's
    await stage.invite(HOST, "live1", "alice")
    with pytest.raises(NotFound):
        await stage.accept(BOB, "live1")  # bob was not invited
    clock.advance(5)
    ticket = await stage.accept(ALICE, "live1")
    assert ticket.publish_token == "publish:live1:alice" and ticket.seat == Seat(user_id="alice", since=clock.ms)
    with pytest.raises(NotFound):
        await stage.accept(ALICE, "live1")  # an invitation is used once
    await stage.mute(MOD, "live1", "alice")
    assert await stage.seats("live1") == [Seat(user_id="alice", since=clock.ms, muted=True)]
    await stage.mute(HOST, "live1", "alice", muted=False)
    with pytest.raises(NotAllowed):
        await stage.kick(BOB, "live1", "alice")
    await stage.kick(MOD, "live1", "alice")
    with pytest.raises(NotFound):
        await stage.kick(HOST, "live1", "alice")
    assert media.calls == [("token", "alice"), ("mute", "alice"), ("unmute", "alice"), ("close", "alice")]
    assert sink.history() == [
        (1, "moderation.moderator"), (2, "cohost.invited"), (3, "cohost.joined"), (4, "cohost.muted"),
        (5, "cohost.muted"), (6, "cohost.left"),
    ]
    assert sink.events[-1].data == CohostLeft(user_id="alice", reason="kicked", seats=0)
    assert await stage.seats("live1") == []


async def test_request_and_the_hosts_answer(stage: Stage, media: FakeMedia, sink: Sink) -> None:
    with pytest.raises(Unauthenticated):
        await stage.request(ANON, "live1")
    await stage.request(ALICE, "live1")
    await stage.request(BOB, "live1")
    with pytest.raises(Invalid):
        await stage.accept(HOST, "live1")  # which request?
    ticket = await stage.accept(HOST, "live1", "alice")
    assert ticket.publish_token == "publish:live1:alice"
    await stage.reject(HOST, "live1", "bob")
    await stage.leave(ALICE, "live1")
    assert sink.history() == [
        (1, "moderation.moderator"), (2, "cohost.requested"), (3, "cohost.requested"), (4, "cohost.joined"),
        (5, "cohost.declined"), (6, "cohost.left"),
    ]
    assert media.calls == [("token", "alice"), ("close", "alice")]


async def test_invitations_expire(stage: Stage, clock: FakeClock, sink: Sink) -> None:
    await stage.invite(HOST, "live1", "alice")
    clock.advance(60)
    with pytest.raises(Conflict) as caught:
        await stage.accept(ALICE, "live1")
    assert caught.value.type_slug == "stage-invitation-expired"
    assert await stage.seats("live1") == []
    assert sink.history() == [(1, "moderation.moderator"), (2, "cohost.invited")]


async def test_the_seat_limit_holds_under_a_race(stage: Stage, sink: Sink) -> None:
    guests = [Actor(f"g{n}") for n in range(10)]
    for guest in guests:
        await stage.request(guest, "live1")
    outcomes = await asyncio.gather(
        *(stage.accept(HOST, "live1", g.user_id) for g in guests), return_exceptions=True)
    accepted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(accepted) == 8 and len(refused) == 2
    assert len(await stage.seats("live1")) == 8
    with pytest.raises(Conflict):
        await stage.invite(HOST, "live1", "late")
    # each event carries the seats taken when it was written (racing accepts may see the same number)
    joined = [e.data.seats for e in sink.of("cohost.joined")]  # type: ignore[union-attr]
    assert len(joined) == 8 and max(joined) == 8 and min(joined) >= 1


async def test_a_failed_token_frees_the_seat(stage: Stage, media: FakeMedia, sink: Sink) -> None:
    await stage.invite(HOST, "live1", "alice")
    media.fail_mint = True
    with pytest.raises(RuntimeError):
        await stage.accept(ALICE, "live1")
    assert await stage.seats("live1") == []
    assert sink.history() == [(1, "moderation.moderator"), (2, "cohost.invited")]


async def test_guests_receive_gifts_and_leave_when_the_live_ends(
    stage: Stage, directory: RoomDirectory, media: FakeMedia, sink: Sink
) -> None:
    with pytest.raises(Invalid):
        await stage.invite(HOST, "live1", "host")
    await stage.invite(HOST, "live1", "alice")
    await stage.accept(ALICE, "live1")
    desk = GiftDesk(directory, FakeCharger({"bob": 10}))
    await desk.send("live1", BOB, receiver_id="alice", gift_id="rose", key="k")
    await directory.room("live1").end(HOST)
    await stage.clear("live1")
    assert media.calls == [("token", "alice"), ("close", "alice")]
    assert sink.history()[-4:] == [(3, "cohost.joined"), (4, "gift.sent"), (5, "room.ended"), (6, "cohost.left")]
