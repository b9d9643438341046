"""A live ladder served by the app: LL-HLS playlists, blocking playlist reload, gzip, headers, errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import m3u8

from api.state import HLS
from tests.api.helpers import problem
from tests.conftest import AppFactory
from transcode.pattern import PatternSource
from transcode.rendition import Rendition
from transcode.storage import LocalStorage


async def _until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_ll_hls_live_with_blocking_reload(make_client: AppFactory, tmp_path: Path) -> None:
    client = await make_client(hls_segment_seconds=1.0, hls_part_seconds=0.25, hls_live_window=4)
    service = client.app[HLS]
    storage = service.storage
    assert isinstance(storage, LocalStorage)
    transcoder = service.start_live("s1", PatternSource(360, 640, duration=7.0, realtime=True, encoded=True))
    low = transcoder.rendition("240p")
    assert isinstance(low, Rendition)

    await _until(lambda: len(low.segments) >= 1 and (storage.root / "live/s1/master.m3u8").exists())
    master = await client.get("/hls/live/s1/master.m3u8")
    assert master.status == 200 and master.headers["Cache-Control"] == "no-cache"
    assert master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert len(m3u8.loads(await master.text()).playlists) == 2

    # Blocking reload of the next part: it returns as soon as that part is written, and lists it.
    msn, part = low.pending_msn, len(low.pending)
    part_path = storage.root / f"live/s1/240p/part{msn}.{part}.m4s"
    assert not part_path.exists()
    asked = time.time()
    response = await client.get(
        f"/hls/live/s1/240p/index.m3u8?_HLS_msn={msn}&_HLS_part={part}", headers={"Accept-Encoding": "gzip"}
    )
    answered = time.time()
    assert response.status == 200 and response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=6"  # six target durations, for a CDN
    text = await response.text()
    assert f'URI="part{msn}.{part}.m4s"' in text
    written = part_path.stat().st_mtime
    assert asked < written <= answered, (asked, written, answered)
    # held until the part arrived and not past it: answered well within a part duration of it
    assert answered - written < 0.25, answered - written
    assert f"part{msn}.{part + 2}.m4s" not in text and f"part{msn + 1}.1.m4s" not in text

    # A few segments on, the live playlist carries the LL-HLS tags and parts of the last 3 target durations.
    # wait on what is served (the playlist text), not on the segment list, which is appended first
    await _until(lambda: "seg4.m4s" in low.playlist_text)
    playlist = m3u8.loads(await (await client.get("/hls/live/s1/240p/index.m3u8")).text())
    assert playlist.server_control.can_block_reload == "YES"
    assert playlist.server_control.part_hold_back >= 3 * playlist.part_inf.part_target
    assert playlist.preload_hint is not None and playlist.preload_hint.hint_type == "PART"
    assert {r.uri for r in playlist.rendition_reports} == {"../360p/index.m3u8", "../audio/index.m3u8"}
    # m3u8 puts the parts of the segment being written into a last Segment without a URI
    complete = [s for s in playlist.segments if s.uri]
    assert len(complete) == 4  # the live window
    parts = [p for s in playlist.segments for p in s.parts]
    assert parts and all(p.duration <= playlist.part_inf.part_target for p in parts)
    with_parts = [s for s in complete if s.parts]
    assert 1 <= len(with_parts) <= 3 and with_parts[-1] is complete[-1]
    assert not complete[0].parts
    first_listed = int(complete[0].uri.removeprefix("seg").removesuffix(".m4s"))
    assert first_listed > 0

    segment = await client.get(f"/hls/live/s1/240p/{complete[-1].uri}")
    assert segment.status == 200 and segment.headers["Content-Type"] == "video/iso.segment"
    assert "max-age=31536000" in segment.headers["Cache-Control"]
    assert (await client.get("/hls/live/s1/240p/init.mp4")).headers["Content-Type"] == "video/mp4"
    # parts that left the window are deleted from storage
    assert not (storage.root / "live/s1/240p/part0.0.m4s").exists()

    # Bad reload parameters are a 400 problem and change nothing.
    await problem(await client.get("/hls/live/s1/240p/index.m3u8?_HLS_part=1"), 400)
    await problem(await client.get(f"/hls/live/s1/240p/index.m3u8?_HLS_msn={low.pending_msn + 5}"), 400)
    await problem(await client.get("/hls/live/s1/240p/index.m3u8?_HLS_msn=x"), 422)
    await problem(await client.get("/hls/live/s1/..%2F..%2Fjwt_secret"), 404)
    await problem(await client.get("/hls/live/nope/240p/index.m3u8"), 404)

    # The ladder's latency is on the app's /metrics.
    metrics = await (await client.get("/metrics")).text()
    count = next(line for line in metrics.splitlines() if line.startswith("mixillo_hls_part_latency_seconds_count"))
    assert float(count.split()[-1]) > 30

    # Ending the live turns every media playlist into the recording.
    await service.stop_live("s1")
    vod = m3u8.loads(await (await client.get("/hls/live/s1/240p/index.m3u8")).text())
    assert vod.is_endlist and vod.playlist_type == "vod" and vod.segments[0].uri == "seg0.m4s"
    assert not list((storage.root / "live/s1").rglob("part*.m4s"))
