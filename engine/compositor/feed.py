"""One participant on stage: their frame sources, their decoders, their last picture.

A source is anything with ``async get()`` and ``close()`` -- the engine's ``FrameSubscription`` is one --
yielding decoded ``av`` frames (``Producer.decoded_frames()``) or encoded frames (``encoded_frames()``),
which the feed decodes itself with a :class:`Decoder` it owns. The feed keeps only the newest picture: the
compositor's clock reads it whenever it draws, so a late or stalled participant simply holds their last
frame. Sound goes to the mixer's jitter buffer as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

import av

from engine.compositor.decoder import Decoder
from engine.compositor.painter import YUV420, Planes

log = logging.getLogger(__name__)


class MediaSource(Protocol):
    async def get(self) -> Any:
        """The next frame (``av.VideoFrame``, ``av.AudioFrame`` or an encoded frame), None once closed."""
        ...

    def close(self) -> None: ...


class Feed:
    def __init__(
        self,
        participant: str,
        name: str,
        video: MediaSource | None,
        audio: MediaSource | None,
        on_sound: Callable[[str, av.AudioFrame], None],
        executor: Executor,
    ) -> None:
        self.participant = participant
        self.name = name
        self.muted = False
        self.picture: Planes | None = None
        self.pictures = 0  # pictures received, for stats and tests
        self._frame: av.VideoFrame | None = None  # owns the buffers ``picture`` views
        self._sources = {kind: s for kind, s in (("video", video), ("audio", audio)) if s is not None}
        self._on_sound = on_sound
        self._executor = executor
        self.decoders: dict[str, Decoder] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def has_video(self) -> bool:
        return "video" in self._sources

    def start(self) -> None:
        for kind, source in self._sources.items():
            task = asyncio.create_task(self._read(kind, source), name=f"compositor-feed:{self.participant}:{kind}")
            task.add_done_callback(self._done)
            self._tasks.append(task)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # The participant holds their last picture (or placeholder) and goes silent; the rest go on.
            log.warning("compositor input %s failed: %r", task.get_name(), task.exception())

    async def _read(self, kind: str, source: MediaSource) -> None:
        loop = asyncio.get_running_loop()
        while (item := await source.get()) is not None:
            if isinstance(item, av.VideoFrame | av.AudioFrame):
                frames: list[av.VideoFrame | av.AudioFrame] = [item]
            else:
                decoder = self.decoders.get(kind)
                if decoder is None:
                    decoder = self.decoders[kind] = Decoder(item.codec)
                frames = await loop.run_in_executor(self._executor, decoder.decode, item)
            for frame in frames:
                if isinstance(frame, av.VideoFrame):
                    self.show(frame)
                else:
                    self._on_sound(self.participant, frame)

    def show(self, frame: av.VideoFrame) -> None:
        """Make ``frame`` this participant's current picture."""
        if frame.format.name not in YUV420 or frame.width % 2 or frame.height % 2:
            frame = frame.reformat(width=frame.width // 2 * 2, height=frame.height // 2 * 2, format="yuv420p")
        self.picture, self._frame = Planes.of(frame), frame
        self.pictures += 1

    async def close(self) -> None:
        """Stop reading, close the sources (unsubscribing from the engine) and drop the decoders."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for source in self._sources.values():
            source.close()
        for decoder in self.decoders.values():
            decoder.close()
        self._tasks.clear()

    def failed(self) -> BaseException | None:
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None
