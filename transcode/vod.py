"""VOD HLS of an uploaded video, with the same ladder code as a live (called by the social domains)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from transcode.errors import TranscodeError
from transcode.filesource import FileSource
from transcode.storage import Storage
from transcode.transcoder import CloseReason, HlsOptions, Transcoder

VOD_OPTIONS = HlsOptions(segment_duration=6.0, part_duration=None, recording=True)  # Apple: 6 s for VOD


@dataclass(frozen=True)
class VodResult:
    master_key: str  # the multivariant playlist, e.g. "videos/<id>/master.m3u8"
    master_url: str
    poster_key: str
    poster_url: str
    duration: float  # seconds
    width: int
    height: int


async def package_vod(
    source_path: Path,
    storage: Storage,
    prefix: str,
    *,
    options: HlsOptions | None = None,
    segment_duration: float | None = None,
) -> VodResult:
    """Transcode ``source_path`` into an HLS ladder under ``prefix``: multivariant and media playlists
    (``EXT-X-PLAYLIST-TYPE:VOD``), CMAF segments, thumbnails every 10 s and ``poster.jpg``.

    Raises :class:`~transcode.errors.SourceError` when the file is not a readable video.
    """
    chosen = options or VOD_OPTIONS
    if segment_duration is not None:
        chosen = replace(chosen, segment_duration=segment_duration)
    chosen = replace(chosen, part_duration=None, recording=True)
    source = await FileSource.open(source_path)
    transcoder = Transcoder(source, storage, prefix, chosen)
    reason = await transcoder.run()
    if reason is not CloseReason.ENDED or transcoder.close_reason is not CloseReason.ENDED:
        raise TranscodeError(f"{source_path.name}: packaging failed ({transcoder.close_reason})")
    top = transcoder.rendition(transcoder.ladder.top.name)
    if top is None or not top.segments:
        raise TranscodeError(f"{source_path.name}: no video was packaged")
    poster = f"{transcoder.prefix}/poster.jpg"
    return VodResult(
        transcoder.master_key,
        storage.url(transcoder.master_key),
        poster,
        storage.url(poster),
        sum(s.duration for s in top.segments),
        transcoder.ladder.top.width,
        transcoder.ladder.top.height,
    )
