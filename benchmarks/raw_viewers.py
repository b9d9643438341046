"""``RawAudience``: Socket.IO viewers for ``benchmarks.rooms`` that cost almost nothing while a storm runs.

Each viewer is an ``asyncio.Protocol`` on its own loopback TCP connection: the RFC 6455 handshake (offering
permessage-deflate as browsers, socket.io-client and dart:io do, unless ``deflate`` is off), Engine.IO v4
OPEN, a Socket.IO v5 CONNECT to ``/live`` and a ``join`` (with its ack) are decoded in full
(``benchmarks.wire``). Once ``record()`` is called, ``data_received`` only appends
``(time.monotonic(), chunk)`` and answers Engine.IO pings, found by a byte search for the fixed ping frame
(``wire.eio_pings``; compressed, it is fixed too, as the server compresses without context takeover), so
the storm's frames cost the viewer process a system call and a list append each. After the storm ``report``
decodes every viewer's stream (inflating compressed frames): a frame arrived with the chunk that completed
it; its gift ids and seqs give the (gift, viewer) delays, gaps and disorder.

Memory: the server writes one prepared frame to every viewer (``signaling.frames``), so the viewers of a
process mostly receive equal chunks. A chunk equal (byte for byte) to one already kept is replaced by that
object, so a process holds each distinct chunk once rather than once per viewer (2,000 viewers x 10,000
gifts x ~350 bytes would be 7 GB). Each chunk is parsed once per distinct frame, too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

from benchmarks import wire

PATH = "/socket.io/?EIO=4&transport=websocket"
NAMESPACE = "/live"


class Chunks:
    """The distinct chunks the viewers of one process received: equal chunks become one object. Also holds
    the process's receive buffer."""

    def __init__(self) -> None:
        self._kept: dict[tuple[int, bytes], bytes] = {}
        self.buffer = memoryview(bytearray(1 << 18))  # the viewers' shared receive buffer (RawViewer)

    def intern(self, data: bytes) -> bytes:
        # Looked up by length and head (cheap); kept only if the whole chunk is equal (a memcmp).
        key = (len(data), data[:64])
        kept = self._kept.get(key)
        if kept is None:
            self._kept[key] = data
            return data
        return kept if kept == data else data


class RawViewer(asyncio.BufferedProtocol):
    """One viewer's connection. ``joined`` resolves after the join's ack; ``record()`` switches to the
    append-only mode; ``chunks`` and ``pongs`` are what ``report`` needs."""

    def __init__(self, host: str, room: str, batch: bool, chunks: Chunks, *, deflate: bool = True) -> None:
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.deflate = deflate
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.chunks: list[tuple[float, bytes]] = []
        self.pongs = 0  # pings answered while recording
        self._host, self._room, self._batch, self._interned = host, room, batch, chunks
        self._transport: asyncio.Transport | None = None
        self._reader = wire.TextReader(self.key, deflate=deflate)
        self._recording = False
        self._tail = b""
        self._ping = wire.EIO_PING_DEFLATED if deflate else wire.EIO_PING_FRAME
        self._pong = wire.client_frame(b"3", os.urandom(4))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(wire.handshake_request(self._host, PATH, self.key, deflate=self.deflate))

    def record(self) -> None:
        """From now on keep the raw chunks; whatever is left in the setup buffer is the first of them."""
        self._recording = True
        if self._reader.buffer:
            data = bytes(self._reader.buffer)
            self.chunks.append((time.monotonic(), data))
            self._tail = data[1 - len(self._ping):]
            self._reader.buffer.clear()

    def get_buffer(self, sizehint: int) -> memoryview:
        # One receive buffer per process, filled and copied out before the next read: asyncio's plain
        # Protocol path allocates (and the allocator maps and unmaps) a 256 KiB bytes object per read.
        return self._interned.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._interned.buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        if self._recording:
            self.chunks.append((time.monotonic(), self._interned.intern(data)))
            pings = wire.eio_pings(self._tail, data, self._ping)
            self._tail = data[1 - len(self._ping):]
            for _ in range(pings):
                self._send(b"3")
            self.pongs += pings
            return
        try:
            self._setup(data)
        except Exception as exc:  # a refused handshake, join or protocol error: the run cannot go on
            if not self.joined.done():
                self.joined.set_exception(exc)
            self.close()

    def _send(self, text: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(self._pong if text == b"3" else wire.client_frame(text, os.urandom(4)))

    def _setup(self, data: bytes) -> None:
        for text in self._reader.feed(data):
            if text == "2":  # Engine.IO PING: PONG, or the server closes the connection
                self._send(b"3")
            elif text.startswith("0{"):  # Engine.IO OPEN: connect to the namespace (anonymous viewer)
                self._send(f"40{NAMESPACE},".encode())
            elif text.startswith("4"):
                kind, namespace, ack, body = wire.socketio_packet(text)
                if namespace != NAMESPACE:
                    continue
                if kind == 0:  # CONNECT answered: join, ack id 1
                    join = {"room": self._room, "batch": True} if self._batch else {"room": self._room}
                    self._send(f'42{NAMESPACE},1{json.dumps(["join", join])}'.encode())
                elif kind == 4:  # CONNECT_ERROR
                    raise RuntimeError(f"/live connect refused: {body}")
                elif kind == 3 and ack == 1 and not self.joined.done():
                    if not (isinstance(body, list) and body and body[0].get("ok")):
                        raise RuntimeError(f"join: {body}")
                    self.joined.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(f"closed before the join: {exc}"))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


