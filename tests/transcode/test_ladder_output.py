"""A generated stream through the whole ladder: every rendition read back by ffprobe and the playlists
checked against Apple's HLS authoring rules."""

from __future__ import annotations

import asyncio
import math
import subprocess
from pathlib import Path

import av
import m3u8
import numpy as np
import pytest

from tests.transcode.conftest import concat, ffprobe_frames, ffprobe_streams, load_playlist
from transcode.errors import SourceError
from transcode.ladder import AUDIO_BIT_RATE, apple_bit_rate
from transcode.pattern import PatternSource
from transcode.storage import LocalStorage
from transcode.transcoder import AUDIO, PEAK_FACTOR, CloseReason, HlsOptions, Transcoder
from transcode.vod import package_vod

REQUIRED_MEDIA_TAGS = (
    "#EXT-X-TARGETDURATION",
    "#EXT-X-MAP",
    "#EXT-X-PROGRAM-DATE-TIME",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    "#EXT-X-MEDIA-SEQUENCE",
)


def check_ladder(root: Path, *, rungs: int, copy_top: bool, segment: float = 2.0) -> None:
    master_text = (root / "master.m3u8").read_text()
    master = m3u8.loads(master_text)
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in master_text
    assert len(master.playlists) == rungs
    starts: dict[str, list[float]] = {}
    for variant in master.playlists:
        info = variant.stream_info
        assert info.codecs.startswith("avc1.") and info.codecs.endswith(",mp4a.40.2")
        assert info.resolution and info.frame_rate == 30.0 and info.average_bandwidth and info.bandwidth
        name = variant.uri.split("/")[0]
        text = (root / variant.uri).read_text()
        for tag in (*REQUIRED_MEDIA_TAGS, "#EXT-X-ENDLIST", "#EXT-X-PLAYLIST-TYPE:VOD"):
            assert tag in text, (name, tag)
        playlist = load_playlist(root / variant.uri)
        assert playlist.target_duration == math.floor(segment + 0.5)
        durations = [s.duration for s in playlist.segments]
        assert all(d <= playlist.target_duration + 0.5 for d in durations)
        # the stream as a player appends it: every segment decodes and starts with an IDR
        media = concat(root / name, playlist, root / f"{name}.mp4")
        (stream,) = ffprobe_streams(media)
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", *info.resolution)
        frames = ffprobe_frames(media)
        assert int(str(stream["nb_read_frames"])) == len(frames) == round(sum(durations) * 30)
        keys = [f.time for f in frames if f.key]
        boundaries = [sum(durations[:i]) for i in range(len(durations))]
        assert keys == pytest.approx(boundaries, abs=0.002), name  # an IDR at each start, none elsewhere
        starts[name] = boundaries
        # Apple: measured average within 110 % of AVERAGE-BANDWIDTH, peak within 125 % of BANDWIDTH
        sizes = [(root / name / s.uri).stat().st_size * 8 for s in playlist.segments]
        audio = [
            (root / AUDIO / s.uri).stat().st_size * 8 / s.duration
            for s in load_playlist(root / AUDIO / "index.m3u8").segments
        ]
        peak = max(b / d for b, d in zip(sizes, durations, strict=True)) + max(audio)
        average = sum(sizes) / sum(durations) + sum(audio) / len(audio)
        assert average <= 1.1 * info.average_bandwidth, name
        assert peak <= 1.25 * info.bandwidth, name
        if not (copy_top and variant is master.playlists[0]):
            # an encoded rung keeps to the rates promised before a byte was measured
            rate = apple_bit_rate(*info.resolution)
            assert average <= 1.1 * (rate + AUDIO_BIT_RATE), name
            assert peak <= 1.25 * (PEAK_FACTOR * rate + AUDIO_BIT_RATE), name
    assert len({tuple(v) for v in starts.values()}) == 1, starts  # boundaries aligned across rungs
    (audio_stream,) = ffprobe_streams(
        concat(root / AUDIO, load_playlist(root / AUDIO / "index.m3u8"), root / "audio.mp4")
    )
    assert (audio_stream["codec_name"], audio_stream["sample_rate"], audio_stream["channels"]) == (
        "aac",
        "48000",
        2,
    )


