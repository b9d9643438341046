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
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = False

    def start(self) -> None:
        self._started = True
        for kind in self._sources:
            self._start(kind)

    def _start(self, kind: str) -> None:
        task = asyncio.create_task(self._read(kind, self._sources[kind]),
                                   name=f"compositor-feed:{self.participant}:{kind}")
        task.add_done_callback(self._done)
        self._tasks[kind] = task

    async def attach(self, kind: str, source: MediaSource | None) -> None:
        """Replace this participant's ``kind`` source (they published again), or remove it (None: they
        stopped). A new source's first picture replaces the one on screen; removing the video shows the
        placeholder. The old source and its decoder close."""
        await self._stop(kind)
        if source is None and kind == "video":
            self.picture, self._frame = None, None  # camera off: the placeholder, not a frozen picture
        if source is not None:
            self._sources[kind] = source
            if self._started:
                self._start(kind)

    async def _stop(self, kind: str) -> None:
        task = self._tasks.pop(kind, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        source = self._sources.pop(kind, None)
        if source is not None:
            source.close()
        decoder = self.decoders.pop(kind, None)
        if decoder is not None:
            decoder.close()

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
                if decoder is None or decoder.codec != item.codec.lower():  # first frame, or renegotiated
                    if decoder is not None:
                        decoder.close()
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
        for kind in list({*self._sources, *self._tasks, *self.decoders}):
            await self._stop(kind)
