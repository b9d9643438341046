"""hls.js (from npm, served from web/) plays our ladder in headless Chromium: a live in LL-HLS mode, and the
recording it leaves behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from api.state import HLS
from tests.conftest import ROOT, AppFactory
from transcode.pattern import PatternSource

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert (ROOT / "web/static/vendor/hls.min.js").exists(), "hls.js is not built: run `make web`"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def _play(page: Page, url: str, frames: int, within: float = 20.0) -> dict[str, Any]:
    await page.goto(url)
    deadline = time.monotonic() + within
    while True:
        state: dict[str, Any] = await page.evaluate(
            "({frames: player.frames(), errors: player.errors, levels: player.levels,"
            " latency: player.latency, target: player.hls ? player.hls.targetLatency : null,"
            " ll: player.hls ? player.hls.lowLatencyMode : null,"
            " live: player.hls && player.hls.levels.length ?"
            " !!(player.hls.levels[player.hls.currentLevel] || player.hls.levels[0]).details?.live : null})"
        )
        assert not state["errors"], state
        if state["frames"] >= frames:
            return state
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.2)


async def test_hlsjs_plays_the_live_in_low_latency_mode_and_then_the_recording(
    make_client: AppFactory, browser: Browser
) -> None:
    client = await make_client(hls_segment_seconds=1.0, hls_part_seconds=0.25)
    service = client.app[HLS]
    transcoder = service.start_live("play", PatternSource(360, 640, duration=10.0, realtime=True, encoded=True))
    low = transcoder.rendition("240p")
    assert low is not None
    deadline = time.monotonic() + 10
    while len(low.segments) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{client.server.port}"
    page = await browser.new_page()
    live = await _play(page, f"{base}/static/hls.html?src=/hls/live/play/master.m3u8&ll=1", frames=45)
    assert live["levels"] == 2 and live["ll"] is True and live["live"] is True
    # hls.js aims at PART-HOLD-BACK (0.75 s here), not the 3 target durations of plain HLS
    assert live["target"] is not None and live["target"] < 1.5, live
    assert live["latency"] is not None and live["latency"] < 4.0, live  # seconds behind the live edge
    await page.close()

    await service.stop_live("play")
    page = await browser.new_page()
    replay = await _play(page, f"{base}/static/hls.html?src=/hls/live/play/master.m3u8", frames=60)
    assert replay["live"] is False
    await page.close()
