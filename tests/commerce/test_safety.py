"""Reports, the moderation queue and its effects, support tickets: over real HTTP."""

from __future__ import annotations

import sqlalchemy as sa

from store.schema.safety import moderation_actions, reports
from tests.api.helpers import Client, bearer, problem, register
from tests.commerce.conftest import admin, count, creator, notices, product

MISSING = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


async def test_reports_reach_the_queue_at_the_threshold(client: Client) -> None:
    seller = await creator(client)
    item = await product(client, seller)
    reporters = [await register(client) for _ in range(3)]
    body = {"target_type": "product", "target_id": item["id"], "reason": "scam", "details": "fake reviews"}
    boss = await admin(client)

    first = await client.post("/api/reports", json=body, headers=bearer(reporters[0]))
    assert first.status == 201, await first.text()
    assert (await first.json())["status"] == "received"
    await problem(await client.post("/api/reports", json=body, headers=bearer(reporters[0])), 409)
    assert (await (await client.get("/api/moderation/queue", headers=bearer(boss))).json())["items"] == []

    for who in reporters[1:]:
        assert (await client.post("/api/reports", json=body, headers=bearer(who))).status == 201
    queue = await (await client.get("/api/moderation/queue", headers=bearer(boss))).json()
    assert [(c["target_id"], c["report_count"], c["queued_reason"]) for c in queue["items"]] == [
        (item["id"], 3, "report-threshold")
    ]
    mine = await (await client.get("/api/reports/my", headers=bearer(reporters[0]))).json()
    assert mine["items"][0]["status"] == "in_review"

    # The admin removes it: it leaves listings and search at once, the reporter sees the outcome.
    done = await client.post(
        f"/api/moderation/product/{item['id']}", json={"action": "remove", "reason": "scam"}, headers=bearer(boss)
    )
    assert done.status == 201, await done.text()
    await problem(await client.get(f"/api/products/{item['id']}"), 404)
    assert (await (await client.get("/api/products")).json())["items"] == []
    assert (await (await client.get("/api/products/search?q=ring")).json())["items"] == []
    mine = await (await client.get("/api/reports/my", headers=bearer(reporters[0]))).json()
    assert mine["items"][0]["status"] == "action_taken"
    assert (await (await client.get("/api/moderation/queue", headers=bearer(boss))).json())["items"] == []
    told = await notices(client, seller)
    assert [(n["kind"], n["subject_id"], n["data"]["action"]) for n in told] == [("moderation", item["id"], "remove")]

    await client.post(f"/api/moderation/product/{item['id']}", json={"action": "restore"}, headers=bearer(boss))
    assert (await client.get(f"/api/products/{item['id']}")).status == 200
    history = await (await client.get(f"/api/moderation/product/{item['id']}/actions", headers=bearer(boss))).json()
    assert [(a["action"], a["admin_id"]) for a in history["items"]] == [
        ("remove", boss["user"]["id"]),
        ("restore", boss["user"]["id"]),
    ]


async def test_severe_reason_queues_at_once_and_ban_blocks_login(client: Client) -> None:
    villain = await creator(client)
    wares = await product(client, villain)
    reporter = await register(client)
    boss = await admin(client)
    body = {"target_type": "user", "target_id": villain["user"]["id"], "reason": "child_safety"}
    assert (await client.post("/api/reports", json=body, headers=bearer(reporter))).status == 201
    queue = await (await client.get("/api/moderation/queue", headers=bearer(boss))).json()
    assert queue["items"][0]["queued_reason"] == "severe-reason"

    banned = await client.post(
        f"/api/moderation/user/{villain['user']['id']}", json={"action": "ban"}, headers=bearer(boss)
    )
    assert banned.status == 201
    login = {"login": villain["user"]["username"], "password": "correct horse battery"}
    assert (await problem(await client.post("/api/auth/login", json=login), 403))["type"].endswith("account-banned")
    await problem(await client.post("/api/auth/refresh", json={"refresh_token": villain["refresh_token"]}), 401)
    # A banned seller's shop closes at once: not listed, not found, not sold.
    assert (await (await client.get("/api/products")).json())["items"] == []
    await problem(await client.get(f"/api/products/{wares['id']}"), 404)
    add = {"product_id": wares["id"], "quantity": 1}
    await problem(await client.post("/api/cart/add", json=add, headers=bearer(reporter)), 404)
    await client.post(f"/api/moderation/user/{villain['user']['id']}", json={"action": "restore"}, headers=bearer(boss))
    assert (await client.post("/api/auth/login", json=login)).status == 200
    assert (await client.get(f"/api/products/{wares['id']}")).status == 200


