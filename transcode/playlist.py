"""HLS playlist writers (RFC 8216 and draft-pantos-hls-rfc8216bis for LL-HLS): pure functions, no I/O.

FFmpeg's hls muxer leaves out AVERAGE-BANDWIDTH, FRAME-RATE and the LL-HLS tags, so the playlists are ours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Part:
    uri: str
    duration: float
    independent: bool  # starts with an IDR (EXT-X-PART INDEPENDENT=YES)


@dataclass(frozen=True)
class Segment:
    msn: int  # media sequence number
    uri: str
    duration: float
    program_date_time: datetime
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True)
class RenditionReport:
    uri: str
    last_msn: int
    last_part: int | None


@dataclass(frozen=True)
class MediaPlaylist:
    target_duration: float  # the configured segment duration
    init_uri: str
    segments: tuple[Segment, ...]
    part_target: float | None = None  # LL-HLS when set
    pending_parts: tuple[Part, ...] = ()  # parts of the segment being written
    pending_msn: int = 0
    pending_date_time: datetime | None = None
    preload_hint: str | None = None
    rendition_reports: tuple[RenditionReport, ...] = ()
    ended: bool = False
    vod: bool = False
    part_window: float = 0.0  # seconds of parts listed before the live edge (RFC 8216bis §4.4.4.9)


def _decimal(value: float, places: int = 5) -> str:
    return f"{value:.{places}f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"


def _date(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _part_line(part: Part) -> str:
    line = f'#EXT-X-PART:DURATION={_decimal(part.duration)},URI="{part.uri}"'
    return line + (",INDEPENDENT=YES" if part.independent else "")


def target_duration(playlist: MediaPlaylist) -> int:
    """EXT-X-TARGETDURATION: no EXTINF, rounded to the nearest integer, may exceed it (RFC 8216 §4.3.3.1)."""
    longest = max([s.duration for s in playlist.segments] + [playlist.target_duration])
    return max(1, math.floor(longest + 0.5))


def media_playlist(playlist: MediaPlaylist) -> str:
    target = target_duration(playlist)
    version = 9 if playlist.part_target else 7
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", f"#EXT-X-TARGETDURATION:{target}"]
    if playlist.vod:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    first_msn = playlist.segments[0].msn if playlist.segments else playlist.pending_msn
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first_msn}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    live_ll = playlist.part_target is not None and not playlist.ended
    if live_ll:
        assert playlist.part_target is not None
        # PART-HOLD-BACK at least three part targets (§4.4.3.8); blocking reload is served by the app.
        lines.append(f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={_decimal(3 * playlist.part_target)}")
        lines.append(f"#EXT-X-PART-INF:PART-TARGET={_decimal(playlist.part_target)}")
    lines.append(f'#EXT-X-MAP:URI="{playlist.init_uri}"')
    # Parts are listed only for the last part_window seconds (§4.4.4.9: older ones may be removed).
    cutoff = math.fsum(s.duration for s in playlist.segments) - playlist.part_window  # the listed window only
    elapsed = 0.0
    for segment in playlist.segments:
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_date(segment.program_date_time)}")
        if live_ll and elapsed + segment.duration > cutoff:
            lines.extend(_part_line(p) for p in segment.parts)
        lines.append(f"#EXTINF:{_decimal(segment.duration)},")
        lines.append(segment.uri)
        elapsed += segment.duration
    if live_ll:
        if playlist.pending_parts and playlist.pending_date_time is not None and not playlist.segments:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_date(playlist.pending_date_time)}")
        lines.extend(_part_line(p) for p in playlist.pending_parts)
        if playlist.preload_hint:
            lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{playlist.preload_hint}"')
        for report in playlist.rendition_reports:
            attrs = f'URI="{report.uri}",LAST-MSN={report.last_msn}'
            if report.last_part is not None:
                attrs += f",LAST-PART={report.last_part}"
            lines.append(f"#EXT-X-RENDITION-REPORT:{attrs}")
    if playlist.ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int  # peak, bit/s
    average_bandwidth: int
    codecs: str
    width: int
    height: int
    frame_rate: float
    audio_group: str | None = None


@dataclass(frozen=True)
class AudioRendition:
    uri: str
    group: str
    name: str
    channels: int
    language: str | None = None


@dataclass(frozen=True)
class MultivariantPlaylist:
    variants: Sequence[Variant]
    audio: Sequence[AudioRendition] = field(default_factory=tuple)


def multivariant_playlist(playlist: MultivariantPlaylist) -> str:
    """The multivariant playlist (RFC 8216 §4.3.4.2 and the authoring spec's required attributes)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for audio in playlist.audio:
        attrs = f'TYPE=AUDIO,GROUP-ID="{audio.group}",NAME="{audio.name}",DEFAULT=YES,AUTOSELECT=YES'
        if audio.language:
            attrs += f',LANGUAGE="{audio.language}"'
        attrs += f',CHANNELS="{audio.channels}",URI="{audio.uri}"'
        lines.append(f"#EXT-X-MEDIA:{attrs}")
    for v in playlist.variants:
        attrs = (
            f"BANDWIDTH={v.bandwidth},AVERAGE-BANDWIDTH={v.average_bandwidth},"
            f'CODECS="{v.codecs}",RESOLUTION={v.width}x{v.height},FRAME-RATE={v.frame_rate:.3f}'
        )
        if v.audio_group:
            attrs += f',AUDIO="{v.audio_group}"'
        lines.append(f"#EXT-X-STREAM-INF:{attrs}")
        lines.append(v.uri)
    return "\n".join(lines) + "\n"
