"""The wire format of room events: pure functions, tested on captured bytes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rooms.events import (
    GiftSent,
    PkSide,
    PkView,
    RoomEvent,
    ViewerJoined,
    decode,
    encode,
    encode_draft,
    stamp,
)

CAPTURED_GIFT = (
    b'{"seq":42,"v":1,"room":"01JDQ0000000000000000LIVE1","at":1800000000000,"data":{"type":"gift.sent",'
    b'"transfer_id":"t9","gift_id":"rose","sender_id":"alice","receiver_id":"host","quantity":3,"coins":3,'
    b'"combo_id":"c1","combo_count":6,"supporter_total":10}}'
)


def test_a_captured_gift_event_decodes_and_encodes_back_to_the_same_bytes() -> None:
    event = decode(CAPTURED_GIFT)
    assert (event.seq, event.type, event.room, event.at) == (42, "gift.sent", "01JDQ0000000000000000LIVE1",
                                                            1_800_000_000_000)
    assert isinstance(event.data, GiftSent) and event.data.combo_count == 6
    assert encode(event).encode() == CAPTURED_GIFT


def test_stamp_splices_the_sequence_number_like_the_lua_script() -> None:
    draft = encode_draft("r", 5, ViewerJoined(user_id="u", viewers=2))
    assert draft == '{"v":1,"room":"r","at":5,"data":{"type":"viewer.joined","user_id":"u","viewers":2}}'
    assert stamp(draft, 7) == '{"seq":7,' + draft[1:]
    assert decode(stamp(draft, 7)) == RoomEvent(seq=7, room="r", at=5, data=ViewerJoined(user_id="u", viewers=2))
    for bad in ("", "{}", "[1]"):
        with pytest.raises(ValueError):
            stamp(bad, 1)


@pytest.mark.parametrize("raw", [
    b'{"seq":1,"v":1,"room":"r","at":1,"data":{"type":"nope"}}',  # unknown type
    b'{"seq":1,"v":1,"room":"r","at":1,"data":{"type":"viewer.joined","user_id":"u"}}',  # missing field
    b'{"seq":1,"v":1,"room":"r","at":1,"data":{"type":"viewer.joined","user_id":"u","viewers":1,"x":1}}',
    b'{"seq":0,"v":1,"room":"r","at":1,"data":{"type":"viewer.joined","user_id":"u","viewers":1}}',  # seq >= 1
    b'{"v":1,"room":"r","at":1,"data":{"type":"viewer.joined","user_id":"u","viewers":1}}',  # a draft
    b'not json',
])
def test_malformed_events_are_refused(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        decode(raw)


def test_pk_time_left() -> None:
    side = PkSide(room_id="r", host_id="h")
    view = PkView(battle_id="b", state="active", a=side, b=side, duration_s=300, expires_at=0, starts_at=1000,
                  ends_at=301_000)
    assert view.time_left_ms(1000) == 300_000 and view.time_left_ms(400_000) == 0
    assert view.model_copy(update={"state": "ended"}).time_left_ms(0) == 0
    assert view.model_copy(update={"state": "countdown"}).time_left_ms(0) == 1000
