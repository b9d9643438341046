"""aiohttp's own WebSocket writer, writing into memory: what the server would send, for tests to compare."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp._websocket.writer import WebSocketWriter


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def write(self, data: Any) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False


class _Protocol:
    _paused = False  # WebSocketWriter waits on a paused protocol's drain; this one never pauses


def recording_writer(**options: Any) -> tuple[WebSocketWriter, RecordingTransport]:
    """aiohttp's server-side writer (``compress``, ``notakeover``, ...) and the transport it writes to."""
    transport = RecordingTransport()
    return WebSocketWriter(_Protocol(), transport, **options), transport  # type: ignore[arg-type]
