"""Pure wire functions for the benchmark's raw Socket.IO viewers: the WebSocket client handshake and frames
(RFC 6455), Engine.IO v4 and Socket.IO v5 packets, and the gift ids and seqs in a ``/live`` event frame.

No I/O here: ``benchmarks.raw_viewers`` feeds these with the bytes it read, and ``tests/bench/test_wire.py``
checks them on bytes captured from the real server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from typing import Any

# The server's own constants of RFC 7692 (§6's RSV1 bit, §7.2.2's tail a receiver appends before inflating).
from signaling.frames import EMPTY_BLOCK_TAIL, RSV1

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA  # opcodes, RFC 6455 §5.2
# An Engine.IO PING ("2") as the server sends it: one final, unmasked text frame of one byte; with
# permessage-deflate and no server context takeover, the same byte compressed on its own (RFC 7692 §7.2.1),
# RSV1 set: always these bytes.
EIO_PING_FRAME = b"\x81\x012"
EIO_PING_DEFLATED = b"\xc1\x03\x32\x02\x00"
# What browsers offer (RFC 7692 §7.1): permessage-deflate, the client's window size left to the server.
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"


def handshake_request(host: str, path: str, key: str, *, deflate: bool = False) -> bytes:
    """The opening handshake (RFC 6455 §4.1), offering permessage-deflate (RFC 7692) as browsers do if
    ``deflate``."""
    offer = f"Sec-WebSocket-Extensions: {DEFLATE_OFFER}\r\n" if deflate else ""
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n").encode()


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer ``key`` with (RFC 6455 §4.2.2, step 5.4)."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def handshake_response(data: bytes, key: str, *, deflate: bool = False) -> int:
    """The length of a complete ``101`` response to ``key`` at the start of ``data``, 0 if more bytes are
    needed; ValueError if the server refused or answered with the wrong accept key (RFC 6455 §4.1). With
    ``deflate`` (offered), the server must have accepted permessage-deflate without server context takeover
    (RFC 7692 §7.1.1.1): the benchmark's viewers read pings by their fixed bytes, which needs it."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = data[:end].decode("latin-1").split("\r\n")
    if not head[0].startswith("HTTP/1.1 101"):
        raise ValueError(f"WebSocket handshake refused: {head[0]!r}")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:])}
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise ValueError("WebSocket handshake: wrong Sec-WebSocket-Accept")
    extensions = headers.get("sec-websocket-extensions", "")
    if deflate:
        params = {p.strip() for p in extensions.split(";")}
        if "permessage-deflate" not in params or "server_no_context_takeover" not in params:
            raise ValueError(f"WebSocket handshake: permessage-deflate without server context takeover "
                             f"expected, got {extensions!r}")
    elif extensions:  # RFC 6455 §9.1: one not offered is a failure
        raise ValueError(f"WebSocket handshake: unrequested extension {extensions!r}")
    return end + 4


