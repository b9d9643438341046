"""Creator tools over real HTTP: scheduling (with restarts and two nodes) and analytics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from api.creator.analytics import ActivityEvent, Metric
from api.state import ANALYTICS, DATABASE
from store.schema.creator import scheduled_items
from tests.api.helpers import Client, bearer, problem, register
from tests.commerce.conftest import CHECKOUT, creator, notices, product
from tests.conftest import AppFactory


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_scheduled_items_run_once_across_a_restart_and_two_nodes(make_client: AppFactory, db_url: str) -> None:
    first = await make_client(database_url=db_url, scheduler_poll_s=0.1)
    author = await creator(first)
    h = bearer(author)
    early = await first.post("/api/scheduling/schedule", json={"scheduled_at": at(0.6), "caption": "early"}, headers=h)
    assert early.status == 201, await early.text()
    late = await first.post("/api/scheduling/schedule", json={"scheduled_at": at(2.0), "caption": "late"}, headers=h)
    early_id, late_id = (await early.json())["id"], (await late.json())["id"]
    await first.close()  # the service goes down before either is due

    await asyncio.sleep(1.0)  # "early" comes due while nothing runs
    nodes = [await make_client(database_url=db_url, scheduler_poll_s=0.1) for _ in range(2)]
    for _ in range(200):  # both are due within ~1 s; the rest is room for a machine busy with other tests
        async with nodes[0].app[DATABASE].read() as conn:
            rows = {r.id: r for r in await conn.execute(sa.select(scheduled_items))}
        if all(r.status == "done" for r in rows.values()):
            break
        await asyncio.sleep(0.1)
    assert {i: (r.status, r.attempts) for i, r in rows.items()} == {early_id: ("done", 1), late_id: ("done", 1)}
    assert rows[late_id].finished_at >= rows[late_id].due_at
    ran = await notices(nodes[0], author)  # the nodes share the database: every notice of both is here
    assert sorted(n["subject_id"] for n in ran) == sorted([early_id, late_id])


async def test_schedule_edit_cancel_calendar_and_bad_input(client: Client) -> None:
    author = await creator(client)
    h = bearer(author)
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    post = await (
        await client.post(
            "/api/scheduling/schedule",
            json={"scheduled_at": when.isoformat(), "caption": "Launch day\nmore", "hashtags": ["#launch"]},
            headers=h,
        )
    ).json()
    assert post["status"] == "pending" and post["title"] == "Launch day" and post["payload"]["hashtags"] == ["#launch"]
    live = await client.post(
        "/api/scheduling/livestream",
        json={"scheduled_at": (when + timedelta(hours=2)).isoformat(), "title": "Q&A"},
        headers=h,
    )
    assert live.status == 201, await live.text()
    live_body = await live.json()
    assert live_body["runs_at"] < live_body["scheduled_at"]  # the follower reminder goes out first

    for bad in (
        {"scheduled_at": at(-60)},
        {"scheduled_at": at(400 * 86400)},
        {"scheduled_at": "2030-01-01T10:00:00"},
        {"scheduled_at": at(60), "visibility": "everyone"},
    ):
        await problem(await client.post("/api/scheduling/schedule", json=bad, headers=h), 422)
    viewer = await register(client)
    await problem(
        await client.post(
            "/api/scheduling/livestream", json={"scheduled_at": at(60), "title": "x"}, headers=bearer(viewer)
        ),
        403,
    )

    month = when.strftime("%Y-%m")
    cal = await (await client.get(f"/api/scheduling/calendar?month={month}", headers=h)).json()
    assert cal["month"] == month and cal["days"][0]["items"][0]["id"] == post["id"]
    await problem(await client.get("/api/scheduling/calendar?month=2026-13", headers=h), 422)

    moved = when + timedelta(days=1)
    edited = await client.put(
        f"/api/scheduling/{post['id']}", json={"scheduled_at": moved.isoformat(), "caption": "New caption"}, headers=h
    )
    body = await edited.json()
    assert (
        body["scheduled_at"].startswith(moved.strftime("%Y-%m-%dT%H:%M:%S"))
        and body["payload"]["caption"] == "New caption"
        and body["payload"]["hashtags"] == ["#launch"]
    )
    await problem(await client.put(f"/api/scheduling/{post['id']}", json={"caption": "x"}, headers=bearer(viewer)), 404)
    mine = await (await client.get("/api/scheduling/my-scheduled?limit=1", headers=h)).json()
    assert [i["id"] for i in mine["items"]] == [live_body["id"]]
    rest = await (await client.get(f"/api/scheduling/my-scheduled?cursor={mine['next_cursor']}", headers=h)).json()
    assert [i["id"] for i in rest["items"]] == [post["id"]]

    cancelled = await (await client.delete(f"/api/scheduling/{post['id']}", headers=h)).json()
    assert cancelled["status"] == "cancelled"
    await problem(await client.delete(f"/api/scheduling/{post['id']}", headers=h), 409)
    await problem(await client.put(f"/api/scheduling/{post['id']}", json={"caption": "again"}, headers=h), 409)
    pending = await (await client.get("/api/scheduling/my-scheduled?status=pending", headers=h)).json()
    assert [i["id"] for i in pending["items"]] == [live_body["id"]]


async def test_analytics_from_orders_and_activity(client: Client) -> None:
    seller = await creator(client)
    buyer = await register(client)
    item = await product(client, seller, price=1500, stock=10)
    for _ in range(2):
        placed = await client.post(
            "/api/orders",
            json={"items": [{"product_id": item["id"], "quantity": 1}], **CHECKOUT},
            headers=bearer(buyer),
        )
        assert placed.status == 201
    sid = seller["user"]["id"]
    analytics = client.app[ANALYTICS]
    await analytics.record(
        *(ActivityEvent(Metric.VIEW, sid, "01HCONTENT0000000000000001", f"viewer{i}") for i in range(5)),
        ActivityEvent(Metric.WATCH_MS, sid, "01HCONTENT0000000000000001", "viewer0", 12_000),
        ActivityEvent(Metric.FOLLOW, sid, actor_id="viewer0"),
        ActivityEvent(Metric.LIVE_PEAK, sid, "01HLIVE000000000000000001", value=40),
        ActivityEvent(Metric.LIVE_PEAK, sid, "01HLIVE000000000000000001", value=25),
        ActivityEvent(
            Metric.VIEW, sid, "01HCONTENT0000000000000002", "viewer1", at=datetime.now(UTC) - timedelta(days=10)
        ),
    )
    h = bearer(seller)
    overview = await (await client.get("/api/analytics/overview", headers=h)).json()
    totals = {m["metric"]: m["total"] for m in overview["metrics"]}
    assert totals["orders"] == 2 and totals["revenue"] == 3000 and totals["views"] == 5
    assert totals["watch_ms"] == 12_000 and totals["follows"] == 1 and totals["live_peak_viewers"] == 40
    views = next(m for m in overview["metrics"] if m["metric"] == "views")
    assert views["previous"] == 1 and views["change_pct"] == 400.0 and views["daily"][-1] == 5
    month = await (await client.get("/api/analytics/overview?days=28", headers=h)).json()
    assert next(m for m in month["metrics"] if m["metric"] == "views")["total"] == 6
    await problem(await client.get("/api/analytics/overview?days=0", headers=h), 422)

    content = await (await client.get("/api/analytics/content/01HCONTENT0000000000000001", headers=h)).json()
    assert {m["metric"]: m["total"] for m in content["metrics"]}["views"] == 5
    sales = await (await client.get(f"/api/analytics/content/{item['id']}", headers=h)).json()
    assert {m["metric"]: m["total"] for m in sales["metrics"]}["orders"] == 2
    other = await creator(client)
    await problem(await client.get("/api/analytics/content/01HCONTENT0000000000000001", headers=bearer(other)), 404)
    await problem(await client.get("/api/analytics/overview", headers=bearer(buyer)), 403)

    profile = await (await client.get("/api/analytics/profile", headers=h)).json()
    assert profile["follower_gain_28d"] == 1 and profile["all_time"]["views"] == 6
    assert [t["content_id"] for t in profile["top_content"]] == [
        "01HCONTENT0000000000000001",
        "01HCONTENT0000000000000002",
    ]


async def test_live_reminder_reaches_followers_before_the_start(make_client: AppFactory, db_url: str) -> None:
    client = await make_client(database_url=db_url, scheduler_poll_s=0.1, live_reminder_lead_s=60)
    author = await creator(client)
    fans = [await register(client) for _ in range(2)]
    for fan in fans:  # the reminder goes to the social follow graph's followers
        followed = await client.post(f"/api/users/{author['user']['id']}/follow", headers=bearer(fan))
        assert followed.status == 204, await followed.text()
    starts = datetime.now(UTC) + timedelta(seconds=60.5)  # the reminder is due in half a second
    made = await client.post(
        "/api/scheduling/livestream", json={"scheduled_at": starts.isoformat(), "title": "AMA"}, headers=bearer(author)
    )
    live = await made.json()
    for _ in range(50):
        if all([await notices(client, f) for f in fans]):
            break
        await asyncio.sleep(0.1)
    for fan in fans:
        [notice] = await notices(client, fan)
        assert (notice["kind"], notice["subject_id"], notice["data"]["creator_id"]) == (
            "live",
            live["id"],
            author["user"]["id"],
        )
    done = await (await client.get("/api/scheduling/my-scheduled?kind=live", headers=bearer(author))).json()
    assert done["items"][0]["status"] == "done"
    assert datetime.now(UTC) < starts  # reminded before the live, not at it
