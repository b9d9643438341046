"""The audience side of a room: presence, chat rules, moderation, likes, pins, snapshot and replay.

Every test asserts the room's whole event history (seq, type), on both store backends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound, Throttled, Unauthenticated, UnknownRoom
from rooms.events import (
    ChatMessage,
    LikesBatch,
    Mute,
    RankedUser,
    RoomEvent,
    UserKicked,
    ViewerCount,
    ViewerJoined,
)
from rooms.memory_store import MemoryRoomStore
from rooms.moderation import Verdict
from rooms.room import RoomConfig
from rooms.store import SUPPORTERS, RoomStore
from tests.rooms.conftest import ALICE, ANON, BOB, HOST, MOD, FakeClock, Sink


async def live(directory: RoomDirectory, room_id: str = "live1") -> None:
    await directory.open(room_id, "host")


async def test_presence_and_top_viewers(directory: RoomDirectory, sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    await room.join(ALICE)
    await room.join(Actor("alice", "sid-a2"))  # a second tab is not a second viewer
    await room.join(ANON)  # anonymous viewers are counted, not announced
    snap = await room.join(BOB)
    assert snap.viewers == 3 and snap.seq == 2
    await directory.store.support("live1", "bob", 30)
    await room.leave(ALICE)
    await room.leave(Actor("alice", "sid-a2"))
    await room.leave(ANON)
    assert sink.history() == [(1, "viewer.joined"), (2, "viewer.joined"), (3, "viewer.left")]
    assert [e.data for e in sink.events] == [
        ViewerJoined(user_id="alice", viewers=1), ViewerJoined(user_id="bob", viewers=3),
        sink.events[2].data,
    ]
    assert sink.events[2].data.model_dump() == {"type": "viewer.left", "user_id": "alice", "viewers": 2}
    snap = await room.snapshot()
    assert snap.viewers == 1 and snap.top_viewers == [RankedUser(user_id="bob", score=30)]


async def test_unknown_and_ended_rooms(directory: RoomDirectory, sink: Sink) -> None:
    with pytest.raises(UnknownRoom):
        await directory.room("nope").join(ALICE)
    with pytest.raises(UnknownRoom):
        await directory.room("nope").resume(0)
    await live(directory)
    with pytest.raises(Conflict):
        await directory.open("live1", "host")
    room = directory.room("live1")
    with pytest.raises(NotAllowed):
        await room.end(ALICE)
    await room.end(HOST)
    with pytest.raises(Conflict):
        await room.join(ALICE)
    with pytest.raises(Conflict):
        await room.chat(HOST, "hello?")
    assert sink.history() == [(1, "room.ended")]
    assert (await room.snapshot()).status == "ended"


async def test_chat_length_cap_rate_limit_and_anonymous(directory: RoomDirectory, clock: FakeClock,
                                                        sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    with pytest.raises(Unauthenticated):
        await room.chat(ANON, "hi")
    with pytest.raises(Invalid):
        await room.chat(ALICE, "   ")
    with pytest.raises(Invalid):
        await room.chat(ALICE, "x" * 301)
    for n in range(5):  # the burst
        await room.chat(ALICE, f"  hi {n} ")
    with pytest.raises(Throttled) as caught:
        await room.chat(ALICE, "one too many")
    assert caught.value.retry_after == pytest.approx(1.0)
    await room.chat(BOB, "others are not limited by alice")
    clock.advance(1)
    await room.chat(ALICE, "x" * 300)
    assert sink.history() == [(n, "chat.message") for n in range(1, 8)]
    texts = [e.data.text for e in sink.events if isinstance(e.data, ChatMessage)]
    assert texts == ["hi 0", "hi 1", "hi 2", "hi 3", "hi 4", "others are not limited by alice", "x" * 300]


async def test_slow_mode_spares_staff(directory: RoomDirectory, clock: FakeClock, sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    await room.set_moderator(HOST, "mod", True)
    with pytest.raises(NotAllowed):
        await room.set_slow_mode(ALICE, 10)
    with pytest.raises(Invalid):
        await room.set_slow_mode(HOST, 3600)
    await room.set_slow_mode(MOD, 10)
    await room.chat(ALICE, "first")
    with pytest.raises(Throttled) as caught:
        await room.chat(ALICE, "second")
    assert caught.value.type_slug == "slow-mode" and caught.value.retry_after == pytest.approx(10)
    await room.chat(MOD, "staff talk freely")
    await room.chat(MOD, "really")
    clock.advance(10)
    await room.chat(ALICE, "second")
    await room.set_slow_mode(HOST, 0)
    await room.chat(ALICE, "third")
    assert sink.history() == [
        (1, "moderation.moderator"), (2, "chat.slow_mode"), (3, "chat.message"), (4, "chat.message"),
        (5, "chat.message"), (6, "chat.message"), (7, "chat.slow_mode"), (8, "chat.message"),
    ]


async def test_mute_kick_ban_and_who_may_do_it(directory: RoomDirectory, clock: FakeClock, sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    await room.set_moderator(HOST, "mod", True)
    await room.join(ALICE)
    await room.join(Actor("alice", "sid-a2"))
    with pytest.raises(NotAllowed):
        await room.mute(BOB, "alice")  # a viewer
    with pytest.raises(NotAllowed):
        await room.mute(MOD, "host")
    with pytest.raises(NotAllowed):
        await room.mute(ALICE, "mod")
    with pytest.raises(Invalid):
        await room.mute(MOD, "alice", 0)
    await room.mute(MOD, "alice", 60)
    with pytest.raises(NotAllowed) as caught:
        await room.chat(ALICE, "let me speak")
    assert caught.value.type_slug == "muted"
    assert (await room.snapshot()).mutes == [Mute(user_id="alice", until=clock.ms + 60_000)]
    clock.advance(60)
    await room.chat(ALICE, "free again")
    await room.mute(HOST, "mod")  # the host mutes a moderator, for the rest of the live
    assert (await room.snapshot()).mutes == [Mute(user_id="mod", until=None)]
    await room.unmute(HOST, "mod")
    with pytest.raises(Conflict):
        await room.unmute(HOST, "mod")

    await room.kick(MOD, "alice")
    assert (await room.snapshot()).viewers == 0  # both tabs are out
    with pytest.raises(NotAllowed) as caught:
        await room.join(ALICE)
    assert caught.value.type_slug == "banned"
    clock.advance(300)
    await room.join(ALICE)
    await room.kick(HOST, "alice", ban=True)
    clock.advance(86_400)
    with pytest.raises(NotAllowed):
        await room.join(ALICE)
    await room.unban(HOST, "alice")
    await room.join(ALICE)
    assert sink.history() == [
        (1, "moderation.moderator"), (2, "viewer.joined"), (3, "moderation.muted"), (4, "chat.message"),
        (5, "moderation.muted"), (6, "moderation.unmuted"), (7, "moderation.kicked"), (8, "viewer.left"),
        (9, "viewer.joined"), (10, "moderation.kicked"), (11, "viewer.left"), (12, "viewer.joined"),
    ]
    kicks = [e.data for e in sink.events if isinstance(e.data, UserKicked)]
    assert [k.until is None for k in kicks] == [False, True]


async def test_moderators_are_appointed_by_the_host_only(directory: RoomDirectory, sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    with pytest.raises(NotAllowed):
        await room.set_moderator(ALICE, "alice", True)
    await room.set_moderator(HOST, "mod", True)
    with pytest.raises(NotAllowed):
        await room.set_moderator(MOD, "bob", True)
    with pytest.raises(Invalid):
        await room.set_moderator(HOST, "host", True)
    assert (await room.snapshot()).moderators == ["mod"]
    await room.set_moderator(HOST, "mod", False)
    with pytest.raises(NotAllowed):
        await room.kick(MOD, "alice")
    assert sink.history() == [(1, "moderation.moderator"), (2, "moderation.moderator")]


async def test_pinned_message(directory: RoomDirectory, sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    said = await room.chat(ALICE, "pin me")
    assert isinstance(said.data, ChatMessage)
    with pytest.raises(NotAllowed):
        await room.pin_message(ALICE, said.data.message_id)
    with pytest.raises(NotFound):
        await room.pin_message(HOST, "nope")
    await room.pin_message(HOST, said.data.message_id)
    pinned = (await room.snapshot()).pinned_message
    assert pinned is not None and (pinned.text, pinned.user_id, pinned.pinned_by) == ("pin me", "alice", "host")
    await room.unpin_message(HOST)
    assert (await room.snapshot()).pinned_message is None
    for _ in range(5):  # the buffer (8 events) is full, and the message is its oldest
        await room.like(BOB)
        await room.flush_likes()
    await room.pin_message(HOST, said.data.message_id)
    await room.like(BOB)
    await room.flush_likes()
    with pytest.raises(NotFound):
        await room.pin_message(HOST, said.data.message_id)  # fell out of the buffer
    assert sink.history() == [(1, "chat.message"), (2, "chat.pinned"), (3, "chat.pinned"),
                              *((n, "likes") for n in range(4, 9)), (9, "chat.pinned"), (10, "likes")]


async def test_likes_are_batched_per_window(directory: RoomDirectory, sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    with pytest.raises(Unauthenticated):
        await room.like(ANON)
    with pytest.raises(Invalid):
        await room.like(ALICE, 51)
    for _ in range(30):
        await room.like(ALICE)
    await room.like(BOB, 12)
    assert sink.events == []
    await directory.flush_likes()
    await directory.flush_likes()  # nothing new: no event
    await room.like(BOB, 3)
    await directory.flush_likes()
    assert sink.history() == [(1, "likes"), (2, "likes")]
    assert [e.data for e in sink.events] == [LikesBatch(count=42, total=42), LikesBatch(count=3, total=45)]
    assert (await room.snapshot()).likes == 45


async def test_the_ticker_flushes_likes_and_close_flushes_the_rest(store: RoomStore, clock: FakeClock) -> None:
    sink = Sink()
    rooms = RoomDirectory(store, clock, sink, config=RoomConfig(like_window_s=0.01))
    await rooms.open("live1", "host")
    rooms.start()
    await rooms.room("live1").like(ALICE, 5)
    for _ in range(200):
        if sink.events:
            break
        await asyncio.sleep(0.01)
    await rooms.room("live1").like(ALICE, 2)
    await rooms.close()  # cancels the ticker, then flushes what is pending
    assert [e.data for e in sink.events][-1] == LikesBatch(count=2, total=7)
    assert sink.history() == [(1, "likes"), (2, "likes")]


async def test_moderation_hook_rejects_or_masks(store: RoomStore, clock: FakeClock, sink: Sink) -> None:
    class Filter:
        async def review(self, text: str, *, room: str, user_id: str) -> Verdict:
            if "spam" in text:
                return Verdict(False, text, "spam")
            return Verdict(True, text.replace("darn", "****"))

    rooms = RoomDirectory(store, clock, sink, moderator=Filter())
    await rooms.open("live1", "host")
    room = rooms.room("live1")
    with pytest.raises(Invalid) as caught:
        await room.chat(ALICE, "buy spam now")
    assert caught.value.extensions == {"reason": "spam"}
    await room.chat(ALICE, "oh darn")
    assert [e.data.text for e in sink.events if isinstance(e.data, ChatMessage)] == ["oh ****"]
    assert sink.history() == [(1, "chat.message")]


async def test_resume_replays_what_was_missed_or_sends_a_snapshot(directory: RoomDirectory,
                                                                  clock: FakeClock) -> None:
    await live(directory)
    room = directory.room("live1")
    await room.join(ALICE)
    for n in range(5):
        await room.chat(ALICE, f"m{n}")
    missed = await room.resume(3)
    assert missed.snapshot is None and [e.seq for e in missed.events or []] == [4, 5, 6]
    assert (await room.resume(6)).events == []
    for n in range(10):  # the test buffer holds 8 events
        clock.advance(1)
        await room.chat(BOB, f"n{n}")
    old = await room.resume(3)
    assert old.events is None and old.snapshot is not None
    assert old.snapshot.seq == 16 and old.snapshot.viewers == 1
    assert await room.events_since(3) is None
    assert [e.seq for e in await room.events_since(14) or []] == [15, 16]
    ahead = await room.resume(99)  # a client from an older life of the room
    assert ahead.events is None and ahead.snapshot is not None


async def test_snapshot_json_is_stable(directory: RoomDirectory, clock: FakeClock) -> None:
    await live(directory)
    room = directory.room("live1")
    await room.join(ALICE)
    await directory.store.support("live1", "alice", 7)
    assert await directory.store.score("live1", SUPPORTERS, "alice") == 7
    assert (await room.snapshot()).model_dump_json() == (
        '{"v":1,"room":"live1","seq":1,"at":' + str(clock.ms) + ',"status":"live","host_id":"host","viewers":1,'
        '"top_viewers":[{"user_id":"alice","score":7}],"likes":0,"slow_mode_s":0,"pinned_message":null,'
        '"pinned_product":null,"pk":null,"pk_time_left_ms":0,"seats":[],"mutes":[],"moderators":[]}'
    )


async def test_a_failing_broadcast_loses_nothing(store: RoomStore, clock: FakeClock) -> None:
    async def broken(event: RoomEvent) -> None:
        raise ConnectionError("fan-out down")

    rooms = RoomDirectory(store, clock, broken)
    await rooms.open("live1", "host")
    said = await rooms.room("live1").chat(ALICE, "still here")
    assert said.seq == 1
    assert [e.seq for e in (await rooms.room("live1").resume(0)).events or []] == [1]


async def test_handles_of_unknown_rooms_hold_nothing(directory: RoomDirectory) -> None:
    for n in range(100):
        with pytest.raises(UnknownRoom):
            await directory.room(f"nope{n}").like(ALICE)
    assert directory.node.likes == {} and directory.node.served == set()


async def test_a_crowded_room_announces_its_count_once_per_window(store: RoomStore, clock: FakeClock,
                                                                  sink: Sink) -> None:
    rooms = RoomDirectory(store, clock, sink, config=RoomConfig(announce_viewers_below=3))
    await rooms.open("live1", "host")
    room = rooms.room("live1")
    await room.join(ALICE)
    await room.join(BOB)
    await store.support("live1", "bob", 9)
    for n in range(20):  # the crowd arrives: no event per viewer
        await room.join(Actor(f"fan{n}"))
    await room.join(Actor.anonymous("sid-x"))
    await rooms.flush_likes()
    await rooms.flush_likes()  # nothing changed since: no event
    await room.leave(Actor("fan0"))
    await rooms.flush_likes()
    assert sink.history() == [(1, "viewer.joined"), (2, "viewer.joined"), (3, "viewer.count"), (4, "viewer.count")]
    counts = [e.data for e in sink.events if isinstance(e.data, ViewerCount)]
    assert [c.viewers for c in counts] == [23, 22]
    assert counts[0].top_viewers[0] == RankedUser(user_id="bob", score=9) and len(counts[0].top_viewers) == 10


async def test_a_kicked_viewer_who_stays_connected_can_do_nothing(directory: RoomDirectory, clock: FakeClock,
                                                                  sink: Sink) -> None:
    await live(directory)
    room = directory.room("live1")
    await room.set_moderator(HOST, "mod", True)
    await room.kick(HOST, "mod")  # the host may remove a moderator too
    actions: list[Callable[[], Awaitable[object]]] = [
        lambda: room.chat(MOD, "still here?"), lambda: room.like(MOD), lambda: room.kick(MOD, "alice")]
    for action in actions:
        with pytest.raises(NotAllowed) as caught:
            await action()
        assert caught.value.type_slug == "banned"
    clock.advance(300)
    await room.chat(MOD, "back")
    assert sink.history() == [(1, "moderation.moderator"), (2, "moderation.kicked"), (3, "chat.message")]


class _LateFirstStore(MemoryRoomStore):
    """Numbers events like the memory store, but the first append returns last, as two round trips to Redis
    may: seq 1 comes back after seq 2."""

    def __init__(self) -> None:
        super().__init__(buffer_size=8)
        self.appended = 0

    async def append(self, room: str, draft: str) -> str:
        event = await super().append(room, draft)
        self.appended += 1
        if self.appended == 1:
            await asyncio.sleep(0.05)
        return event


async def test_a_node_broadcasts_a_rooms_events_in_log_order(clock: FakeClock) -> None:
    sink = Sink()
    directory = RoomDirectory(_LateFirstStore(), clock, sink)
    try:
        room = directory.room("live1")
        appended = await asyncio.gather(*(room.append(ViewerJoined(user_id=u, viewers=n))
                                          for n, u in enumerate(["alice", "bob", "carla"], 1)))
        assert [e.seq for e in appended] == [1, 2, 3]
        assert sink.history() == [(1, "viewer.joined"), (2, "viewer.joined"), (3, "viewer.joined")]
        assert directory.node.appending == {}  # the room's ordering lock goes with its last append
    finally:
        await directory.close()
