"""Wire formats as pure functions: playlists on expected text; the box writer and H.264 helpers on real
bytes."""

from __future__ import annotations

import struct
import subprocess
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import m3u8
import numpy as np
import pytest

from transcode import fmp4, h264
from transcode.encoder import EncodedSample
from transcode.errors import StorageError
from transcode.ladder import apple_bit_rate, ladder_for
from transcode.playlist import (
    AudioRendition,
    MediaPlaylist,
    MultivariantPlaylist,
    Part,
    RenditionReport,
    Segment,
    Variant,
    media_playlist,
    multivariant_playlist,
)
from transcode.segmenter import ChunkOut, Segmenter, SegmentOut
from transcode.storage import cache_control, check_key, media_type

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _segment(msn: int, parts: int = 4) -> Segment:
    return Segment(
        msn,
        f"seg{msn}.m4s",
        2.0,
        datetime(2026, 1, 2, 3, 4, 5 + 2 * msn, tzinfo=UTC),
        tuple(Part(f"part{msn}.{i}.m4s", 0.5, i == 0) for i in range(parts)),
    )


def test_ll_hls_media_playlist_text() -> None:
    playlist = MediaPlaylist(
        2.0,
        "init.mp4",
        (_segment(0), _segment(1), _segment(2), _segment(3)),
        part_target=0.5,
        pending_parts=(Part("part4.0.m4s", 0.5, True),),
        pending_msn=4,
        preload_hint="part4.1.m4s",
        rendition_reports=(RenditionReport("../audio/index.m3u8", 4, 0),),
        part_window=6.0,
    )
    assert media_playlist(playlist) == "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:9",
            "#EXT-X-TARGETDURATION:2",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5",
            "#EXT-X-PART-INF:PART-TARGET=0.5",
            '#EXT-X-MAP:URI="init.mp4"',
            "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.000Z",
            "#EXTINF:2.0,",
            "seg0.m4s",
            "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:07.000Z",
            '#EXT-X-PART:DURATION=0.5,URI="part1.0.m4s",INDEPENDENT=YES',
            '#EXT-X-PART:DURATION=0.5,URI="part1.1.m4s"',
            '#EXT-X-PART:DURATION=0.5,URI="part1.2.m4s"',
            '#EXT-X-PART:DURATION=0.5,URI="part1.3.m4s"',
            "#EXTINF:2.0,",
            "seg1.m4s",
            "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:09.000Z",
            '#EXT-X-PART:DURATION=0.5,URI="part2.0.m4s",INDEPENDENT=YES',
            '#EXT-X-PART:DURATION=0.5,URI="part2.1.m4s"',
            '#EXT-X-PART:DURATION=0.5,URI="part2.2.m4s"',
            '#EXT-X-PART:DURATION=0.5,URI="part2.3.m4s"',
            "#EXTINF:2.0,",
            "seg2.m4s",
            "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:11.000Z",
            '#EXT-X-PART:DURATION=0.5,URI="part3.0.m4s",INDEPENDENT=YES',
            '#EXT-X-PART:DURATION=0.5,URI="part3.1.m4s"',
            '#EXT-X-PART:DURATION=0.5,URI="part3.2.m4s"',
            '#EXT-X-PART:DURATION=0.5,URI="part3.3.m4s"',
            "#EXTINF:2.0,",
            "seg3.m4s",
            '#EXT-X-PART:DURATION=0.5,URI="part4.0.m4s",INDEPENDENT=YES',
            '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part4.1.m4s"',
            '#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=4,LAST-PART=0',
            "",
        ]
    )
    parsed = m3u8.loads(media_playlist(playlist))
    assert parsed.server_control.can_block_reload == "YES"
    assert parsed.part_inf.part_target == 0.5
    assert parsed.preload_hint.uri == "part4.1.m4s"
    assert parsed.rendition_reports[0].last_msn == 4


def test_vod_playlist_ends_and_lists_no_parts() -> None:
    text = media_playlist(MediaPlaylist(2.0, "init.mp4", (_segment(0), _segment(1)), ended=True, vod=True))
    assert "#EXT-X-PLAYLIST-TYPE:VOD\n" in text and text.endswith("#EXT-X-ENDLIST\n")
    assert "EXT-X-PART" not in text and "SERVER-CONTROL" not in text and "PRELOAD" not in text
    parsed = m3u8.loads(text)
    assert parsed.is_endlist and parsed.playlist_type == "vod" and len(parsed.segments) == 2


def test_target_duration_rounds_the_longest_segment() -> None:
    long = Segment(0, "seg0.m4s", 2.6, T0)
    assert "#EXT-X-TARGETDURATION:3\n" in media_playlist(MediaPlaylist(2.0, "init.mp4", (long,)))


def test_multivariant_playlist_text() -> None:
    text = multivariant_playlist(
        MultivariantPlaylist(
            [Variant("720p/index.m3u8", 4_028_000, 3_128_000, "avc1.64001F,mp4a.40.2", 720, 1280, 30.0, "aac")],
            [AudioRendition("audio/index.m3u8", "aac", "default", 2)],
        )
    )
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="default",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",'
        'URI="audio/index.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=4028000,AVERAGE-BANDWIDTH=3128000,CODECS="avc1.64001F,mp4a.40.2",'
        'RESOLUTION=720x1280,FRAME-RATE=30.000,AUDIO="aac"\n'
        "720p/index.m3u8\n"
    )
    variant = m3u8.loads(text).playlists[0]
    assert variant.stream_info.average_bandwidth == 3_128_000 and variant.stream_info.frame_rate == 30.0


