"""AI over real HTTP: captions from a real video (made by FFmpeg), hashtags, moderation, recommendations,
and the remote adapter against a small model service the test starts on loopback."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from api.ai.local import write_caption
from api.ai.textcheck import check_text
from api.ai.vision import VideoFacts
from api.app import create_app
from api.config import ConfigError
from tests.api.helpers import Client, bearer, problem, register
from tests.commerce.conftest import CHECKOUT, admin, creator, product
from tests.conftest import AppFactory, make_settings

CONTENT = "01HC0NTENT0000000000000001"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Two seconds: a red scene cut to a blue one, H.264 in MP4, made by FFmpeg."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=320x240:d=1:r=25",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=320x240:d=1:r=25",
            "-filter_complex",
            "[0][1]concat=n=2:v=1[v]",
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


def png_base64(rgb: tuple[int, int, int]) -> str:
    image = np.zeros((64, 64, 3), np.uint8)
    image[:] = rgb[::-1]  # OpenCV writes BGR
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return base64.b64encode(encoded.tobytes()).decode()


async def test_caption_from_the_video_itself(client: Client, clip: bytes) -> None:
    author = await creator(client)
    h = {**bearer(author), "Content-Type": "video/mp4"}
    response = await client.post(
        f"/api/ai-captions/generate?content_id={CONTENT}&text=Color test", data=clip, headers=h
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["caption"].startswith("Color test. A ")
    assert "red and blue tones" in body["caption"] or "blue and red tones" in body["caption"]
    assert "one scene change" in body["caption"] and "calm" in body["caption"]
    facts = body["facts"]
    assert facts["scene_changes"] == 1 and facts["max_faces"] == 0 and 1.8 <= facts["duration_s"] <= 2.2
    assert {c["name"] for c in facts["colours"]} == {"red", "blue"}
    assert body["provider"] == "local"
    stored = await (await client.get(f"/api/ai-captions/{CONTENT}", headers=bearer(author))).json()
    assert stored["caption"] == body["caption"]

    other = await creator(client)
    await problem(
        await client.post(
            f"/api/ai-captions/generate?content_id={CONTENT}",
            data=clip,
            headers={**bearer(other), "Content-Type": "video/mp4"},
        ),
        403,
    )
    await problem(
        await client.post(f"/api/ai-captions/generate?content_id={CONTENT}", data=b"not a video", headers=h), 422
    )
    await problem(await client.post(f"/api/ai-captions/generate?content_id={CONTENT}", data=b"", headers=h), 400)
    await problem(
        await client.post(
            f"/api/ai-captions/generate?content_id={CONTENT}",
            data=clip,
            headers={**bearer(author), "Content-Type": "text/plain"},
        ),
        415,
    )
    await problem(await client.get("/api/ai-captions/01HC0NTENT0000000000000009", headers=h), 404)


def test_caption_writer_says_only_what_was_measured() -> None:
    facts = VideoFacts(
        duration_s=12.4,
        width=720,
        height=1280,
        samples=8,
        brightness=190.0,
        colours=[("green", 0.5), ("white", 0.3)],
        max_faces=2,
        face_share=0.5,
        motion=20.0,
        scene_changes=3,
    )
    assert write_caption(facts, "Park day!") == (
        "Park day! A bright, fast-moving 12-second clip in green and white tones, with up to 2 people on camera "
        "and 3 scene changes."
    )
    dark = VideoFacts(duration_s=0.5, width=1, height=1, samples=1, brightness=20.0)
    assert write_caption(dark, "") == "A dark, calm clip."


async def test_hashtags_come_from_the_platform_corpus(client: Client) -> None:
    seller = await creator(client)
    for text in (
        "Vitamin serum for your morning skincare #skincare #glowup",
        "Night cream, skincare essential #skincare #selfcare",
        "Gaming headset with mic #gaming #setup",
    ):
        await product(client, seller, title=text.split(",")[0][:40], description=text)
    h = bearer(seller)
    found = await (
        await client.post("/api/ai-hashtags/suggest", json={"text": "my skincare routine", "limit": 4}, headers=h)
    ).json()
    tags = [t["tag"] for t in found["hashtags"]]
    assert tags[0] == "skincare" and {"glowup", "selfcare"} <= set(tags) and "gaming" not in tags
    assert found["hashtags"][0]["source"] == "corpus" and found["hashtags"][-1]["source"] == "your-words"
    report = await (
        await client.post("/api/ai-hashtags/analyze", json={"hashtags": ["#skincare", "nothing"]}, headers=h)
    ).json()
    skincare, nothing = report["hashtags"]
    assert (skincare["uses"], skincare["last_7d"], skincare["trend"]) == (2, 2, "new")
    assert skincare["related"] == ["glowup", "selfcare"]
    assert (nothing["uses"], nothing["trend"]) == (0, "unused")
    await problem(await client.post("/api/ai-hashtags/analyze", json={"hashtags": ["bad tag!"]}, headers=h), 422)
    await problem(await client.post("/api/ai-hashtags/suggest", json={"text": ""}, headers=h), 422)


def test_text_rules() -> None:
    assert not check_text("Loved this sunset, thanks for watching").flagged
    spam = check_text("FREE MONEY!!!!!!! DM me on telegram or visit www.win-big.xyz now")
    assert spam.flagged and {"wordlist", "link", "contact-details", "spam"} <= set(spam.labels)
    assert check_text("you 1d10t, k y s").score > 0  # digit swaps are undone
    assert check_text("call me +1 (555) 010-9999").labels == ["contact-details"]


async def test_moderation_flags_and_queues(client: Client) -> None:
    user = await register(client)
    h = bearer(user)
    clean = await (await client.post("/api/ai/moderate", json={"text": "Great stream today"}, headers=h)).json()
    assert clean == {"flagged": False, "score": 0.0, "labels": [], "matches": [], "queued": False}
    bad = await (await client.post("/api/ai/moderate", json={"text": "free money, whatsapp me"}, headers=h)).json()
    assert bad["flagged"] and "contact-details" in bad["labels"] and "free money" in bad["matches"]
    skin = await (
        await client.post("/api/ai/moderate", json={"image_base64": png_base64((224, 172, 140))}, headers=h)
    ).json()
    assert skin["flagged"] and skin["labels"] == ["skin-tone"]
    sky = await (
        await client.post("/api/ai/moderate", json={"image_base64": png_base64((40, 90, 220))}, headers=h)
    ).json()
    assert not sky["flagged"]
    await problem(await client.post("/api/ai/moderate", json={}, headers=h), 422)
    await problem(await client.post("/api/ai/moderate", json={"image_base64": "@@@"}, headers=h), 422)
    await problem(
        await client.post("/api/ai/moderate", json={"image_base64": base64.b64encode(b"text").decode()}, headers=h), 422
    )

    seller = await creator(client)
    item = await product(client, seller, title="Desk lamp", description="Warm light")
    target = {"type": "product", "id": item["id"]}
    await problem(await client.post("/api/ai/moderate", json={"text": "porn", "target": target}, headers=h), 403)
    boss = await admin(client)
    queued = await (
        await client.post("/api/ai/moderate", json={"text": "porn xxx", "target": target}, headers=bearer(boss))
    ).json()
    assert queued["flagged"] and queued["queued"]
    # A listing whose own text is flagged enters the queue by itself.
    scam = await product(
        client, seller, title="Crypto giveaway", description="Free money: double your coins, telegram me"
    )
    queue = await (await client.get("/api/moderation/queue", headers=bearer(boss))).json()
    assert [(c["target_id"], c["queued_reason"]) for c in queue["items"]] == [
        (item["id"], "ai-flag"),
        (scam["id"], "ai-flag"),
    ]


async def test_recommendations_from_co_purchases(client: Client) -> None:
    seller = await creator(client)
    a, b, c, d = [await product(client, seller, stock=50) for _ in range(4)]

    async def buy(who: dict[str, Any], item: dict[str, Any]) -> None:
        placed = await client.post(
            "/api/orders",
            json={"items": [{"product_id": item["id"], "quantity": 1}], **CHECKOUT},
            headers=bearer(who),
        )
        assert placed.status == 201

    u1, u2, u3, newcomer = [await register(client) for _ in range(4)]
    for who, items in ((u1, [a, b]), (u2, [a, b, c]), (u3, [d]), (newcomer, [a])):
        for item in items:
            await buy(who, item)
    recs = await (await client.post("/api/ai/recommend", json={"limit": 5}, headers=bearer(newcomer))).json()
    assert [r["item_id"] for r in recs["items"]] == [b["id"], c["id"]]
    assert recs["items"][0]["reason"] == f"similar-to:{a['id']}"
    cold = await (await client.post("/api/ai/recommend", json={}, headers=bearer(await register(client)))).json()
    assert cold["items"][0] == {"item_id": a["id"], "score": 3.0, "reason": "popular"}


class ModelService:
    """A stand-in for an external model service, run by the test on loopback."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = False
        self.app = web.Application()
        self.app.router.add_post("/v1/{name:.+}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append((request.match_info["name"], body))
        if self.fail:
            return web.json_response({"error": "overloaded"}, status=500)
        name = request.match_info["name"]
        if name == "caption":
            return web.json_response({"caption": f"A clip of {len(body['frames'])} frames", "facts": {"model": "x"}})
        if name.startswith("moderate"):
            return web.json_response({"flagged": "bad" in body.get("text", ""), "score": 0.9, "labels": ["toxic"]})
        if name == "hashtags":
            return web.json_response({"hashtags": [{"tag": "#Remote", "score": 1.0}]})
        return web.json_response({"items": [{"item_id": "X", "score": 0.5}]})


@pytest.fixture
async def model_service() -> AsyncIterator[tuple[ModelService, str]]:
    service = ModelService()
    server = TestServer(service.app, host="127.0.0.1")
    await server.start_server()
    yield service, str(server.make_url("")).rstrip("/")
    await server.close()


async def test_remote_provider_adapter(
    make_client: AppFactory, model_service: tuple[ModelService, str], clip: bytes, tmp_path: Path
) -> None:
    service, url = model_service
    client = await make_client(ai_provider="remote", ai_remote_url=url)
    author = await creator(client)
    h = bearer(author)
    verdict = await (await client.post("/api/ai/moderate", json={"text": "bad words"}, headers=h)).json()
    assert verdict["flagged"] and verdict["labels"] == ["toxic"]
    tags = await (await client.post("/api/ai-hashtags/suggest", json={"text": "hello"}, headers=h)).json()
    assert tags["hashtags"] == [{"tag": "remote", "score": 1.0, "source": "remote"}]
    caption = await client.post(
        f"/api/ai-captions/generate?content_id={CONTENT}", data=clip, headers={**h, "Content-Type": "video/mp4"}
    )
    body = await caption.json()
    assert body["caption"] == "A clip of 4 frames" and body["provider"] == "remote"
    frames = next(b for n, b in service.calls if n == "caption")["frames"]
    assert base64.b64decode(frames[0])[:2] == b"\xff\xd8"  # JPEG
    recs = await (await client.post("/api/ai/recommend", json={}, headers=h)).json()
    assert recs["items"] == [{"item_id": "X", "score": 0.5, "reason": "remote"}]

    service.fail = True
    failed = await problem(await client.post("/api/ai/moderate", json={"text": "x"}, headers=h), 503)
    assert failed["type"].endswith("ai-unavailable")
    with pytest.raises(ConfigError):
        create_app(make_settings(tmp_path / "bad", ai_provider="remote"))
