"""``EventBatches`` on its own: one emit per room per tick, seq ascending, the room's end sent at once, tick
tasks that end when idle and on close (with what was pending sent)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from api.live.batches import EventBatches
from rooms.events import ChatMessage, RoomEnded, RoomEvent


async def _until(check: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + 5  # ticks are late on a loaded machine, never lost
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def _chat(room: str, seq: int) -> RoomEvent:
    return RoomEvent(seq=seq, room=room, at=1_800_000_000_000 + seq,
                     data=ChatMessage(message_id=f"m{seq}", user_id="u", text=str(seq)))


class _Emits:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    async def __call__(self, room: str, envelopes: list[dict[str, Any]]) -> None:
        self.calls.append((room, [e["seq"] for e in envelopes]))


async def test_one_emit_per_room_per_tick_in_seq_order_and_idle_ticks_end() -> None:
    emits = _Emits()
    batches = EventBatches(emits, tick_s=0.03)
    for seq in (3, 1, 2, 2):  # appended out of order, one twice
        batches.add(_chat("a", seq))
    batches.add(_chat("b", 7))
    await _until(lambda: len(emits.calls) == 2)
    assert sorted(emits.calls) == [("a", [1, 2, 3]), ("b", [7])]
    batches.add(_chat("a", 4))
    await _until(lambda: len(emits.calls) == 3)
    assert emits.calls[-1] == ("a", [4])
    await _until(lambda: batches._ticks == {})  # an idle tick ends each room's task
    await batches.close()
    assert len(emits.calls) == 3


async def test_a_rooms_end_goes_at_once_and_close_sends_what_is_pending() -> None:
    emits = _Emits()
    batches = EventBatches(emits, tick_s=10)  # a tick far away: only the end and close may emit
    batches.add(_chat("a", 1))
    await batches.publish(RoomEvent(seq=2, room="a", at=1, data=RoomEnded(by="host")))
    assert emits.calls == [("a", [1, 2])]
    batches.add(_chat("b", 5))
    await batches.close()
    assert emits.calls == [("a", [1, 2]), ("b", [5])] and batches._ticks == {}
    with pytest.raises(ValueError):
        EventBatches(emits, tick_s=0)


async def test_a_failing_emit_is_logged_and_the_ticks_go_on(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[list[int]] = []

    async def flaky(room: str, envelopes: list[dict[str, Any]]) -> None:
        seen.append([e["seq"] for e in envelopes])
        if len(seen) == 1:
            raise ConnectionError("redis away")

    batches = EventBatches(flaky, tick_s=0.02)
    batches.add(_chat("a", 1))
    await _until(lambda: len(seen) == 1)
    batches.add(_chat("a", 2))
    await _until(lambda: len(seen) == 2)
    await batches.close()
    assert seen == [[1], [2]] and "emitting a batch" in caplog.text
