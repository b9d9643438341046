"""The engine's frame sources for the HLS ladder (transcode's ``FrameSource``): the host's stream, and the
compositor's program.

:class:`HostStream` follows one publisher slot of a stream for as long as the live lasts: it subscribes to
the slot's Producers (decoded pictures and sound, shared with the compositor: each publisher is decoded
once) and re-subscribes when the publisher comes back after a drop. Times are seconds since the source
started, taken from the RTP timestamps and anchored to arrival, re-anchored when a new publisher (or a
jump) makes them disagree with the clock. The ladder waits for sound whenever a source says it has audio,
so a muted or absent microphone yields silence, never nothing. Sound goes out as the program's does
(float planar stereo, 48 kHz): the ladder's AAC encoder takes one format for the whole live, whichever
source the switch is on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any

import av
import numpy as np

from engine.compositor.program import ProgramPicture, ProgramSource
from engine.compositor.switch import ProgramSwitch
from engine.engine import Engine
from engine.events import EngineEvent, ProducerOpened
from engine.producer import Producer
from engine.router import HOST
from engine.tap import EncodedFrame, FrameSubscription
from transcode.pushsource import PushSource
from transcode.source import Picture, Sound, SourceInfo, SourceItem

RESYNC_S = 1.0  # media time further than this from arrival time: a new publisher or a jump; re-anchor
SILENCE_AFTER_S = 0.25  # no sound for this long: fill with silence
SOUND_S = 0.02
SOUND_RATE = 48_000
KEYFRAMES_KEPT = 64


class _Anchor:
    """Media time (RTP clock) to source time (seconds since the source started)."""

    def __init__(self) -> None:
        self.offset: float | None = None

    def time(self, media: float, now: float) -> float:
        if self.offset is None or abs(media + self.offset - now) > RESYNC_S:
            self.offset = now - media
        return media + self.offset


class HostStream:
    def __init__(self, engine: Engine, stream_id: str, slot: str = HOST, *, width: int = 720,
                 height: int = 1280, fps: int = 30) -> None:
        self.engine, self.stream_id, self.slot = engine, stream_id, slot
        self._fps = fps
        # The ladder's lanes are built from this; pictures of another size are scaled by each rung. No
        # keyframe interval: a publisher's IDRs are not known to be steady (see docs/architecture.md).
        self._source = PushSource(SourceInfo(width, height, Fraction(fps), True, None))
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()
        self._subs: dict[str, list[FrameSubscription]] = {}
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._keyframes: list[int] = []  # RTP timestamps of the IDRs seen in the encoded stream
        self._last_picture = -1.0
        self._sound_end = 0.0
        self.silent_frames = 0
        self.pictures = 0
        self.closed = False
        self._unlisten = engine.on_event(self._on_event)
        router = engine.routers.get(stream_id)
        for kind, producer in (router.producers(slot) if router is not None else {}).items():
            if isinstance(producer, Producer):
                self._follow(kind, producer)
        self._silence = asyncio.create_task(self._fill_silence(), name=f"hls-silence:{stream_id}")

    @property
    def info(self) -> SourceInfo:
        return self._source.info

    def items(self) -> AsyncIterator[SourceItem]:
        return self._source.items()

    # --- following the publisher ----------------------------------------------------------------------

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ProducerOpened) and (event.stream_id, event.publisher) == (self.stream_id, self.slot):
            router = self.engine.routers.get(self.stream_id)
            peer = router.publishers.get(self.slot) if router is not None else None
            producer = peer.producers.get(event.kind) if peer is not None else None
            if producer is not None and not self.closed:
                self._follow(event.kind, producer)

    def _follow(self, kind: str, producer: Producer) -> None:
        self._unfollow(kind)
        anchor = _Anchor()
        subs = [producer.decoded_frames()]
        read = self._read(subs[0], kind, anchor, av.AudioResampler(format="fltp", layout="stereo", rate=SOUND_RATE))
        tasks = [asyncio.create_task(read, name=f"hls-{kind}:{self.stream_id}")]
        if kind == "video" and producer.codec.name.upper() == "H264":
            subs.append(producer.encoded_frames())
            tasks.append(asyncio.create_task(self._read_encoded(subs[1], anchor), name=f"hls-au:{self.stream_id}"))
        self._subs[kind], self._tasks[kind] = subs, tasks

    def _unfollow(self, kind: str) -> None:
        for sub in self._subs.pop(kind, []):
            sub.close()
        for task in self._tasks.pop(kind, []):
            task.cancel()

    def _now(self) -> float:
        return self._loop.time() - self._start

    async def _read(self, sub: FrameSubscription, kind: str, anchor: _Anchor, resampler: av.AudioResampler) -> None:
        while (frame := await sub.get()) is not None:
            if frame.pts is None or frame.time_base is None:
                continue
            t = anchor.time(float(frame.pts * frame.time_base), self._now())
            if kind == "video":
                self._picture(frame, t, frame.pts in self._keyframes)
                continue
            # (the frame is shared with the compositor: never changed here; the time is ``t``)
            for sound in resampler.resample(frame):
                self._sound(sound, t, anchor)
                t += sound.samples / SOUND_RATE

    async def _read_encoded(self, sub: FrameSubscription, anchor: _Anchor) -> None:
        # The tap hands the encoded frame over before the decoder thread sees it, so a picture's IDR mark is
        # here before the picture is.
        while (frame := await sub.get()) is not None:
            assert isinstance(frame, EncodedFrame)
            t = anchor.time(frame.timestamp / 90_000, self._now())
            if frame.keyframe:
                self._keyframes = [*self._keyframes[-KEYFRAMES_KEPT + 1 :], frame.timestamp]
            self._source.push_access_unit(frame.data, t, frame.keyframe)

    def _picture(self, frame: av.VideoFrame, t: float, keyframe: bool) -> None:
        if t <= self._last_picture + 0.5 / self._fps:
            return  # not after the last one (a publisher's duplicate or a re-anchor backwards)
        self._last_picture = t
        self.pictures += 1
        self._source.push_picture(frame, t, keyframe)

    def _sound(self, frame: av.AudioFrame, t: float, anchor: _Anchor) -> None:
        if t < self._sound_end:  # overlaps what was sent (silence filled in): shift this publisher's sound on
            if anchor.offset is not None:
                anchor.offset += self._sound_end - t
            t = self._sound_end
        self._sound_end = t + frame.samples / (frame.sample_rate or SOUND_RATE)
        self._source.push_sound(frame, t)

    async def _fill_silence(self) -> None:
        samples = round(SOUND_S * SOUND_RATE)
        while True:
            await asyncio.sleep(SOUND_S * 5)
            while self._sound_end < self._now() - SILENCE_AFTER_S:
                frame = av.AudioFrame.from_ndarray(np.zeros((2, samples), np.float32), format="fltp",
                                                   layout="stereo")
                frame.sample_rate = SOUND_RATE
                self._source.push_sound(frame, self._sound_end)
                self._sound_end += SOUND_S
                self.silent_frames += 1

    async def aclose(self) -> None:
        """Idempotent: unsubscribes (the Producers stop decoding when nobody else needs pictures)."""
        if self.closed:
            return
        self.closed = True
        self._unlisten()
        tasks = [self._silence, *(t for kind in self._tasks.values() for t in kind)]
        for kind in list(self._subs):
            self._unfollow(kind)
        self._silence.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._source.aclose()


class ProgramStream:
    """The compositor's program as the ladder's source: its items become transcode's Picture and Sound."""

    def __init__(self, program: ProgramSource) -> None:
        self.program = program

    @property
    def info(self) -> Any:
        return self.program.info

    async def items(self) -> AsyncIterator[SourceItem]:
        async for item in self.program.items():
            if isinstance(item, ProgramPicture):
                yield Picture(item.frame, item.time, item.keyframe)
            else:
                yield Sound(item.frame, item.time)

    async def aclose(self) -> None:
        await self.program.aclose()


class LadderSource:
    """A live's :class:`ProgramSwitch` as the ladder's one source (its items already are transcode's: the
    host's stream yields them, and :class:`ProgramStream` converts the program's)."""

    def __init__(self, switch: ProgramSwitch) -> None:
        self.switch = switch
        info = switch.info
        self._info = SourceInfo(info.width, info.height, info.frame_rate, info.has_audio, None, info.realtime)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def items(self) -> AsyncIterator[SourceItem]:
        return self.switch.items()

    async def aclose(self) -> None:
        await self.switch.aclose()