Decoded = tuple[list[tuple[int, str | None]], int]  # a frame's (seq, transfer id) pairs, and 1 if a ping


def decode_frame(payload: bytes, cache: dict[tuple[bool, bytes], Decoded], *, compressed: bool = False) -> Decoded:
    """A recorded text frame's room events (``wire.live_events``) or ping, decoded once per distinct frame.
    A compressed one is inflated on its own: the server compresses each message without context, so equal
    compressed bytes are the same message for every viewer."""
    known = cache.get((compressed, payload))
    if known is not None:
        return known
    text = (wire.inflate(payload) if compressed else payload).decode()
    if text == "2":
        decoded: Decoded = ([], 1)
    elif text.startswith("42"):
        _, namespace, _, body = wire.socketio_packet(text)
        decoded = (wire.live_events(body) if namespace == NAMESPACE else [], 0)
    else:
        decoded = ([], 0)
    cache[(compressed, payload)] = decoded
    return decoded


def viewer_report(chunks: list[tuple[float, bytes]], timings: dict[str, tuple[float, float]],
                  ack: dict[int, int], send: dict[int, int],
                  cache: dict[tuple[bool, bytes], Decoded]) -> dict[str, int]:
    """Adds one viewer's (gift, viewer) delays to the 0.1 ms histograms ``ack`` (from the giver's ack,
    clamped at 0) and ``send`` (from its send); counts delivered pairs, frames that start below a seq
    already seen ("disorder"), pings in the stream and bytes left after the last complete frame."""
    stream = b"".join(data for _, data in chunks)
    ends = list(accumulate(len(data) for _, data in chunks))
    frames, used = wire.server_frames(stream)
    delivered = disorder = pings = 0
    last = 0
    for opcode, compressed, start, end in frames:
        if opcode != wire.TEXT:
            continue
        events, ping = decode_frame(stream[start:end], cache, compressed=compressed)
        pings += ping
        if not events:
            continue
        at = chunks[bisect_left(ends, end)][0]  # the chunk holding the frame's last byte
        if events[0][0] < last:
            disorder += 1
        last = max(last, max(seq for seq, _ in events))
        for _, transfer in events:
            timing = timings.get(transfer) if transfer else None
            if timing is None:
                continue
            sent, acked = timing
            delivered += 1
            a, f = int(max(0.0, at - acked) * 10_000), int((at - sent) * 10_000)
            ack[a] = ack.get(a, 0) + 1
            send[f] = send.get(f, 0) + 1
    return {"delivered": delivered, "disorder": disorder, "pings": pings, "partial": len(stream) - used}


class RawAudience:
    """The viewers of one worker process. Owns their connections; ``close`` ends them."""

    def __init__(self, *, deflate: bool = True) -> None:
        self.viewers: list[RawViewer] = []
        self.deflate = deflate
        self._chunks = Chunks()

    async def add(self, base: str, room: str, auth: dict[str, str] | None = None, *, batch: bool = False) -> None:
        if auth:
            raise ValueError("raw viewers are anonymous")
        url = urlsplit(base)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        factory: Callable[[], RawViewer] = lambda: RawViewer(  # noqa: E731
            url.netloc, room, batch, self._chunks, deflate=self.deflate)
        _, viewer = await asyncio.get_running_loop().create_connection(factory, host, port)
        self.viewers.append(viewer)
        await asyncio.wait_for(viewer.joined, 30)

    def record(self) -> None:
        for viewer in self.viewers:
            viewer.record()

    def report(self, timings: dict[str, list[float]]) -> dict[str, Any]:
        """Histograms and counts over every viewer (``viewer_report``); ``pong mismatch``: viewers whose
        answered pings differ from the pings their decoded stream holds (0 if ``eio_pings`` was exact)."""
        ack: dict[int, int] = {}
        send: dict[int, int] = {}
        cache: dict[tuple[bool, bytes], Decoded] = {}
        pairs = {t: (s, a) for t, (s, a) in timings.items()}
        totals = {"delivered": 0, "disorder": 0, "pong_mismatch": 0, "partial": 0}
        for viewer in self.viewers:
            part = viewer_report(viewer.chunks, pairs, ack, send, cache)
            totals["delivered"] += part["delivered"]
            totals["disorder"] += part["disorder"]
            totals["partial"] += part["partial"] > 0
            totals["pong_mismatch"] += viewer.pongs != part["pings"]
        return {"ack": ack, "send": send, **totals}

    async def close(self) -> None:
        for viewer in self.viewers:
            viewer.close()
        await asyncio.sleep(0)
