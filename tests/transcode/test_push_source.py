"""The push-fed source (the engine adapter's base) through a live ladder owned by the app."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction
from pathlib import Path

from api.state import HLS
from tests.api.helpers import problem
from tests.conftest import AppFactory
from tests.transcode.conftest import concat, ffprobe_frames, load_playlist
from transcode.pattern import PatternSource
from transcode.pushsource import PushSource
from transcode.source import AccessUnit, Picture, Sound, SourceInfo
from transcode.storage import LocalStorage
from transcode.transcoder import CloseReason, HlsOptions, Transcoder


async def test_pushed_frames_make_a_ladder_and_app_shutdown_ends_it(make_client: AppFactory) -> None:
    client = await make_client(hls_segment_seconds=1.0)
    service = client.app[HLS]
    pattern = PatternSource(360, 640, duration=30.0, realtime=False, encoded=True, keyframe_interval=1.0)
    source = PushSource(SourceInfo(360, 640, Fraction(30), True, 1.0))
    transcoder = service.start_live("pushed", source)
    assert transcoder.ladder.top.copy
    pushed = 0
    async for item in pattern.items():
        if isinstance(item, Picture):
            source.push_picture(item.frame, item.time, item.keyframe)
            pushed += 1
            await asyncio.sleep(0)
            if pushed == 75:
                break
        elif isinstance(item, Sound):
            source.push_sound(item.frame, item.time)
        elif isinstance(item, AccessUnit):
            source.push_access_unit(item.data, item.time, item.keyframe)
    top = transcoder.rendition("360p")
    assert top is not None
    for _ in range(200):
        if top.segments:
            break
        await asyncio.sleep(0.02)
    assert top.segments and top.segments[0].duration == 1.0
    assert transcoder.running

    # The publisher stalls: a blocking reload for the next segment gives up after three target durations
    # with a 503 (RFC 8216bis §6.2.5.2), and a request for what exists returns at once.
    await asyncio.sleep(0.3)
    waiting = top.pending_msn + 1
    started = time.monotonic()
    await problem(await client.get(f"/hls/live/pushed/360p/index.m3u8?_HLS_msn={waiting}"), 503)
    assert 2.9 < time.monotonic() - started < 4.0
    started = time.monotonic()
    response = await client.get("/hls/live/pushed/360p/index.m3u8?_HLS_msn=0&_HLS_part=0")
    assert response.status == 200 and time.monotonic() - started < 0.5
    await client.close()  # the app closes the service, which stops the live
    assert not transcoder.running and transcoder.close_reason is CloseReason.SHUTDOWN
    assert top.ended and "#EXT-X-ENDLIST" in top.playlist_text


async def test_an_ended_live_leaves_the_service_and_its_recording_is_served(make_client: AppFactory) -> None:
    client = await make_client()
    service = client.app[HLS]
    transcoder = service.start_live("short", PatternSource(240, 432, duration=1.0, realtime=False))
    await transcoder.wait()
    assert service.live("short") is None and service.rendition("live/short/240p/index.m3u8") is None
    response = await client.get("/hls/live/short/240p/index.m3u8")
    assert response.status == 200 and "#EXT-X-ENDLIST" in await response.text()
    again = service.start_live("short2", PatternSource(240, 432, duration=1.0, realtime=False))
    assert service.live("short2") is again
    await again.wait()


async def test_a_publisher_joined_mid_gop_starts_every_rung_at_its_first_idr(tmp_path: Path) -> None:
    pattern = PatternSource(360, 640, duration=3.5, realtime=False, encoded=True, keyframe_interval=1.0)
    source = PushSource(SourceInfo(360, 640, Fraction(30), False, 1.0), capacity=1000)
    items = [item async for item in pattern.items()]
    for item in items[10:]:  # the first third of a second (and its IDR) never reached us
        if isinstance(item, Picture):
            source.push_picture(item.frame, item.time, item.keyframe)
        elif isinstance(item, AccessUnit):
            source.push_access_unit(item.data, item.time, item.keyframe)
    source.end()
    transcoder = Transcoder(source, LocalStorage(tmp_path), "live/late", HlsOptions(segment_duration=1.0))
    assert await transcoder.run() is CloseReason.ENDED
    starts = {}
    for name in ("360p", "240p"):
        playlist = load_playlist(tmp_path / "live/late" / name / "index.m3u8")
        frames = ffprobe_frames(concat(tmp_path / "live/late" / name, playlist, tmp_path / f"{name}.mp4"))
        starts[name] = [f.time for f in frames if f.key]
        assert len(frames) == 75  # from the IDR at 1.0 s to the end at 3.5 s
    assert starts["360p"] == starts["240p"] and len(starts["240p"]) == 3
