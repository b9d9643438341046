"""Concurrency: stock and coupon limits hold when many buyers arrive at once."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from api.state import DATABASE
from store.schema.commerce import coupon_redemptions, coupons, orders, products
from tests.api.helpers import Client, bearer, problem, register
from tests.commerce.conftest import CHECKOUT, count, creator, product


async def test_fifty_buyers_race_for_ten_items(client: Client) -> None:
    seller = await creator(client)
    item = await product(client, seller, stock=10)
    buyers = [await register(client, f"racer{i}") for i in range(50)]
    body = {"items": [{"product_id": item["id"], "quantity": 1}], **CHECKOUT}
    responses = await asyncio.gather(*(client.post("/api/orders", json=body, headers=bearer(b)) for b in buyers))
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 10 and statuses.count(409) == 40, statuses
    for response in responses:
        if response.status == 409:
            assert (await problem(response, 409))["type"].endswith("sold-out")
    assert await count(client, orders) == 10
    async with client.app[DATABASE].read() as conn:
        row = (await conn.execute(sa.select(products).where(products.c.id == item["id"]))).one()
    assert (row.stock, row.sold) == (0, 10)


async def test_global_coupon_limit_of_five_raced_by_thirty(client: Client) -> None:
    seller = await creator(client)
    item = await product(client, seller, stock=100, price=1000)
    made = await client.post(
        "/api/coupons", json={"code": "FIRST5", "kind": "fixed", "value": 100, "max_uses": 5}, headers=bearer(seller)
    )
    assert made.status == 201
    buyers = [await register(client, f"coupon{i}") for i in range(30)]
    body = {"items": [{"product_id": item["id"], "quantity": 1}], "coupon_code": "FIRST5", **CHECKOUT}
    responses = await asyncio.gather(*(client.post("/api/orders", json=body, headers=bearer(b)) for b in buyers))
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 5 and statuses.count(409) == 25, statuses
    assert await count(client, coupon_redemptions) == 5 and await count(client, orders) == 5
    async with client.app[DATABASE].read() as conn:
        assert (await conn.execute(sa.select(coupons.c.uses))).scalar_one() == 5
        assert (await conn.execute(sa.select(products.c.stock))).scalar_one() == 95  # losers' stock returned


async def test_per_user_limit_holds_under_concurrency(client: Client) -> None:
    seller = await creator(client)
    item = await product(client, seller, stock=100, price=1000)
    await client.post(
        "/api/coupons",
        json={"code": "ONCE", "kind": "percent", "value": 50, "per_user_limit": 1},
        headers=bearer(seller),
    )
    buyer = await register(client)
    body = {"items": [{"product_id": item["id"], "quantity": 1}], "coupon_code": "ONCE", **CHECKOUT}
    responses = await asyncio.gather(*(client.post("/api/orders", json=body, headers=bearer(buyer)) for _ in range(8)))
    assert sorted(r.status for r in responses) == [201] + [409] * 7
