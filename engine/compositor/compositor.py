"""The Compositor: one live's program picture and sound, made on its own clock.

It owns, as a tree: the participants' :class:`Feed`\\ s (their sources, decoders and reader tasks), the audio
mixer, the clock task, the drawing and decoding threads, the program subscriptions and the encoders made
from them. ``close()`` takes the whole tree down.

The clock ticks at the output frame rate (pictures) and every 20 ms (sound) from the moment it starts and
never waits for an input: each tick draws whatever every participant last sent, so one late publisher
cannot stall or speed up the program, and join, leave or a layout change only change what the next tick
draws -- the program's timestamps run on without a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction
from typing import Protocol

import av

from engine.compositor.board import PkBoard
from engine.compositor.clock import Clock, LoopClock
from engine.compositor.encoder import EncoderSettings, ProgramEncoder
from engine.compositor.errors import CompositorClosed, LayoutError, ParticipantError
from engine.compositor.feed import Feed, MediaSource
from engine.compositor.layout import Canvas, Layout, LayoutKind, Tile, arrange
from engine.compositor.mixer import FRAME_SECONDS, AudioMixer
from engine.compositor.painter import Painter, Planes
from engine.compositor.program import ProgramInfo, ProgramItem, ProgramPicture, ProgramSound, ProgramSource

log = logging.getLogger(__name__)

MAX_LAG_S = 0.25  # further behind than this (an overloaded machine) and the clock skips ahead
DECODE_THREADS = 2


class Closable(Protocol):
    async def close(self) -> None: ...


class CloseReason(StrEnum):
    SOLO = "solo"  # the last guest left: the live goes back to passthrough
    LIVE_ENDED = "live_ended"
    SHUTDOWN = "shutdown"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Scene:
    """What one output picture shows, taken on the event loop so the drawing thread reads no live state."""

    layout: Layout | None
    tiles: tuple[tuple[Tile, Planes | None, str], ...]
    board: PkBoard
    now_ms: int


class Compositor:
    def __init__(
        self,
        *,
        canvas: Canvas = Canvas(),
        fps: int = 30,
        kind: LayoutKind = LayoutKind.GRID,
        board: PkBoard | None = None,
        clock: Clock | None = None,
        audio: bool = True,
    ) -> None:
        if not 1 <= fps <= 60:
            raise ValueError(f"frame rate {fps} is out of 1..60")
        self.canvas = canvas
        self.fps = fps
        self.kind = kind
        self.board = board if board is not None else PkBoard()
        self.clock: Clock = clock if clock is not None else LoopClock()
        self.audio = audio
        self.info = ProgramInfo(canvas.width, canvas.height, Fraction(fps), audio)
        self.layout: Layout | None = None
        self.mixer = AudioMixer()
        self.painter = Painter()
        self.feeds: dict[str, Feed] = {}
        self.closed = False
        self.close_reason: CloseReason | None = None
        # stats
        self.pictures = 0
        self.sounds = 0
        self.skipped = 0  # picture ticks skipped because the machine fell behind
        self.failed = 0  # pictures that could not be drawn (a bug), skipped likewise
        self._programs: set[ProgramSource] = set()
        self._encoders: list[Closable] = []
        self._draw = ThreadPoolExecutor(1, thread_name_prefix="compositor-draw")
        self._decode = ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="compositor-decode")
        self._task: asyncio.Task[None] | None = None

    # --- stage ----------------------------------------------------------------------------------------

    def join(self, participant: str, name: str, *, video: MediaSource | None = None,
             audio: MediaSource | None = None) -> Layout:
        """Put someone on stage (after everyone already there). If the layout cannot take them, raises
        :class:`LayoutError` and changes nothing (the sources stay the caller's)."""
        self._check_open()
        if participant in self.feeds:
            raise ParticipantError(f"{participant} is already on stage")
        layout = arrange(self.kind, [*self.feeds, participant], self.canvas)
        feed = Feed(participant, name, video, audio, self.mixer.push, self._decode)
        self.mixer.add(participant)
        self.feeds[participant] = feed
        self.layout = layout
        feed.start()
        return layout

    async def leave(self, participant: str) -> Layout | None:
        """Take someone off stage; their sources and decoders close. The layout of who remains, None when
        nobody does; a solo layout (``passthrough``) tells the owner to close the compositor."""
        feed = self.feeds.get(participant)
        if feed is None:
            raise ParticipantError(f"{participant} is not on stage")
        remaining = [p for p in self.feeds if p != participant]
        self.layout = self._relayout(remaining)
        del self.feeds[participant]
        self.mixer.remove(participant)
        await feed.close()
        return self.layout

    def _relayout(self, participants: Sequence[str]) -> Layout | None:
        if not participants:
            return None
        try:
            return arrange(self.kind, participants, self.canvas)
        except LayoutError:
            # Leaving never fails: someone leaving a PK (one left is solo) or a grid always fits a grid.
            return arrange(LayoutKind.GRID, participants, self.canvas)

    def set_kind(self, kind: LayoutKind) -> Layout | None:
        """Switch layout (say, grid -> PK when a battle starts); raises and changes nothing if it can't."""
        self._check_open()
        layout = arrange(kind, list(self.feeds), self.canvas) if self.feeds else None
        self.kind, self.layout = kind, layout
        return layout

    async def attach(self, participant: str, kind: str, source: MediaSource | None) -> None:
        """A new ``kind`` source for someone on stage (they published again after a drop, or started
        publishing after taking their seat), or None when they stopped (camera off: their placeholder)."""
        feed = self.feeds.get(participant)
        if feed is None:
            raise ParticipantError(f"{participant} is not on stage")
        await feed.attach(kind, source)

    def mute(self, participant: str, muted: bool = True) -> None:
        feed = self.feeds.get(participant)
        if feed is None:
            raise ParticipantError(f"{participant} is not on stage")
        feed.muted = muted

    # --- output ---------------------------------------------------------------------------------------

    def program(self, size: int | None = None) -> ProgramSource:
        """A new reader of the program (the HLS ladder, an encoder); ``aclose()`` it when done."""
        self._check_open()
        source = (ProgramSource(self.info, self._program_closed) if size is None
                  else ProgramSource(self.info, self._program_closed, size))
        self._programs.add(source)
        return source

    def _program_closed(self, subscription: object) -> None:
        for source in tuple(self._programs):
            if source.subscription is subscription:
                self._programs.discard(source)

    def encoder(self, settings: EncoderSettings = EncoderSettings()) -> ProgramEncoder:
        """A started encoder of the program, owned (and closed) by this compositor."""
        encoder = ProgramEncoder(self.program(), settings)
        self.own(encoder)
        encoder.start()
        return encoder

    def own(self, child: Closable) -> None:
        """Adopt a stage built on the program (the encoder): it closes with the compositor."""
        self._encoders.append(child)

    def _publish(self, item: ProgramItem) -> None:
        for source in tuple(self._programs):
            source.push(item)

    # --- drawing --------------------------------------------------------------------------------------

    def scene(self) -> Scene:
        tiles = []
        layout = self.layout
        for tile in layout.tiles if layout is not None else ():
            feed = self.feeds.get(tile.participant)
            if feed is not None:
                tiles.append((tile, feed.picture, feed.name))
        return Scene(layout, tuple(tiles), replace(self.board), self.clock.wall_ms())

    def draw(self, scene: Scene, index: int) -> av.VideoFrame:
        """Picture number ``index`` of ``scene`` (runs in the drawing thread; touches only ``scene``)."""
        frame = av.VideoFrame(self.canvas.width, self.canvas.height, "yuv420p")
        planes = Planes.of(frame)
        self.painter.clear(planes)
        layout = scene.layout
        if layout is not None:
            for tile, picture, name in scene.tiles:
                if picture is None:
                    self.painter.placeholder(planes, tile.rect, name)
                    continue
                self.painter.blit(planes, picture, tile.rect)
                if layout.kind in (LayoutKind.GRID, LayoutKind.PIP):
                    self.painter.name_tag(planes, tile.rect, name)
            if layout.kind is LayoutKind.PK:
                board = scene.board
                if not board.name_a and not board.name_b:
                    names = [name for _, _, name in scene.tiles] + ["", ""]
                    board = replace(board, name_a=names[0], name_b=names[1])
                self.painter.pk_overlay(planes, layout, board, scene.now_ms)
        frame.pts = index
        frame.time_base = Fraction(1, self.fps)
        return frame

    def render(self, index: int) -> av.VideoFrame:
        return self.draw(self.scene(), index)

    # --- the clock ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._check_open()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="compositor-clock")
            self._task.add_done_callback(self._clock_done)

    def _clock_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("compositor clock failed", exc_info=task.exception())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = self.clock.now()
        picture = sound = 0
        while True:
            due_picture = start + picture / self.fps
            due_sound = start + sound * FRAME_SECONDS if self.audio else math.inf
            await self.clock.sleep_until(min(due_picture, due_sound))
            now = self.clock.now()
            if now - due_picture > MAX_LAG_S:
                ahead = math.floor((now - start) * self.fps)
                self.skipped += ahead - picture
                picture, due_picture = ahead, start + ahead / self.fps
            if now - due_sound > MAX_LAG_S:
                sound = math.floor((now - start) / FRAME_SECONDS)
                due_sound = start + sound * FRAME_SECONDS
            if due_sound <= due_picture:
                muted = [p for p, feed in self.feeds.items() if feed.muted]
                samples = self.mixer.mix(muted)
                self._publish(ProgramSound(self.mixer.frame(samples, sound), sound * FRAME_SECONDS))
                sound += 1
                self.sounds += 1
            else:
                try:
                    frame = await loop.run_in_executor(self._draw, self.draw, self.scene(), picture)
                except Exception:
                    # A bug drawing one picture must not end the live's program: the clock runs on and the
                    # ladder sees one picture missing (well under a segment).
                    self.failed += 1
                    if self.failed == 1 or self.failed % 300 == 0:
                        log.exception("compositor could not draw picture %d (%d so far)", picture, self.failed)
                else:
                    self._publish(ProgramPicture(frame, picture / self.fps))
                    self.pictures += 1
                picture += 1

    # --- lifetime -------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise CompositorClosed(f"the compositor is closed ({self.close_reason})")

    async def close(self, reason: CloseReason = CloseReason.SHUTDOWN) -> None:
        """Idempotent: stops the clock, then encoders, program readers, feeds (sources, decoders), threads."""
        if self.closed:
            return
        self.closed, self.close_reason = True, reason
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # a failure was logged when it died
                await self._task
        for child in self._encoders:
            await child.close()
        for source in tuple(self._programs):
            await source.aclose()
        for participant in list(self.feeds):
            await self.feeds.pop(participant).close()
            self.mixer.remove(participant)
        loop = asyncio.get_running_loop()
        for executor in (self._draw, self._decode):
            await loop.run_in_executor(None, executor.shutdown, True)
        log.info("compositor closed", extra={"reason": reason.value, "pictures": self.pictures})
