"""A live removed by a platform moderator ends like any other live: its viewers get the end event, the
room, stage and media close, and the live leaves the listings."""

from __future__ import annotations

from api.state import ANALYTICS_FEED, LIVES
from tests.api.helpers import Client, bearer
from tests.commerce.conftest import admin
from tests.live.conftest import Viewer, creator, fan, go_live, url_of
from tests.live.test_sockets import until


async def test_moderator_removal_ends_the_room_for_its_viewers(live_app: Client) -> None:
    client = live_app
    host, watcher = await creator(client), await fan(client)
    stream = (await go_live(client, host))["stream"]["id"]
    viewer = await Viewer().connect(url_of(client), watcher)
    try:
        assert (await viewer.call("join", {"room": stream}))["ok"]
        boss = await admin(client)
        removed = await client.post(
            f"/api/moderation/livestream/{stream}", json={"action": "remove", "reason": "violence"},
            headers=bearer(boss),
        )
        assert removed.status == 201, await removed.text()
        await until(lambda: len(viewer.of("room.ended")) == 1)
        assert viewer.of("room.ended")[0]["data"]["by"] == "platform"
        assert client.app[LIVES].get(stream) is None  # program and ladder stopped
        listed = await (await client.get("/api/livestreams")).json()
        assert stream not in {item["id"] for item in listed["items"]}
        # Removing again changes nothing and ends nothing twice.
        again = await client.post(
            f"/api/moderation/livestream/{stream}", json={"action": "remove", "reason": "violence"},
            headers=bearer(boss),
        )
        assert again.status < 500
        assert len(viewer.of("room.ended")) == 1
        refused = await viewer.call("chat", {"room": stream, "text": "still here?"})
        assert not refused["ok"]
    finally:
        await viewer.close()


async def test_a_lives_peak_audience_reaches_the_hosts_analytics(live_app: Client) -> None:
    client = live_app
    host = await creator(client)
    stream = (await go_live(client, host))["stream"]["id"]
    viewers = [await Viewer().connect(url_of(client), await fan(client)) for _ in range(3)]
    try:
        for viewer in viewers:
            assert (await viewer.call("join", {"room": stream}))["ok"]
        await viewers[0].call("leave", {"room": stream})
        await client.app[ANALYTICS_FEED].flush()
        body = await (await client.get("/api/analytics/overview", headers=bearer(host))).json()
        totals = {m["metric"]: m["total"] for m in body["metrics"]}
        assert totals["live_peak_viewers"] == 3  # the peak, not the sum of joins or the count after a leave
    finally:
        for viewer in viewers:
            await viewer.close()
