"""Gifts over real HTTP: catalog, sending (linked coins/diamonds), streaks, popular, supporters, levels."""

from __future__ import annotations

import asyncio
from typing import Any

from api.state import ECONOMY
from tests.api.helpers import problem
from tests.economy.conftest import Client, app_audit_ok, app_snapshot, bearer, register, top_up, wallet


async def send(client: Client, session: dict[str, Any], receiver: dict[str, Any], gift_id: str, **extra: Any) -> Any:
    body = {"gift_id": gift_id, "receiver_id": receiver["user"]["id"], **extra}
    return await client.post("/api/gifts/send", json=body, headers=bearer(session))


async def test_catalog(econ: Client) -> None:
    catalog = await (await econ.get("/api/gifts")).json()
    assert [g["id"] for g in catalog][:3] == ["rose", "heart", "finger_heart"]
    corgi = await (await econ.get("/api/gifts/corgi")).json()
    assert corgi["coin_price"] == 299 and corgi["diamond_value"] == 149 and not corgi["streakable"]
    assert (await (await econ.get("/api/gifts/rocket")).json())["diamond_value"] == 10500
    premium = await (await econ.get("/api/gifts", params={"category": "premium"})).json()
    assert {g["id"] for g in premium} == {"sports_car", "rocket", "universe"}
    await problem(await econ.get("/api/gifts/nothing"), 404)


async def test_send_charges_sender_and_credits_receiver(econ: Client) -> None:
    fan, creator = await register(econ), await register(econ, account_type="creator")
    await top_up(econ, fan, 1000)
    response = await send(econ, fan, creator, "corgi", quantity=2, livestream_id="live-42")
    assert response.status == 201, await response.text()
    receipt = await response.json()
    assert receipt["coins"] == 598 and receipt["diamonds"] == 298 and receipt["balance"] == 402
    assert receipt["livestream_id"] == "live-42"
    assert await wallet(econ, creator) == {"user_id": creator["user"]["id"], "coins": 0, "diamonds": 298}
    history = await (
        await econ.get(f"/api/wallets/{creator['user']['id']}/transactions", headers=bearer(creator))
    ).json()
    assert history["items"][0]["kind"] == "gift" and history["items"][0]["memo"]["gift_id"] == "corgi"
    await app_audit_ok(econ)


async def test_streaks_count_up(econ: Client) -> None:
    fan, creator = await register(econ), await register(econ)
    await top_up(econ, fan, 100)
    counts = []
    for _ in range(3):
        response = await send(econ, fan, creator, "heart", combo_id="combo-1")
        counts.append((await response.json())["combo_count"])
    assert counts == [1, 2, 3]
    await problem(await send(econ, fan, creator, "hat", combo_id="combo-2"), 422)


async def test_bad_gifts_change_nothing(econ: Client) -> None:
    fan, creator = await register(econ), await register(econ)
    await top_up(econ, fan, 50)
    before = await app_snapshot(econ)
    assert (await problem(await send(econ, fan, creator, "hat"), 402))["needed"] == 99
    assert (await problem(await send(econ, fan, fan, "rose"), 400))["type"].endswith("gift-to-self")
    assert (await problem(await send(econ, fan, creator, "unicorn"), 404))["type"].endswith("unknown-gift")
    stranger = {"user": {"id": "01" + "B" * 24}}
    assert (await problem(await send(econ, fan, stranger, "rose"), 404))["type"].endswith("unknown-user")
    for quantity in (0, -1, 1.5, 10_000):
        await problem(await send(econ, fan, creator, "rose", quantity=quantity), 422)
    await problem(
        await econ.post(
            "/api/gifts/send",
            json={"gift_id": "rose", "receiver_id": creator["user"]["id"], "extra": 1},
            headers=bearer(fan),
        ),
        422,
    )
    headers = {**bearer(fan), "Idempotency-Key": "gift-a"}
    body = {"gift_id": "rose", "receiver_id": creator["user"]["id"]}
    assert (await econ.post("/api/gifts/send", json=body, headers=headers)).status == 201
    before = await app_snapshot(econ)
    reused = await econ.post("/api/gifts/send", json={**body, "quantity": 2}, headers=headers)
    assert (await problem(reused, 422))["type"].endswith("idempotency-key-reused")
    assert await app_snapshot(econ) == before