def client_frame(payload: bytes, mask: bytes, opcode: int = TEXT) -> bytes:
    """One final frame from a client: masked with the 4-byte ``mask`` (RFC 6455 §5.3, a client MUST mask)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    key = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
    return header + mask + masked


Frame = tuple[int, bool, int, int]  # opcode, compressed (RSV1, RFC 7692 §6), payload start, payload end


def server_frames(data: bytes | bytearray, start: int = 0) -> tuple[list[Frame], int]:
    """The complete frames in ``data`` from ``start``: ``(opcode, compressed, payload start, payload end)``
    each, and the offset after the last complete one. Server frames are unmasked (RFC 6455 §5.1: a masked
    one is a protocol error); fragments (FIN clear) are refused, as this server never sends them."""
    frames: list[Frame] = []
    size = len(data)
    at = start
    while size - at >= 2:
        first, second = data[at], data[at + 1]
        if second & 0x80:
            raise ValueError("a masked frame from the server (RFC 6455 §5.1)")
        if not first & 0x80:
            raise ValueError("a fragmented frame (not sent by this server)")
        length, head = second & 0x7F, 2
        if length == 126:
            if size - at < 4:
                break
            length, head = struct.unpack_from("!H", data, at + 2)[0], 4
        elif length == 127:
            if size - at < 10:
                break
            length, head = struct.unpack_from("!Q", data, at + 2)[0], 10
        if size - at < head + length:
            break
        frames.append((first & 0x0F, bool(first & RSV1), at + head, at + head + length))
        at += head + length
    return frames, at


def inflate(payload: bytes, inflater: Any | None = None) -> bytes:
    """A permessage-deflate message's payload (RFC 7692 §7.2.2), with the connection's inflater (the client
    keeps its window) or, for a message compressed without context, a fresh one."""
    return (inflater or zlib.decompressobj(-15)).decompress(payload + EMPTY_BLOCK_TAIL)


class TextReader:
    """A client's received bytes in, the server's text messages out: the handshake response first (RFC 6455
    §4.2.2), then every complete frame (§5.2), inflated if compressed; a partial one waits for more. No I/O."""

    def __init__(self, key: str, *, deflate: bool = False) -> None:
        self.key = key
        self.deflate = deflate
        self.upgraded = False
        self.buffer = bytearray()  # what is not consumed yet
        self._inflater = zlib.decompressobj(-15)

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        if not self.upgraded:
            end = handshake_response(bytes(self.buffer), self.key, deflate=self.deflate)
            if not end:
                return []
            del self.buffer[:end]
            self.upgraded = True
        frames, used = server_frames(self.buffer)
        texts = []
        for opcode, compressed, start, end in frames:
            if opcode != TEXT:
                continue
            payload = bytes(self.buffer[start:end])
            if compressed:
                if not self.deflate:
                    raise ValueError("a compressed frame without permessage-deflate (RFC 7692 §6)")
                payload = inflate(payload, self._inflater)
            texts.append(payload.decode())
        del self.buffer[:used]
        return texts


def eio_pings(tail: bytes, data: bytes, ping: bytes = EIO_PING_FRAME) -> int:
    """Engine.IO pings in ``data`` (frames equal to ``ping``: ``EIO_PING_FRAME``, or ``EIO_PING_DEFLATED``
    on a compressed connection), given the last ``len(ping) - 1`` bytes of the chunk before it (``tail``),
    without walking the frames. Plain frames: exact for this server, its JSON is ASCII and escapes control
    characters, so a payload never holds byte 0x81 followed by 0x01, and the only frame whose payload is the
    byte ``2`` after such a header is the one-byte ping (messages start with ``4``). Compressed payloads are
    binary: five bytes equal to the compressed ping inside one are possible (about one chance in 2^40 per
    byte). Either way, each ping answered from here is checked afterwards against the frames the full
    decoder finds (``RawAudience.report``).

    The search is for the first byte alone (``memchr``: it occurs once per frame header in plain JSON), not
    for the whole pattern, whose byte ``2`` is common in JSON and slows ``bytes.count`` down tenfold."""
    pings = (tail + data[:len(ping) - 1]).count(ping)  # a ping cut in two by the chunks' boundary
    first, rest = ping[0], ping[1:]
    at = data.find(first)
    while at >= 0:
        if data[at + 1:at + len(ping)] == rest:
            pings += 1
        at = data.find(first, at + 1)
    return pings


def socketio_packet(text: str) -> tuple[int, str, int | None, Any]:
    """A Socket.IO v5 packet inside an Engine.IO MESSAGE (``4``): ``(type, namespace, ack id, data)``.

    Format: ``<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`` (socket.io-protocol v5); binary
    attachments are not used on ``/live``."""
    if not text or text[0] != "4":
        raise ValueError(f"not an Engine.IO message: {text[:20]!r}")
    body = text[1:]
    kind, at = int(body[0]), 1
    namespace = "/"
    if body[at:at + 1] == "/":
        comma = body.find(",", at)
        namespace, at = (body[at:], len(body)) if comma < 0 else (body[at:comma], comma + 1)
    digits = at
    while digits < len(body) and body[digits].isdigit():
        digits += 1
    ack = int(body[at:digits]) if digits > at else None
    data = json.loads(body[digits:]) if digits < len(body) else None
    return kind, namespace, ack, data


def live_events(data: Any) -> list[tuple[int, str | None]]:
    """``(seq, transfer id or None)`` for each room event in a ``/live`` EVENT's data: one envelope
    (``["gift.sent", {...}]``) or a tick's batch (``["events", [{...}, ...]]``); [] for other events."""
    if not isinstance(data, list) or len(data) < 2:
        return []
    name, argument = data[0], data[1]
    envelopes = argument if name == "events" else [argument] if isinstance(argument, dict) else []
    out: list[tuple[int, str | None]] = []
    for envelope in envelopes:
        if isinstance(envelope, dict) and isinstance(envelope.get("seq"), int):
            body = envelope.get("data") or {}
            out.append((envelope["seq"], body.get("transfer_id") if body.get("type") == "gift.sent" else None))
    return out
