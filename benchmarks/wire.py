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
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA  # opcodes, RFC 6455 §5.2
# An Engine.IO PING ("2") as the server sends it: one final, unmasked text frame of one byte.
EIO_PING_FRAME = b"\x81\x012"


def handshake_request(host: str, path: str, key: str) -> bytes:
    """The opening handshake (RFC 6455 §4.1). No ``Sec-WebSocket-Extensions``: without permessage-deflate
    (RFC 7692) the server writes the same bytes to every viewer, which is what it does at scale."""
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer ``key`` with (RFC 6455 §4.2.2, step 5.4)."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def handshake_response(data: bytes, key: str) -> int:
    """The length of a complete ``101`` response to ``key`` at the start of ``data``, 0 if more bytes are
    needed; ValueError if the server refused or answered with the wrong accept key (RFC 6455 §4.1)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = data[:end].decode("latin-1").split("\r\n")
    if not head[0].startswith("HTTP/1.1 101"):
        raise ValueError(f"WebSocket handshake refused: {head[0]!r}")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:])}
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise ValueError("WebSocket handshake: wrong Sec-WebSocket-Accept")
    if headers.get("sec-websocket-extensions"):  # RFC 6455 §9.1: one not offered is a failure
        raise ValueError(f"WebSocket handshake: unrequested extension {headers['sec-websocket-extensions']!r}")
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


def server_frames(data: bytes | bytearray, start: int = 0) -> tuple[list[tuple[int, int, int]], int]:
    """The complete frames in ``data`` from ``start``: ``(opcode, payload start, payload end)`` each, and the
    offset after the last complete one. Server frames are unmasked (RFC 6455 §5.1: a masked one is a
    protocol error); fragments (FIN clear) are refused, as this server never sends them."""
    frames: list[tuple[int, int, int]] = []
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
        frames.append((first & 0x0F, at + head, at + head + length))
        at += head + length
    return frames, at


class TextReader:
    """A client's received bytes in, the server's text messages out: the handshake response first (RFC 6455
    §4.2.2), then every complete frame (§5.2); a partial one waits for more. No I/O."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.upgraded = False
        self.buffer = bytearray()  # what is not consumed yet

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        if not self.upgraded:
            end = handshake_response(bytes(self.buffer), self.key)
            if not end:
                return []
            del self.buffer[:end]
            self.upgraded = True
        frames, used = server_frames(self.buffer)
        texts = [bytes(self.buffer[start:end]).decode() for opcode, start, end in frames if opcode == TEXT]
        del self.buffer[:used]
        return texts


def eio_pings(tail: bytes, data: bytes) -> int:
    """Engine.IO pings in ``data``, given the last two bytes of the chunk before it (``tail``), without
    walking the frames. Exact for this server: its JSON is ASCII and escapes control characters, so a
    payload never holds byte 0x81 followed by 0x01, and the only frame whose payload is the byte ``2``
    after such a header is the one-byte ping (messages start with ``4``). Each ping answered from here is
    checked afterwards against the frames the full decoder finds (``RawAudience.report``).

    The search is for byte 0x81 alone (``memchr``: it occurs once per frame header), not for the whole
    pattern, whose last byte ``2`` is common in JSON and slows ``bytes.count`` down tenfold."""
    pings = (tail + data[:2]).count(EIO_PING_FRAME)  # a ping cut in two by the chunks' boundary
    at = data.find(0x81)
    while at >= 0:
        if data[at + 1:at + 3] == b"\x012":
            pings += 1
        at = data.find(0x81, at + 1)
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
