"""The feed's first-page cache over real HTTP: every change that alters what a feed may show drops the cached
page at once (follow, unfollow, block either way, a creator turning private, a new post of a followee, removal by
moderation), pages after the first never repeat an item, and with several nodes a cached page is re-checked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from api.state import SOCIAL
from tests.api.helpers import Client, bearer
from tests.commerce.conftest import admin
from tests.conftest import AppFactory
from tests.services import redis_server
from tests.social.conftest import Media, User, ids, ok, post_image, user


async def _feed(client: Client, viewer: User, **params: str) -> dict[str, Any]:
    page: dict[str, Any] = await ok(await client.get("/api/feed", params=params, headers=viewer.headers))
    return page


async def _cached(client: Client, viewer: User) -> list[str]:
    """The viewer's first page, read twice: the second read must be a cache hit with the same items."""
    cache = client.app[SOCIAL].feed.cache
    first = ids(await _feed(client, viewer))
    hits = cache.hits
    again = ids(await _feed(client, viewer))
    assert cache.hits == hits + 1 and again == first
    return first


async def test_cached_page_is_served_until_its_ttl_and_counters_then_refresh(
    make_client: AppFactory, tmp_path: Path, media: Media
) -> None:
    client = await make_client(database_url=f"sqlite:///{tmp_path / 'feed.db'}")
    cache = client.app[SOCIAL].feed.cache
    viewer, creator = await user(client), await user(client)
    post = await post_image(client, creator, media, caption="counted")
    [item] = (await _feed(client, viewer))["items"]
    await ok(await client.post(f"/api/content/{post['id']}/like", headers=creator.headers))
    # A like does not invalidate: within the TTL the counter is the cached one (the documented staleness).
    assert (await _feed(client, viewer))["items"][0]["like_count"] == item["like_count"] == 0
    cache.ttl_s = 0.2
    cache.clear()
    assert (await _feed(client, viewer))["items"][0]["like_count"] == 1
    await ok(await client.delete(f"/api/content/{post['id']}/unlike", headers=creator.headers))
    assert (await _feed(client, viewer))["items"][0]["like_count"] == 1
    await asyncio.sleep(0.25)
    assert (await _feed(client, viewer))["items"][0]["like_count"] == 0


async def test_graph_and_posts_invalidate_the_cached_page(make_client: AppFactory, db_url: str, media: Media) -> None:
    client = await make_client(database_url=db_url)
    viewer, star, other = await user(client), await user(client), await user(client)
    star_post = (await post_image(client, star, media, caption="star"))["id"]
    other_post = (await post_image(client, other, media, caption="other"))["id"]
    assert await _cached(client, viewer) == [other_post, star_post]  # by trend: the newer first

    # Follow: the followed creator's posts come first.
    await ok(await client.post(f"/api/users/{star.id}/follow", headers=viewer.headers), 204)
    assert await _cached(client, viewer) == [star_post, other_post]
    # A followee's new post: at the top at once.
    fresh = (await post_image(client, star, media, caption="fresh"))["id"]
    assert await _cached(client, viewer) == [fresh, star_post, other_post]
    # Unfollow: back to trend order.
    await ok(await client.delete(f"/api/users/{star.id}/unfollow", headers=viewer.headers), 204)
    assert await _cached(client, viewer) == [fresh, other_post, star_post]

    # The creator blocks the viewer, then the viewer blocks the creator: gone either way.
    await ok(await client.post(f"/api/users/{viewer.id}/block", headers=other.headers), 204)
    assert await _cached(client, viewer) == [fresh, star_post]
    await ok(await client.delete(f"/api/users/{viewer.id}/unblock", headers=other.headers), 204)
    assert await _cached(client, viewer) == [fresh, other_post, star_post]
    await ok(await client.post(f"/api/users/{other.id}/block", headers=viewer.headers), 204)
    assert await _cached(client, viewer) == [fresh, star_post]

    # A creator turning private leaves non-followers' feeds; public again, back.
    await ok(await client.put("/api/settings/privacy", json={"private_account": True}, headers=star.headers))
    assert await _cached(client, viewer) == []
    await ok(await client.put("/api/settings/privacy", json={"private_account": False}, headers=star.headers))
    assert await _cached(client, viewer) == [fresh, star_post]

    # Removal by moderation.
    boss = await admin(client)
    url = f"/api/moderation/content/{fresh}"
    await ok(await client.post(url, json={"action": "remove", "reason": "spam"}, headers=bearer(boss)), 201)
    assert await _cached(client, viewer) == [star_post]


async def test_pages_after_a_cached_first_page_never_repeat(
    make_client: AppFactory, tmp_path: Path, media: Media
) -> None:
    client = await make_client(database_url=f"sqlite:///{tmp_path / 'feed.db'}")
    viewer, followed, other = await user(client), await user(client), await user(client)
    await ok(await client.post(f"/api/users/{followed.id}/follow", headers=viewer.headers), 204)
    posted = [(await post_image(client, who, media))["id"] for who in (followed, other) * 4]
    first = await _feed(client, viewer, limit="3")
    cached = await _feed(client, viewer, limit="3")
    assert cached == first
    seen, cursor = ids(first), first["next_cursor"]
    # A post between two page reads does not shift the keyset pages after it.
    await post_image(client, other, media)
    while cursor is not None:
        page = await _feed(client, viewer, limit="3", cursor=cursor)
        seen += ids(page)
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) and set(posted) <= set(seen)


async def test_with_several_nodes_a_cached_page_is_rechecked(
    make_client: AppFactory, db_url: str, media: Media
) -> None:
    """Two nodes on one database and one Redis: a block and a privacy change made through one node are never
    served from the other's cache, though no invalidation reaches it."""
    url = db_url
    with redis_server() as redis_url:
        here = await make_client(database_url=url, redis_url=redis_url)
        there = await make_client(database_url=url, redis_url=redis_url)
        assert here.app[SOCIAL].feed.cache.recheck
        viewer, creator, other = await user(here), await user(here), await user(here)
        post = (await post_image(here, creator, media))["id"]
        kept = (await post_image(here, other, media))["id"]
        assert await _cached(here, viewer) == [kept, post]
        await ok(await there.post(f"/api/users/{viewer.id}/block", headers=creator.headers), 204)
        assert ids(await _feed(here, viewer)) == [kept]
        await ok(await there.put("/api/settings/privacy", json={"private_account": True}, headers=other.headers))
        assert ids(await _feed(here, viewer)) == []
        for node in (here, there):  # before their Redis goes
            await node.close()
