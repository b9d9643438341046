"""Profiles, follows, blocks and private accounts over real HTTP."""

from __future__ import annotations

from tests.api.helpers import Client, problem
from tests.social.conftest import Media, ids, ok, post_image, user


async def test_profile_read_and_update(client: Client) -> None:
    alice = await user(client, display_name="Alice")
    own = await ok(await client.get("/api/users/profile", headers=alice.headers))
    assert own["display_name"] == "Alice" and own["bio"] == "" and own["follower_count"] == 0
    body = {"display_name": "Alice L.", "bio": "Line one\nline two", "website": "https://alice.example"}
    updated = await ok(await client.put("/api/users/profile", json=body, headers=alice.headers))
    assert updated["display_name"] == "Alice L." and updated["website"] == "https://alice.example/"
    public = await ok(await client.get(f"/api/users/{alice.id}"))
    assert public["bio"] == "Line one\nline two" and public["is_following"] is False
    await problem(await client.put("/api/users/profile", json={"display_name": "a\nb"}, headers=alice.headers), 422)
    await problem(await client.put("/api/users/profile", json={"website": "ftp://x"}, headers=alice.headers), 422)
    await problem(await client.put("/api/users/profile", json={"age": 3}, headers=alice.headers), 422)
    await problem(await client.get("/api/users/profile"), 401)
    await problem(await client.get("/api/users/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404)


async def test_follow_unfollow_and_lists(client: Client) -> None:
    star = await user(client)
    fans = [await user(client) for _ in range(5)]
    for fan in fans:
        assert (await client.post(f"/api/users/{star.id}/follow", headers=fan.headers)).status == 204
    again = await problem(await client.post(f"/api/users/{star.id}/follow", headers=fans[0].headers), 409)
    assert again["type"].endswith("already-following")
    self_follow = await problem(await client.post(f"/api/users/{star.id}/follow", headers=star.headers), 400)
    assert self_follow["type"].endswith("follow-self")
    await problem(await client.post("/api/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/follow", headers=star.headers), 404)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await ok(await client.get(f"/api/users/{star.id}/followers", params=params))
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f.id for f in reversed(fans)]
    following = await ok(await client.get(f"/api/users/{fans[0].id}/following"))
    assert ids(following) == [star.id]
    profile = await ok(await client.get(f"/api/users/{star.id}", headers=fans[0].headers))
    assert profile["follower_count"] == 5 and profile["is_following"] is True

    assert (await client.delete(f"/api/users/{star.id}/unfollow", headers=fans[0].headers)).status == 204
    await problem(await client.delete(f"/api/users/{star.id}/unfollow", headers=fans[0].headers), 404)
    assert (await ok(await client.get(f"/api/users/{star.id}")))["follower_count"] == 4
    kinds = [n["kind"] for n in (await ok(await client.get("/api/notifications", headers=star.headers)))["items"]]
    assert kinds == ["follow"] * 5
    await problem(await client.get(f"/api/users/{star.id}/followers", params={"limit": "0"}), 422)


async def test_blocking(client: Client, media: Media) -> None:
    alice, mallory = await user(client), await user(client)
    post = await post_image(client, alice, media, caption="hello")
    assert (await client.post(f"/api/users/{alice.id}/follow", headers=mallory.headers)).status == 204
    assert (await client.post(f"/api/users/{mallory.id}/block", headers=alice.headers)).status == 204
    await problem(await client.post(f"/api/users/{mallory.id}/block", headers=alice.headers), 409)
    # The block ended the follow, and Mallory can neither follow, message nor see Alice.
    assert (await ok(await client.get(f"/api/users/{alice.id}")))["follower_count"] == 0
    blocked = await problem(await client.post(f"/api/users/{alice.id}/follow", headers=mallory.headers), 403)
    assert blocked["type"].endswith("blocked")
    send = {"recipient_id": alice.id, "text": "hi"}
    await problem(await client.post("/api/messaging/send", json=send, headers=mallory.headers), 403)
    await problem(await client.get(f"/api/users/{alice.id}", headers=mallory.headers), 404)
    await problem(await client.get(f"/api/users/{alice.id}/followers", headers=mallory.headers), 404)
    await problem(await client.get(f"/api/content/{post['id']}", headers=mallory.headers), 404)
    await problem(await client.post(f"/api/content/{post['id']}/like", headers=mallory.headers), 404)
    feed = await ok(await client.get("/api/feed", headers=mallory.headers))
    assert post["id"] not in ids(feed)
    found = await ok(await client.get("/api/search/users", params={"q": alice.username}, headers=mallory.headers))
    assert found["items"] == []
    # Anonymous readers still see Alice's public post; unblocking restores Mallory's view.
    assert (await client.get(f"/api/content/{post['id']}")).status == 200
    assert (await client.delete(f"/api/users/{mallory.id}/unblock", headers=alice.headers)).status == 204
    await problem(await client.delete(f"/api/users/{mallory.id}/unblock", headers=alice.headers), 404)
    assert (await client.get(f"/api/content/{post['id']}", headers=mallory.headers)).status == 200


async def test_private_account_hides_content_from_non_followers(client: Client, media: Media) -> None:
    alice, friend, stranger = await user(client), await user(client), await user(client)
    post = await post_image(client, alice, media, caption="private #secret")
    assert (await client.post(f"/api/users/{alice.id}/follow", headers=friend.headers)).status == 204
    await ok(await client.put("/api/settings/privacy", json={"private_account": True}, headers=alice.headers))

    for who in (stranger.headers, {}):
        await problem(await client.get(f"/api/content/{post['id']}", headers=who), 404)
        assert post["id"] not in ids(await ok(await client.get("/api/feed", headers=who)))
        listing = await ok(await client.get(f"/api/users/{alice.id}/content", headers=who))
        assert listing["items"] == []
        found = await ok(await client.get("/api/search/content", params={"q": "secret"}, headers=who))
        assert found["items"] == []
        await problem(await client.get(f"/api/users/{alice.id}/followers", headers=who), 403)
    profile = await ok(await client.get(f"/api/users/{alice.id}", headers=stranger.headers))
    assert profile["is_private"] is True and profile["can_see_content"] is False

    assert (await ok(await client.get(f"/api/content/{post['id']}", headers=friend.headers)))["id"] == post["id"]
    assert post["id"] in ids(await ok(await client.get("/api/feed", headers=friend.headers)))
    assert ids(await ok(await client.get(f"/api/users/{alice.id}/content", headers=friend.headers))) == [post["id"]]
    assert (await ok(await client.get(f"/api/content/{post['id']}", headers=alice.headers)))["id"] == post["id"]
