"""Published posts feed the AI hashtag corpus; removed posts leave it."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import Client, bearer
from tests.commerce.conftest import admin
from tests.social.conftest import Media, ok, post_image, user


async def _uses(client: Client, headers: dict[str, str], tag: str) -> int:
    report: dict[str, Any] = await ok(
        await client.post("/api/ai-hashtags/analyze", json={"hashtags": [tag]}, headers=headers)
    )
    return int(report["hashtags"][0]["uses"])


async def test_posts_are_hashtag_corpus(client: Client, media: Media) -> None:
    surfer, asker = await user(client), await user(client)
    posts = [await post_image(client, surfer, media, caption=f"waves at dawn {i} #surfing #ocean") for i in range(2)]
    found = await ok(
        await client.post("/api/ai-hashtags/suggest", json={"text": "surfing today", "limit": 5}, headers=asker.headers)
    )
    assert {"tag": "ocean", "source": "corpus"} in [{"tag": t["tag"], "source": t["source"]} for t in found["hashtags"]]
    assert await _uses(client, asker.headers, "#surfing") == 2

    boss = await admin(client)
    url = f"/api/moderation/content/{posts[0]['id']}"
    removed = await client.post(url, json={"action": "remove"}, headers=bearer(boss))
    assert removed.status == 201, await removed.text()
    assert await _uses(client, asker.headers, "#surfing") == 1