@pytest.mark.parametrize("copy_top", [False, True], ids=["encoded", "remuxed-top"])
async def test_live_ladder_conforms(tmp_path: Path, copy_top: bool) -> None:
    storage = LocalStorage(tmp_path)
    source = PatternSource(720, 1280, duration=6.0, realtime=False, encoded=copy_top)
    transcoder = Transcoder(source, storage, "live/s1", HlsOptions(thumbnail_interval=2.5))
    assert await transcoder.run() is CloseReason.ENDED
    assert transcoder.ladder.top.copy is copy_top
    root = tmp_path / "live" / "s1"
    check_ladder(root, rungs=4, copy_top=copy_top)
    # the recording keeps every segment; parts are gone once the live ended
    assert not list(root.rglob("part*.m4s"))
    assert sorted(p.name for p in (root / "thumbs").iterdir()) == ["0.jpg", "1.jpg", "2.jpg"]
    assert (root / "poster.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


def _make_video(path: Path, seconds: int, size: str = "360x640", gop: int = 60) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=30:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=330:sample_rate=44100:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            str(gop),
            "-keyint_min",
            str(gop),
            "-sc_threshold",
            "0",
            "-c:a",
            "aac",
            "-shortest",
            "-y",
            str(path),
        ],
        check=True,
    )
    return path


async def test_package_vod_of_an_upload(tmp_path: Path) -> None:
    video = _make_video(tmp_path / "upload.mp4", 5)
    storage = LocalStorage(tmp_path / "media")
    result = await package_vod(video, storage, "videos/v1", segment_duration=2.0)
    assert (result.width, result.height) == (360, 640)
    assert result.duration == pytest.approx(5.0, abs=0.05)
    assert result.master_key == "videos/v1/master.m3u8" and result.master_url == "/hls/videos/v1/master.m3u8"
    assert (await storage.get(result.poster_key))[:3] == b"\xff\xd8\xff"
    check_ladder(tmp_path / "media" / "videos" / "v1", rungs=2, copy_top=True)


async def test_package_vod_rejects_a_file_that_is_not_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    storage = LocalStorage(tmp_path / "media")
    with pytest.raises(SourceError):
        await package_vod(junk, storage, "videos/v2")
    assert await storage.keys("videos") == []


async def test_a_source_without_audio_gets_a_video_only_ladder(tmp_path: Path) -> None:
    source = PatternSource(360, 640, duration=2.0, realtime=False, audio=False)
    transcoder = Transcoder(source, LocalStorage(tmp_path), "live/mute")
    assert await transcoder.run() is CloseReason.ENDED
    master = (tmp_path / "live/mute/master.m3u8").read_text()
    assert "EXT-X-MEDIA" not in master and "mp4a" not in master and "AUDIO=" not in master
    assert not (tmp_path / "live/mute" / AUDIO).exists()
    assert m3u8.loads(master).playlists[0].stream_info.codecs.startswith("avc1.")


async def test_storage_that_fails_ends_the_ladder_instead_of_hanging(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")  # every write under it fails with NotADirectoryError
    source = PatternSource(240, 432, duration=60.0, realtime=True)
    transcoder = Transcoder(source, LocalStorage(blocker), "live/broken")
    reason = await asyncio.wait_for(transcoder.run(), 10)
    assert reason is CloseReason.FAILED and transcoder.close_reason is CloseReason.FAILED


async def test_a_phone_video_with_a_display_matrix_is_packaged_upright(tmp_path: Path) -> None:
    # what a phone writes for a portrait video: landscape pixels and "rotate 90° counterclockwise"
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.set_display_rotation(90)
        for i in range(60):
            pixels = np.zeros((360, 640, 3), np.uint8)
            pixels[:60, :160] = 255  # a white block in the stored top-left corner
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    storage = LocalStorage(tmp_path / "media")
    result = await package_vod(path, storage, "videos/portrait", segment_duration=2.0)
    assert (result.width, result.height) == (360, 640)
    root = tmp_path / "media/videos/portrait"
    top = concat(root / "360p", load_playlist(root / "360p/index.m3u8"), tmp_path / "top.mp4")
    ours = _first_gray_frame(top, 360, 640)
    reference = _first_gray_frame(path, 360, 640)  # FFmpeg's own autorotate
    assert np.abs(ours.astype(int) - reference.astype(int)).mean() < 8
    assert ours[600:, :60].mean() > 200 and ours[:60, 300:].mean() < 50  # the block is bottom-left now


def _first_gray_frame(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width)
