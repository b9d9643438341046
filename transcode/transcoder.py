"""A stream through the ladder: one decode, one scale and encode per rung, CMAF parts and segments,
playlists, thumbnails, and at the end a recording (VOD playlists) of the whole session.

The :class:`Transcoder` owns one lane per rendition; each lane has a bounded queue, a worker task and a worker
thread, so rungs encode in parallel while each keeps its frame order. Segment starts are decided once, here,
for every rung (Apple's authoring spec: aligned IDRs at every segment start, none elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import av

from transcode import fmp4
from transcode.encoder import (
    AAC_FRAME,
    AUDIO_RATE,
    VIDEO_TIMESCALE,
    AudioEncoder,
    EncodedSample,
    VideoCopy,
    VideoEncoder,
    X264Settings,
)
from transcode.errors import TranscodeError
from transcode.ladder import Ladder, Rung, ladder_for
from transcode.metrics import TranscodeMetrics
from transcode.playlist import (
    AudioRendition,
    MultivariantPlaylist,
    RenditionReport,
    Variant,
    multivariant_playlist,
)
from transcode.rendition import Rendition, RenditionConfig
from transcode.segmenter import ChunkOut, Segmenter, SegmentOut
from transcode.source import AccessUnit, FrameSource, Picture, Sound
from transcode.storage import Storage
from transcode.thumbnails import ThumbnailSchedule, jpeg

log = logging.getLogger(__name__)

AUDIO = "audio"
_BATCH = 8
PEAK_FACTOR = 1.3  # advertised BANDWIDTH over the average: covers the VBV's burst within a segment


class CloseReason(StrEnum):
    ENDED = "ended"  # the source ended
    STOPPED = "stopped"  # the live was stopped
    SHUTDOWN = "shutdown"  # the app is closing
    FAILED = "failed"  # an encoder, the source or storage failed


@dataclass(frozen=True)
class HlsOptions:
    segment_duration: float = 2.0
    part_duration: float | None = 0.5  # LL-HLS parts; None for plain HLS (VOD packaging)
    live_window: int = 6
    recording: bool = True
    thumbnail_interval: float = 10.0
    x264: X264Settings = field(default_factory=X264Settings)
    max_rungs: int = 4
    copy_top: bool = True  # remux the source's H.264 when its keyframe interval suits the segments
    queue_frames: int = 30


@dataclass
class _Lane:
    rendition: Rendition
    segmenter: Segmenter
    queue: asyncio.Queue[Any]
    work: Callable[[Any], list[ChunkOut | SegmentOut]]
    init: Callable[[], bytes | None]
    rung: Rung | None = None
    codec: Callable[[], str] = lambda: "mp4a.40.2"  # RFC 6381, known once the init segment is
    init_written: bool = False
    task: asyncio.Task[None] | None = None


class Transcoder:
    def __init__(
        self,
        source: FrameSource,
        storage: Storage,
        prefix: str,
        options: HlsOptions | None = None,
        *,
        metrics: TranscodeMetrics | None = None,
    ) -> None:
        self.source = source
        self.storage = storage
        self.prefix = prefix.strip("/")
        self.options = options = options or HlsOptions()
        self.metrics = metrics
        info = source.info
        interval = info.keyframe_interval
        copy = bool(
            options.copy_top
            and interval
            and abs(options.segment_duration / interval - round(options.segment_duration / interval)) < 0.02
        )
        self.ladder: Ladder = ladder_for(
            info.width,
            info.height,
            info.frame_rate,
            copy_top=copy,
            has_audio=info.has_audio,
            max_rungs=options.max_rungs,
        )
        self.started_at = datetime.now(UTC)
        self.close_reason: CloseReason | None = None
        # seconds from a frame's arrival to its part being listed (the latest ones)
        self.frame_latencies: deque[float] = deque(maxlen=100_000)
        self._arrivals: dict[int, float] = {}
        self._fps = float(info.frame_rate)
        self._frame_ticks = round(VIDEO_TIMESCALE / self._fps)
        self._executor = ThreadPoolExecutor(len(self.ladder.rungs) + 2, thread_name_prefix="transcode")
        self._lanes: dict[str, _Lane] = {}
        self._master_written = False
        self._advertised: dict[str, tuple[int, int]] = {}
        self._stopping = False
        self._task: asyncio.Task[CloseReason] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._thumbs = ThumbnailSchedule(options.thumbnail_interval)
        self._poster_frame: av.VideoFrame | None = None
        self._build_lanes()

    # ------------------------------------------------------------------------------------------- lanes

    def _config(self) -> RenditionConfig:
        o = self.options
        return RenditionConfig(o.segment_duration, o.part_duration, o.live_window, o.recording)

    def _segmenter(self, timescale: int, sample: int) -> Segmenter:
        part = self.options.part_duration or self.options.segment_duration * 1000
        return Segmenter(timescale, sample, round(part * timescale))

    def _build_lanes(self) -> None:
        keyint = max(1, round(self.options.segment_duration * self._fps)) * 10  # forced IDRs come first
        for rung in self.ladder.rungs:
            rendition = Rendition(
                rung.name,
                self.storage,
                self.prefix,
                self._config(),
                VIDEO_TIMESCALE,
                self.started_at,
                self._reports,
            )
            segmenter = self._segmenter(VIDEO_TIMESCALE, self._frame_ticks)
            if rung.copy:
                lane = self._copy_lane(rung, rendition, segmenter)
            else:
                lane = self._encode_lane(rung, rendition, segmenter, keyint)
            self._lanes[rung.name] = lane
        if self.ladder.audio_bit_rate:
            encoder = AudioEncoder(self.ladder.audio_bit_rate)
            rendition = Rendition(
                AUDIO, self.storage, self.prefix, self._config(), AUDIO_RATE, self.started_at, self._reports
            )
            segmenter = self._segmenter(AUDIO_RATE, AAC_FRAME)
            boundary = [0]
            seg_ticks = round(self.options.segment_duration * AUDIO_RATE)

            def audio_work(item: tuple[av.AudioFrame | None, int]) -> list[ChunkOut | SegmentOut]:
                out: list[ChunkOut | SegmentOut] = []
                for sample in encoder.encode(*item):
                    starts = sample.dts >= boundary[0] - AAC_FRAME // 2
                    if starts:
                        while boundary[0] - AAC_FRAME // 2 <= sample.dts:
                            boundary[0] += seg_ticks
                    out.extend(segmenter.push(sample, starts))
                if item[0] is None:
                    out.extend(segmenter.flush())
                return out

            self._lanes[AUDIO] = _Lane(
                rendition,
                segmenter,
                asyncio.Queue(self.options.queue_frames * 2),
                audio_work,
                lambda: fmp4.init_segment(encoder.track()),
            )

    def _encode_lane(self, rung: Rung, rendition: Rendition, segmenter: Segmenter, keyint: int) -> _Lane:
        encoder = VideoEncoder(rung, self.ladder.frame_rate, self.options.x264, keyint)

        def work(item: tuple[av.VideoFrame | None, int, bool]) -> list[ChunkOut | SegmentOut]:
            out: list[ChunkOut | SegmentOut] = []
            for sample in encoder.encode(*item):
                out.extend(segmenter.push(sample, sample.sync))
            if item[0] is None:
                out.extend(segmenter.flush())
            return out

        def init() -> bytes | None:
            return fmp4.init_segment(encoder.track()) if encoder.parameter_sets else None

        def codec() -> str:
            assert encoder.parameter_sets is not None
            return encoder.parameter_sets.codec

        return _Lane(rendition, segmenter, asyncio.Queue(self.options.queue_frames), work, init, rung, codec)

    def _copy_lane(self, rung: Rung, rendition: Rendition, segmenter: Segmenter) -> _Lane:
        copier = VideoCopy(rung)
        last_start: list[int | None] = [None]
        min_gap = round((self.options.segment_duration - 0.5 / self._fps) * VIDEO_TIMESCALE)

        def work(item: tuple[bytes | None, int, int]) -> list[ChunkOut | SegmentOut]:
            data, pts, dts = item
            if data is None:
                return segmenter.flush()
            out: list[ChunkOut | SegmentOut] = []
            for sample in copier.remux(data, pts, dts):
                starts = sample.sync and (last_start[0] is None or sample.pts - last_start[0] >= min_gap)
                if starts:
                    last_start[0] = sample.pts
                out.extend(segmenter.push(sample, starts))
            return out

        def init() -> bytes | None:
            return fmp4.init_segment(copier.track()) if copier.parameter_sets else None

        def codec() -> str:
            assert copier.parameter_sets is not None
            return copier.parameter_sets.codec

        return _Lane(rendition, segmenter, asyncio.Queue(self.options.queue_frames), work, init, rung, codec)

    async def _drive(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        await self._write_init(lane)  # audio's is known before any sample: the master need not wait for it
        while True:
            # Whatever is queued goes to the thread in one hop (a file or a lagging live catches up with
            # fewer hand-offs); a live that keeps up hands over one frame at a time.
            batch = [await lane.queue.get()]
            while batch[-1][0] is not None and not lane.queue.empty() and len(batch) < _BATCH:
                batch.append(lane.queue.get_nowait())
            outputs = await loop.run_in_executor(self._executor, _work_all, lane.work, batch)
            await self._write_init(lane)
            if outputs and lane.init_written:
                await lane.rendition.publish(outputs)
                self._record_latency(lane, outputs)
                await self._check_bandwidth()
            if batch[-1][0] is None:
                return

    async def _write_init(self, lane: _Lane) -> None:
        if lane.init_written:
            return
        data = lane.init()
        if data is not None:
            await lane.rendition.write_init(data)
            lane.init_written = True
            await self._write_master_when_ready()

    def _lane_done(self, lane: _Lane, task: asyncio.Task[None]) -> None:
        """A failed lane (an encoder, or storage that stays down) ends the whole ladder: the others would
        wait forever for it, and a ladder missing a rendition breaks players."""
        if task.cancelled() or task.exception() is None:
            return
        log.error("transcode %s: rendition %s failed: %r", self.prefix, lane.rendition.name, task.exception())
        self.close_reason = self.close_reason or CloseReason.FAILED
        self._stopping = True
        while not lane.queue.empty():  # unblock a producer waiting on this lane's full queue
            lane.queue.get_nowait()
        ending = asyncio.ensure_future(self.source.aclose())  # a quiet live source must not keep it waiting
        self._side_tasks.add(ending)
        ending.add_done_callback(self._side_tasks.discard)

    def _record_latency(self, lane: _Lane, outputs: list[ChunkOut | SegmentOut]) -> None:
        if lane.rung is None or lane.rung is not self.ladder.rungs[-1]:
            return  # measured on one rung: the lowest, which every player can start on
        now = time.monotonic()
        for out in outputs:
            if isinstance(out, ChunkOut):
                for tick in range(out.start, out.start + out.duration, self._frame_ticks):
                    arrived = self._arrivals.pop(tick, None)
                    if arrived is not None:
                        self.frame_latencies.append(now - arrived)
                        if self.metrics is not None:
                            self.metrics.part_latency.observe(now - arrived)

    # ------------------------------------------------------------------------------------------- playlists

    def _reports(self, rendition: Rendition) -> tuple[RenditionReport, ...]:
        reports = []
        for name, lane in self._lanes.items():
            if lane.rendition is rendition:
                continue
            msn, part = lane.rendition.last_part
            reports.append(RenditionReport(f"../{name}/index.m3u8", msn, part))
        return tuple(reports)

    def _measured(self, rendition: Rendition) -> tuple[int, int]:
        """(peak, average) bit/s over the finished segments."""
        if rendition.total_duration <= 0:
            return 0, 0
        return int(rendition.peak_rate), int(8 * rendition.total_bytes / rendition.total_duration)

    def _variants(self) -> list[Variant]:
        audio_lane = self._lanes.get(AUDIO)
        audio_rate = self.ladder.audio_bit_rate or 0
        audio_peak, audio_avg = self._measured(audio_lane.rendition) if audio_lane else (0, 0)
        audio_peak, audio_avg = max(audio_peak, audio_rate), max(audio_avg, audio_rate)
        codecs_audio = ",mp4a.40.2" if audio_lane else ""
        variants = []
        for rung in self.ladder.rungs:
            lane = self._lanes[rung.name]
            peak, average = self._measured(lane.rendition)
            peak = max(peak, int(rung.bit_rate * PEAK_FACTOR)) + audio_peak
            average = max(average, rung.bit_rate) + audio_avg
            self._advertised[rung.name] = (peak, average)
            codec = lane.codec()
            variants.append(
                Variant(
                    f"{rung.name}/index.m3u8",
                    peak,
                    average,
                    codec + codecs_audio,
                    rung.width,
                    rung.height,
                    self._fps,
                    "aac" if audio_lane else None,
                )
            )
        return variants

    async def _write_master_when_ready(self) -> None:
        if not all(lane.init_written for lane in self._lanes.values()):
            return
        await self._write_master()

    async def _write_master(self) -> None:
        audio = [AudioRendition(f"{AUDIO}/index.m3u8", "aac", "default", 2)] if AUDIO in self._lanes else []
        text = multivariant_playlist(MultivariantPlaylist(self._variants(), audio))
        await self.storage.put(self.master_key, text.encode())
        self._master_written = True

    async def _check_bandwidth(self) -> None:
        """Raise the advertised rates when a segment measured above them (a remuxed rung's rate is the
        publisher's): players must never be promised less than they get."""
        if not self._master_written:
            return
        for rung in self.ladder.rungs:
            peak, average = self._measured(self._lanes[rung.name].rendition)
            advertised = self._advertised.get(rung.name, (0, 0))
            if peak > advertised[0] or average > advertised[1]:
                await self._write_master()
                return

    @property
    def master_key(self) -> str:
        return f"{self.prefix}/master.m3u8"

    def rendition(self, name: str) -> Rendition | None:
        lane = self._lanes.get(name)
        return lane.rendition if lane else None

    # ------------------------------------------------------------------------------------------- running

    def start(self) -> None:
        """Run in a task this transcoder owns; :meth:`stop` or :meth:`close` ends it."""
        self._task = asyncio.create_task(self.run(), name=f"transcode {self.prefix}")

    def on_done(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the task :meth:`start` made has ended."""
        assert self._task is not None, "start() first"
        self._task.add_done_callback(lambda _task: callback())

    async def run(self) -> CloseReason:
        for lane in self._lanes.values():
            lane.task = asyncio.create_task(self._drive(lane))
            lane.task.add_done_callback(functools.partial(self._lane_done, lane))
        origin: float | None = None
        seg = self.options.segment_duration
        next_boundary = 0.0
        last_start: float | None = None
        half = 0.5 / self._fps
        copy = self.ladder.top.copy
        reason = CloseReason.ENDED
        try:
            async for item in self.source.items():
                if self._stopping:
                    reason = self.close_reason or CloseReason.STOPPED
                    break
                if isinstance(item, Picture):
                    if origin is None:
                        origin = item.time
                    t = item.time - origin
                    if t < -1e-6:
                        continue
                    if copy:
                        starts = item.keyframe and (last_start is None or t - last_start >= seg - half)
                    else:
                        starts = t >= next_boundary - half
                    if starts:
                        last_start = t
                        while next_boundary - half <= t:
                            next_boundary += seg
                    elif last_start is None:
                        continue  # before the publisher's first IDR: the remuxed rung cannot start there
                    pts = round(t * VIDEO_TIMESCALE)
                    self._arrivals[pts] = time.monotonic()
                    if len(self._arrivals) > 1000:  # frames no part ever held (before the first IDR)
                        for stale in list(self._arrivals)[:500]:
                            del self._arrivals[stale]
                    for rung in self.ladder.rungs:
                        if not rung.copy:
                            await self._lanes[rung.name].queue.put((item.frame, pts, starts))
                    self._stills(item.frame, t)
                elif isinstance(item, AccessUnit) and copy:
                    if origin is None:
                        origin = item.decode_time
                    await self._lanes[self.ladder.top.name].queue.put(
                        (
                            item.data,
                            round((item.time - origin) * VIDEO_TIMESCALE),
                            round((item.decode_time - origin) * VIDEO_TIMESCALE),
                        )
                    )
                elif isinstance(item, Sound) and AUDIO in self._lanes and origin is not None:
                    start = round((item.time - origin) * AUDIO_RATE)
                    if start >= 0:
                        await self._lanes[AUDIO].queue.put((item.frame, start))
        except Exception:
            log.exception("transcode %s failed", self.prefix)
            reason = CloseReason.FAILED
        finally:
            await self._finish(reason)
        return reason

    async def _finish(self, reason: CloseReason) -> None:
        self.close_reason = self.close_reason or reason
        for lane in self._lanes.values():
            if lane.task is not None and not lane.task.done():
                await lane.queue.put((None, 0, 0) if lane.rung is not None else (None, 0))
        results = await asyncio.gather(
            *(lane.task for lane in self._lanes.values() if lane.task), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                log.error("transcode %s lane failed: %r", self.prefix, result)
                self.close_reason = CloseReason.FAILED
        if self._side_tasks:
            await asyncio.gather(*self._side_tasks, return_exceptions=True)
        try:
            if self._poster_frame is not None:  # shorter than the poster time: the last frame
                await self.storage.put(f"{self.prefix}/poster.jpg", jpeg(self._poster_frame))
                self._poster_frame = None
            for lane in self._lanes.values():
                if lane.init_written:
                    await lane.rendition.end()
            if self._master_written:
                await self._write_master()
        except (TranscodeError, OSError) as exc:  # storage down: the playlists stay as they were
            log.error("transcode %s: could not finish the playlists: %r", self.prefix, exc)
            self.close_reason = CloseReason.FAILED
        await self.source.aclose()
        self._executor.shutdown(wait=False)

    def _stills(self, frame: av.VideoFrame, t: float) -> None:
        index = self._thumbs.thumbnail_due(t)
        poster = self._thumbs.poster_due(t)
        if not poster and not self._thumbs.poster_done:
            self._poster_frame = frame
        elif poster:
            self._poster_frame = None
        keys = ([f"{self.prefix}/thumbs/{index}.jpg"] if index is not None else []) + (
            [f"{self.prefix}/poster.jpg"] if poster else []
        )
        if not keys:
            return

        async def write() -> None:
            data = await asyncio.get_running_loop().run_in_executor(self._executor, jpeg, frame)
            for key in keys:
                await self.storage.put(key, data)

        task = asyncio.create_task(write())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def stop(self, reason: CloseReason = CloseReason.STOPPED, grace: float = 10.0) -> None:
        """End the stream: the open segment is closed, playlists end (a recording becomes VOD)."""
        self.close_reason = self.close_reason or reason
        self._stopping = True
        await self.source.aclose()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def wait(self) -> CloseReason | None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)
        return self.close_reason

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()


def _work_all(work: Callable[[Any], list[ChunkOut | SegmentOut]], items: list[Any]) -> list[ChunkOut | SegmentOut]:
    return [out for item in items for out in work(item)]


__all__ = ["CloseReason", "EncodedSample", "HlsOptions", "Transcoder"]
