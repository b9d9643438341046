"""The live's one source for the HLS ladder: the host's own stream while solo, the program while composing.

The ladder is started once per live and must never see a gap or a jump back in time: a restart would cut
the playlists, and a gap stalls players. :class:`ProgramSwitch` therefore reads the source it is switching
to alongside the one it is leaving and cuts over on the new source's first picture (so the compositor's
start-up or the host's next decoded picture never leaves the ladder without frames), and restamps every item
so that output time runs on from the last item it yielded, one frame duration later.

It yields decoded pictures and sounds only (items whose ``frame`` is an ``av`` frame), never the host's
encoded access units, and says so in ``info`` (``keyframe_interval=None``): the ladder's top rung cannot be
the host's H.264 remuxed across a switch into the program.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any, Protocol

import av

from engine.compositor.errors import CompositorClosed
from engine.compositor.program import ProgramInfo

log = logging.getLogger(__name__)

QUEUE_ITEMS = 120


class Source(Protocol):
    """transcode's FrameSource, structurally: ``info``, ``items()``, ``aclose()``."""

    @property
    def info(self) -> Any: ...

    def items(self) -> AsyncIterator[Any]: ...

    async def aclose(self) -> None: ...


class _Lane:
    """One source read by its own task into its own bounded queue, so the source being switched to is seen at
    once even while the ladder still has a backlog of the one being left."""

    def __init__(self, source: Source, wakeup: asyncio.Event) -> None:
        self.source = source
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_ITEMS)
        self.ended = False
        self._wakeup = wakeup
        self.task = asyncio.create_task(self._read(), name="compositor-switch-lane")

    async def _read(self) -> None:
        try:
            async for item in self.source.items():
                if isinstance(getattr(item, "frame", None), av.VideoFrame | av.AudioFrame):
                    await self.queue.put(item)  # backpressure: a live source drops its oldest itself
                    self._wakeup.set()
        finally:
            self.ended = True
            self._wakeup.set()

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.source.aclose()


class ProgramSwitch:
    def __init__(self, host: Source, info: ProgramInfo | None = None) -> None:
        host_info = host.info
        self._info = info or ProgramInfo(host_info.width, host_info.height, Fraction(host_info.frame_rate),
                                         bool(host_info.has_audio))
        self._wakeup = asyncio.Event()
        self._active = _Lane(host, self._wakeup)
        self._closing: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._settled.set()
        self._pending: _Lane | None = None
        self._offsets: dict[str, float | None] = {"video": None, "audio": None}
        self._next = {"video": 0.0, "audio": 0.0}  # the output time the next item of each kind gets
        self.switches = 0
        self.closed = False

    @property
    def info(self) -> ProgramInfo:
        return self._info

    @property
    def source(self) -> Source:
        """The source the ladder is being fed from now."""
        return self._active.source

    async def settled(self) -> None:
        """Wait until the last :meth:`switch_to` has cut over (then the source left is being closed)."""
        await self._settled.wait()

    def switch_to(self, source: Source) -> None:
        """Cut over to ``source`` (the program, or a new subscription to the host's stream) on its first
        picture; the source being left is closed then. Switching again before that drops the pending one."""
        if self.closed:
            raise CompositorClosed("the program switch is closed")
        if self._pending is not None:
            stale, self._pending = self._pending, None
            self._spawn_close(stale)
        self._pending = _Lane(source, self._wakeup)
        self._settled.clear()

    def _spawn_close(self, lane: _Lane) -> None:
        task = asyncio.create_task(lane.close(), name="compositor-switch-close")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def items(self) -> AsyncIterator[Any]:
        while True:
            pending = self._pending
            if pending is not None and not pending.queue.empty():
                item = pending.queue.get_nowait()
                if isinstance(item.frame, av.VideoFrame):
                    self._cut_over(pending)
                    yield self._restamp(item)
                # else: sound before the new source's first picture is dropped, so both start together
                continue
            if pending is not None and pending.ended:
                log.warning("the source switched to ended before its first picture; staying on the current one")
                self._pending = None
                self._settled.set()
                self._spawn_close(pending)
                continue
            if not self._active.queue.empty():
                yield self._restamp(self._active.queue.get_nowait())
                continue
            if self._active.ended and self._pending is None:
                return  # the live's source ended
            self._wakeup.clear()
            await self._wakeup.wait()

    def _cut_over(self, lane: _Lane) -> None:
        old, self._active, self._pending = self._active, lane, None
        self._offsets = {"video": None, "audio": None}
        self.switches += 1
        self._settled.set()
        self._spawn_close(old)  # with whatever backlog it still had: time runs on from what was yielded

    def _restamp(self, item: Any) -> Any:
        frame = item.frame
        kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
        offset = self._offsets[kind]
        if offset is None:
            offset = self._offsets[kind] = self._next[kind] - item.time
        time = max(item.time + offset, self._next[kind])
        if kind == "video":
            self._next[kind] = time + 1 / float(self._info.frame_rate)
        else:
            self._next[kind] = time + frame.samples / (frame.sample_rate or 48_000)
        return dataclasses.replace(item, time=time)

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        for lane in (self._active, self._pending):
            if lane is not None:
                await lane.close()
        for task in tuple(self._closing):
            await task
