"""Bad input from clients: a clear error, and nothing changes (no event, no charge, no state)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from rooms.directory import RoomDirectory
from rooms.errors import Invalid, RoomError, UnknownRoom
from rooms.gifts import GiftDesk
from rooms.stage import Stage
from rooms.store import RoomStore
from tests.rooms.conftest import ALICE, HOST, FakeCharger, FakeMedia, Sink

BAD_IDS = ["", "x" * 65, "a b", "a|b", "名前", "a\nb", "../x"]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_malformed_ids_are_refused_before_the_store(directory: RoomDirectory, store: RoomStore, sink: Sink,
                                                          bad: str) -> None:
    await directory.open("live1", "host")
    charger = FakeCharger({"alice": 100})
    room, desk, stage = directory.room("live1"), GiftDesk(directory, charger), Stage(directory, FakeMedia())
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: directory.room(bad).join(ALICE),
        lambda: room.mute(HOST, bad),
        lambda: room.kick(HOST, bad),
        lambda: room.set_moderator(HOST, bad, True),
        lambda: room.pin_message(HOST, bad),
        lambda: desk.send("live1", ALICE, receiver_id=bad, gift_id="rose", key="k"),
        lambda: desk.send("live1", ALICE, receiver_id="host", gift_id=bad, key="k"),
        lambda: stage.invite(HOST, "live1", bad),
        lambda: stage.accept(HOST, "live1", bad),
    ]
    for attempt in attempts:
        with pytest.raises(Invalid) as caught:
            await attempt()
        assert caught.value.status == 422 and caught.value.type_slug == "bad-id"
    assert sink.events == [] and charger.calls == 0
    assert (await room.snapshot()).mutes == [] and await store.last_seq("live1") == 0


async def test_every_error_carries_a_status_and_slug(directory: RoomDirectory) -> None:
    with pytest.raises(RoomError) as caught:
        await directory.room("missing").chat(ALICE, "hi")
    assert isinstance(caught.value, UnknownRoom)
    assert (caught.value.status, caught.value.type_slug, caught.value.detail) == (404, "unknown-room",
                                                                                  "no room 'missing'")
