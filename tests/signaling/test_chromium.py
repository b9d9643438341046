"""Debian's Chromium publishes camera and microphone over WHIP on one page and plays over WHEP on another."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from tests.api.helpers import Client
from tests.data.capture_offers import CHROMIUM_ARGS
from tests.signaling.conftest import engine_of, token

PUBLISH_JS = """async ({url, token}) => {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360}, audio: true});
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(url, {method: 'POST', body: pc.localDescription.sdp,
    headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token}});
  if (response.status !== 201) throw new Error(response.status + ' ' + await response.text());
  await pc.setRemoteDescription({type: 'answer', sdp: await response.text()});
  window.pc = pc;
  return response.headers.get('Location');
}"""

PLAY_JS = """async ({url}) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.addTransceiver('audio', {direction: 'recvonly'});
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(url, {method: 'POST', body: pc.localDescription.sdp,
    headers: {'Content-Type': 'application/sdp'}});
  if (response.status !== 201) throw new Error(response.status + ' ' + await response.text());
  await pc.setRemoteDescription({type: 'answer', sdp: await response.text()});
  window.pc = pc;
  return response.headers.get('Location');
}"""

STATS_JS = """async () => {
  const out = {framesDecoded: 0, audioPackets: 0, codec: null};
  const stats = await window.pc.getStats();
  stats.forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.framesDecoded = s.framesDecoded || 0;
      out.codec = s.codecId && stats.get(s.codecId) ? stats.get(s.codecId).mimeType : null;
    }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPackets = s.packetsReceived || 0;
  });
  return out;
}"""


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def test_chromium_publishes_and_plays(media: Client, chromium: Browser) -> None:
    base = str(media.make_url("/"))
    publisher = await chromium.new_page()
    await publisher.goto(base)
    await publisher.evaluate(
        PUBLISH_JS, {"url": base + "whip/live-1", "token": token(media, "live-1", publish=True)}
    )
    producers: dict[str, Any] = {}
    for _ in range(100):
        sessions = engine_of(media).sessions()
        producers = {p.kind: p for s in sessions for p in s.producers.values()}
        if producers.get("video") and producers["video"].packets > 10:
            break
        await asyncio.sleep(0.1)
    assert set(producers) == {"audio", "video"}

    viewer = await chromium.new_page()
    await viewer.goto(base)
    location = await viewer.evaluate(PLAY_JS, {"url": base + "whep/live-1"})
    assert location.startswith("/whep/live-1/sessions/")
    stats: dict[str, Any] = {}
    for _ in range(100):
        stats = await viewer.evaluate(STATS_JS)
        if stats["framesDecoded"] >= 30 and stats["audioPackets"] >= 50:
            break
        await asyncio.sleep(0.1)
    assert stats["framesDecoded"] >= 30, stats
    assert stats["audioPackets"] >= 50, stats
    assert stats["codec"] == producers["video"].codec.mimeType
    assert not producers["video"].decoding  # forwarded as it came in: nothing decoded on the server
    await viewer.close()
    await publisher.close()


async def wait_decoded(page: Any, frames: int, within_s: float) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for _ in range(int(within_s * 10)):
        stats = await page.evaluate(STATS_JS)
        if stats["framesDecoded"] >= frames:
            break
        await asyncio.sleep(0.1)
    return stats


async def test_chromium_starts_on_the_cached_keyframe(media: Client, chromium: Browser,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A second Chromium viewer arrives while the publisher may not be asked for another keyframe yet (the
    interval is widened to 3 s here so the timing is certain): it decodes the cached keyframe at once, gets
    nothing until the fresh one, then plays on, so Chromium takes the jump in numbering and time."""
    import engine.producer

    monkeypatch.setattr(engine.producer, "PLI_INTERVAL_S", 3.0)
    monkeypatch.setattr(engine.producer, "KEYFRAME_MAX_AGE_S", 6.0)
    base = str(media.make_url("/"))
    publisher = await chromium.new_page()
    await publisher.goto(base)
    await publisher.evaluate(
        PUBLISH_JS, {"url": base + "whip/live-2", "token": token(media, "live-2", publish=True)}
    )
    first = await chromium.new_page()
    await first.goto(base)
    await first.evaluate(PLAY_JS, {"url": base + "whep/live-2"})
    assert (await wait_decoded(first, 5, 10))["framesDecoded"] >= 5
    second = await chromium.new_page()
    await second.goto(base)
    location = await second.evaluate(PLAY_JS, {"url": base + "whep/live-2"})
    consumer = engine_of(media).session(location.rsplit("/", 1)[-1]).consumers["video"]
    stats = await wait_decoded(second, 1, 3)
    assert stats["framesDecoded"] >= 1 and consumer.cached_keyframes == 1 and consumer.waiting_keyframe, stats
    stats = await wait_decoded(second, 30, 15)
    assert stats["framesDecoded"] >= 30 and not consumer.waiting_keyframe, stats
    for page in (second, first, publisher):
        await page.close()
