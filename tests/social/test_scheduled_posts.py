"""Scheduled posts over real HTTP: an upload held hidden until due, published exactly once across a restart
and two nodes; cancelling gives the upload back; someone else's upload cannot be scheduled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from api.state import DATABASE
from store.schema.creator import scheduled_items
from tests.api.helpers import Client, problem
from tests.commerce.conftest import creator, notices
from tests.conftest import AppFactory
from tests.social.conftest import Media, User, ids, ok, post_image, user


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def _seen_by(client: Client, viewer: User, post_id: str) -> tuple[bool, bool]:
    single = await client.get(f"/api/content/{post_id}", headers=viewer.headers)
    feed = await ok(await client.get("/api/feed", params={"limit": "100"}, headers=viewer.headers))
    return single.status == 200, post_id in ids(feed)


async def test_a_held_upload_publishes_once_across_a_restart(
    make_client: AppFactory, db_url: str, media: Media
) -> None:
    first = await make_client(database_url=db_url, scheduler_poll_s=0.1)
    author, fan = User(await creator(first)), await user(first)
    await ok(await first.post(f"/api/users/{author.id}/follow", headers=fan.headers), 204)
    upload = await post_image(first, author, media, caption="sunrise #dawn")
    made = await first.post(
        "/api/scheduling/schedule",
        json={"scheduled_at": at(1.0), "content_id": upload["id"], "caption": "Sunrise, on time #dawn"},
        headers=author.headers,
    )
    assert made.status == 201, await made.text()
    item = await made.json()
    assert await _seen_by(first, fan, upload["id"]) == (False, False)
    assert (await ok(await first.get(f"/api/content/{upload['id']}", headers=author.headers)))["status"] == "scheduled"
    again = await first.post(
        "/api/scheduling/schedule", json={"scheduled_at": at(5), "content_id": upload["id"]}, headers=author.headers
    )
    await problem(again, 409)  # one upload, one schedule
    await first.close()  # down before it is due

    await asyncio.sleep(1.2)
    nodes = [await make_client(database_url=db_url, scheduler_poll_s=0.1) for _ in range(2)]
    for _ in range(60):
        async with nodes[0].app[DATABASE].read() as conn:
            row = (await conn.execute(sa.select(scheduled_items).where(scheduled_items.c.id == item["id"]))).one()
        if row.status == "done":
            break
        await asyncio.sleep(0.1)
    assert (row.status, row.attempts, row.result_ref) == ("done", 1, upload["id"])
    assert await _seen_by(nodes[1], fan, upload["id"]) == (True, True)
    post = await ok(await nodes[1].get(f"/api/content/{upload['id']}", headers=fan.headers))
    assert (post["status"], post["caption"]) == ("ready", "Sunrise, on time #dawn")
    told = [n for n in await notices(nodes[0], author.session) if n["kind"] == "schedule"]
    assert [n["subject_id"] for n in told] == [item["id"]]  # published once, announced once


async def test_cancelling_gives_the_upload_back_and_others_uploads_are_refused(client: Client, media: Media) -> None:
    author, other = User(await creator(client)), User(await creator(client))
    upload = await post_image(client, author, media, caption="later")
    made = await ok(
        await client.post(
            "/api/scheduling/schedule",
            json={"scheduled_at": at(3600), "content_id": upload["id"]},
            headers=author.headers,
        ),
        201,
    )
    assert (await ok(await client.get(f"/api/content/{upload['id']}", headers=author.headers)))["status"] == "scheduled"
    await ok(await client.delete(f"/api/scheduling/{made['id']}", headers=author.headers))
    assert (await ok(await client.get(f"/api/content/{upload['id']}", headers=other.headers)))["status"] == "ready"

    theirs = await client.post(
        "/api/scheduling/schedule", json={"scheduled_at": at(3600), "content_id": upload["id"]}, headers=other.headers
    )
    await problem(theirs, 404)
    mine = await ok(await client.get("/api/scheduling/my-scheduled", headers=other.headers))
    assert mine["items"] == []  # a refused schedule leaves nothing behind
