"""Content over real HTTP: uploads (image, video to HLS VOD, bad files), views, likes, comments, the feed."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.app import create_app
from api.config import Settings
from api.social.vod import FfmpegPackager
from api.state import DATABASE, SETTINGS, SOCIAL
from store.ids import new_id
from store.schema.social import content_hashtags, content_mentions, contents
from store.types import utcnow
from tests.api.helpers import Client, problem
from tests.social.conftest import AppFactory, Media, form, ids, ok, post_image, user


async def _count(client: Client, table: sa.Table) -> int:
    async with client.app[DATABASE].read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


def _leftovers(client: Client) -> list[Path]:
    settings = client.app[SETTINGS]
    found = [p for p in (settings.data_dir / "uploads").rglob("*") if p.is_file()]
    return found + [p for p in settings.media_dir.rglob("*") if p.is_file()]


async def test_image_upload_is_ready_with_hashtags_and_mentions(client: Client, media: Media) -> None:
    bob = await user(client)
    alice = await user(client)
    body = await post_image(
        client, alice, media, caption=f"Sunny #Beach day with @{bob.username} #beach #fun", category="travel"
    )
    assert body["kind"] == "image" and body["status"] == "ready"
    assert body["hashtags"] == ["beach", "fun"] and body["category"] == "travel"
    assert (body["width"], body["height"]) == (64, 48)
    image = await client.get(body["playback"]["image_url"].removeprefix(str(client.make_url(""))))
    assert image.status == 200 and (await image.read()).startswith(b"\x89PNG")
    async with client.app[DATABASE].read() as conn:
        tags: set[str] = set((await conn.execute(sa.select(content_hashtags.c.tag))).scalars())
        mentioned: list[str] = list((await conn.execute(sa.select(content_mentions.c.user_id))).scalars())
    assert tags == {"beach", "fun"} and mentioned == [bob.id]
    notes = await ok(await client.get("/api/notifications", headers=bob.headers))
    assert [n["kind"] for n in notes["items"]] == ["mention"]


async def test_video_upload_becomes_a_playable_hls_vod(make_client: AppFactory, db_url: str, media: Media) -> None:
    """The app's packager: transcode's ``package_vod`` into the HLS storage, served under ``/hls/``."""
    client = await make_client(database_url=db_url)
    ready = await _upload_and_probe(client, media)
    assert "/hls/" in ready["playback"]["hls_url"]


async def test_ffmpeg_fallback_packager_makes_a_playable_hls_vod(make_client: AppFactory, media: Media) -> None:
    client = await make_client()
    social = client.app[SOCIAL]
    social.contents.jobs.packager = FfmpegPackager(social.files)
    ready = await _upload_and_probe(client, media)
    assert "/media/" in ready["playback"]["hls_url"]


async def _upload_and_probe(client: Client, media: Media) -> dict[str, Any]:
    alice = await user(client)
    # The file name lies; the type comes from probing the bytes.
    response = await client.post(
        "/api/content",
        data=form(media.video, filename="notes.txt", caption="first #clip"),
        headers=alice.headers,
    )
    body = await ok(response, 202)
    assert body["kind"] == "video" and body["status"] in ("pending", "processing")
    await client.app[SOCIAL].contents.jobs.wait(body["id"])
    ready: dict[str, Any] = await ok(await client.get(f"/api/content/{body['id']}", headers=alice.headers))
    assert ready["status"] == "ready", ready
    assert ready["duration_s"] > 1.0 and ready["height"] == 120
    master = ready["playback"]["hls_url"]
    assert master.endswith("master.m3u8") and ready["playback"]["poster_url"].endswith(".jpg")
    playlist = await client.get(master.removeprefix(str(client.make_url(""))))
    assert playlist.status == 200 and (await playlist.text()).startswith("#EXTM3U")
    # ffprobe fetches the playlists and segments from the running app over HTTP.
    probe = await asyncio.create_subprocess_exec(
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name,width,height",
        "-of",
        "json",
        master,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(probe.communicate(), 60)
    assert probe.returncode == 0, err
    codecs = {s["codec_name"] for s in json.loads(out)["streams"]}
    assert {"h264", "aac"} <= codecs
    # The source upload is gone once packaged.
    assert not [p for p in (client.app[SETTINGS].data_dir / "uploads").iterdir() if p.is_file()]
    return ready


async def test_bad_uploads_leave_nothing_behind(make_client: AppFactory, db_url: str, media: Media) -> None:
    client = await make_client(database_url=db_url, upload_limit_bytes=4096)
    alice = await user(client)
    h = alice.headers
    await problem(await client.post("/api/content", data=form(data=b"not media at all" * 10), headers=h), 415)
    truncated = media.video.read_bytes()[:2000]
    await problem(await client.post("/api/content", data=form(data=truncated, filename="x.mp4"), headers=h), 415)
    big = await problem(await client.post("/api/content", data=form(media.audio), headers=h), 413)
    assert big["limit"] == 4096
    bad_caption = await problem(
        await client.post("/api/content", data=form(media.image, caption="hi\x07there"), headers=h), 422
    )
    assert bad_caption["errors"][0]["pointer"] == "#/caption"
    await problem(await client.post("/api/content", data=form(media.image, category="nope"), headers=h), 422)
    await problem(await client.post("/api/content", data=form(caption="no file"), headers=h), 422)
    await problem(await client.post("/api/content", data=form(data=b"x" * 100, extra="1"), headers=h), 422)
    await problem(await client.post("/api/content", json={"caption": "x"}, headers=h), 415)
    assert await _count(client, contents) == 0
    assert _leftovers(client) == []


async def test_audio_is_not_content_and_sound_must_exist(client: Client, media: Media) -> None:
    alice = await user(client)
    await problem(await client.post("/api/content", data=form(media.audio), headers=alice.headers), 422)
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    await problem(
        await client.post("/api/content", data=form(media.image, sound_id=missing), headers=alice.headers),
        404,
    )
    assert await _count(client, contents) == 0


async def test_views_likes_and_comments_are_counted_once(client: Client, media: Media) -> None:
    alice, bob = await user(client), await user(client)
    post = await post_image(client, alice, media, caption="count me")
    url = f"/api/content/{post['id']}"
    assert (await ok(await client.post(f"{url}/view", headers=bob.headers)))["counted"] is True
    assert (await ok(await client.post(f"{url}/view", headers=bob.headers)))["counted"] is False
    assert (await ok(await client.post(f"{url}/like", headers=bob.headers)))["like_count"] == 1
    again = await problem(await client.post(f"{url}/like", headers=bob.headers), 409)
    assert again["type"].endswith("already-liked")
    comment = await ok(await client.post(f"{url}/comment", json={"text": "nice!"}, headers=bob.headers), 201)
    assert comment["user"]["id"] == bob.id
    await problem(await client.post(f"{url}/comment", json={"text": "bad\x00"}, headers=bob.headers), 422)
    got = await ok(await client.get(url, headers=bob.headers))
    assert (got["view_count"], got["like_count"], got["comment_count"], got["liked"]) == (1, 1, 1, True)
    listed = await ok(await client.get(f"{url}/comments"))
    assert [c["text"] for c in listed["items"]] == ["nice!"]
    assert (await ok(await client.delete(f"{url}/unlike", headers=bob.headers)))["like_count"] == 0
    await problem(await client.delete(f"{url}/unlike", headers=bob.headers), 404)
    kinds = [n["kind"] for n in (await ok(await client.get("/api/notifications", headers=alice.headers)))["items"]]
    assert kinds == ["comment", "like"]
    await problem(await client.post("/api/content/01ARZ3NDEKTSV4RRFFQ69G5FAV/like", headers=bob.headers), 404)


async def test_feed_puts_followed_creators_first_and_never_repeats(client: Client, media: Media) -> None:
    viewer, followed, other = await user(client), await user(client), await user(client)
    mine = [(await post_image(client, followed, media, caption=f"f{i}"))["id"] for i in range(3)]
    theirs = [(await post_image(client, other, media, caption=f"o{i}"))["id"] for i in range(4)]
    assert (await client.post(f"/api/users/{followed.id}/follow", headers=viewer.headers)).status == 204
    # Make one of the others' posts the most trending.
    for _ in range(1):
        await ok(await client.post(f"/api/content/{theirs[0]}/like", headers=followed.headers))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = await ok(await client.get("/api/feed", params=params, headers=viewer.headers))
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:3] == list(reversed(mine))
    assert seen[3] == theirs[0]
    assert sorted(seen[3:]) == sorted(theirs) and len(seen) == len(set(seen)) == 7
    anonymous = await ok(await client.get("/api/feed", params={"limit": "100"}))
    assert set(ids(anonymous)) == set(mine + theirs)
    await problem(await client.get("/api/feed", params={"cursor": "garbage!"}), 400)


async def test_processing_content_is_visible_only_to_its_creator(
    make_client: AppFactory, db_url: str, media: Media
) -> None:
    client = await make_client(database_url=db_url)
    alice, bob = await user(client), await user(client)
    body = await ok(await client.post("/api/content", data=form(media.video), headers=alice.headers), 202)
    seen_by_bob = await client.get(f"/api/content/{body['id']}", headers=bob.headers)
    status = (await ok(await client.get(f"/api/content/{body['id']}", headers=alice.headers)))["status"]
    if status != "ready":
        await problem(seen_by_bob, 404)
    await client.app[SOCIAL].contents.jobs.wait(body["id"])
    await asyncio.sleep(0)
    assert (await ok(await client.get(f"/api/content/{body['id']}", headers=bob.headers)))["status"] == "ready"


async def test_a_failed_packaging_job_is_visible_and_leaves_no_files(make_client: AppFactory, media: Media) -> None:
    client = await make_client()
    social = client.app[SOCIAL]
    social.contents.jobs.packager = FfmpegPackager(social.files, ffmpeg="false")  # exits 1, writes nothing
    alice = await user(client)
    body = await ok(await client.post("/api/content", data=form(media.video), headers=alice.headers), 202)
    await social.contents.jobs.wait(body["id"])
    failed = await ok(await client.get(f"/api/content/{body['id']}", headers=alice.headers))
    assert failed["status"] == "failed" and failed["error"] and failed["playback"]["hls_url"] is None
    assert _leftovers(client) == []


async def test_concurrent_likes_are_all_counted(client: Client, media: Media) -> None:
    alice = await user(client)
    fans = [await user(client) for _ in range(12)]
    post = await post_image(client, alice, media)
    url = f"/api/content/{post['id']}/like"
    responses = await asyncio.gather(*(client.post(url, headers=fan.headers) for fan in fans))
    assert [r.status for r in responses] == [200] * len(fans), [await r.text() for r in responses]
    got = await ok(await client.get(f"/api/content/{post['id']}"))
    assert got["like_count"] == len(fans)
    assert (await ok(await client.get(f"/api/users/{alice.id}")))["like_count"] == len(fans)


async def test_restart_resumes_packaging_and_abandons_lost_uploads(
    make_client: AppFactory, media: Media, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "node",
        database_url=f"sqlite:///{tmp_path / 'node.db'}",
        jwt_secret="restart-test-secret-" + "x" * 32,
        log_json=False,
    )
    first = await make_client(create_app(settings))
    alice = await user(first)
    resumable, lost = new_id(), new_id()
    uploads = first.app[SETTINGS].data_dir / "uploads"
    shutil.copy(media.video, uploads / f"{resumable}.mp4")
    async with first.app[DATABASE].write() as conn:  # what a process killed mid-packaging leaves behind
        for content_id, status, age in ((resumable, "processing", 0), (lost, "pending", 2)):
            await conn.execute(
                contents.insert().values(
                    id=content_id,
                    creator_id=alice.id,
                    kind="video",
                    caption="",
                    status=status,
                    media_prefix=f"content/{content_id}",
                    source_key=f"{content_id}.mp4",
                    trend=0.0,
                    created_at=utcnow() - timedelta(hours=age),
                )
            )
    second = await make_client(create_app(settings))  # starts up on the same data directory and database
    await second.app[SOCIAL].contents.jobs.wait(resumable)
    assert (await ok(await second.get(f"/api/content/{resumable}", headers=alice.headers)))["status"] == "ready"
    assert (await ok(await second.get(f"/api/content/{lost}", headers=alice.headers)))["status"] == "failed"
