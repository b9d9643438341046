"""The web console end to end in Debian's Chromium (Playwright, fake camera and microphone).

A broadcaster signs in on ``/live`` and goes live (WHIP from ``getUserMedia``). A viewer asks on their page
to join the stage; the broadcaster accepts (the guest's camera goes up over WHIP) and kicks them. The
broadcaster challenges a second host (live over REST), who declines; that host challenges them back and
they accept on the page. A viewer with coins opens ``/watch/<id>``, decodes the video over WHEP, chats,
sends a gift from the picker and sees the balance drop by its price; the broadcaster's page shows the gift
(name and animation name) and the new PK score. The broadcaster pins a new product, the viewer buys it, the
viewer switches to HLS, and the broadcaster ends the live. Screenshots of both pages are kept in
``artifacts/e2e/``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import expect as page_expect

from api.economy.catalog import seed_catalog
from api.state import DATABASE
from tests.api.helpers import Client, bearer
from tests.conftest import AppFactory
from tests.data.capture_offers import CHROMIUM_ARGS
from tests.live.conftest import coins, creator, fan, go_live

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
VENDOR = ROOT / "web" / "static" / "vendor"
PASSWORD = "correct horse battery"  # tests.api.helpers.register's
GIFT, PRICE = "heart", 5  # api.economy.catalog.GIFTS: Heart, 5 coins, animation heart.json
UI_WAIT_MS = 15_000
HLS_STATE_JS = """() => { const p = window.console_state.player, v = document.querySelector('#video');
  return {mode: window.console_state.mode, levels: p.hls ? p.hls.levels.length : null, ready: v.readyState,
          time: v.currentTime, paused: v.paused, error: document.querySelector('#error').textContent,
          hls: p.errors}; }"""

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium (scripts/system-deps.sh installs it)"),
    pytest.mark.timeout(90),
]


@pytest.fixture
async def console_app(make_client: AppFactory) -> Client:
    client = await make_client(pk_countdown_s=0)
    async with client.app[DATABASE].write() as conn:
        await seed_catalog(conn)
    return client


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    missing = [name for name in ("hls.min.js", "socket.io.esm.min.js") if not (VENDOR / name).is_file()]
    assert not missing, f"web/static/vendor lacks {missing}: run `make web`"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def open_page(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """A page in its own context (its own sessionStorage: a different signed-in user), and the errors its
    scripts report (shown when an assertion fails)."""
    page = await (await browser.new_context(viewport={"width": 1100, "height": 800})).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None)
    await page.goto(url)
    return page, errors


async def sign_in(page: Page, session: dict[str, Any]) -> None:
    await page.fill("#signin [name=login]", session["user"]["username"])
    await page.fill("#signin [name=password]", PASSWORD)
    await page.click("#signin button[type=submit]")
    await page_expect(page.locator("#whoami")).to_contain_text(session["user"]["username"], timeout=UI_WAIT_MS)


async def frames_decoded(page: Page, at_least: int, wait_s: float) -> int:
    deadline = time.monotonic() + wait_s
    frames = 0
    while time.monotonic() < deadline:
        frames = int(await page.evaluate(
            "async () => window.console_state.player ? await window.console_state.player.framesDecoded() : 0"))
        if frames >= at_least:
            break
        await asyncio.sleep(0.2)
    return frames


async def test_broadcaster_goes_live_and_sees_a_viewers_gift_and_pk_score(
    console_app: Client, chromium: Browser
) -> None:
    client = console_app
    base = str(client.make_url("/")).rstrip("/")
    host, rival, viewer = await creator(client), await creator(client), await fan(client, coins=50)
    guest = await fan(client)
    rival_stream = (await go_live(client, rival, title="Rival show"))["stream"]["id"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # The broadcaster signs in on /live and goes live: camera and microphone over WHIP.
    studio, _ = await open_page(chromium, f"{base}/live")
    try:
        await sign_in(studio, host)
        await studio.fill("#create [name=title]", "Console test")
        await studio.click("#create button[type=submit]")
        await page_expect(studio.locator("#status")).to_contain_text("On air", timeout=UI_WAIT_MS)
        stream = await studio.evaluate("window.console_state.live.id")
        assert stream and stream != rival_stream

        # A viewer asks on their page to come on stage; the broadcaster accepts, the guest's camera goes up
        # over WHIP with the ticket the socket brings, and the broadcaster kicks them. (Before the PK battle:
        # a battle's program has exactly two hosts, and seating a guest during one is refused.)
        stage, _ = await open_page(chromium, f"{base}/watch/{stream}")
        await sign_in(stage, guest)
        await stage.click("#stage-request")
        await page_expect(stage.locator("#stage")).to_have_text("Asked the host…", timeout=UI_WAIT_MS)
        name = guest["user"]["username"]
        await studio.click(f"#requests li:has-text('{name}') button:has-text('Accept')", timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#guests li")).to_contain_text(name, timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#requests li")).to_have_count(0)
        await page_expect(stage.locator("#stage")).to_have_text("On stage", timeout=UI_WAIT_MS)
        await studio.click("#guests li button:has-text('Kick')")
        await page_expect(studio.locator("#guests li")).to_have_count(0, timeout=UI_WAIT_MS)
        await page_expect(stage.locator("#stage")).not_to_have_text("On stage", timeout=UI_WAIT_MS)
        await stage.close()

        # The broadcaster challenges the rival on the page; the rival declines over REST.
        await studio.fill("#pk-invite [name=opponent]", rival_stream)
        await studio.click("#pk-invite button[type=submit]")
        await page_expect(studio.locator("#pk-state")).to_have_text("invited", timeout=UI_WAIT_MS)
        declined = await studio.evaluate("window.console_state.battle.battle_id")
        response = await client.post(f"/api/pk-battles/{declined}/reject", headers=bearer(rival))
        assert response.status == 200, await response.text()
        await page_expect(studio.locator("#pk-state")).to_have_text("rejected", timeout=UI_WAIT_MS)

        # The rival challenges over REST; the broadcaster accepts on the page.
        response = await client.post("/api/pk-battles", json={"room_id": rival_stream, "opponent_room_id": stream},
                                     headers=bearer(rival))
        assert response.status == 201, await response.text()
        await studio.click("#pk-incoming button:has-text('Accept')", timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#pk-state")).to_contain_text("active", timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#pk-score-a")).to_have_text("0")

        # The viewer watches (WHEP), signs in, sees the balance and sends a gift from the picker.
        watch, watch_errors = await open_page(chromium, f"{base}/watch/{stream}")
        await sign_in(watch, viewer)
        await page_expect(watch.locator("#balance")).to_have_text("50", timeout=UI_WAIT_MS)
        frames = await frames_decoded(watch, 1, 20)
        assert frames > 0, ("no video decoded", await watch.evaluate("window.console_state.mode"),
                            watch_errors)
        assert await watch.evaluate("window.console_state.mode") == "whep"
        await page_expect(watch.locator("#pk-state")).to_have_text("active", timeout=UI_WAIT_MS)
        await watch.fill("#chat-form [name=text]", "hello from the console")
        await watch.click("#chat-form button[type=submit]")
        await page_expect(studio.locator("#chat li").first).to_contain_text("hello from the console",
                                                                            timeout=UI_WAIT_MS)
        await watch.click(f"#gift-picker [data-gift={GIFT}]")
        await page_expect(watch.locator("#balance")).to_have_text(str(50 - PRICE), timeout=UI_WAIT_MS)
        assert await coins(client, viewer) == 50 - PRICE

        # The broadcaster's page shows the gift (name, animation) and the new score on its side.
        gift = studio.locator("#gifts li").first
        await page_expect(gift).to_contain_text("Heart", timeout=UI_WAIT_MS)
        await page_expect(gift).to_contain_text(f"[{GIFT}]")
        await page_expect(gift).to_contain_text(viewer["user"]["username"])
        await page_expect(studio.locator("#pk-score-a")).to_have_text(str(PRICE), timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#pk-score-b")).to_have_text("0")
        await page_expect(watch.locator("#pk-score-a")).to_have_text(str(PRICE), timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#error")).to_be_hidden()
        await page_expect(watch.locator("#error")).to_be_hidden()

        # A gift the balance cannot pay: the problem's detail is shown, nothing is charged.
        await watch.click("#gift-picker [data-gift=corgi]")  # 299 coins
        await page_expect(watch.locator("#error")).to_contain_text("not enough coins", timeout=UI_WAIT_MS)
        await page_expect(watch.locator("#balance")).to_have_text(str(50 - PRICE))
        assert await coins(client, viewer) == 50 - PRICE

        # Live shopping: the broadcaster adds a product and pins it; the viewer buys it with coins.
        await studio.fill("#product-new [name=title]", "Console mug")
        await studio.fill("#product-new [name=price]", "0.05")
        await studio.click("#product-new button[type=submit]")
        await page_expect(studio.locator("#products option")).to_contain_text("Console mug", timeout=UI_WAIT_MS)
        await studio.click("#pin button[type=submit]")
        await page_expect(studio.locator("#pinned")).to_contain_text("Console mug", timeout=UI_WAIT_MS)
        await page_expect(watch.locator("#product-card")).to_contain_text("Console mug", timeout=UI_WAIT_MS)
        for field, value in (("name", "Carla"), ("line1", "1 Rue de la Paix"), ("city", "Paris"),
                             ("postal_code", "75002"), ("country", "FR")):
            await watch.fill(f"#buy [name={field}]", value)
        await watch.click("#buy button[type=submit]")
        await page_expect(watch.locator("#order")).to_contain_text("Ordered", timeout=UI_WAIT_MS)
        left = await coins(client, viewer)
        assert left < 50 - PRICE
        await page_expect(watch.locator("#balance")).to_have_text(str(left), timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#orders")).to_have_text("1 order in this live", timeout=UI_WAIT_MS)
        await page_expect(studio.locator("#products option")).to_contain_text("9 left", timeout=UI_WAIT_MS)

        await studio.screenshot(path=str(ARTIFACTS / "broadcaster.png"), full_page=True)
        await watch.screenshot(path=str(ARTIFACTS / "viewer.png"), full_page=True)

        # The switch: the same live over LL-HLS with hls.js, which loads the ladder's master playlist. (Decoding
        # it is tests/transcode/test_hlsjs.py's; here the ladder encodes a PK composite on a shared machine,
        # where its first parts can take longer than this test should wait.)
        await watch.click("#switch")
        await page_expect(watch.locator("#player")).to_have_text("HLS")
        await page_expect(watch.locator("#switch")).to_have_text("Switch to WebRTC")
        deadline = time.monotonic() + 15
        hls: dict[str, Any] = {}
        while time.monotonic() < deadline:
            hls = await watch.evaluate(HLS_STATE_JS)
            if hls["levels"]:
                break
            await asyncio.sleep(0.2)
        assert hls["levels"] >= 1 and not hls["error"], f"{hls} {watch_errors}"
        await watch.screenshot(path=str(ARTIFACTS / "viewer-hls.png"))

        # The broadcaster ends the live: the viewer's page is told.
        await studio.click("#end")
        await page_expect(studio.locator("#end")).to_be_hidden(timeout=UI_WAIT_MS)  # the end request answered
        await page_expect(studio.locator("#status")).to_have_text("The live has ended.")
        await page_expect(watch.locator("#player")).to_have_text("The live has ended.", timeout=UI_WAIT_MS)
        await watch.close()
    finally:
        await studio.screenshot(path=str(ARTIFACTS / "broadcaster-last.png"))
        await studio.close()


async def test_watch_falls_back_to_hls_when_whep_is_refused(make_client: AppFactory, chromium: Browser) -> None:
    client = await make_client(media_anonymous_whep=False)
    stream = (await go_live(client, await creator(client)))["stream"]["id"]
    watch, _ = await open_page(chromium, f"{client.make_url('/')}watch/{stream}")
    # anonymous: no media token, which this server requires for WHEP; the page says why it plays HLS
    await page_expect(watch.locator("#player")).to_contain_text(
        "HLS (WebRTC playback failed: playback needs 'Authorization: Bearer <media token>')", timeout=UI_WAIT_MS)
    await page_expect(watch.locator("#switch")).to_have_text("Switch to WebRTC")
    assert await watch.evaluate("window.console_state.mode") == "hls"
