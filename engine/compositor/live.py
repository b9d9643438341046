"""A live's program: passthrough while the host is alone, a compositor while anyone shares the stage.

:class:`LiveProgram` is the one object the room domain and the app talk to about multi-host pictures. It
owns the :class:`ProgramSwitch` that is the HLS ladder's source for the whole live, and, only while there
are guests, a :class:`Compositor` (with its decoders and its encoder). The first guest joining starts the
compositor, publishes its encoded program and switches the ladder to it; the last guest leaving switches the
ladder back to the host's own stream, withdraws the program and closes the compositor. Everything it needs
from the media engine goes through :class:`StageMedia`, implemented on the engine's Router at wiring time.
"""

from __future__ import annotations

import asyncio
import logging
from fractions import Fraction
from typing import Protocol

from engine.compositor.board import PkBoard
from engine.compositor.clock import Clock
from engine.compositor.compositor import CloseReason, Compositor
from engine.compositor.encoder import EncoderSettings, ProgramEncoder
from engine.compositor.errors import CompositorClosed, ParticipantError
from engine.compositor.feed import MediaSource
from engine.compositor.layout import Canvas, Layout, LayoutKind, solo
from engine.compositor.program import ProgramInfo, ProgramSource
from engine.compositor.switch import ProgramSwitch, Source

log = logging.getLogger(__name__)

SETTLE_S = 2.0  # how long the ladder may keep taking the program while the host's stream comes back


class StageMedia(Protocol):
    """The media engine, as a live's program sees it."""

    def subscribe(self, participant: str, kind: str) -> MediaSource | None:
        """A frame subscription (decoded or encoded) to what ``participant`` publishes of ``kind``
        ("video"/"audio"); None when they publish no such track now."""
        ...

    def host_stream(self) -> Source:
        """A new frame source of the host's own stream for the HLS ladder."""
        ...

    def program_stream(self, program: ProgramSource) -> Source:
        """The program as the HLS ladder's frame source (adapts item types where the ladder needs its own)."""
        ...

    def publish_program(self, encoder: ProgramEncoder) -> None:
        """Offer the encoded program to WHEP viewers as the ``program`` producer: read ``encoder.packets()``,
        and call ``encoder.request_keyframe()`` when a viewer needs one (PLI)."""
        ...

    def unpublish_program(self) -> None: ...


