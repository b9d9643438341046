"""The wire format of a batch (the argument of the ``events`` Socket.IO event): pure functions on bytes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rooms.events import batch, decode, decode_batch, encode_batch, seq_gaps

GIFT = (
    b'{"seq":42,"v":1,"room":"LIVE1","at":1800000000000,"data":{"type":"gift.sent","transfer_id":"t9",'
    b'"gift_id":"rose","sender_id":"alice","receiver_id":"host","quantity":3,"coins":3,"combo_id":"c1",'
    b'"combo_count":6,"supporter_total":10}}'
)
CHAT = (
    b'{"seq":43,"v":1,"room":"LIVE1","at":1800000000010,"data":{"type":"chat.message","message_id":"m1",'
    b'"user_id":"bob","text":"hi"}}'
)


def test_a_batch_is_the_json_array_of_its_envelopes_seq_ascending_each_once() -> None:
    gift, chat = decode(GIFT), decode(CHAT)
    assert encode_batch([chat, gift, chat]) == b"[" + GIFT + b"," + CHAT + b"]"
    assert encode_batch([]) == b"[]"
    assert [e.seq for e in batch([chat, gift])] == [42, 43]


def test_a_received_batch_decodes_and_refuses_one_out_of_order_or_malformed() -> None:
    assert [e.seq for e in decode_batch(b"[" + GIFT + b"," + CHAT + b"]")] == [42, 43]
    assert decode_batch(b"[]") == []
    with pytest.raises(ValueError, match="ascend"):
        decode_batch(b"[" + CHAT + b"," + GIFT + b"]")
    with pytest.raises(ValueError, match="ascend"):
        decode_batch(b"[" + GIFT + b"," + GIFT + b"]")
    with pytest.raises(ValidationError):
        decode_batch(b'{"seq":1}')
    with pytest.raises(ValidationError):
        decode_batch(b"[" + GIFT.replace(b'"seq":42', b'"seq":0') + b"]")


def test_seq_gaps_lists_what_a_client_is_missing() -> None:
    gift, chat = decode(GIFT), decode(CHAT)
    assert seq_gaps(41, [gift, chat]) == []
    assert seq_gaps(40, [gift, chat]) == [41]
    assert seq_gaps(42, [chat]) == []
    assert seq_gaps(38, [chat]) == [39, 40, 41, 42]
    assert seq_gaps(43, [gift, chat]) == []  # duplicates only
    assert seq_gaps(10, []) == []
