"""The program feed's items and its subscriptions.

:class:`ProgramSource` has the shape of transcode's ``FrameSource`` (``info``, ``items()``, ``aclose()``) and
its items carry the same fields as transcode's ``Picture`` and ``Sound`` (frame, time in seconds from the
program's start, keyframe), so the HLS ladder can take the program where it took the host's stream.
Subscriptions are bounded and drop their oldest item when a reader falls behind: a slow reader never holds
up the clock that every other reader depends on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

import av

T = TypeVar("T")
QUEUE_ITEMS = 90  # ~1.5 s of video and audio items


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    """The same fields as transcode's ``SourceInfo``."""

    width: int
    height: int
    frame_rate: Fraction
    has_audio: bool
    keyframe_interval: float | None = None  # the program yields decoded pictures only
    realtime: bool = True


@dataclass(frozen=True, slots=True)
class ProgramPicture:
    frame: av.VideoFrame
    time: float  # seconds since the program started
    keyframe: bool = False


@dataclass(frozen=True, slots=True)
class ProgramSound:
    frame: av.AudioFrame
    time: float


ProgramItem = ProgramPicture | ProgramSound


class Subscription(Generic[T]):
    """One reader's bounded queue; ``None`` from :meth:`get` means closed."""

    def __init__(self, on_close: Callable[[Subscription[T]], None], size: int = QUEUE_ITEMS) -> None:
        self._queue: asyncio.Queue[T | None] = asyncio.Queue(size)
        self._on_close = on_close
        self.closed = False
        self.dropped = 0

    def push(self, item: T) -> None:
        if self.closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    async def get(self) -> T | None:
        if self.closed and self._queue.empty():
            return None
        return await self._queue.get()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._on_close(self)
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[T]:
        while (item := await self.get()) is not None:
            yield item


class ProgramSource:
    """A reader of the composed program: pictures and sounds in clock order (see the module docstring)."""

    def __init__(self, info: ProgramInfo, on_close: Callable[[Subscription[ProgramItem]], None],
                 size: int = QUEUE_ITEMS) -> None:
        self._info = info
        self.subscription: Subscription[ProgramItem] = Subscription(on_close, size)

    @property
    def info(self) -> ProgramInfo:
        return self._info

    async def items(self) -> AsyncIterator[ProgramItem]:
        async for item in self.subscription:
            yield item

    async def aclose(self) -> None:
        self.subscription.close()

    def push(self, item: ProgramItem) -> None:
        self.subscription.push(item)

    @property
    def closed(self) -> bool:
        return self.subscription.closed

    @property
    def dropped(self) -> int:
        return self.subscription.dropped


def close_all(subscriptions: set[Subscription[T]]) -> None:
    for sub in tuple(subscriptions):
        with contextlib.suppress(Exception):
            sub.close()
