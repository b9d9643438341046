"""Gifts: charged first, announced only after the charge, exactly once per transfer; streaks and supporters."""

from __future__ import annotations

import asyncio

import pytest

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.errors import Invalid, NotAllowed, Unauthenticated
from rooms.events import GiftSent, RankedUser
from rooms.gifts import ANNOUNCED, CLAIM_WINDOW_MS, TRIM_EVERY_MS, GiftDesk
from rooms.store import SEATS
from tests.rooms.conftest import ALICE, ANON, BOB, HOST, ChargeRefused, FakeCharger, FakeClock, Sink


@pytest.fixture
async def desk(directory: RoomDirectory) -> GiftDesk:
    await directory.open("live1", "host")
    return GiftDesk(directory, FakeCharger({"alice": 1000, "bob": 3}))


def charger(desk: GiftDesk) -> FakeCharger:
    ledger = desk._charger
    assert isinstance(ledger, FakeCharger)
    return ledger


async def test_a_gift_is_announced_after_its_charge(desk: GiftDesk, sink: Sink) -> None:
    outcome = await desk.send("live1", ALICE, receiver_id="host", gift_id="lion", key="k1")
    assert outcome.event is not None and outcome.event.seq == 1
    assert outcome.event.data == GiftSent(
        transfer_id="t1", gift_id="lion", sender_id="alice", receiver_id="host", quantity=1, coins=500,
        combo_id=None, combo_count=1, supporter_total=500,
    )
    assert charger(desk).balances["alice"] == 500
    assert sink.history() == [(1, "gift.sent")]


async def test_a_failed_charge_is_never_announced(desk: GiftDesk, sink: Sink) -> None:
    with pytest.raises(ChargeRefused):
        await desk.send("live1", BOB, receiver_id="host", gift_id="lion", key="k1")  # bob has 3 coins
    charger(desk).fail_next = True
    with pytest.raises(ChargeRefused):
        await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k2")
    assert sink.events == [] and await desk.top_supporters("live1") == []
    assert charger(desk).balances == {"alice": 1000, "bob": 3}
    # the same key after the outage is a fresh, successful charge, announced once
    await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k2")
    assert sink.history() == [(1, "gift.sent")]


async def test_bad_requests_are_refused_before_any_charge(desk: GiftDesk, directory: RoomDirectory,
                                                          sink: Sink) -> None:
    cases = [
        (ANON, {"receiver_id": "host", "key": "k"}, Unauthenticated),
        (ALICE, {"receiver_id": "bob", "key": "k"}, Invalid),  # not the host nor on stage
        (ALICE, {"receiver_id": "alice", "key": "k"}, Invalid),
        (ALICE, {"receiver_id": "host", "key": ""}, Invalid),
        (ALICE, {"receiver_id": "host", "key": "k", "quantity": 0}, Invalid),
        (ALICE, {"receiver_id": "host", "key": "k", "combo_id": "x" * 65}, Invalid),
    ]
    for actor, kwargs, error in cases:
        with pytest.raises(error):
            await desk.send("live1", actor, gift_id="rose", **kwargs)  # type: ignore[arg-type]
    await directory.room("live1").kick(HOST, "alice")
    with pytest.raises(NotAllowed):
        await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k")
    assert charger(desk).calls == 0
    assert sink.history() == [(1, "moderation.kicked")]


async def test_a_retried_key_is_charged_and_announced_once(desk: GiftDesk, sink: Sink) -> None:
    first = await desk.send("live1", ALICE, receiver_id="host", gift_id="lion", key="same")
    again = await desk.send("live1", ALICE, receiver_id="host", gift_id="lion", key="same")
    assert again.event is None and again.charge == first.charge
    racing = await asyncio.gather(*(
        desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="race") for _ in range(5)))
    assert sum(o.event is not None for o in racing) == 1 and len({o.charge for o in racing}) == 1
    assert charger(desk).balances["alice"] == 1000 - 500 - 1
    assert sink.history() == [(1, "gift.sent"), (2, "gift.sent")]
    assert await desk.top_supporters("live1") == [RankedUser(user_id="alice", score=501)]


async def test_a_key_retried_later_is_still_announced_once(desk: GiftDesk, sink: Sink, clock: FakeClock) -> None:
    first = await desk.send("live1", ALICE, receiver_id="host", gift_id="lion", key="later")
    clock.advance(5)
    again = await desk.send("live1", ALICE, receiver_id="host", gift_id="lion", key="later")
    assert first.event is not None and again.event is None and again.charge == first.charge
    assert sink.history() == [(1, "gift.sent")]


async def test_claims_are_kept_for_the_window_and_a_later_retry_is_not_shown_again(
        directory: RoomDirectory, sink: Sink, clock: FakeClock) -> None:
    """The claim board holds the last CLAIM_WINDOW_MS of gifts (trimmed at most once a minute), and a retry
    of a gift charged before that is answered with its charge and no event."""
    await directory.open("live1", "host")
    desk = GiftDesk(directory, FakeCharger({"alice": 1000}, clock=clock))
    store = directory.store
    first = await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k1")
    clock.advance(TRIM_EVERY_MS / 1000 + 1)
    await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k2")  # trims; k1 is recent
    assert [t for t, _ in await store.top("live1", ANNOUNCED)] == ["t2", "t1"]
    clock.advance(CLAIM_WINDOW_MS / 1000 + 1)
    retry = await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k2")
    assert retry.event is None  # charged over the window ago: not shown again, claim or no claim
    await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k3")  # trims t1 and t2
    assert [t for t, _ in await store.top("live1", ANNOUNCED)] == ["t3"]
    late = await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key="k1")
    assert late.event is None and late.charge == first.charge
    assert [e for _, e in sink.history()] == ["gift.sent"] * 3
    assert charger(desk).balances["alice"] == 1000 - 3


async def test_streaks_supporters_and_gifts_to_a_guest(desk: GiftDesk, directory: RoomDirectory,
                                                      sink: Sink) -> None:
    charger(desk).balances["carol"] = 100
    await directory.store.put_score("live1", SEATS, "guest", 1)
    for n in range(3):
        await desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key=f"a{n}", quantity=2, combo_id="c1")
    await desk.send("live1", ALICE, receiver_id="guest", gift_id="rose", key="a3", combo_id="c2")
    await desk.send("live1", Actor("carol"), receiver_id="guest", gift_id="rose", key="c0", quantity=10)
    gifts = [e.data for e in sink.events if isinstance(e.data, GiftSent)]
    assert [(g.receiver_id, g.combo_id, g.combo_count, g.supporter_total) for g in gifts] == [
        ("host", "c1", 2, 2), ("host", "c1", 4, 4), ("host", "c1", 6, 6), ("guest", "c2", 1, 7),
        ("guest", None, 10, 10),
    ]
    assert sink.history() == [(n, "gift.sent") for n in range(1, 6)]
    assert await desk.top_supporters("live1") == [RankedUser(user_id="carol", score=10),
                                                  RankedUser(user_id="alice", score=7)]


async def test_a_gift_storm_is_numbered_without_gaps(desk: GiftDesk, sink: Sink) -> None:
    await asyncio.gather(*(
        desk.send("live1", ALICE, receiver_id="host", gift_id="rose", key=f"s{n}") for n in range(50)))
    assert sorted(e.seq for e in sink.events) == list(range(1, 51))
    totals = sorted(e.data.supporter_total for e in sink.events if isinstance(e.data, GiftSent))
    assert totals == list(range(1, 51))
