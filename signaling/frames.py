"""``PreparedFrames``: a python-socketio client manager whose room emits build the WebSocket frame ONCE and
write the same bytes to every recipient's transport.

Why: python-socketio encodes a room emit's Socket.IO packet once, but then gives every recipient its own
task, a put on the socket's Engine.IO queue, a wake-up of the socket's writer task and a WebSocket frame built
by aiohttp: tens of microseconds of Python per recipient per event, which bounds a 2,000-viewer live to a
few events a second. Here one emit is one ``str`` encode and one RFC 6455 frame, then one
``transport.write`` per recipient.

Only when that keeps each socket's byte order: the socket is on the WebSocket transport (upgrade finished),
its Engine.IO queue is empty and its writer is not in the middle of a send (else packets queued earlier
would be overtaken), and the transport is not paused for back-pressure. Any other socket (long-polling,
upgrading, busy, slow) gets the packet through the normal python-socketio path, which queues it behind what
it has.

Compression (RFC 7692, permessage-deflate, which browsers, socket.io-client and dart:io offer by default):
:class:`SharedDeflateResponse` answers every offer with ``server_no_context_takeover``, which a server may
add unasked (§7.1.1.1). Then every message the server sends is compressed on its own, by aiohttp's writer
for the socket's own packets as by this module, so one compressed payload is right for every socket that
negotiated the same window size (gorilla/websocket's ``PreparedMessage`` caches frames the same way): an
emit compresses once per window size in use, not once per socket. The client keeps its inflate window as
usual; a message that refers to nothing before it inflates the same with or without one.

The hook is python-engineio's WebSocket driver class for aiohttp, replaced for this server only by a
subclass (:class:`FrameSocket`) that registers each open WebSocket and counts sends in flight; python-engineio
selects it from the server's ``_async`` table, copied per server, never patched in site-packages.
``FrameManager`` is the in-process manager, ``FrameRedisManager`` python-socketio's ``AsyncRedisManager``
with the same local fan-out (each node writes the frames of its own sockets).
"""

from __future__ import annotations

import struct
import zlib
from functools import partial
from typing import Any

import socketio
from aiohttp import hdrs, web
from engineio import packet as eio_packet
from engineio.async_drivers.aiohttp import WebSocket
from socketio import packet as sio_packet

TEXT_FINAL = 0x81  # FIN bit and opcode 1 (text), RFC 6455 §5.2
RSV1 = 0x40  # "Per-Message Compressed" on a message's first frame (RFC 7692 §6)
EMPTY_BLOCK_TAIL = b"\x00\x00\xff\xff"  # what a sync flush ends with; permessage-deflate drops it (§7.2.1)
# Compression level of shared frames. They are compressed once per emit and written to every socket, so bytes
# matter more than time: a 124-gift batch of 40,150 bytes (one 50 ms tick at ~2,500 gifts/s) became 5,914
# bytes in 0.14 ms at level 6 and 6,308 bytes in 0.05 ms at level 1.
DEFLATE_LEVEL = 6


def text_frame(payload: bytes, *, compressed: bool = False) -> bytes:
    """One unmasked, final WebSocket text frame (RFC 6455 §5.2: a server never masks its frames); with
    ``compressed``, ``payload`` is a permessage-deflate message and RSV1 is set (RFC 7692 §6)."""
    first = TEXT_FINAL | RSV1 if compressed else TEXT_FINAL
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def deflate_message(payload: bytes, window_bits: int = 15, level: int = DEFLATE_LEVEL) -> bytes:
    """``payload`` as a permessage-deflate message compressed without context takeover (RFC 7692 §7.2.1):
    raw DEFLATE from a fresh window of ``window_bits``, sync-flushed, less the 4-byte empty-block tail."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -window_bits)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4] if data.endswith(EMPTY_BLOCK_TAIL) else data


class SharedFrame:
    """One message's frames: plain, and compressed per window size on first use (one emit, many sockets)."""

    __slots__ = ("_deflated", "message", "plain")

    def __init__(self, message: bytes) -> None:
        self.message = message
        self.plain = text_frame(message)
        self._deflated: dict[int, bytes] = {}

    def deflated(self, window_bits: int) -> bytes:
        frame = self._deflated.get(window_bits)
        if frame is None:
            frame = self._deflated[window_bits] = text_frame(deflate_message(self.message, window_bits),
                                                             compressed=True)
        return frame


def deflate_response_header(window_bits: int) -> str:
    """The server's ``Sec-WebSocket-Extensions`` accepting permessage-deflate without context takeover
    (RFC 7692 §7.1.1.1, §7.1.2.1: ``server_max_window_bits`` only when the client limited it)."""
    params = ["permessage-deflate", "server_no_context_takeover"]
    if window_bits < 15:
        params.append(f"server_max_window_bits={window_bits}")
    return "; ".join(params)


