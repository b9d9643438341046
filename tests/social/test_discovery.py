"""Settings, activity, trending, explorer and search over real HTTP."""

from __future__ import annotations

import asyncio

from tests.api.helpers import Client, problem
from tests.social.conftest import Media, ids, ok, post_image, user


async def test_settings_document(client: Client) -> None:
    alice = await user(client)
    h = alice.headers
    defaults = await ok(await client.get("/api/settings", headers=h))
    assert defaults["privacy"] == {
        "private_account": False,
        "who_can_message": "everyone",
        "show_activity": True,
    }
    assert all(defaults["notifications"].values())
    privacy = await ok(await client.put("/api/settings/privacy", json={"who_can_message": "followers"}, headers=h))
    assert privacy == {"private_account": False, "who_can_message": "followers", "show_activity": True}
    toggles = await ok(await client.put("/api/settings/notifications", json={"likes": False}, headers=h))
    assert toggles["likes"] is False and toggles["comments"] is True
    full = await ok(await client.get("/api/settings", headers=h))
    assert full["privacy"]["who_can_message"] == "followers" and full["notifications"]["likes"] is False
    replaced = await ok(await client.put("/api/settings", json={"language": "pt-BR"}, headers=h))
    assert replaced["language"] == "pt-BR" and replaced["privacy"]["who_can_message"] == "everyone"
    await problem(await client.put("/api/settings/privacy", json={"who_can_message": "aliens"}, headers=h), 422)
    await problem(await client.put("/api/settings/privacy", json={"private_account": "yes"}, headers=h), 422)
    await problem(await client.put("/api/settings", json={"language": "english!"}, headers=h), 422)
    await problem(await client.put("/api/settings", json={"colour": "red"}, headers=h), 422)
    assert (await ok(await client.get("/api/settings", headers=h)))["language"] == "pt-BR"
    await problem(await client.get("/api/settings"), 401)


