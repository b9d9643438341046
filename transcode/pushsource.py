"""A frame source fed by pushes: the adapter for producers that hand over frames through callbacks.

The media engine's producer adapter is a few lines on top of it: ``push_picture`` for each decoded frame,
``push_access_unit`` for each received H.264 access unit (when the publisher sends H.264), ``push_sound``
for decoded audio, ``end()`` when the producer closes. A full queue drops the oldest item rather than
stalling the producer: a live ladder that falls behind skips frames, it never delays the SFU.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

import av

from transcode.source import AccessUnit, Picture, Sound, SourceInfo, SourceItem


class PushSource:
    def __init__(self, info: SourceInfo, *, capacity: int = 120) -> None:
        self._info = info
        self._items: deque[SourceItem] = deque(maxlen=capacity)
        self._ready = asyncio.Event()
        self._ended = False
        self.dropped = 0

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _push(self, item: SourceItem) -> None:
        if self._ended:
            return
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def push_picture(self, frame: av.VideoFrame, time: float, keyframe: bool = False) -> None:
        self._push(Picture(frame, time, keyframe))

    def push_sound(self, frame: av.AudioFrame, time: float) -> None:
        self._push(Sound(frame, time))

    def push_access_unit(self, data: bytes, time: float, keyframe: bool, decode_time: float | None = None) -> None:
        self._push(AccessUnit(data, time, time if decode_time is None else decode_time, keyframe))

    def end(self) -> None:
        self._ended = True
        self._ready.set()

    async def aclose(self) -> None:
        self.end()

    async def items(self) -> AsyncIterator[SourceItem]:
        while True:
            while self._items:
                yield self._items.popleft()
            if self._ended:
                return
            self._ready.clear()
            await self._ready.wait()
