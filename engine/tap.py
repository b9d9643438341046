"""Frames out of a Producer for the parts that need more than forwarding (HLS, compositor).

aiortc's ``RTCRtpReceiver`` assembles complete encoded frames in its jitter buffer and ``put``s them on a
``queue.Queue`` read by its decoder thread. :class:`FrameTap` takes that queue's place: ``put`` runs on the
event loop thread, hands each encoded frame to encoded-frame subscribers, and lets it through to the decoder
thread only while a decoded-frame subscriber exists, starting at a keyframe. So a publisher is decoded at
most once, and not at all while nobody needs pixels.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QUEUE_FRAMES = 60  # a slow reader loses the oldest frames, never stalls the publisher


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One complete access unit (H.264: Annex B byte stream; VP8: a frame; Opus: a packet)."""

    data: bytes
    timestamp: int  # in the codec clock rate, starting near 0 for the producer
    keyframe: bool
    codec: str


class FrameSubscription:
    """An async stream of frames (``av.VideoFrame``/``av.AudioFrame`` or :class:`EncodedFrame`)."""

    def __init__(self, on_close: Callable[[FrameSubscription], None]) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_FRAMES)
        self._on_close = on_close
        self.closed = False

    def push(self, frame: Any) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    async def get(self) -> Any:
        """The next frame, or None once the subscription or its producer has closed."""
        if self.closed and self._queue.empty():
            return None
        return await self._queue.get()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(self)
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)


class FrameTap(queue.Queue[Any]):
    """Stands in for the receiver's decoder queue (see the module docstring)."""

    def __init__(self, codec_name: Callable[[], str], on_frame: Callable[[EncodedFrame], None]) -> None:
        super().__init__()
        self._codec_name = codec_name
        self._on_frame = on_frame
        self.decoding = False
        self._waiting_keyframe = True

    def start_decoding(self) -> None:
        self.decoding = True
        self._waiting_keyframe = True

    def stop_decoding(self) -> None:
        self.decoding = False

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # the receiver stopping its decoder thread
            super().put(None)
            return
        codec, jitter_frame = item
        frame = EncodedFrame(bytes(jitter_frame.data), jitter_frame.timestamp,
                             _is_key(codec.name, jitter_frame.data), codec.name)
        self._on_frame(frame)
        if not self.decoding:
            return
        if self._waiting_keyframe:
            if not frame.keyframe:
                return
            self._waiting_keyframe = False
        super().put(item)

    @property
    def waiting_keyframe(self) -> bool:
        return self.decoding and self._waiting_keyframe


def _is_key(codec: str, data: bytes) -> bool:
    name = codec.upper()
    if name == "H264":
        # Annex B from aiortc's depayloader: look for an IDR or SPS NAL unit after a start code.
        pos = data.find(b"\x00\x00\x01")
        while pos != -1 and pos + 3 < len(data):
            if data[pos + 3] & 0x1F in (5, 7):
                return True
            pos = data.find(b"\x00\x00\x01", pos + 3)
        return False
    if name == "VP8":
        return bool(data) and data[0] & 0x01 == 0
    return True
