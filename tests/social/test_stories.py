"""Stories over real HTTP: 24-hour lifetime, owner-only viewers, reactions once, replies as DMs, mentions."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from api.state import DATABASE, SOCIAL
from store.schema.social import content_views, stories, story_views
from store.types import utcnow
from tests.api.helpers import Client, problem
from tests.social.conftest import Media, ids, ok, post_image, user


async def test_story_lifecycle(client: Client, media: Media) -> None:
    alice, bob, carol = await user(client), await user(client), await user(client)
    assert (await client.post(f"/api/users/{alice.id}/follow", headers=bob.headers)).status == 204
    post = await post_image(client, alice, media)
    story = await ok(
        await client.post(
            "/api/stories",
            json={"text": f"hey @{carol.username}", "content_id": post["id"], "background": "#ff0080"},
            headers=alice.headers,
        ),
        201,
    )
    assert story["content_id"] == post["id"]
    assert [n["kind"] for n in (await ok(await client.get("/api/notifications", headers=carol.headers)))["items"]] == [
        "mention"
    ]
    assert ids(await ok(await client.get("/api/stories", headers=bob.headers))) == [story["id"]]
    assert ids(await ok(await client.get("/api/stories", headers=carol.headers))) == []
    assert ids(await ok(await client.get("/api/stories", params={"user_id": alice.id}, headers=carol.headers))) == [
        story["id"]
    ]

    url = f"/api/stories/{story['id']}"
    assert (await ok(await client.post(f"{url}/view", headers=bob.headers)))["counted"] is True
    assert (await ok(await client.post(f"{url}/view", headers=bob.headers)))["counted"] is False
    assert (await client.post(f"{url}/reactions", json={"emoji": "🔥"}, headers=bob.headers)).status == 204
    twice = await problem(await client.post(f"{url}/reactions", json={"emoji": "😂"}, headers=bob.headers), 409)
    assert twice["type"].endswith("already-reacted")
    await problem(await client.post(f"{url}/reactions", json={"emoji": "👍"}, headers=carol.headers), 422)
    await problem(await client.post(f"{url}/reactions", json={"emoji": "🔥"}, headers=alice.headers), 400)

    viewers = await ok(await client.get(f"{url}/viewers", headers=alice.headers))
    assert [(v["user"]["id"], v["reaction"]) for v in viewers["items"]] == [(bob.id, "🔥")]
    await problem(await client.get(f"{url}/viewers", headers=bob.headers), 403)

    reply = await ok(await client.post(f"{url}/reply", json={"text": "love it"}, headers=carol.headers), 201)
    assert reply["story_id"] == story["id"]
    inbox = await ok(await client.get("/api/messaging/conversations", headers=alice.headers))
    assert inbox["items"][0]["peer"]["id"] == carol.id and inbox["items"][0]["last_message"]["text"] == "love it"

    await problem(await client.delete(url, headers=bob.headers), 403)
    assert (await client.delete(url, headers=alice.headers)).status == 204
    await problem(await client.post(f"{url}/view", headers=bob.headers), 404)


async def test_stories_expire_and_need_something_to_show(client: Client) -> None:
    alice, bob = await user(client), await user(client)
    await problem(await client.post("/api/stories", json={}, headers=alice.headers), 400)
    await problem(
        await client.post("/api/stories", json={"text": "x", "background": "red"}, headers=alice.headers), 422
    )
    story = await ok(await client.post("/api/stories", json={"text": "old news"}, headers=alice.headers), 201)
    assert ids(await ok(await client.get("/api/stories", params={"user_id": alice.id}, headers=bob.headers))) == [
        story["id"]
    ]
    async with client.app[DATABASE].write() as conn:  # 24 hours pass
        await conn.execute(stories.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    assert ids(await ok(await client.get("/api/stories", params={"user_id": alice.id}, headers=bob.headers))) == []
    await problem(await client.post(f"/api/stories/{story['id']}/view", headers=bob.headers), 404)
    async with client.app[DATABASE].read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(stories))).scalar() == 1


async def test_housekeeping_removes_expired_stories_and_old_view_marks(client: Client, media: Media) -> None:
    alice, bob = await user(client), await user(client)
    old = await ok(await client.post("/api/stories", json={"text": "old"}, headers=alice.headers), 201)
    fresh = await ok(await client.post("/api/stories", json={"text": "fresh"}, headers=alice.headers), 201)
    await ok(await client.post(f"/api/stories/{old['id']}/view", headers=bob.headers))
    post = await post_image(client, alice, media)
    await ok(await client.post(f"/api/content/{post['id']}/view", headers=bob.headers))
    async with client.app[DATABASE].write() as conn:  # a day passes for one story; an hour for the view mark
        await conn.execute(
            stories.update().where(stories.c.id == old["id"]).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await conn.execute(content_views.update().values(hour=content_views.c.hour - 1))
    assert await client.app[SOCIAL].housekeeping() == {"stories": 1, "view_marks": 1}
    async with client.app[DATABASE].read() as conn:
        left: list[str] = list((await conn.execute(sa.select(stories.c.id))).scalars())
        views = (await conn.execute(sa.select(sa.func.count()).select_from(story_views))).scalar()
    assert left == [fresh["id"]] and views == 0
    # The view counted before stays counted; a new view in this hour counts again once.
    assert (await ok(await client.post(f"/api/content/{post['id']}/view", headers=bob.headers)))["counted"] is True
    assert (await ok(await client.get(f"/api/content/{post['id']}")))["view_count"] == 2
