"""Prepared WebSocket frames: the RFC 6455 frame bytes (pure), the same bytes aiohttp's own writer makes, and
shared permessage-deflate frames (RFC 7692) that a real client inflates between aiohttp's own messages."""

from __future__ import annotations

import zlib

import aiohttp
import pytest
from aiohttp import web
from aiohttp.http_websocket import WSMsgType
from aiohttp.test_utils import TestServer

from signaling.frames import (
    EMPTY_BLOCK_TAIL,
    FrameManager,
    FrameRedisManager,
    SharedDeflateResponse,
    SharedFrame,
    deflate_message,
    deflate_response_header,
    text_frame,
)
from tests.writers import recording_writer


def test_frames_match_rfc_6455_examples() -> None:
    # RFC 6455 §5.7: "A single-frame unmasked text message": 0x81 0x05 "Hello".
    assert text_frame(b"Hello") == b"\x81\x05Hello"
    # §5.7's 256-byte and 64 KiB examples use a 16-bit and a 64-bit extended length (there for binary, 0x82).
    assert text_frame(b"x" * 256)[:4] == b"\x81\x7e\x01\x00"
    assert text_frame(b"x" * 65536)[:10] == b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
    assert text_frame(b"x" * 125)[:2] == b"\x81\x7d" and text_frame(b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"x" * 65535)[:4] == b"\x81\x7e\xff\xff"
    assert text_frame(b"") == b"\x81\x00"


def test_compressed_frames_match_rfc_7692_examples() -> None:
    # RFC 7692 §7.2.3.1: "Hello" compressed without context is f2 48 cd c9 c9 07 00, framed c1 07 ... (RSV1).
    assert deflate_message(b"Hello") == bytes.fromhex("f248cdc9c90700")
    assert text_frame(deflate_message(b"Hello"), compressed=True) == bytes.fromhex("c107f248cdc9c90700")
    assert text_frame(b"x" * 300, compressed=True)[:4] == b"\xc1\x7e\x01\x2c"


@pytest.mark.parametrize("window_bits", [9, 12, 15])
def test_a_compressed_message_inflates_alone_and_after_other_messages(window_bits: int) -> None:
    payload = b'42/live,["events",[' + b",".join(b'{"seq":%d,"gift":"rose"}' % n for n in range(500)) + b"]]"
    message = deflate_message(payload, window_bits)
    assert len(message) < len(payload) // 5 and not message.endswith(EMPTY_BLOCK_TAIL)
    alone = zlib.decompressobj(-window_bits)
    assert alone.decompress(message + EMPTY_BLOCK_TAIL) == payload  # §7.2.2: the receiver appends the tail
    # A client keeps its window across messages (context takeover is the client's default); a message that
    # refers to nothing before it inflates the same after others.
    kept = zlib.decompressobj(-15)
    for other in (b"40/live,", payload, b"2"):
        assert kept.decompress(deflate_message(other) + EMPTY_BLOCK_TAIL) == other
    assert kept.decompress(message + EMPTY_BLOCK_TAIL) == payload


def test_a_shared_frame_compresses_once_per_window_size() -> None:
    frame = SharedFrame(b"4" + b"x" * 1000)
    assert frame.plain == text_frame(frame.message)
    first = frame.deflated(15)
    assert frame.deflated(15) is first and frame.deflated(10) is not first
    assert first == text_frame(deflate_message(frame.message, 15), compressed=True)


def test_the_deflate_answer_never_takes_context_over() -> None:
    assert deflate_response_header(15) == "permessage-deflate; server_no_context_takeover"
    assert deflate_response_header(10) == "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"


async def test_aiohttps_client_reads_shared_frames_between_the_servers_own_compressed_messages() -> None:
    """A real client with its own inflate window: the server's messages compressed by aiohttp's writer (each
    on its own, after the no-context-takeover answer) and prepared frames written to the transport, in turn."""
    batch = b'42/live,["events",[' + b",".join(b'{"seq":%d}' % n for n in range(300)) + b"]]"
    offers: list[str | None] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        offers.append(request.headers.get("Sec-WebSocket-Extensions"))
        ws = SharedDeflateResponse()
        await ws.prepare(request)
        for n in range(3):
            await ws.send_str(f"own message {n} " + "y" * 200)
            assert ws._writer is not None
            frame = SharedFrame(batch + b"%d" % n)
            ws._writer.transport.write(frame.deflated(ws.compress) if ws.compress else frame.plain)
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        for compress in (15, 10, 0):
            async with http.ws_connect(server.make_url("/ws"), compress=compress) as ws:
                agreed = ws._response.headers.get("Sec-WebSocket-Extensions")
                got = [(await ws.receive(timeout=5)).data for _ in range(6)]
                await ws.send_str("bye")
            assert got == [x for n in range(3) for x in (f"own message {n} " + "y" * 200, (batch + b"%d" % n).decode())]
            if compress:
                assert agreed == deflate_response_header(compress)
            else:
                assert agreed is None
    assert offers[0] is not None and "permessage-deflate" in offers[0] and offers[2] is None


async def test_frames_are_the_bytes_aiohttps_server_writer_sends() -> None:
    for size in (0, 5, 125, 126, 4000, 65535, 65536, 70000):
        payload = bytes(range(48, 58)) * (size // 10) + b"0" * (size % 10)
        writer, transport = recording_writer()
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
