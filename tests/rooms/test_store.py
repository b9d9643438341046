"""The RoomStore behaviour suite: the same assertions on the in-process and the Redis backend."""

from __future__ import annotations

import asyncio
import json

import pytest

from rooms.events import ChatMessage, decode, encode_draft
from rooms.store import FOREVER, SEATS, SUPPORTERS, VIEWERS, RoomStore


def draft(n: int) -> str:
    return encode_draft("r", 1000 + n, ChatMessage(message_id=f"m{n}", user_id="u", text=f"hi {n}"))


async def test_append_numbers_events_and_keeps_a_bounded_buffer(store: RoomStore) -> None:
    assert await store.last_seq("r") == 0
    assert await store.since("r", 0) == []
    stamped = [await store.append("r", draft(n)) for n in range(1, 11)]
    assert [decode(e).seq for e in stamped] == list(range(1, 11))
    assert stamped[0] == (
        '{"seq":1,"v":1,"room":"r","at":1001,"data":{"type":"chat.message","message_id":"m1","user_id":"u",'
        '"text":"hi 1"}}'
    )
    assert await store.last_seq("r") == 10
    # the buffer holds 8: seq 3..10; a client at 2 can still catch up, one at 1 cannot
    assert [decode(e).seq for e in await store.since("r", 2) or []] == list(range(3, 11))
    assert [decode(e).seq for e in await store.since("r", 7) or []] == [8, 9, 10]
    assert await store.since("r", 10) == []
    assert await store.since("r", 1) is None
    assert await store.since("r", 11) is None  # ahead of the log: a client from an older life of the room
    assert await store.since("other", 0) == []
    assert [decode(e).seq for e in await store.recent("r", 3)] == [8, 9, 10]
    assert [decode(e).seq for e in await store.recent("r", 100)] == list(range(3, 11))
    assert await store.recent("r", 0) == [] and await store.recent("other", 5) == []


async def test_concurrent_appends_get_distinct_consecutive_numbers(store: RoomStore) -> None:
    stamped = await asyncio.gather(*(store.append("r", draft(n)) for n in range(40)))
    assert sorted(decode(e).seq for e in stamped) == list(range(1, 41))
    buffered = [decode(e).seq for e in await store.since("r", 32) or []]
    assert buffered == list(range(33, 41))


async def test_presence_counts_distinct_viewers_and_their_connections(store: RoomStore) -> None:
    assert await store.enter("r", "alice", ranked=True) == (True, 1)
    assert await store.enter("r", "alice", ranked=True) == (False, 1)  # a second tab
    assert await store.enter("r", "anon:sid1", ranked=False) == (True, 2)
    assert await store.enter("r", "bob", ranked=True) == (True, 3)
    assert await store.exit("r", "alice") == (False, 3)
    assert await store.exit("r", "alice") == (True, 2)
    assert await store.exit("r", "alice") == (False, 2)  # leaving twice changes nothing
    assert await store.viewers("r") == 2
    assert await store.top("r", VIEWERS) == [("bob", 0)]
    await store.enter("r", "bob", ranked=True)
    assert await store.exit("r", "bob", every_connection=True) == (True, 1)  # a kick: all tabs at once
    assert await store.exit("r", "bob", every_connection=True) == (False, 1)
    assert await store.top("r", VIEWERS) == []


async def test_top_viewers_are_present_viewers_ranked_by_coins(store: RoomStore) -> None:
    assert await store.support("r", "carol", 50) == 50  # gave before joining
    for user in ("alice", "bob", "carol"):
        await store.enter("r", user, ranked=True)
    assert await store.support("r", "bob", 10) == 10
    assert await store.support("r", "bob", 5) == 15
    assert await store.top("r", VIEWERS) == [("carol", 50), ("bob", 15), ("alice", 0)]
    await store.exit("r", "carol")
    assert await store.top("r", VIEWERS, 1) == [("bob", 15)]
    assert await store.top("r", SUPPORTERS) == [("carol", 50), ("bob", 15)]
    await store.enter("r", "carol", ranked=True)  # comes back with her coins
    assert await store.top("r", VIEWERS, 2) == [("carol", 50), ("bob", 15)]


async def test_boards(store: RoomStore) -> None:
    assert await store.add("r", "b", "x", 5) == 5
    assert await store.add("r", "b", "x", -2) == 3
    assert await store.put_score("r", "b", "y", FOREVER)
    assert await store.score("r", "b", "y") == FOREVER
    assert await store.score("r", "b", "missing") is None
    assert await store.top("r", "b") == [("y", FOREVER), ("x", 3)]
    assert await store.put_score("r", "b", "x", 2, raise_only=True) is False
    assert await store.put_score("r", "b", "x", 9, raise_only=True) is True
    assert await store.put_score("r", "b", "z", 9)
    assert await store.top("r", "b") == [("y", FOREVER), ("z", 9), ("x", 9)]  # ties: member descending
    assert await store.top("r", "b", 0) == []
    assert await store.remove("r", "b", "x") is True
    assert await store.remove("r", "b", "x") is False
    assert await store.size("r", "b") == 2


