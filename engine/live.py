"""A live's media, as the room domain drives it: :class:`LiveMedia` (one per live) and :class:`LiveStudio`
(the app-level owner of them all, closed with the app).

``LiveStudio.start(stream_id, host_user, host_name)`` makes the live's :class:`LiveProgram` on an
:class:`EngineStage` and starts the HLS ladder on the program's switch (passthrough of the host: no
compositor until a guest joins). The room's events map one to one: a guest taking a seat (``join``),
leaving it (``leave``), the host muting a seat (``mute``), a PK starting (``pk``), its scores (``scores``)
and end (``pk_end``), the live ending (``end``). A participant who publishes again (a reconnect, a camera
turned on after taking the seat) is picked up from the engine's events without the room saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from engine.compositor import Canvas, CloseReason, EncoderSettings, Layout, LayoutKind, LiveProgram
from engine.compositor.errors import CompositorClosed
from engine.engine import Engine
from engine.events import EngineEvent, ProducerOpened
from engine.hls import LadderSource
from engine.router import HOST
from engine.stage import EngineStage
from transcode.service import HlsService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudioConfig:
    canvas: Canvas = field(default_factory=Canvas)  # 720x1280, the app's vertical 9:16
    fps: int = 30
    encoder: EncoderSettings = field(default_factory=EncoderSettings)


class LiveMedia:
    def __init__(self, engine: Engine, hls: HlsService, stream_id: str, host_user: str, host_name: str,
                 config: StudioConfig = StudioConfig()) -> None:
        self.engine, self.hls, self.stream_id = engine, hls, stream_id
        self.host_user = host_user
        canvas = config.canvas
        self.stage = EngineStage(engine, stream_id, width=canvas.width, height=canvas.height, fps=config.fps)
        self.stage.seat(host_user, stream_id, HOST)
        self.program = LiveProgram(host_user, host_name, self.stage, canvas=canvas, fps=config.fps,
                                   encoder=config.encoder)
        self.transcoder = hls.start_live(stream_id, LadderSource(self.program.source))
        self._tasks: set[asyncio.Task[None]] = set()
        self._unlisten = engine.on_event(self._on_event)
        self.ended = False

    # --- the room's events ----------------------------------------------------------------------------

    async def join(self, user: str, name: str) -> Layout:
        """A co-host takes a seat (they publish under their user id in this live's stream)."""
        return await self._join(user, name, (self.stream_id, user))

    async def _join(self, user: str, name: str, seat: tuple[str, str]) -> Layout:
        """Seat ``user`` at ``seat`` (stream, slot) and put them on stage; refused: nothing changes."""
        if user in self.program.names:
            return await self.program.join(user, name)  # raises ParticipantError, keeping their seat
        # The program is encoded in the codec the ``program`` viewers negotiated: the host's.
        self.program.encoder_settings = replace(self.program.encoder_settings, video_codec=self.stage.video_codec())
        self.stage.seat(user, *seat)
        try:
            return await self.program.join(user, name)
        except BaseException:
            self.stage.seats.pop(user, None)
            raise

    async def leave(self, user: str) -> Layout:
        layout = await self.program.leave(user)
        self.stage.seats.pop(user, None)
        return layout

    def mute(self, user: str, muted: bool) -> None:
        self.program.mute(user, muted)

    async def pk(self, opponent: str, opponent_stream: str, names: tuple[str, str], ends_at_ms: int | None) -> Layout:
        """A PK battle against the host of ``opponent_stream``: split screen with the board (``names`` are
        this live's host first, then the opponent)."""
        self.program.set_kind(LayoutKind.PK)  # raises (and changes nothing) if the stage cannot be split
        layout = await self._join(opponent, names[1], (opponent_stream, HOST))
        self.program.board.start(names[0], names[1], ends_at_ms)
        return layout

    def scores(self, score_a: int, score_b: int) -> None:
        self.program.board.set_scores(score_a, score_b)

    def pk_end(self, winner: str | None) -> None:
        """Results on screen; the opponent stays until the room says they ``leave``."""
        self.program.board.end(winner)

    # --- engine events --------------------------------------------------------------------------------

    def _on_event(self, event: EngineEvent) -> None:
        if not isinstance(event, ProducerOpened):
            return
        for participant, seat in self.stage.seats.items():
            on_stage = participant in self.program.names
            composing = self.program.compositor is not None
            # The host while solo needs nothing: the ladder's HostStream follows the host slot itself.
            if seat == (event.stream_id, event.publisher) and on_stage and composing:
                self._spawn(self.program.republished(participant))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            with contextlib.suppress(CompositorClosed):
                await work

        task = asyncio.create_task(run(), name=f"live-media:{self.stream_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- lifetime -------------------------------------------------------------------------------------

    async def end(self, reason: CloseReason = CloseReason.LIVE_ENDED) -> None:
        """Idempotent: the compositor and program, then the ladder (its playlists end: the recording)."""
        if self.ended:
            return
        self.ended = True
        self._unlisten()
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.program.close(reason)
        await self.stage.close()
        await self.hls.stop_live(self.stream_id)


class LiveStudio:
    """Every live's media in this process; the app closes it before the HLS service and the engine."""

    def __init__(self, engine: Engine, hls: HlsService, config: StudioConfig = StudioConfig()) -> None:
        self.engine, self.hls, self.config = engine, hls, config
        self.lives: dict[str, LiveMedia] = {}

    def start(self, stream_id: str, host_user: str, host_name: str) -> LiveMedia:
        """The live goes on air: HLS from the host's stream (published now or later over WHIP)."""
        live = self.lives.get(stream_id)
        if live is not None:
            return live
        live = self.lives[stream_id] = LiveMedia(self.engine, self.hls, stream_id, host_user, host_name,
                                                 self.config)
        return live

    def get(self, stream_id: str) -> LiveMedia | None:
        return self.lives.get(stream_id)

    async def end(self, stream_id: str) -> None:
        live = self.lives.pop(stream_id, None)
        if live is not None:
            await live.end()

    async def close(self) -> None:
        lives, self.lives = self.lives, {}
        for live in lives.values():
            try:
                await live.end(CloseReason.SHUTDOWN)
            except Exception:
                log.exception("live %s did not end cleanly", live.stream_id)
