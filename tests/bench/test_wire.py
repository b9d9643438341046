"""``benchmarks.wire`` and the raw viewers' after-the-storm decoding, on bytes a raw viewer received from the
real server (tests/bench/data/live: the handshake, Engine.IO OPEN, ``/live`` CONNECT and join ack, then five
gifts batched or one event each; ``capture.json`` holds the viewers' handshake keys and the gifts' ids; the
``deflate`` files are a viewer that offered permessage-deflate, ``capture-deflate.json`` its key and gifts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp.http_websocket import WSMsgType

from benchmarks import wire
from benchmarks.raw_viewers import Chunks, Decoded, viewer_report
from tests.writers import recording_writer

DATA = Path(__file__).parent / "data" / "live"
CAPTURE = json.loads((DATA / "capture.json").read_text())
DEFLATE = json.loads((DATA / "capture-deflate.json").read_text())


def texts(data: bytes) -> list[str]:
    frames, used = wire.server_frames(data)
    assert used == len(data)
    return [(wire.inflate(data[start:end]) if compressed else data[start:end]).decode()
            for opcode, compressed, start, end in frames if opcode == wire.TEXT]


def test_the_accept_key_of_rfc_6455_section_1_3() -> None:
    assert wire.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_the_handshake_request_offers_no_extension() -> None:
    request = wire.handshake_request("127.0.0.1:8080", "/socket.io/?EIO=4&transport=websocket", "k")
    assert request.startswith(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n")
    assert b"Sec-WebSocket-Key: k\r\n" in request and b"Sec-WebSocket-Version: 13\r\n" in request
    assert b"Extensions" not in request and request.endswith(b"\r\n\r\n")
    offer = wire.handshake_request("127.0.0.1:8080", "/socket.io/?EIO=4&transport=websocket", "k", deflate=True)
    assert b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" in offer


def test_the_servers_deflate_answer_is_without_context_takeover_and_its_storm_inflates() -> None:
    setup = (DATA / "live-batch-deflate-setup.bin").read_bytes()
    end = wire.handshake_response(setup, DEFLATE["key"], deflate=True)
    assert b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" in setup[:end]
    with pytest.raises(ValueError, match="unrequested extension"):  # not offered, so not acceptable
        wire.handshake_response(setup, DEFLATE["key"])
    plain = (DATA / "live-batch-setup.bin").read_bytes()
    with pytest.raises(ValueError, match="server context takeover"):
        wire.handshake_response(plain, CAPTURE["keys"]["batch"], deflate=True)
    reader = wire.TextReader(DEFLATE["key"], deflate=True)
    opened, connected, joined = reader.feed(setup)
    assert opened.startswith("0{") and connected.startswith("40/live,") and joined.startswith("43/live,1")
    storm = (DATA / "live-batch-deflate-storm.bin").read_bytes()
    frames, used = wire.server_frames(storm)
    assert used == len(storm) and all(compressed for _, compressed, _, _ in frames)
    events = [e for text in reader.feed(storm) for e in wire.live_events(wire.socketio_packet(text)[3])]
    assert [transfer for _, transfer in events] == DEFLATE["transfers"]
    assert [seq for seq, _ in events] == [1, 2, 3, 4, 5]
    # Each message also inflates alone, with a fresh inflater (the server compresses without context).
    assert [e for t in texts(storm) for e in wire.live_events(wire.socketio_packet(t)[3])] == events
    assert sum(end - start for _, _, start, end in frames) < len(texts(storm)[0]) // 3
    with pytest.raises(ValueError, match="compressed frame"):
        wire.TextReader(CAPTURE["keys"]["batch"]).feed(plain[:wire.handshake_response(plain, CAPTURE["keys"]["batch"])]
                                                       + storm)


async def test_the_compressed_ping_is_the_bytes_aiohttps_writer_sends() -> None:
    """The server compresses each message on its own (no context takeover), so its ping is always these bytes."""
    writer, transport = recording_writer(compress=15, notakeover=True)
    for message in (b"2", b"42/live," + b"x" * 500, b"2"):
        start = len(transport.data)
        await writer.send_frame(message, WSMsgType.TEXT)
        if message == b"2":
            assert bytes(transport.data[start:]) == wire.EIO_PING_DEFLATED
    assert texts(bytes(transport.data)) == ["2", "42/live," + "x" * 500, "2"]


@pytest.mark.parametrize("kind", ["batch", "event"])
def test_the_servers_setup_bytes_decode_to_open_connect_and_the_join_ack(kind: str) -> None:
    data = (DATA / f"live-{kind}-setup.bin").read_bytes()
    key = CAPTURE["keys"][kind]
    end = wire.handshake_response(data, key)
    assert data[:end].startswith(b"HTTP/1.1 101") and data[end - 4:end] == b"\r\n\r\n"
    assert wire.handshake_response(data[:end - 1], key) == 0  # incomplete: wait for more
    with pytest.raises(ValueError, match="Accept"):
        wire.handshake_response(data, "another key")
    opened, connected, joined = texts(data[end:])
    assert opened.startswith("0{") and json.loads(opened[1:])["pingInterval"] == 25000
    kind_, namespace, ack, body = wire.socketio_packet(connected)
    assert (kind_, namespace, ack) == (0, "/live", None) and set(body) == {"sid"}
    kind_, namespace, ack, body = wire.socketio_packet(joined)
    assert (kind_, namespace, ack) == (3, "/live", 1) and body[0]["ok"] is True
    assert body[0]["snapshot"]["status"] == "live"


@pytest.mark.parametrize("kind", ["batch", "event"])
def test_the_text_reader_gives_the_same_messages_however_the_bytes_are_cut(kind: str) -> None:
    data = (DATA / f"live-{kind}-setup.bin").read_bytes()
    key = CAPTURE["keys"][kind]
    whole = wire.TextReader(key).feed(data)
    assert len(whole) == 3 and whole[0].startswith("0{")
    for cut in range(1, len(data), 7):
        reader = wire.TextReader(key)
        assert reader.feed(data[:cut]) + reader.feed(data[cut:]) == whole
        assert reader.upgraded and not reader.buffer


def test_a_refused_handshake_is_an_error() -> None:
    with pytest.raises(ValueError, match="refused"):
        wire.handshake_response(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "k")


@pytest.mark.parametrize("kind", ["batch", "event"])
def test_the_storm_bytes_hold_the_five_gifts_in_seq_order(kind: str) -> None:
    data = (DATA / f"live-{kind}-storm.bin").read_bytes()
    events = []
    for text in texts(data):
        _, namespace, _, body = wire.socketio_packet(text)
        assert namespace == "/live" and body[0] == ("events" if kind == "batch" else "gift.sent")
        events += wire.live_events(body)
    assert [transfer for _, transfer in events] == CAPTURE["transfers"]
    assert [seq for seq, _ in events] == [1, 2, 3, 4, 5]


def test_frames_cut_anywhere_are_found_only_when_complete() -> None:
    data = (DATA / "live-batch-storm.bin").read_bytes()
    whole, _ = wire.server_frames(data)
    for cut in range(len(data) + 1):
        first, used = wire.server_frames(data[:cut])
        assert first == whole[:len(first)] and used == (first[-1][3] if first else 0)
        rest, end = wire.server_frames(data, used)
        assert first + rest == whole and end == len(data)


def test_a_masked_or_fragmented_server_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="masked"):
        wire.server_frames(wire.client_frame(b"2", b"abcd"))
    with pytest.raises(ValueError, match="fragmented"):
        wire.server_frames(b"\x01\x012")


def test_client_frames_are_masked_per_rfc_6455_section_5_3() -> None:
    mask = b"\x37\xfa\x21\x3d"
    assert wire.client_frame(b"Hello", mask) == b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"  # RFC 6455 §5.7
    long = wire.client_frame(b"x" * 300, mask)
    assert long[:4] == b"\x81\xfe\x01\x2c" and long[4:8] == mask and len(long) == 8 + 300
    unmasked = bytes(b ^ mask[i % 4] for i, b in enumerate(long[8:]))
    assert unmasked == b"x" * 300


def test_pings_are_counted_in_a_chunk_and_across_a_chunk_boundary() -> None:
    storm = (DATA / "live-batch-storm.bin").read_bytes()
    assert wire.eio_pings(b"", storm) == 0
    stream = storm + wire.EIO_PING_FRAME + storm + wire.EIO_PING_FRAME
    assert wire.eio_pings(b"", stream) == 2
    for cut in range(len(stream) + 1):  # wherever the reads split the stream, each ping counts once
        head, tail = stream[:cut], stream[cut:]
        assert wire.eio_pings(b"", head) + wire.eio_pings(head[-2:], tail) == 2
    assert [t for t in texts(stream) if t == "2"] == ["2", "2"]
    compressed = (DATA / "live-batch-deflate-storm.bin").read_bytes()
    stream = compressed + wire.EIO_PING_DEFLATED + compressed + wire.EIO_PING_DEFLATED
    assert wire.eio_pings(b"", compressed, wire.EIO_PING_DEFLATED) == 0
    for cut in range(len(stream) + 1):
        head, tail = stream[:cut], stream[cut:]
        assert (wire.eio_pings(b"", head, wire.EIO_PING_DEFLATED)
                + wire.eio_pings(head[-4:], tail, wire.EIO_PING_DEFLATED)) == 2
    assert [t for t in texts(stream) if t == "2"] == ["2", "2"]


def test_socketio_packets_without_namespace_or_data() -> None:
    assert wire.socketio_packet("42[\"x\",1]") == (2, "/", None, ["x", 1])
    assert wire.socketio_packet("41/live") == (1, "/live", None, None)
    assert wire.socketio_packet("43/live,17[{}]") == (3, "/live", 17, [{}])
    with pytest.raises(ValueError):
        wire.socketio_packet("2")


def test_the_report_times_each_gift_by_the_chunk_that_completed_its_frame() -> None:
    """Two viewers whose reads cut the same batch differently: each arrival is the time of the chunk
    holding the frame's last byte; equal chunks are kept once; the frames are decoded once."""
    storm = (DATA / "live-batch-storm.bin").read_bytes()
    frames, _ = wire.server_frames(storm)
    first_end = frames[0][3]
    interned = Chunks()
    a = [(10.0, interned.intern(storm[:100])), (10.5, interned.intern(storm[100:]))]
    b = [(11.0, interned.intern(bytes(storm[:100]))), (11.25, interned.intern(storm[100:first_end])),
         (11.875, interned.intern(storm[first_end:]))]
    assert a[0][1] is b[0][1]  # an equal chunk: one object
    transfers = CAPTURE["transfers"]
    in_first = len(wire.live_events(wire.socketio_packet(storm[frames[0][2]:frames[0][3]].decode())[3]))
    timings = {t: (9.0, 9.5) for t in transfers}
    ack: dict[int, int] = {}
    send: dict[int, int] = {}
    cache: dict[tuple[bool, bytes], Decoded] = {}
    first = viewer_report(a, timings, ack, send, cache)
    second = viewer_report(b, timings, ack, send, cache)
    assert first == {"delivered": 5, "disorder": 0, "pings": 0, "partial": 0} == second
    assert len(cache) == len(frames)
    assert ack == ({10_000: 5, 17_500: in_first, 23_750: 5 - in_first} if in_first < 5
                   else {10_000: 5, 17_500: 5})
    assert sum(send.values()) == 10 and min(send) == 15_000


def test_the_report_counts_disorder_and_a_cut_frame() -> None:
    storm = (DATA / "live-event-storm.bin").read_bytes()
    frames, _ = wire.server_frames(storm)
    swapped = storm[frames[1][2] - 4:frames[1][3]] + storm[frames[0][2] - 4:frames[0][3]]  # seq 2, then 1
    assert [h[:2] for h in (storm[frames[0][2] - 4:], storm[frames[1][2] - 4:])] == [b"\x81\x7e"] * 2
    report = viewer_report([(1.0, swapped), (2.0, storm[:10])], {}, {}, {}, {})
    assert report == {"delivered": 0, "disorder": 1, "pings": 0, "partial": 10}