class LiveProgram:
    def __init__(
        self,
        host: str,
        host_name: str,
        media: StageMedia,
        *,
        canvas: Canvas = Canvas(),
        fps: int = 30,
        kind: LayoutKind = LayoutKind.GRID,
        encoder: EncoderSettings = EncoderSettings(),
        clock: Clock | None = None,
    ) -> None:
        self.host, self.host_name = host, host_name
        self.media = media
        self.canvas, self.fps, self.kind = canvas, fps, kind
        self.encoder_settings = encoder
        self.clock = clock
        self.board = PkBoard()
        self.names: dict[str, str] = {host: host_name}
        self.muted: set[str] = set()  # kept across compositors: a seat's mute outlives a PK
        host_stream = media.host_stream()
        # The ladder is built once from this: the program's picture, and sound only if the host has any (a
        # ladder waiting for sound that never comes would never publish its playlists).
        info = ProgramInfo(canvas.width, canvas.height, Fraction(fps), bool(host_stream.info.has_audio))
        self.switch = ProgramSwitch(host_stream, info)
        self.compositor: Compositor | None = None
        self.closed = False
        self._lock = asyncio.Lock()  # joins and leaves are applied one at a time, in order

    @property
    def source(self) -> ProgramSwitch:
        """The HLS ladder's source for the whole live (``HlsService.start_live(stream_id, program.source)``)."""
        return self.switch

    @property
    def layout(self) -> Layout:
        if self.compositor is not None and self.compositor.layout is not None:
            return self.compositor.layout
        return solo(self.host, self.canvas)

    async def join(self, participant: str, name: str) -> Layout:
        """A guest takes a seat (or a PK opponent arrives). Raises :class:`LayoutError` if the layout
        cannot take them, and then nothing changes."""
        async with self._lock:
            self._check_open()
            if participant == self.host or participant in self.names:
                raise ParticipantError(f"{participant} is already on stage")
            if self.compositor is None:
                return await self._start_composing(participant, name)
            sources = self._sources(participant)
            try:
                layout = self.compositor.join(participant, name, **sources)
            except BaseException:
                _close(sources)  # refused: stop the engine decoding for us at once
                raise
            self.names[participant] = name
            self.compositor.mute(participant, participant in self.muted)
            return layout

    async def _start_composing(self, participant: str, name: str) -> Layout:
        compositor = Compositor(canvas=self.canvas, fps=self.fps, kind=self.kind, board=self.board,
                                clock=self.clock)
        sources = self._sources(participant)
        try:
            compositor.join(self.host, self.host_name, **self._sources(self.host))
            layout = compositor.join(participant, name, **sources)
        except BaseException:
            _close(sources)
            await compositor.close(CloseReason.FAILED)  # closes the host's sources with its feed
            raise
        self.names[participant] = name
        for someone in (self.host, participant):
            compositor.mute(someone, someone in self.muted)
        self.compositor = compositor
        compositor.start()
        encoder = compositor.encoder(self.encoder_settings)
        self.media.publish_program(encoder)
        self.switch.switch_to(self.media.program_stream(compositor.program()))
        log.info("composing", extra={"host": self.host, "layout": layout.kind.value})
        return layout

    def _sources(self, participant: str) -> dict[str, MediaSource | None]:
        return {"video": self.media.subscribe(participant, "video"),
                "audio": self.media.subscribe(participant, "audio")}

    async def leave(self, participant: str) -> Layout:
        """A guest leaves their seat; the last one leaving returns the live to passthrough."""
        async with self._lock:
            if participant == self.host or participant not in self.names:
                raise ParticipantError(f"{participant} is not a guest on stage")
            del self.names[participant]
            compositor = self.compositor
            if compositor is None:
                return self.layout
            layout = await compositor.leave(participant)
            if layout is None or layout.passthrough:
                await self._stop_composing(CloseReason.SOLO)
            return self.layout

    async def _stop_composing(self, reason: CloseReason) -> None:
        compositor, self.compositor = self.compositor, None
        if compositor is None:
            return
        if not self.switch.closed:
            # The program keeps flowing until the host's stream has its first picture in the ladder.
            self.switch.switch_to(self.media.host_stream())
            try:
                await asyncio.wait_for(self.switch.settled(), SETTLE_S)
            except TimeoutError:
                log.warning("host stream did not resume within %.1f s", SETTLE_S)
        self.media.unpublish_program()
        await compositor.close(reason)
        log.info("passthrough", extra={"host": self.host, "reason": reason.value})

    def set_kind(self, kind: LayoutKind) -> Layout:
        """Grid, PK or picture-in-picture from now on (raises and changes nothing if the stage can't)."""
        self._check_open()
        if self.compositor is not None:
            self.compositor.set_kind(kind)
        self.kind = kind
        return self.layout

    def mute(self, participant: str, muted: bool = True) -> None:
        """Silence someone in the program's mix (the host muting a guest's seat); kept while on stage."""
        if muted:
            self.muted.add(participant)
        else:
            self.muted.discard(participant)
        if self.compositor is not None and participant in self.compositor.feeds:
            self.compositor.mute(participant, muted)

    async def republished(self, participant: str) -> None:
        """What ``participant`` publishes changed (a reconnect, camera or microphone on or off): read their
        tracks as they are now. The host republishing while solo gets the ladder a new host stream (the
        ladder keeps running as long as the old one had not ended)."""
        if self.compositor is None and participant == self.host and not self.switch.closed:
            self.switch.switch_to(self.media.host_stream())
            return
        if self.compositor is not None and participant in self.compositor.feeds:
            for kind, source in self._sources(participant).items():
                await self.compositor.attach(participant, kind, source)

    def _check_open(self) -> None:
        if self.closed:
            raise CompositorClosed("the live's program is closed")

    async def close(self, reason: CloseReason = CloseReason.LIVE_ENDED) -> None:
        """Idempotent: the compositor (if any), then the ladder's source."""
        if self.closed:
            return
        self.closed = True
        async with self._lock:
            compositor, self.compositor = self.compositor, None
            if compositor is not None:
                self.media.unpublish_program()
                await compositor.close(reason)
            await self.switch.aclose()


def _close(sources: dict[str, MediaSource | None]) -> None:
    for source in sources.values():
        if source is not None:
            source.close()
