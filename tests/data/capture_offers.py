"""Re-capture the SDP offers in this directory: ``python -m tests.data.capture_offers``.

FFmpeg's WHIP muxer (inside PyAV) and Chromium (via Playwright, fake camera and microphone) each send one
offer to a loopback server that stores the body and answers 503.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web
from playwright.async_api import async_playwright

HERE = Path(__file__).parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
OFFER_JS = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange =
    () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 3000); });
  return pc.localDescription.sdp;
}"""


async def main() -> None:
    offers: list[bytes] = []

    async def store(request: web.Request) -> web.Response:
        offers.append(await request.read())
        return web.Response(status=503)

    app = web.Application()
    app.router.add_post("/whip/{stream}", store)

    async def blank(_request: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    app.router.add_get("/", blank)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.signaling.ffmpeg_whip",
        f"http://127.0.0.1:{port}/whip/x",
        "t",
        "1",
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()
    (HERE / "ffmpeg_whip_offer.sdp").write_bytes(offers[-1])
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{port}/")
        sdp = await page.evaluate(OFFER_JS)
        await browser.close()
    (HERE / "chromium_whip_offer.sdp").write_bytes(sdp.encode())
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