class SharedDeflateResponse(web.WebSocketResponse):
    """aiohttp's WebSocket response, except that an accepted permessage-deflate offer is answered with
    ``server_no_context_takeover`` and aiohttp's writer compresses each message on its own to match.

    aiohttp decides the extension in ``_handshake`` (not public API; aiohttp is pinned below 4, and
    ``tests/signaling/test_frames.py`` checks the header and that aiohttp's own client reads both kinds of
    message): it only agrees to no context takeover when the client asked for it."""

    def _handshake(self, request: Any) -> tuple[Any, str | None, int, bool]:
        headers, protocol, compress, notakeover = super()._handshake(request)
        if compress:
            headers[hdrs.SEC_WEBSOCKET_EXTENSIONS] = deflate_response_header(compress)
            notakeover = True
        return headers, protocol, compress, notakeover


class FrameSocket(WebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp WebSocket wrapper, registering itself by Engine.IO sid while it is open and
    counting the sends its socket's writer task has in flight."""

    def __init__(self, handler: Any, server: Any, *, registry: dict[str, FrameSocket], deflate: bool = True) -> None:
        super().__init__(handler, server)
        self.sending = 0
        self._registry = registry
        self._deflate = deflate
        self.window_bits = 0  # permessage-deflate's window once negotiated, 0 when the frames are plain
        self._sid: str | None = getattr(getattr(handler, "__self__", None), "sid", None)

    async def __call__(self, environ: dict[str, Any]) -> Any:
        # python-engineio's driver (engineio/async_drivers/aiohttp.py), with SharedDeflateResponse.
        self._sock = SharedDeflateResponse(max_msg_size=self.server.max_http_buffer_size, compress=self._deflate)
        await self._sock.prepare(environ["aiohttp.request"])
        self.window_bits = int(self._sock.compress)  # fixed by the handshake
        self.environ = environ
        if self._sid is not None:
            self._registry[self._sid] = self
        try:
            await self.handler(self)
        finally:
            if self._sid is not None and self._registry.get(self._sid) is self:
                del self._registry[self._sid]
        return self._sock

    async def send(self, message: str | bytes) -> None:
        self.sending += 1
        try:
            await super().send(message)
        finally:
            self.sending -= 1

    def write(self, frame: SharedFrame) -> bool:
        """Write a prepared frame (compressed if this connection negotiated it) if nothing of this connection's
        can be overtaken by it; False otherwise."""
        ws = self._sock
        if ws is None or self.sending or ws.closed:
            return False
        writer = getattr(ws, "_writer", None)  # aiohttp's WebSocketWriter, set once the handshake is done
        if writer is None:
            return False
        transport = writer.transport
        if transport is None or transport.is_closing() or getattr(writer.protocol, "_paused", True):
            return False
        transport.write(frame.deflated(self.window_bits) if self.window_bits else frame.plain)
        return True


class PreparedFrames(socketio.AsyncManager):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.websockets: dict[str, FrameSocket] = {}
        self.deflate = True  # whether WebSockets may negotiate permessage-deflate (set before set_server)
        # Frames written prepared (and of those, compressed), and packets sent the usual way (tests, benchmarks).
        self.prepared = 0
        self.deflated = 0
        self.queued = 0

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        eio = server.eio
        if isinstance(eio._async, dict) and eio._async.get("websocket") is WebSocket:
            eio._async = {**eio._async,
                          "websocket": partial(FrameSocket, registry=self.websockets, deflate=self.deflate)}

    def reaches(self, namespace: str, room: str) -> bool:
        """Whether an emit to ``room`` can reach anyone: in process, only if the room has a socket (so a
        caller can skip building an event nobody gets); across nodes always (another node may have one)."""
        return bool(self.rooms.get(namespace, {}).get(room))

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        if not isinstance(encoded, str):  # binary attachments: several Engine.IO packets, the usual path
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame = SharedFrame(pkt.encode().encode())
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            ws = self.websockets.get(eio_sid)
            socket = sockets.get(eio_sid)
            if (ws is not None and socket is not None and socket.upgraded and not socket.upgrading
                    and not socket.closing and not socket.closed and socket.queue.empty() and ws.write(frame)):
                self.prepared += 1
                if ws.window_bits:
                    self.deflated += 1
                continue
            self.queued += 1
            await self.server._send_eio_packet(eio_sid, pkt)


class FrameManager(PreparedFrames):
    """In process: every socket of the room is local."""


class FrameRedisManager(socketio.AsyncRedisManager, PreparedFrames):  # type: ignore[misc]
    """Across nodes: python-socketio publishes each emit through Redis; each node's listener hands it to
    ``PreparedFrames.emit`` (next in the method order after ``AsyncPubSubManager``) for its own sockets."""

    def reaches(self, namespace: str, room: str) -> bool:
        return True
