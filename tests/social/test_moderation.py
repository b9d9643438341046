"""Moderation of social things over real HTTP: reports of posts, comments and messages, removal that takes
effect in every reader at once, restore, and a banned creator who cannot go live."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from api.state import DATABASE, LIVES, SOCIAL
from store.ids import new_id
from store.schema.rooms import livestreams
from store.types import utcnow
from tests.api.helpers import Client, bearer, problem
from tests.commerce.conftest import admin, creator, notices
from tests.social.conftest import Media, form, ids, ok, post_image, user


async def _visible_everywhere(client: Client, post_id: str, viewer: Any) -> dict[str, bool]:
    single = await client.get(f"/api/content/{post_id}", headers=viewer.headers)
    feed = await ok(await client.get("/api/feed", params={"limit": "100"}, headers=viewer.headers))
    found = await ok(await client.get("/api/search/content", params={"q": "moonwalk"}, headers=viewer.headers))
    return {"get": single.status == 200, "feed": post_id in ids(feed), "search": post_id in ids(found)}


async def test_removed_post_leaves_every_reader_and_restore_brings_it_back(client: Client, media: Media) -> None:
    author, fan = await user(client), await user(client)
    await ok(await client.post(f"/api/users/{author.id}/follow", headers=fan.headers), 204)
    post = await post_image(client, author, media, caption="my moonwalk")
    assert await _visible_everywhere(client, post["id"], fan) == {"get": True, "feed": True, "search": True}

    report = {"target_type": "content", "target_id": post["id"], "reason": "violence"}
    filed = await client.post("/api/reports", json=report, headers=fan.headers)
    assert filed.status == 201, await filed.text()
    boss = await admin(client)
    [case] = (await ok(await client.get("/api/moderation/queue", headers=bearer(boss))))["items"]
    assert (case["target_kind"], case["owner_id"]) == ("content", author.id)

    url = f"/api/moderation/content/{post['id']}"
    await ok(await client.post(url, json={"action": "remove", "reason": "violence"}, headers=bearer(boss)), 201)
    assert await _visible_everywhere(client, post["id"], fan) == {"get": False, "feed": False, "search": False}
    own = await ok(await client.get(f"/api/content/{post['id']}", headers=author.headers))
    assert own["status"] == "removed"
    told = await notices(client, author.session)
    assert [(n["kind"], n["subject_id"]) for n in told if n["kind"] == "moderation"] == [("moderation", post["id"])]

    await ok(await client.post(url, json={"action": "restore"}, headers=bearer(boss)), 201)
    assert await _visible_everywhere(client, post["id"], fan) == {"get": True, "feed": True, "search": True}
    again = await ok(await client.get(f"/api/content/{post['id']}", headers=author.headers))
    assert again["status"] == "ready"


async def test_comments_and_messages_can_be_reported_and_hidden(client: Client, media: Media) -> None:
    author, troll = await user(client), await user(client)
    post = await post_image(client, author, media, caption="hello")
    comment = await ok(
        await client.post(f"/api/content/{post['id']}/comment", json={"text": "rude words"}, headers=troll.headers),
        201,
    )
    reported = await client.post(
        "/api/reports",
        json={"target_type": "comment", "target_id": comment["id"], "reason": "harassment"},
        headers=author.headers,
    )
    assert reported.status == 201, await reported.text()
    boss = await admin(client)
    url = f"/api/moderation/comment/{comment['id']}"
    await ok(await client.post(url, json={"action": "remove"}, headers=bearer(boss)), 201)
    listed = await ok(await client.get(f"/api/content/{post['id']}/comments", headers=author.headers))
    assert listed["items"] == []
    assert (await ok(await client.get(f"/api/content/{post['id']}", headers=author.headers)))["comment_count"] == 0
    await ok(await client.post(url, json={"action": "restore"}, headers=bearer(boss)), 201)
    listed = await ok(await client.get(f"/api/content/{post['id']}/comments", headers=author.headers))
    assert ids(listed) == [comment["id"]]

    missing = {"target_type": "message", "target_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "reason": "spam"}
    response = await client.post("/api/reports", json=missing, headers=author.headers)
    assert (await problem(response, 404))["type"].endswith("/target-not-found")  # the kind works; the id does not


async def test_a_banned_creator_is_taken_off_air_and_cannot_mint_a_publish_token(client: Client) -> None:
    host = await creator(client)
    mint = {"stream_id": host["user"]["id"], "publish": True}
    assert (await client.post("/api/media/tokens", json=mint, headers=bearer(host))).status == 201
    stream_id = new_id()
    async with client.app[DATABASE].write() as conn:  # lives are created by the live-room service (rooms/)
        await conn.execute(
            livestreams.insert().values(
                id=stream_id, host_id=host["user"]["id"], title="on air", category="talk", status="live",
                created_at=utcnow(), started_at=utcnow(), likes=0, gift_coins=0,
            )
        )
    boss = await admin(client)
    banned = await client.post(
        f"/api/moderation/user/{host['user']['id']}", json={"action": "ban", "reason": "spam"}, headers=bearer(boss)
    )
    assert banned.status == 201, await banned.text()
    refused = await client.post("/api/media/tokens", json=mint, headers=bearer(host))
    assert (await problem(refused, 403))["type"].endswith("/account-suspended")
    async with client.app[DATABASE].read() as conn:
        status = (await conn.execute(sa.select(livestreams.c.status).where(livestreams.c.id == stream_id))).scalar()
    assert status == "ended"


async def test_a_removed_message_is_emptied_for_both_and_restore_brings_it_back(client: Client) -> None:
    sender, recipient = await user(client), await user(client)
    sent = await ok(
        await client.post(
            "/api/messaging/send", json={"recipient_id": recipient.id, "text": "buy followers"}, headers=sender.headers
        ),
        201,
    )
    report = {"target_type": "message", "target_id": sent["id"], "reason": "spam"}
    assert (await client.post("/api/reports", json=report, headers=recipient.headers)).status == 201
    boss = await admin(client)
    url = f"/api/moderation/message/{sent['id']}"
    listing = f"/api/messaging/conversations/{sent['conversation_id']}/messages"

    await ok(await client.post(url, json={"action": "remove"}, headers=bearer(boss)), 201)
    for who in (sender, recipient):
        [shown] = (await ok(await client.get(listing, headers=who.headers)))["items"]
        assert (shown["deleted"], shown["text"]) == (True, None)
    await ok(await client.post(url, json={"action": "restore"}, headers=bearer(boss)), 201)
    [shown] = (await ok(await client.get(listing, headers=recipient.headers)))["items"]
    assert (shown["deleted"], shown["text"]) == (False, "buy followers")


async def test_a_removed_livestream_is_ended(client: Client) -> None:
    host, viewer = await user(client), await user(client)
    stream_id = new_id()
    async with client.app[DATABASE].write() as conn:  # lives are created by the live-room service (rooms/)
        await conn.execute(
            livestreams.insert().values(
                id=stream_id, host_id=host.id, title="late show", category="talk", status="live",
                created_at=utcnow(), started_at=utcnow(), likes=0, gift_coins=0,
            )
        )
    client.app[LIVES].start(stream_id, host.id, host.username)  # on air: its program and HLS ladder run
    report = {"target_type": "livestream", "target_id": stream_id, "reason": "violence"}
    assert (await client.post("/api/reports", json=report, headers=viewer.headers)).status == 201
    boss = await admin(client)
    url = f"/api/moderation/livestream/{stream_id}"
    await ok(await client.post(url, json={"action": "remove", "reason": "violence"}, headers=bearer(boss)), 201)
    async with client.app[DATABASE].read() as conn:
        row = (await conn.execute(sa.select(livestreams).where(livestreams.c.id == stream_id))).one()
    assert row.status == "ended" and row.ended_at is not None
    assert client.app[LIVES].get(stream_id) is None  # off air
    told = await notices(client, host.session)
    assert [(n["kind"], n["data"]["target_kind"]) for n in told] == [("moderation", "livestream")]


async def test_a_video_removed_while_packaging_stays_removed_until_restored(client: Client, media: Media) -> None:
    author, viewer = await user(client), await user(client)
    upload = await ok(await client.post("/api/content", data=form(media.video), headers=author.headers), 202)
    boss = await admin(client)
    url = f"/api/moderation/content/{upload['id']}"
    await ok(await client.post(url, json={"action": "remove"}, headers=bearer(boss)), 201)
    await client.app[SOCIAL].contents.jobs.wait(upload["id"])  # packaging finishes after the removal
    own = await ok(await client.get(f"/api/content/{upload['id']}", headers=author.headers))
    assert own["status"] == "removed" and own["playback"]["hls_url"]
    assert (await client.get(f"/api/content/{upload['id']}", headers=viewer.headers)).status == 404
    await ok(await client.post(url, json={"action": "restore"}, headers=bearer(boss)), 201)
    restored = await ok(await client.get(f"/api/content/{upload['id']}", headers=viewer.headers))
    assert restored["status"] == "ready"


async def test_only_what_one_can_see_can_be_reported(client: Client, media: Media) -> None:
    private, stranger, friend = await user(client), await user(client), await user(client)
    await ok(await client.put("/api/settings/privacy", json={"private_account": True}, headers=private.headers))
    post = await post_image(client, private, media, caption="just for friends")
    hello = {"recipient_id": friend.id, "text": "hi"}
    sent = await ok(await client.post("/api/messaging/send", json=hello, headers=private.headers), 201)
    for kind, target_id in (("content", post["id"]), ("message", sent["id"])):
        report = {"target_type": kind, "target_id": target_id, "reason": "spam"}
        refused = await client.post("/api/reports", json=report, headers=stranger.headers)
        assert (await problem(refused, 404))["type"].endswith("/target-not-found")  # same as no such thing
    ok_report = {"target_type": "message", "target_id": sent["id"], "reason": "spam"}
    assert (await client.post("/api/reports", json=ok_report, headers=friend.headers)).status == 201