async def test_bad_reports_and_non_admins_change_nothing(client: Client) -> None:
    user = await register(client)
    h = bearer(user)
    await problem(
        await client.post(
            "/api/reports", json={"target_type": "user", "target_id": MISSING, "reason": "spam"}, headers=h
        ),
        404,
    )
    await problem(
        await client.post(
            "/api/reports", json={"target_type": "user", "target_id": user["user"]["id"], "reason": "spam"}, headers=h
        ),
        422,
    )
    await problem(
        await client.post(
            "/api/reports", json={"target_type": "planet", "target_id": MISSING, "reason": "spam"}, headers=h
        ),
        422,
    )
    await problem(
        await client.post(
            "/api/reports", json={"target_type": "user", "target_id": MISSING, "reason": "boredom"}, headers=h
        ),
        422,
    )
    await problem(await client.get("/api/moderation/queue", headers=h), 403)
    await problem(
        await client.post(f"/api/moderation/user/{user['user']['id']}", json={"action": "ban"}, headers=h), 403
    )
    await problem(await client.get("/api/moderation/queue"), 401)
    boss = await admin(client)
    await problem(
        await client.post(f"/api/moderation/planet/{MISSING}", json={"action": "ban"}, headers=bearer(boss)), 404
    )
    await problem(
        await client.post(f"/api/moderation/user/{MISSING}", json={"action": "ban"}, headers=bearer(boss)), 404
    )
    assert await count(client, reports) == 0 and await count(client, moderation_actions) == 0
    # Login still works: nothing was banned.
    login = {"login": user["user"]["username"], "password": "correct horse battery"}
    assert (await client.post("/api/auth/login", json=login)).status == 200


async def test_support_ticket_conversation(client: Client) -> None:
    user = await register(client)
    agent = await admin(client)
    h, ha = bearer(user), bearer(agent)
    opened = await client.post(
        "/api/support/tickets",
        json={
            "subject": "Payout missing",
            "category": "payment",
            "priority": "high",
            "message": "My payout did not arrive.",
            "attachments": ["https://cdn.example.test/receipt.png"],
        },
        headers=h,
    )
    assert opened.status == 201, await opened.text()
    ticket = await opened.json()
    assert ticket["status"] == "open" and ticket["messages"][0]["attachments"] == [
        "https://cdn.example.test/receipt.png"
    ]
    tid = ticket["id"]
    await problem(
        await client.post("/api/support/tickets", json={"subject": "x", "category": "nope", "message": "m"}, headers=h),
        422,
    )

    other = await register(client)
    await problem(await client.get(f"/api/support/tickets/{tid}", headers=bearer(other)), 404)
    everyone = await (await client.get("/api/support/tickets?scope=all", headers=ha)).json()
    assert [t["id"] for t in everyone["items"]] == [tid]
    assert (await (await client.get("/api/support/tickets?scope=all", headers=bearer(other))).json())["items"] == []

    replied = await (
        await client.post(f"/api/support/tickets/{tid}/reply", json={"message": "Looking into it."}, headers=ha)
    ).json()
    assert replied["status"] == "pending" and replied["unread_for_user"] == 1
    assert [(n["kind"], n["subject_id"]) for n in await notices(client, user)] == [("support", tid)]
    seen = await (await client.get(f"/api/support/tickets/{tid}", headers=h)).json()
    assert seen["unread_for_user"] == 0 and [m["author_role"] for m in seen["messages"]] == ["user", "agent"]

    back = await (await client.post(f"/api/support/tickets/{tid}/reply", json={"message": "Thanks"}, headers=h)).json()
    assert back["status"] == "open"
    await problem(
        await client.post(f"/api/support/tickets/{tid}/reply", json={"message": "x", "resolve": True}, headers=h), 409
    )
    resolved = await (
        await client.post(
            f"/api/support/tickets/{tid}/reply", json={"message": "Sent again.", "resolve": True}, headers=ha
        )
    ).json()
    assert resolved["status"] == "resolved"
    closed = await (await client.put(f"/api/support/tickets/{tid}/close", headers=h)).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    body = await problem(
        await client.post(f"/api/support/tickets/{tid}/reply", json={"message": "hello?"}, headers=h), 409
    )
    assert body["type"].endswith("ticket-closed")
    await problem(await client.put(f"/api/support/tickets/{tid}/close", headers=h), 409)
    final = await (await client.get(f"/api/support/tickets/{tid}", headers=h)).json()
    assert len(final["messages"]) == 4
    listed = await (await client.get("/api/support/tickets?status=closed", headers=h)).json()
    assert [t["id"] for t in listed["items"]] == [tid]


async def test_report_counts_are_exact_under_concurrency(client: Client) -> None:
    import asyncio

    target = await register(client)
    reporters = [await register(client) for _ in range(10)]
    body = {"target_type": "user", "target_id": target["user"]["id"], "reason": "spam"}
    responses = await asyncio.gather(*(client.post("/api/reports", json=body, headers=bearer(r)) for r in reporters))
    assert [r.status for r in responses] == [201] * 10
    boss = await admin(client)
    queue = await (await client.get("/api/moderation/queue", headers=bearer(boss))).json()
    assert queue["items"][0]["report_count"] == 10
    assert sa is not None
