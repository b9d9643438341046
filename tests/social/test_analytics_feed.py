"""Creator analytics fed by real activity over HTTP: views, likes, comments, follows and gifts, batched."""

from __future__ import annotations

import asyncio
from typing import Any

from api.economy.catalog import seed_catalog
from api.state import DATABASE
from tests.api.helpers import Client
from tests.commerce.conftest import creator
from tests.conftest import AppFactory
from tests.economy.conftest import top_up
from tests.social.conftest import Media, User, ok, post_image, user


async def _totals(client: Client, who: User, path: str) -> dict[str, int]:
    body: dict[str, Any] = await ok(await client.get(path, headers=who.headers))
    return {m["metric"]: m["total"] for m in body["metrics"]}


async def test_views_likes_comments_and_follows_reach_analytics(
    make_client: AppFactory, db_url: str, media: Media
) -> None:
    client = await make_client(database_url=db_url, analytics_flush_s=0.05)
    author = User(await creator(client))
    fans = [await user(client) for _ in range(3)]
    post = await post_image(client, author, media, caption="numbers")
    for fan in fans:
        await ok(await client.post(f"/api/content/{post['id']}/view", headers=fan.headers))
        await ok(await client.post(f"/api/content/{post['id']}/like", headers=fan.headers))
        await ok(await client.post(f"/api/users/{author.id}/follow", headers=fan.headers), 204)
    said = await client.post(f"/api/content/{post['id']}/comment", json={"text": "nice"}, headers=fans[0].headers)
    await ok(said, 201)
    await ok(await client.post(f"/api/content/{post['id']}/view", headers=author.headers))  # own views are not reach
    await ok(await client.delete(f"/api/users/{author.id}/unfollow", headers=fans[2].headers), 204)

    want = {"views": 3, "likes": 3, "comments": 1}
    everything = {**want, "follows": 3, "unfollows": 1}
    for _ in range(50):  # the feed writes in batches: wait for the batch, not for a fixed time
        overview = await _totals(client, author, "/api/analytics/overview")
        if {k: overview.get(k) for k in everything} == everything:
            break
        await asyncio.sleep(0.05)
    assert {k: overview.get(k) for k in everything} == everything
    per_post = await _totals(client, author, f"/api/analytics/content/{post['id']}")
    assert {k: per_post.get(k) for k in want} == want
    profile = await ok(await client.get("/api/analytics/profile", headers=author.headers))
    assert profile["follower_gain_28d"] == 2
    assert [t["content_id"] for t in profile["top_content"]] == [post["id"]]


async def test_gifts_reach_analytics_once_per_transfer(make_client: AppFactory, db_url: str) -> None:
    client = await make_client(database_url=db_url, analytics_flush_s=0.05)
    async with client.app[DATABASE].write() as conn:
        await seed_catalog(conn)
    host = User(await creator(client))
    fan = await user(client)
    await top_up(client, fan.session, 1000)
    gift = {"gift_id": "corgi", "receiver_id": host.id, "quantity": 2}
    keyed = {"Idempotency-Key": "gift-1", **fan.headers}
    for _ in range(2):  # the retry is the same gift (the ledger replays it): counted once
        sent = await client.post("/api/gifts/send", json=gift, headers=keyed)
        assert sent.status == 201, await sent.text()
    for _ in range(50):
        overview = await _totals(client, host, "/api/analytics/overview")
        if overview.get("gift_coins"):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # a second (wrong) count would land in the next batch
    assert (await _totals(client, host, "/api/analytics/overview")).get("gift_coins") == 598
