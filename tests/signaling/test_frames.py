"""Prepared WebSocket frames: the RFC 6455 frame bytes (pure), and the same bytes aiohttp's own writer makes."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.http_websocket import WSMsgType

from signaling.frames import FrameManager, FrameRedisManager, text_frame


def test_frames_match_rfc_6455_examples() -> None:
    # RFC 6455 §5.7: "A single-frame unmasked text message": 0x81 0x05 "Hello".
    assert text_frame(b"Hello") == b"\x81\x05Hello"
    # §5.7's 256-byte and 64 KiB examples use a 16-bit and a 64-bit extended length (there for binary, 0x82).
    assert text_frame(b"x" * 256)[:4] == b"\x81\x7e\x01\x00"
    assert text_frame(b"x" * 65536)[:10] == b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
    assert text_frame(b"x" * 125)[:2] == b"\x81\x7d" and text_frame(b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"x" * 65535)[:4] == b"\x81\x7e\xff\xff"
    assert text_frame(b"") == b"\x81\x00"


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def write(self, data: Any) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False


class _Protocol:
    _paused = False


async def test_frames_are_the_bytes_aiohttps_server_writer_sends() -> None:
    for size in (0, 5, 125, 126, 4000, 65535, 65536, 70000):
        payload = bytes(range(48, 58)) * (size // 10) + b"0" * (size % 10)
        transport = _Transport()
        writer = WebSocketWriter(_Protocol(), transport)  # type: ignore[arg-type]
        await writer.send_frame(payload, WSMsgType.TEXT)
        assert bytes(transport.data) == text_frame(payload), size


def test_an_in_process_room_reaches_only_its_sockets_and_a_redis_one_always() -> None:
    """``reaches`` lets the /live edge skip building a per-event emit that no local socket would get; with
    Redis another node may hold the room's sockets, so it never says no."""
    manager = FrameManager()
    assert not manager.reaches("/live", "live:r")
    manager.basic_enter_room("s1", "/live", "live:r", eio_sid="e1")
    assert manager.reaches("/live", "live:r") and not manager.reaches("/live", "live:other")
    manager.basic_leave_room("s1", "/live", "live:r")
    assert not manager.reaches("/live", "live:r")
    assert FrameRedisManager("redis://127.0.0.1:1/0").reaches("/live", "live:r")
