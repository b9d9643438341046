"""``RawGivers``: the signed-in givers of ``benchmarks.rooms`` as raw ``asyncio.Protocol`` Socket.IO clients.

python-socketio's client spent ~0.7 ms of the driver's CPU per gift (a task, a future, a queue and its
writer per call), 0.3-0.4 of a core at 500-700 gifts/s on the same two cores as the server. Here a gift
is one masked WebSocket frame written straight to the transport with an ack id (Socket.IO v5 EVENT
``42/live,<id>["gift",{...}]``); ``data_received`` decodes the small frames that come back (``benchmarks.wire``:
acks, pings) and notes each ack's time. Givers connect with their token and do not join the room: a
gift needs a signed-in viewer, not a joined socket, so the server's fan-out goes to the measured viewers only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from benchmarks import wire
from benchmarks.raw_viewers import NAMESPACE, PATH


class RawGiver(asyncio.Protocol):
    """One giver's connection; ``ready`` resolves once ``/live`` accepted its token."""

    def __init__(self, host: str, token: str, on_ack: Callable[[int, float, Any], None]) -> None:
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._host, self._token, self._on_ack = host, token, on_ack
        self._transport: asyncio.Transport | None = None
        self._reader = wire.TextReader(self.key)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(wire.handshake_request(self._host, PATH, self.key))

    def send(self, text: str) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(wire.client_frame(text.encode(), os.urandom(4)))

    def gift(self, ack_id: int, payload: dict[str, Any]) -> None:
        self.send(f"42{NAMESPACE},{ack_id}{json.dumps(['gift', payload], separators=(',', ':'))}")

    def data_received(self, data: bytes) -> None:
        at = time.monotonic()
        try:
            self._receive(data, at)
        except Exception as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)
            self.close()

    def _receive(self, data: bytes, at: float) -> None:
        for text in self._reader.feed(data):
            if text == "2":
                self.send("3")
            elif text.startswith("0{"):
                self.send(f"40{NAMESPACE},{json.dumps({'token': self._token})}")
            elif text.startswith("4"):
                kind, namespace, ack, body = wire.socketio_packet(text)
                if namespace != NAMESPACE:
                    continue
                if kind == 0 and not self.ready.done():
                    self.ready.set_result(None)
                elif kind == 4:
                    raise RuntimeError(f"/live connect refused: {body}")
                elif kind == 3 and ack is not None:
                    self._on_ack(ack, at, body[0] if isinstance(body, list) and body else body)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before /live accepted the giver: {exc}"))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class RawGivers:
    """The givers of one storm. ``acks`` maps each gift's ack id to (arrival time, ack body)."""

    def __init__(self) -> None:
        self.givers: list[RawGiver] = []
        self.acks: dict[int, tuple[float, Any]] = {}
        self._expected = 0
        self._all_acked = asyncio.Event()

    def _ack(self, ack_id: int, at: float, body: Any) -> None:
        self.acks[ack_id] = (at, body)
        if len(self.acks) >= self._expected:
            self._all_acked.set()

    async def add(self, base: str, token: str) -> None:
        url = urlsplit(base)
        _, giver = await asyncio.get_running_loop().create_connection(
            lambda: RawGiver(url.netloc, token, self._ack), url.hostname or "127.0.0.1", url.port or 80)
        self.givers.append(giver)
        await asyncio.wait_for(giver.ready, 30)

    async def storm(self, payloads: list[dict[str, Any]], rate: float, *, patience_s: float = 60.0
                    ) -> tuple[list[float], float]:
        """Send ``payloads[n]`` at ``n / rate`` seconds (round robin over the givers, late ones at once,
        no task per gift), then wait up to ``patience_s`` for the acks. (send times, seconds sending)."""
        sent: list[float] = []
        self._expected = len(self.acks) + len(payloads)
        self._all_acked.clear()
        began = time.monotonic()
        for n, payload in enumerate(payloads):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent.append(time.monotonic())
            self.givers[n % len(self.givers)].gift(n, payload)
        if len(self.acks) < self._expected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_acked.wait(), patience_s)
        return sent, time.monotonic() - began

    async def close(self) -> None:
        for giver in self.givers:
            giver.close()
        await asyncio.sleep(0)