async def test_popular_supporters_and_levels(econ: Client) -> None:
    creator, big, small = await register(econ), await register(econ), await register(econ)
    await top_up(econ, big, 2000)
    await top_up(econ, small, 100)
    for _ in range(3):
        assert (await send(econ, big, creator, "corgi")).status == 201
    assert (await send(econ, small, creator, "doughnut", quantity=2)).status == 201
    assert (await send(econ, small, big, "rose")).status == 201

    popular = await (await econ.get("/api/gifts/popular", params={"period": "day"})).json()
    assert [(p["gift"]["id"], p["coins_spent"], p["sends"]) for p in popular] == [
        ("corgi", 897, 3),
        ("doughnut", 60, 1),
        ("rose", 1, 1),
    ]

    ranked = await (await econ.get(f"/api/supporters/{creator['user']['id']}", params={"period": "all"})).json()
    assert [(s["rank"], s["user_id"], s["coins"], s["gifts"]) for s in ranked] == [
        (1, big["user"]["id"], 897, 3),
        (2, small["user"]["id"], 60, 1),
    ]
    assert ranked[0]["username"] == big["user"]["username"]
    top = await (await econ.get("/api/supporters/top", params={"period": "week", "limit": "1"})).json()
    assert [s["user_id"] for s in top] == [big["user"]["id"]]
    await problem(await econ.get("/api/supporters/top", params={"period": "year"}), 422)

    table = await (await econ.get("/api/levels")).json()
    assert table[0]["level"] == 1 and table[1]["min_xp"] == 100
    assert (await (await econ.get("/api/levels/3")).json())["badge"] == "star"
    await problem(await econ.get("/api/levels/99"), 404)
    mine = await (await econ.get("/api/levels/my-level", headers=bearer(big))).json()
    # 897 coins gifted + 1 coin received + one active day (50)
    assert mine["xp"] == 948 and mine["breakdown"] == {
        "coins_spent": 897,
        "coins_received": 1,
        "activity": 50,
    }
    assert mine["level"]["level"] == 3 and mine["next_level"]["level"] == 4
    assert mine["xp_to_next"] == 2000 - 948 and 0 < mine["progress"] < 1
    assert [b["badge"] for b in mine["badges"]] == ["seedling", "spark", "star"]

    stats = await (
        await econ.get("/api/monetization/stats", params={"period": "week", "bucket": "hour"}, headers=bearer(creator))
    ).json()
    assert stats["total_diamonds"] == 3 * 149 + 30 and stats["total_gifts"] == 4
    assert len(stats["buckets"]) == 1 and stats["buckets"][0]["supporters"] == 2
    earnings = await (await econ.get("/api/monetization/earnings", headers=bearer(creator))).json()
    assert earnings["earned"] == 477 and earnings["by_source"] == {"gifts": 477}


async def test_race_100_coins_200_concurrent_gifts(econ: Client) -> None:
    """The issue's race test: exactly 100 one-coin gifts succeed, the others are refused, nothing leaks."""
    fan, creator = await register(econ), await register(econ)
    await top_up(econ, fan, 100)
    responses = await asyncio.gather(*(send(econ, fan, creator, "rose") for _ in range(200)))
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 100, statuses
    for refused in (r for r in responses if r.status != 201):
        body = await problem(refused, refused.status)
        assert refused.status in (402, 409), body
    assert (await wallet(econ, fan))["coins"] == 0
    await app_audit_ok(econ)


async def test_replay_same_key_50_times_concurrently(econ: Client) -> None:
    fan, creator = await register(econ), await register(econ)
    await top_up(econ, fan, 1000)
    headers = {**bearer(fan), "Idempotency-Key": "same-gift"}
    body = {"gift_id": "hat", "receiver_id": creator["user"]["id"]}
    responses = await asyncio.gather(*(econ.post("/api/gifts/send", json=body, headers=headers) for _ in range(50)))
    ok = [await r.json() for r in responses if r.status == 201]
    assert all(r.status in (201, 409) for r in responses)
    assert len(ok) >= 1 and len({receipt["transfer_id"] for receipt in ok}) == 1
    assert (await wallet(econ, fan))["coins"] == 901
    assert (await wallet(econ, creator))["diamonds"] == 49
    await app_audit_ok(econ)


async def test_gift_outside_its_active_window(econ: Client) -> None:
    from datetime import timedelta

    from api.state import DATABASE
    from store.schema.economy import gifts
    from store.types import utcnow

    async with econ.app[DATABASE].write() as conn:
        await conn.execute(gifts.update().where(gifts.c.id == "hat").values(active_until=utcnow() - timedelta(days=1)))
    econ.app[ECONOMY].gifting._loaded_at = -1e9  # the catalog cache refreshes on its own every 30 s
    fan, creator = await register(econ), await register(econ)
    await top_up(econ, fan, 500)
    assert "hat" not in {g["id"] for g in await (await econ.get("/api/gifts")).json()}
    before = await app_snapshot(econ)
    assert (await problem(await send(econ, fan, creator, "hat"), 409))["type"].endswith("gift-unavailable")
    assert await app_snapshot(econ) == before


async def test_openapi_documents_the_economy(econ: Client) -> None:
    document = await (await econ.get("/api/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/wallets",
        "/api/wallets/{user_id}/transactions",
        "/api/gifts/send",
        "/api/coins/purchase",
        "/api/supporters/{user_id}",
        "/api/levels/my-level",
        "/api/monetization/stats",
    ):
        assert path in paths, path
    send_op = paths["/api/gifts/send"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in send_op.get("parameters", []))
    assert "402" in send_op["responses"]