def test_ladder_of_a_vertical_720p_live() -> None:
    ladder = ladder_for(720, 1280, Fraction(30), copy_top=True)
    assert [(r.name, r.width, r.height, r.copy) for r in ladder.rungs] == [
        ("720p", 720, 1280, True),
        ("480p", 480, 854, False),
        ("360p", 360, 640, False),
        ("240p", 240, 426, False),
    ]
    assert ladder.rungs[0].bit_rate == 3_000_000  # Apple's 1280x720 row
    assert ladder.rungs[2].bit_rate == 365_000  # Apple's 640x360 row
    assert [r.bit_rate for r in ladder.rungs] == sorted((r.bit_rate for r in ladder.rungs), reverse=True)
    assert ladder.audio_bit_rate == 128_000
    landscape = ladder_for(1920, 1080, Fraction(30))
    assert [(r.width, r.height) for r in landscape.rungs] == [
        (1920, 1080),
        (1280, 720),
        (854, 480),
        (640, 360),
    ]
    assert apple_bit_rate(1920, 1080) == 6_000_000


def _x264_access_units(frames: int = 3, size: int = 64) -> list[bytes]:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = size, size, "yuv420p", Fraction(1, 30)
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency"}
    out: list[bytes] = []
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(np.full((size * 3 // 2, size), i * 40, np.uint8), format="yuv420p")
        frame.pts = i
        out.extend(bytes(p) for p in ctx.encode(frame))
    out.extend(bytes(p) for p in ctx.encode(None))
    return out


def test_annexb_to_avcc_on_x264_output() -> None:
    units = _x264_access_units()
    first = h264.split_annexb(units[0])
    assert [h264.nal_type(u) for u in first][:2] == [h264.NAL_SPS, h264.NAL_PPS]
    assert h264.is_idr(first) and not h264.is_idr(h264.split_annexb(units[1]))
    sets = h264.parameter_sets(first)
    assert sets is not None and sets.codec.startswith("avc1.")
    sample = h264.to_sample(first)
    length = struct.unpack(">I", sample[:4])[0]
    assert h264.nal_type(sample[4:5]) in (h264.NAL_SEI, h264.NAL_IDR) and len(sample) >= length + 4
    record = sets.avcc()
    assert record[0] == 1 and record[4] == 0xFF and record[5] == 0xE1


def test_init_and_fragments_are_read_by_ffprobe(tmp_path: Path) -> None:
    units = [h264.split_annexb(u) for u in _x264_access_units(5)]
    sets = h264.parameter_sets(units[0])
    assert sets is not None
    init = fmp4.init_segment(fmp4.VideoTrack(64, 64, sets.avcc()))
    samples = [fmp4.Sample(h264.to_sample(u), 3000, h264.is_idr(u)) for u in units]
    media = init + fmp4.fragment(1, 0, samples[:2]) + fmp4.fragment(2, 6000, samples[2:])
    path = tmp_path / "track.mp4"
    path.write_bytes(media)
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "csv=p=0",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "h264,64,64,5"
    assert fmp4.audio_specific_config(48000, 2) == b"\x11\x90"


def test_keys_types_and_cache_policy() -> None:
    assert media_type("live/a/720p/index.m3u8") == "application/vnd.apple.mpegurl"
    assert media_type("live/a/720p/seg1.m4s") == "video/iso.segment"
    assert media_type("live/a/720p/init.mp4") == "video/mp4"
    assert cache_control("live/a/720p/index.m3u8") == "no-cache"
    assert "max-age=31536000" in cache_control("live/a/720p/part1.2.m4s")
    for bad in ("", "/etc/passwd", "live/../x", "live//x", "a\\b"):
        try:
            check_key(bad)
        except StorageError:
            continue
        raise AssertionError(bad)


def test_copied_h264_keeps_new_parameter_sets_in_band() -> None:
    from transcode.encoder import VideoCopy
    from transcode.ladder import Rung

    first, second = _x264_access_units(2), _x264_access_units(2)
    copier = VideoCopy(Rung("64p", 64, 64, 100_000, copy=True))
    (sample,) = copier.remux(first[0], 0, 0)
    assert not copier.changed and h264.NAL_SPS not in _nal_types(sample.data)
    # the same stream again: its SPS matches, parameter sets stay out of band
    copier.remux(second[0], 3000, 3000)
    assert not copier.changed
    other = _x264_access_units(2, size=128)
    (sample,) = copier.remux(other[0], 6000, 6000)
    assert copier.changed and h264.NAL_SPS in _nal_types(sample.data)


def _nal_types(sample: bytes) -> list[int]:
    types = []
    at = 0
    while at < len(sample):
        length = struct.unpack(">I", sample[at : at + 4])[0]
        types.append(h264.nal_type(sample[at + 4 : at + 5]))
        at += 4 + length
    return types


@pytest.mark.parametrize(
    ("fps", "frames_per_part"), [(Fraction(30), 15), (Fraction(30000, 1001), 14), (Fraction(25), 12)]
)
def test_parts_never_exceed_the_part_target(fps: Fraction, frames_per_part: int) -> None:
    tick = round(90_000 / fps)
    segmenter = Segmenter(90_000, tick, 45_000)  # 0.5 s parts
    outputs = []
    for i in range(int(fps * 4)):
        sample = EncodedSample(b"\x00\x00\x00\x01\x65", i * tick, i * tick, i % int(fps * 2) == 0)
        outputs.extend(segmenter.push(sample, sample.sync))
    parts = [o for o in outputs if isinstance(o, ChunkOut)]
    assert parts and all(p.duration <= 45_000 for p in parts)
    assert parts[0].duration == frames_per_part * tick and parts[0].independent and not parts[1].independent
    segments = [o for o in outputs if isinstance(o, SegmentOut)]
    assert segments[0].data == b"".join(p.data for p in segments[0].parts)
