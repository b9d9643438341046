"""One rendition's output: its init segment, parts and segments in storage, and its media playlist.

Objects are written before the playlist that names them (a CDN or player never sees a name it cannot
fetch). Parts older than the part window and, unless the session is recorded, segments that left the live
window are deleted. Blocking playlist reloads (RFC 8216bis §6.2.5.2) wait on :meth:`Rendition.wait_for`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from transcode.playlist import MediaPlaylist, Part, RenditionReport, Segment, media_playlist
from transcode.segmenter import ChunkOut, SegmentOut
from transcode.storage import Storage


@dataclass(frozen=True)
class RenditionConfig:
    segment_duration: float
    part_duration: float | None  # None: no LL-HLS parts (VOD packaging)
    live_window: int  # segments listed in a live playlist
    recording: bool  # keep every segment and end with a VOD playlist


class Rendition:
    def __init__(
        self,
        name: str,
        storage: Storage,
        prefix: str,
        config: RenditionConfig,
        timescale: int,
        started_at: datetime,
        reports: Callable[[Rendition], tuple[RenditionReport, ...]],
    ) -> None:
        self.name = name
        self._storage = storage
        self._prefix = prefix
        self._config = config
        self._timescale = timescale
        self._started_at = started_at
        self._reports = reports
        self.segments: list[Segment] = []  # every segment of the session, in order
        self.total_bytes = 0  # of every segment so far: the measured rates the multivariant promises
        self.total_duration = 0.0
        self.peak_rate = 0.0  # bit/s of the densest segment
        self.pending: list[Part] = []
        self.pending_msn = 0
        self.ended = False
        self.playlist_text = ""
        self._changed = asyncio.Condition()
        self._origin: int | None = None
        self._deleted_parts_upto = 0  # segments whose parts are already deleted
        self._deleted_segments_upto = 0

    @property
    def target_duration(self) -> float:
        return self._config.segment_duration

    @property
    def hold_limit(self) -> float:
        """How long a blocking reload may wait: three target durations (RFC 8216bis §6.2.5.2)."""
        return 3 * self.target_duration

    @property
    def playlist_key(self) -> str:
        return f"{self._prefix}/{self.name}/index.m3u8"

    @property
    def uri(self) -> str:
        return f"{self.name}/index.m3u8"

    def key(self, name: str) -> str:
        return f"{self._prefix}/{self.name}/{name}"

    @property
    def last_part(self) -> tuple[int, int | None]:
        """(LAST-MSN, LAST-PART) for rendition reports: the newest part listed."""
        if self.pending:
            return self.pending_msn, len(self.pending) - 1
        if self.segments:
            last = self.segments[-1]
            return last.msn, (len(last.parts) - 1) if last.parts else None
        return 0, None

    async def write_init(self, data: bytes) -> None:
        await self._storage.put(self.key("init.mp4"), data)

    def _seconds(self, ticks: int) -> float:
        return ticks / self._timescale

    def _date(self, start: int) -> datetime:
        if self._origin is None:
            self._origin = start
        return self._started_at + timedelta(seconds=self._seconds(start - self._origin))

    async def publish(self, outputs: list[ChunkOut | SegmentOut]) -> None:
        if not outputs:
            return
        for out in outputs:
            if isinstance(out, ChunkOut):
                name = f"part{out.msn}.{out.index}.m4s"
                await self._storage.put(self.key(name), out.data, duration=self._seconds(out.duration))
                self._date(out.start)
                self.pending_msn = out.msn
                self.pending.append(Part(name, self._seconds(out.duration), out.independent))
            else:
                name = f"seg{out.msn}.m4s"
                await self._storage.put(self.key(name), out.data, duration=self._seconds(out.duration))
                self.segments.append(
                    Segment(out.msn, name, self._seconds(out.duration), self._date(out.start), tuple(self.pending))
                )
                duration = self._seconds(out.duration)
                self.total_bytes += len(out.data)
                self.total_duration += duration
                if duration > 0:
                    self.peak_rate = max(self.peak_rate, 8 * len(out.data) / duration)
                self.pending = []
                self.pending_msn = out.msn + 1
        await self.write_playlist()
        await self._expire()

    def render(self) -> str:
        config = self._config
        if self.ended and config.recording:
            return media_playlist(
                MediaPlaylist(config.segment_duration, "init.mp4", tuple(self.segments), ended=True, vod=True)
            )
        window = tuple(self.segments[-config.live_window :])
        ll = config.part_duration is not None and not self.ended
        next_part = f"part{self.pending_msn}.{len(self.pending)}.m4s"
        pending_date = self._started_at + timedelta(seconds=self.total_duration) if self.pending else None
        return media_playlist(
            MediaPlaylist(
                config.segment_duration,
                "init.mp4",
                window,
                part_target=config.part_duration,
                pending_parts=tuple(self.pending) if ll else (),
                pending_msn=self.pending_msn,
                pending_date_time=pending_date,
                preload_hint=next_part if ll else None,
                rendition_reports=self._reports(self) if ll else (),
                ended=self.ended,
                part_window=3 * config.segment_duration,
            )
        )

    async def write_playlist(self) -> None:
        text = self.render()
        await self._storage.put(self.playlist_key, text.encode())
        async with self._changed:
            self.playlist_text = text
            self._changed.notify_all()

    def has(self, msn: int, part: int | None) -> bool:
        """Whether the playlist lists segment ``msn`` (or its part ``part``): §6.2.5.2's hold condition."""
        if self.ended or msn < self.pending_msn:
            return True
        return part is not None and msn == self.pending_msn and part < len(self.pending)

    async def wait_for(self, msn: int, part: int | None, within: float) -> bool:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.has(msn, part)), within)
            except TimeoutError:
                return False
        return True

    async def end(self) -> None:
        self.ended = True
        await self.write_playlist()
        await self._expire(final=True)

    async def _expire(self, final: bool = False) -> None:
        """Delete parts that left the part window and (unless recording) segments out of the live window."""
        doomed: list[str] = []
        horizon = 3 * self._config.segment_duration
        keep_parts_from = len(self.segments)
        total = 0.0
        for index in range(len(self.segments) - 1, -1, -1):
            total += self.segments[index].duration
            if total > horizon + self._config.segment_duration:
                break
            keep_parts_from = index
        if final:
            keep_parts_from = len(self.segments)
        for segment in self.segments[self._deleted_parts_upto : keep_parts_from]:
            doomed.extend(self.key(p.uri) for p in segment.parts)
        self._deleted_parts_upto = max(self._deleted_parts_upto, keep_parts_from)
        if not self._config.recording:
            # one extra segment of grace: a player may still be fetching the one that just left the window
            keep_from = max(0, len(self.segments) - self._config.live_window - 1)
            for segment in self.segments[self._deleted_segments_upto : keep_from]:
                doomed.append(self.key(segment.uri))
            self._deleted_segments_upto = max(self._deleted_segments_upto, keep_from)
        if doomed:
            await self._storage.delete(doomed)
