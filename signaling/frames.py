"""``PreparedFrames``: a python-socketio client manager whose room emits build the WebSocket frame ONCE and
write the same bytes to every recipient's transport.

Why: python-socketio encodes a room emit's Socket.IO packet once, but then gives every recipient its own
task, a put on the socket's Engine.IO queue, a wake-up of the socket's writer task and a WebSocket frame built
by aiohttp: tens of microseconds of Python per recipient per event, which bounds a 2,000-viewer live to a
few events a second. Here one emit is one ``str`` encode and one RFC 6455 frame, then one
``transport.write`` per recipient.

Only when that keeps each socket's byte order: the socket is on the WebSocket transport (upgrade finished),
its Engine.IO queue is empty and its writer is not in the middle of a send (else packets queued earlier
would be overtaken), permessage-deflate was not negotiated (RFC 7692: each connection has its own
compression context, so the bytes differ per socket) and the transport is not paused for back-pressure.
Any other socket (long-polling, upgrading, busy, compressed, slow) gets the packet through the normal
python-socketio path, which queues it behind what it has.

The hook is python-engineio's WebSocket driver class for aiohttp, replaced for this server only by a
subclass (:class:`FrameSocket`) that registers each open WebSocket and counts sends in flight; python-engineio
selects it from the server's ``_async`` table, copied per server, never patched in site-packages.
``FrameManager`` is the in-process manager, ``FrameRedisManager`` python-socketio's ``AsyncRedisManager``
with the same local fan-out (each node writes the frames of its own sockets).
"""

from __future__ import annotations

import struct
from functools import partial
from typing import Any

import socketio
from engineio import packet as eio_packet
from engineio.async_drivers.aiohttp import WebSocket
from socketio import packet as sio_packet

TEXT_FINAL = 0x81  # FIN bit and opcode 1 (text), RFC 6455 §5.2


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final WebSocket text frame (RFC 6455 §5.2: a server never masks its frames)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", TEXT_FINAL, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", TEXT_FINAL, 126, size)
    else:
        header = struct.pack("!BBQ", TEXT_FINAL, 127, size)
    return header + payload


class FrameSocket(WebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp WebSocket wrapper, registering itself by Engine.IO sid while it is open and
    counting the sends its socket's writer task has in flight."""

    def __init__(self, handler: Any, server: Any, *, registry: dict[str, FrameSocket]) -> None:
        super().__init__(handler, server)
        self.sending = 0
        self._registry = registry
        self._sid: str | None = getattr(getattr(handler, "__self__", None), "sid", None)

    async def __call__(self, environ: dict[str, Any]) -> Any:
        if self._sid is not None:
            self._registry[self._sid] = self
        try:
            return await super().__call__(environ)
        finally:
            if self._sid is not None and self._registry.get(self._sid) is self:
                del self._registry[self._sid]

    async def send(self, message: str | bytes) -> None:
        self.sending += 1
        try:
            await super().send(message)
        finally:
            self.sending -= 1

    def write(self, frame: bytes) -> bool:
        """Write a prepared frame if nothing of this connection's can be overtaken by it; False otherwise."""
        ws = self._sock
        if ws is None or self.sending or ws.closed or ws.compress:
            return False
        writer = getattr(ws, "_writer", None)  # aiohttp's WebSocketWriter, set once the handshake is done
        if writer is None:
            return False
        transport = writer.transport
        if transport is None or transport.is_closing() or getattr(writer.protocol, "_paused", True):
            return False
        transport.write(frame)
        return True


class PreparedFrames(socketio.AsyncManager):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.websockets: dict[str, FrameSocket] = {}
        self.prepared = 0  # frames written prepared, and sent the usual way (for tests and benchmarks)
        self.queued = 0

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        eio = server.eio
        if isinstance(eio._async, dict) and eio._async.get("websocket") is WebSocket:
            eio._async = {**eio._async, "websocket": partial(FrameSocket, registry=self.websockets)}

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
        frame = text_frame(pkt.encode().encode())
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