async def test_activity_and_recommendations(client: Client, media: Media) -> None:
    alice, bob, carol = await user(client), await user(client), await user(client)
    cats = [(await post_image(client, alice, media, caption=f"cat {i} #cats"))["id"] for i in range(2)]
    dog = (await post_image(client, carol, media, caption="dog #dogs"))["id"]
    other = (await post_image(client, carol, media, caption="#cats too"))["id"]
    await ok(await client.post(f"/api/content/{cats[0]}/like", headers=bob.headers))
    assert (
        await client.post("/api/activity/track", json={"verb": "share", "content_id": cats[1]}, headers=bob.headers)
    ).status == 204
    assert (
        await client.post(
            "/api/activity/track", json={"verb": "profile_visit", "creator_id": carol.id}, headers=bob.headers
        )
    ).status == 204
    await problem(await client.post("/api/activity/track", json={"verb": "share"}, headers=bob.headers), 422)
    await problem(
        await client.post("/api/activity/track", json={"verb": "like", "content_id": cats[0]}, headers=bob.headers),
        422,
    )
    await problem(
        await client.post(
            "/api/activity/track",
            json={"verb": "share", "content_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
            headers=bob.headers,
        ),
        404,
    )
    mine = await ok(await client.get("/api/activity/my-activity", headers=bob.headers))
    assert [a["verb"] for a in mine["items"]] == ["profile_visit", "share", "like"]
    recommended = ids(await ok(await client.get("/api/activity/recommendations", headers=bob.headers)))
    # Not the liked post; the other #cats posts first; then the rest.
    assert cats[0] not in recommended
    assert set(recommended[:2]) == {cats[1], other} and recommended[2] == dog


async def test_trending_and_explorer(client: Client, media: Media) -> None:
    alice, bob, carol = await user(client), await user(client), await user(client)
    hot = (await post_image(client, alice, media, caption="hot #summer", category="music"))["id"]
    warm = (await post_image(client, bob, media, caption="warm #summer #beach", category="music"))["id"]
    cold = (await post_image(client, bob, media, caption="cold #winter", category="sports"))["id"]
    for who in (bob, carol):
        await ok(await client.post(f"/api/content/{hot}/like", headers=who.headers))
        await ok(await client.post(f"/api/content/{hot}/view", headers=who.headers))
    await ok(await client.post(f"/api/content/{warm}/view", headers=carol.headers))
    content = await ok(await client.get("/api/trending", params={"window": "day"}))
    assert ids(content)[:2] == [hot, warm] and cold not in ids(content)
    assert content["items"][0]["score"] > content["items"][1]["score"] > 0
    tags = await ok(await client.get("/api/trending/hashtags"))
    assert [t["tag"] for t in tags["items"]][:2] == ["summer", "beach"]
    assert tags["items"][0]["content_count"] == 2
    creators = await ok(await client.get("/api/trending/creators", params={"window": "hour"}))
    assert ids(creators)[0] == alice.id
    await problem(await client.get("/api/trending", params={"window": "decade"}), 422)

    overview = await ok(await client.get("/api/explorer"))
    music = next(c for c in overview["categories"] if c["category"] == "music")
    assert music["content_count"] == 2 and [c["id"] for c in music["top"]] == [hot, warm]
    page = await ok(await client.get("/api/explorer", params={"category": "music", "limit": "1"}))
    assert ids(page["page"]) == [hot] and page["page"]["next_cursor"]
    rest = await ok(
        await client.get("/api/explorer", params={"category": "music", "cursor": page["page"]["next_cursor"]})
    )
    assert ids(rest["page"]) == [warm] and rest["page"]["next_cursor"] is None


async def test_trending_sounds(client: Client, media: Media) -> None:
    from tests.social.conftest import form

    alice, bob = await user(client, account_type="creator"), await user(client)
    quiet = await ok(
        await client.post("/api/sounds", data=form(media.audio, title="Quiet"), headers=alice.headers), 201
    )
    loud = await ok(await client.post("/api/sounds", data=form(media.audio, title="Loud"), headers=alice.headers), 201)
    await ok(await client.post(f"/api/sounds/{loud['id']}/use", headers=bob.headers))
    post = await post_image(client, bob, media, sound_id=quiet["id"])
    assert post["sound_id"] == quiet["id"]
    await ok(await client.post(f"/api/sounds/{loud['id']}/use", headers=alice.headers))
    ranked = await ok(await client.get("/api/trending/sounds"))
    assert ids(ranked) == [loud["id"]]


async def test_search(client: Client, media: Media) -> None:
    anna = await user(client, "anna_dancer", display_name="Anna Dances")
    annie = await user(client, "annie", display_name="Annie Sings")
    bob = await user(client, "bob_builder")
    for who in (bob,):
        assert (await client.post(f"/api/users/{annie.id}/follow", headers=who.headers)).status == 204
    salsa = (await post_image(client, anna, media, caption="Salsa dancing tutorial #dance #salsa"))["id"]
    tango = (await post_image(client, annie, media, caption="Tango dancing at night #dance"))["id"]
    await ok(await client.post(f"/api/content/{tango}/like", headers=bob.headers))

    users = await ok(await client.get("/api/search/users", params={"q": "ann"}))
    assert ids(users) == [annie.id, anna.id]  # both match the prefix; Annie has a follower
    assert ids(await ok(await client.get("/api/search/users", params={"q": "Anna Dances"}))) == [anna.id]
    found = await ok(await client.get("/api/search/content", params={"q": "dancing", "limit": "1"}))
    assert ids(found) == [tango] and found["next_cursor"]
    more = await ok(await client.get("/api/search/content", params={"q": "dancing", "cursor": found["next_cursor"]}))
    assert ids(more) == [salsa] and more["next_cursor"] is None
    assert ids(await ok(await client.get("/api/search/content", params={"q": "salsa tut"}))) == [salsa]
    assert (await ok(await client.get("/api/search/content", params={"q": "zzzz"})))["items"] == []
    # Query syntax is not passed through: quotes, operators and stars are just separators.
    odd = await ok(await client.get("/api/search/content", params={"q": '"salsa" OR * NEAR('}))
    assert isinstance(odd["items"], list)
    assert (await ok(await client.get("/api/search/content", params={"q": "!!!"})))["items"] == []

    overview = await ok(await client.get("/api/search", params={"q": "dan"}))
    assert [u["id"] for u in overview["users"]] == [anna.id]
    assert {c["id"] for c in overview["content"]} == {salsa, tango}
    assert overview["sounds"] == [] and overview["products"] == []
    suggestions = await ok(await client.get("/api/search/suggestions", params={"q": "da"}))
    texts = [(s["kind"], s["text"]) for s in suggestions["items"]]
    assert texts[0] == ("hashtag", "#dance") and ("users", "anna_dancer") in texts
    await problem(await client.get("/api/search/users", params={"q": ""}), 422)
    await problem(await client.get("/api/search/users"), 422)


async def test_concurrent_settings_changes_all_apply(client: Client) -> None:
    alice = await user(client)
    changes = [
        client.put("/api/settings/notifications", json={"likes": False}, headers=alice.headers),
        client.put("/api/settings/notifications", json={"comments": False}, headers=alice.headers),
        client.put("/api/settings/privacy", json={"who_can_message": "nobody"}, headers=alice.headers),
        client.put("/api/settings/privacy", json={"show_activity": False}, headers=alice.headers),
    ]
    assert [r.status for r in await asyncio.gather(*changes)] == [200] * 4
    document = await ok(await client.get("/api/settings", headers=alice.headers))
    assert document["notifications"]["likes"] is False and document["notifications"]["comments"] is False
    assert document["privacy"]["who_can_message"] == "nobody" and document["privacy"]["show_activity"] is False


async def test_liked_posts_follow_show_activity(client: Client, media: Media) -> None:
    alice, bob, carol = await user(client), await user(client), await user(client)
    first = (await post_image(client, carol, media))["id"]
    second = (await post_image(client, carol, media))["id"]
    for post in (first, second):
        await ok(await client.post(f"/api/content/{post}/like", headers=alice.headers))
    page = await ok(await client.get(f"/api/users/{alice.id}/liked", params={"limit": "1"}))
    assert ids(page) == [second] and page["next_cursor"]
    rest = await ok(await client.get(f"/api/users/{alice.id}/liked", params={"cursor": page["next_cursor"]}))
    assert ids(rest) == [first] and rest["next_cursor"] is None
    await ok(await client.put("/api/settings/privacy", json={"show_activity": False}, headers=alice.headers))
    hidden = await problem(await client.get(f"/api/users/{alice.id}/liked", headers=bob.headers), 403)
    assert hidden["type"].endswith("activity-private")
    assert len((await ok(await client.get(f"/api/users/{alice.id}/liked", headers=alice.headers)))["items"]) == 2


async def test_product_search(client: Client) -> None:
    seller = await user(client, account_type="creator")
    made = []
    for title, description in (
        ("Ring light", "LED ring light for streaming"),
        ("Phone tripod", "Tripod with a ring mount"),
        ("Mug", "Ceramic mug"),
    ):
        body = {"title": title, "description": description, "price": 1500, "stock": 5}
        made.append(await ok(await client.post("/api/products", json=body, headers=seller.headers), 201))
    found = await ok(await client.get("/api/search/products", params={"q": "ring"}))
    assert ids(found)[0] == made[0]["id"] and set(ids(found)) == {made[0]["id"], made[1]["id"]}
    assert found["items"][0]["title"] == "Ring light"
    assert ids(await ok(await client.get("/api/search/products", params={"q": "cera"}))) == [made[2]["id"]]
    assert (await ok(await client.get("/api/search/products", params={"q": "bicycle"})))["items"] == []
    overview = await ok(await client.get("/api/search", params={"q": "tripod"}))
    assert [p["id"] for p in overview["products"]] == [made[1]["id"]] and overview["users"] == []