async def test_a_bounded_board_admits_exactly_up_to_its_limit_under_a_race(store: RoomStore) -> None:
    results = await asyncio.gather(*(store.put_score("r", SEATS, f"guest{n}", n, limit=8) for n in range(20)))
    assert sum(results) == 8 and await store.size("r", SEATS) == 8
    seated = (await store.top("r", SEATS))[-1][0]
    assert await store.put_score("r", SEATS, seated, 100, limit=8)  # an existing member may be updated
    assert await store.put_score("r", SEATS, "late", 1, limit=8) is False


async def test_one_of_several_racing_claimers_wins_and_trim_drops_the_old_ones(store: RoomStore) -> None:
    won = await asyncio.gather(*(store.claim("r", "claims", "t1", 100 + n) for n in range(8)))
    assert won.count(True) == 1 and await store.size("r", "claims") == 1
    assert not await store.claim("r", "claims", "t1", 999)  # a later claim of the same member: refused
    assert await store.score("r", "claims", "t1") == 100 + won.index(True)
    await store.claim("r", "claims", "t2", 200)
    await store.claim("r", "claims", "t3", 300)
    assert await store.trim("r", "claims", 200) == 1  # below 200 only: t2's 200 stays
    assert await store.top("r", "claims") == [("t3", 300), ("t2", 200)]
    assert await store.trim("r", "claims", 200) == 0 and await store.trim("other", "claims", 10**6) == 0


async def test_one_of_several_racing_removers_wins(store: RoomStore) -> None:
    await store.put_score("r", "invites", "bob", 1)
    results = await asyncio.gather(*(store.remove("r", "invites", "bob") for _ in range(10)))
    assert results.count(True) == 1


async def test_counters(store: RoomStore) -> None:
    assert await store.counters("r") == {}
    assert await store.incr("r", "likes", 3) == 3
    assert await store.incr("r", "likes") == 4
    assert await store.incr("r", "orders") == 1
    assert await store.counters("r") == {"likes": 4, "orders": 1}


async def test_fields_with_compare_and_set(store: RoomStore) -> None:
    assert await store.get("r", "pin") is None
    assert await store.put("r", "pin", "a", expect=None) is True
    assert await store.put("r", "pin", "b", expect=None) is False  # already there
    assert await store.put("r", "pin", "c", expect="b") is False
    assert await store.put("r", "pin", "c", expect="a") is True
    assert await store.put("r", "pin", None, expect="a") is False
    assert await store.put("r", "pin", None, expect="c") is True
    assert await store.get("r", "pin") is None
    await store.put("r", "status", json.dumps({"s": "live"}))
    assert await store.fields("r") == {"status": '{"s": "live"}'}
    winners = await asyncio.gather(*(store.put("r", "claim", f"node{n}", expect=None) for n in range(10)))
    assert winners.count(True) == 1


