"""The sound library over real HTTP: upload (probed, duration limit), list, use, favorite, download."""

from __future__ import annotations

from tests.api.helpers import problem
from tests.social.conftest import AppFactory, Media, form, ids, ok, user


async def test_sound_library(make_client: AppFactory, db_url: str, media: Media) -> None:
    client = await make_client(database_url=db_url, sound_max_duration_s=5)
    alice, bob = await user(client, account_type="creator"), await user(client)
    sound = await ok(
        await client.post(
            "/api/sounds", data=form(media.audio, filename="x.jpg", title="Sine Song"), headers=alice.headers
        ),
        201,
    )
    assert sound["media_type"] == "audio/wav" and 1.9 < sound["duration_s"] < 2.1
    assert sound["artist"] == alice.username and sound["creator"]["id"] == alice.id
    refused = await problem(
        await client.post("/api/sounds", data=form(media.audio, title="Mine"), headers=bob.headers), 403
    )
    assert refused["detail"] == "this endpoint is for creator accounts"
    long = await problem(
        await client.post("/api/sounds", data=form(media.long_audio, title="Too long"), headers=alice.headers),
        422,
    )
    assert long["type"].endswith("sound-duration")
    await problem(await client.post("/api/sounds", data=form(media.image, title="Picture"), headers=alice.headers), 422)
    await problem(await client.post("/api/sounds", data=form(media.audio), headers=alice.headers), 422)
    await problem(
        await client.post("/api/sounds", data=form(data=b"\x00" * 64, title="junk"), headers=alice.headers),
        415,
    )

    second = await ok(
        await client.post("/api/sounds", data=form(media.audio, title="Second", artist="Band"), headers=alice.headers),
        201,
    )
    assert ids(await ok(await client.get("/api/sounds"))) == [second["id"], sound["id"]]
    assert ids(await ok(await client.get("/api/search/sounds", params={"q": "band"}))) == [second["id"]]
    url = f"/api/sounds/{sound['id']}"
    assert (await ok(await client.post(f"{url}/use", headers=bob.headers)))["use_count"] == 1
    assert (await ok(await client.post(f"{url}/use", headers=bob.headers)))["use_count"] == 2
    popular = await ok(await client.get("/api/sounds/trending", params={"limit": "1"}))
    assert ids(popular) == [sound["id"]] and popular["next_cursor"]
    rest = await ok(await client.get("/api/sounds/trending", params={"cursor": popular["next_cursor"]}))
    assert ids(rest) == [second["id"]]

    assert (await client.post(f"{url}/favorite", headers=bob.headers)).status == 204
    await problem(await client.post(f"{url}/favorite", headers=bob.headers), 409)
    mine = await ok(await client.get("/api/sounds", params={"favorites": "true"}, headers=bob.headers))
    assert ids(mine) == [sound["id"]] and mine["items"][0]["favorite"] is True
    assert (await ok(await client.get(url, headers=bob.headers)))["favorite_count"] == 1
    assert (await client.delete(f"{url}/favorite", headers=bob.headers)).status == 204
    await problem(await client.delete(f"{url}/favorite", headers=bob.headers), 404)

    download = await client.get(f"{url}/download")
    assert download.status == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert await download.read() == media.audio.read_bytes()
    await problem(await client.get("/api/sounds/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404)
    await problem(await client.post("/api/sounds/01ARZ3NDEKTSV4RRFFQ69G5FAV/use", headers=bob.headers), 404)