async def test_throttle_is_a_token_bucket(store: RoomStore) -> None:
    now = 1_000_000
    waits = [await store.throttle("r", "chat:u", per_s=0.5, burst=3, now_ms=now) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(2.0)
    assert await store.throttle("r", "chat:u", per_s=0.5, burst=3, now_ms=now + 1000) == pytest.approx(1.0)
    assert await store.throttle("r", "chat:u", per_s=0.5, burst=3, now_ms=now + 2000) == 0.0
    assert await store.throttle("r", "chat:other", per_s=0.5, burst=3, now_ms=now) == 0.0
    with pytest.raises(ValueError):
        await store.throttle("r", "x", per_s=0, burst=1, now_ms=now)


async def test_drop_forgets_one_room_only(store: RoomStore) -> None:
    for room in ("r", "keep"):
        await store.append(room, draft(1))
        await store.enter(room, "alice", ranked=True)
        await store.incr(room, "likes")
        await store.put(room, "status", "live")
        await store.throttle(room, "k", per_s=1, burst=1, now_ms=0)
    await store.drop("r")
    assert await store.last_seq("r") == 0 and await store.viewers("r") == 0
    assert await store.counters("r") == {} and await store.fields("r") == {}
    assert await store.top("r", VIEWERS) == []
    assert await store.last_seq("keep") == 1 and await store.viewers("keep") == 1
    assert await store.fields("keep") == {"status": "live"}


async def test_expire_forgets_a_room_later(store: RoomStore) -> None:
    for room in ("r", "keep"):
        await store.append(room, draft(1))
        await store.put_score(room, SEATS, "g", 1)
        await store.put(room, "status", "ended")
    await store.expire("r", 0.05)
    await store.append("r", draft(2))  # a late event does not extend the room's life
    assert await store.last_seq("r") == 2
    await asyncio.sleep(0.15)
    assert await store.last_seq("r") == 0 and await store.fields("r") == {} and await store.size("r", SEATS) == 0
    assert await store.last_seq("keep") == 1 and await store.size("keep", SEATS) == 1


async def test_presence_is_held_per_node_and_a_dead_nodes_share_is_reaped(store: RoomStore) -> None:
    assert await store.enter("r", "alice", ranked=True, node="A") == (True, 1)
    assert await store.enter("r", "alice", ranked=True, node="B") == (False, 1)  # her second tab, on B
    assert await store.enter("r", "bob", ranked=True, node="A") == (True, 2)
    assert await store.enter("r", "anon:x", ranked=False, node="A") == (True, 3)
    assert await store.enter("r", "carol", ranked=True, node="B") == (True, 4)
    assert await store.presence_nodes("r") == {"A", "B"}
    assert await store.exit("r", "carol", node="A") == (False, 4)  # A holds none of carol's connections
    await store.heartbeat("B", 30)
    assert await store.alive(["A", "B", "C"]) == {"B"}
    reaps = await asyncio.gather(store.reap("r", "A"), store.reap("r", "A"))  # two reapers race
    assert sorted(v for gone, _ in reaps for v in gone) == ["anon:x", "bob"] and {c for _, c in reaps} == {2}
    assert await store.presence_nodes("r") == {"B"}
    assert await store.top("r", VIEWERS) == [("carol", 0), ("alice", 0)]
    assert await store.exit("r", "alice", node="A") == (False, 2)  # the reaped node's late exit: nothing
    assert await store.exit("r", "alice", node="B") == (True, 1)
    await store.enter("r", "dave", ranked=True, node="A")
    await store.enter("r", "dave", ranked=True, node="B")
    assert await store.exit("r", "dave", every_connection=True) == (True, 1)  # a kick: every node's share
    assert await store.presence_nodes("r") == {"B"} and await store.viewers("r") == 1


async def test_tally_counts_once_inside_its_window(store: RoomStore) -> None:
    adds = [("score", "a", 5), ("mvp:a", "alice", 5)]
    assert await store.tally("pk", gate="window", key="t0", now_ms=1500, adds=adds) is None  # no window yet
    await store.put("pk", "window", "1000:2000")
    assert await store.tally("pk", gate="window", key="t0", now_ms=999, adds=adds) is None
    assert await store.tally("pk", gate="window", key="t1", now_ms=1000, adds=adds) == [5, 5]
    assert await store.tally("pk", gate="window", key="t1", now_ms=1001, adds=adds) is None  # counted once
    racing = await asyncio.gather(*(store.tally("pk", gate="window", key=f"r{n % 3}", now_ms=1999,
                                                adds=[("score", "b", 1)]) for n in range(9)))
    assert sorted(r[0] for r in racing if r is not None) == [1, 2, 3]
    assert await store.tally("pk", gate="window", key="t2", now_ms=2000, adds=adds) is None  # the end
    await store.put("pk", "window", "closed")
    assert await store.tally("pk", gate="window", key="t3", now_ms=1500, adds=adds) is None
    assert await store.top("pk", "score") == [("a", 5), ("b", 3)]
    assert await store.top("pk", "mvp:a") == [("alice", 5)]


async def test_append_once_appends_exactly_once_under_a_race_and_sets_fields(store: RoomStore) -> None:
    await store.append("r", draft(0))
    results = await asyncio.gather(*(
        store.append_once("r", draft(n), board="announced", member="b1:ended", fields={"pk": f"view {n}"})
        for n in range(1, 11)))
    appended = [r for r in results if r is not None]
    assert len(appended) == 1 and decode(appended[0]).seq == 2 and await store.last_seq("r") == 2
    winner = results.index(appended[0]) + 1
    assert await store.since("r", 1) == appended
    assert await store.score("r", "announced", "b1:ended") == 2  # the claim remembers its event
    assert await store.get("r", "pk") == f"view {winner}"
    # a later retry (any score, any time) changes nothing: not the log, not the fields
    assert await store.append_once("r", draft(99), board="announced", member="b1:ended", fields={"pk": "x"}) is None
    assert (await store.last_seq("r"), await store.get("r", "pk")) == (2, f"view {winner}")
    other = await store.append_once("r", draft(12), board="announced", member="b1:active")
    assert other is not None and decode(other).seq == 3 and await store.get("r", "pk") == f"view {winner}"
