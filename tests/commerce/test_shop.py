"""The shop over real HTTP: products, cart, coupons, orders, and their bad-input cases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.auth.tokens import Principal, Role
from api.commerce.coupons import Coupons
from api.commerce.models import OrderCreate
from api.commerce.orders import Orders
from api.commerce.payments import coins_for
from api.seed import seed_demo
from api.state import DATABASE, ORDERS
from store.schema.commerce import cart_items, coupons, orders, products
from tests.api.helpers import Client, bearer, problem, register
from tests.commerce.conftest import CHECKOUT, admin, count, creator, notices, product
from tests.conftest import AppFactory, make_settings


async def test_products_create_edit_list_search_featured(client: Client) -> None:
    seller = await creator(client)
    buyer = await register(client)
    await problem(
        await client.post("/api/products", json={"title": "x", "price": 1, "stock": 1}, headers=bearer(buyer)), 403
    )
    await problem(
        await client.post("/api/products", json={"title": "x", "price": -1, "stock": 1}, headers=bearer(seller)), 422
    )
    await problem(
        await client.post("/api/products", json={"title": "x", "price": "10", "stock": 1}, headers=bearer(seller)), 422
    )
    mic = await product(client, seller, title="Studio microphone", description="Cardioid USB mic", price=8999)
    light = await product(client, seller, title="Ring light", category="lighting")
    assert mic["price"] == 8999 and mic["currency"] == "USD" and mic["status"] == "active"

    page = await (await client.get("/api/products?limit=1")).json()
    assert [p["id"] for p in page["items"]] == [light["id"]]
    page2 = await (await client.get(f"/api/products?limit=1&cursor={page['next_cursor']}")).json()
    assert [p["id"] for p in page2["items"]] == [mic["id"]] and page2["next_cursor"] is None
    assert (await (await client.get("/api/products?category=lighting")).json())["items"][0]["id"] == light["id"]

    found = await (await client.get("/api/products/search?q=MICRO")).json()
    assert [p["id"] for p in found["items"]] == [mic["id"]]
    assert (await (await client.get("/api/products/search?q=100%25")).json())["items"] == []

    edited = await client.put(f"/api/products/{mic['id']}", json={"price": 7999, "stock": 3}, headers=bearer(seller))
    assert (await edited.json())["price"] == 7999
    other = await creator(client)
    await problem(await client.put(f"/api/products/{mic['id']}", json={"price": 1}, headers=bearer(other)), 403)
    await problem(await client.put(f"/api/products/{mic['id']}", json={"featured": True}, headers=bearer(seller)), 403)
    boss = await admin(client)
    assert (
        await client.put(f"/api/products/{light['id']}", json={"featured": True}, headers=bearer(boss))
    ).status == 200
    featured = await (await client.get("/api/products/featured")).json()
    assert featured["items"][0]["id"] == light["id"]

    await client.put(f"/api/products/{mic['id']}", json={"status": "archived"}, headers=bearer(seller))
    await problem(await client.get(f"/api/products/{mic['id']}"), 404)
    assert (await client.get(f"/api/products/{mic['id']}", headers=bearer(seller))).status == 200
    await problem(await client.get("/api/products/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404)


async def test_cart_add_update_remove_and_stock_checks(client: Client) -> None:
    seller = await creator(client)
    buyer = await register(client)
    item = await product(client, seller, price=1250, stock=3)
    h = bearer(buyer)
    cart = await (await client.post("/api/cart/add", json={"product_id": item["id"], "quantity": 2}, headers=h)).json()
    assert cart["subtotal"] == 2500 and cart["item_count"] == 2 and cart["items"][0]["available"]
    await problem(await client.post("/api/cart/add", json={"product_id": item["id"], "quantity": 2}, headers=h), 409)
    await problem(await client.post("/api/cart/add", json={"product_id": item["id"], "quantity": -1}, headers=h), 422)
    await problem(await client.put("/api/cart/update", json={"product_id": item["id"], "quantity": 0}, headers=h), 422)
    missing = {"product_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "quantity": 1}
    await problem(await client.post("/api/cart/add", json=missing, headers=h), 404)
    cart = await (
        await client.put("/api/cart/update", json={"product_id": item["id"], "quantity": 3}, headers=h)
    ).json()
    assert cart["subtotal"] == 3750
    assert (await (await client.get("/api/cart", headers=h)).json())["item_count"] == 3

    # Someone else buys the stock: the line shows as unavailable and checkout is refused, changing nothing.
    other = await register(client)
    placed = await client.post(
        "/api/orders",
        json={"items": [{"product_id": item["id"], "quantity": 3}], **CHECKOUT},
        headers=bearer(other),
    )
    assert placed.status == 201, await placed.text()
    cart = await (await client.get("/api/cart", headers=h)).json()
    assert cart["items"][0]["available"] is False
    body = await problem(await client.post("/api/orders", json={**CHECKOUT}, headers=h), 409)
    assert body["type"].endswith("sold-out") and body["product_id"] == item["id"]
    assert await count(client, orders) == 1 and await count(client, cart_items) == 1

    removed = await client.delete(f"/api/cart/remove?product_id={item['id']}", headers=h)
    assert (await removed.json())["items"] == []
    await problem(await client.delete(f"/api/cart/remove?product_id={item['id']}", headers=h), 404)
    await problem(await client.post("/api/orders", json={**CHECKOUT}, headers=h), 409)


async def wallet(client: Client, who: dict[str, Any]) -> int:
    body = await (await client.get("/api/wallets", headers=bearer(who))).json()
    return int(body["coins"])


async def test_order_lifecycle_totals_and_idempotency(client: Client) -> None:
    seller = await creator(client)
    buyer = await register(client)
    a = await product(client, seller, price=1999, stock=5)
    b = await product(client, seller, price=501, stock=5)
    h = bearer(buyer)
    await client.post("/api/cart/add", json={"product_id": a["id"], "quantity": 2}, headers=h)
    await client.post("/api/cart/add", json={"product_id": b["id"], "quantity": 1}, headers=h)
    key = {"Idempotency-Key": "order-1", **h}
    first = await client.post("/api/orders", json=CHECKOUT, headers=key)
    assert first.status == 201, await first.text()
    order = await first.json()
    assert order["subtotal"] == 2 * 1999 + 501 == order["total"] and order["status"] == "paid"
    assert order["discount_line"] is None and len(order["items"]) == 2 and order["payment_ref"]
    again = await client.post("/api/orders", json=CHECKOUT, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true" and (await again.json())["id"] == order["id"]
    assert await count(client, orders) == 1 and await count(client, cart_items) == 0
    # The card bought exactly the coins the order costs (at the coin shop's rate), and they went to the seller.
    price_in_coins = coins_for(order["total"], 142)
    assert await wallet(client, buyer) == 0 and await wallet(client, seller) == price_in_coins

    # A client cannot send its own totals.
    await problem(await client.post("/api/orders", json={**CHECKOUT, "total": 1}, headers=h), 422)
    assert (await (await client.get(f"/api/products/{a['id']}")).json())["stock"] == 3

    listed = await (await client.get("/api/orders", headers=h)).json()
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    sold = await (await client.get("/api/orders?role=seller", headers=bearer(seller))).json()
    assert [o["id"] for o in sold["items"]] == [order["id"]]
    assert (await client.get(f"/api/orders/{order['id']}", headers=bearer(seller))).status == 200
    await problem(await client.get(f"/api/orders/{order['id']}", headers=bearer(await register(client))), 404)
    await problem(await client.put(f"/api/orders/{order['id']}/deliver", headers=bearer(seller)), 409)
    await problem(await client.put(f"/api/orders/{order['id']}/ship", json={}, headers=h), 403)

    # Cancelling a paid order refunds it by a reversing transfer and puts the stock back on sale.
    refunded = await (await client.put(f"/api/orders/{order['id']}/cancel", headers=h)).json()
    assert refunded["status"] == "refunded" and refunded["cancelled_at"]
    assert (await (await client.get(f"/api/products/{a['id']}")).json())["stock"] == 5
    assert await wallet(client, buyer) == price_in_coins and await wallet(client, seller) == 0
    await problem(await client.put(f"/api/orders/{order['id']}/cancel", headers=h), 409)

    # The other way: shipped, then delivered; no cancelling after that.
    second = await (
        await client.post(
            "/api/orders", json={"items": [{"product_id": b["id"], "quantity": 1}], **CHECKOUT}, headers=h
        )
    ).json()
    shipped = await client.put(f"/api/orders/{second['id']}/ship", json={"tracking": "1Z999"}, headers=bearer(seller))
    assert (await shipped.json())["status"] == "shipped" and (await shipped.json())["tracking"] == "1Z999"
    delivered = await (await client.put(f"/api/orders/{second['id']}/deliver", headers=bearer(seller))).json()
    assert delivered["status"] == "delivered" and delivered["delivered_at"]
    await problem(await client.put(f"/api/orders/{second['id']}/cancel", headers=h), 409)

    # Every status change reached the buyer's notifications (stored, listed, pushed over Socket.IO).
    told = [(n["subject_id"], n["data"]["status"]) for n in await notices(client, buyer) if n["kind"] == "order"]
    assert told == [
        (order["id"], "paid"),
        (order["id"], "refunded"),
        (second["id"], "paid"),
        (second["id"], "shipped"),
        (second["id"], "delivered"),
    ]


async def test_payment_in_coins_and_failed_payments_return_the_stock(client: Client) -> None:
    seller = await creator(client)
    buyer = await register(client)
    item = await product(client, seller, price=142, stock=2)  # 142 cents = 100 coins
    h = bearer(buyer)
    coins = {"items": [{"product_id": item["id"], "quantity": 1}], **CHECKOUT, "payment_method": "coins"}
    poor = await problem(await client.post("/api/orders", json=coins, headers=h), 402)
    assert poor["needed"] == 100
    declined = {**coins, "payment_method": "card", "payment_token": "tok_chargeDeclined"}
    assert (await problem(await client.post("/api/orders", json=declined, headers=h), 402))["type"].endswith(
        "card-declined"
    )
    await problem(
        await client.post("/api/orders", json={**coins, "payment_method": "card", "payment_token": None}, headers=h),
        422,
    )
    assert (await (await client.get(f"/api/products/{item['id']}")).json())["stock"] == 2
    failed = await (await client.get("/api/orders?status=cancelled", headers=h)).json()
    assert len(failed["items"]) == 2 and all(o["payment_ref"] is None for o in failed["items"])
    # Checking out the cart with a payment that fails leaves the cart as it was.
    await client.post("/api/cart/add", json={"product_id": item["id"], "quantity": 1}, headers=h)
    await problem(await client.post("/api/orders", json={**CHECKOUT, "payment_method": "coins"}, headers=h), 402)
    assert (await (await client.get("/api/cart", headers=h)).json())["item_count"] == 1
    await client.delete(f"/api/cart/remove?product_id={item['id']}", headers=h)

    topped = await client.post("/api/wallets/top-up", json={"coins": 150, "payment_token": "tok_visa"}, headers=h)
    assert topped.status in (200, 201), await topped.text()
    paid = await (await client.post("/api/orders", json=coins, headers=h)).json()
    assert paid["status"] == "paid" and await wallet(client, buyer) == 50 and await wallet(client, seller) == 100
    await problem(await client.post("/api/orders", json=coins, headers=h), 402)
    assert (await (await client.get(f"/api/products/{item['id']}")).json())["stock"] == 1


async def test_orders_refuse_bad_input_and_change_nothing(client: Client) -> None:
    seller, seller2 = await creator(client), await creator(client)
    buyer = await register(client)
    a = await product(client, seller, stock=2)
    b = await product(client, seller2, stock=2)
    h = bearer(buyer)
    for items, status in (
        ([{"product_id": a["id"], "quantity": -1}], 422),
        ([{"product_id": a["id"], "quantity": 3}], 409),
        ([{"product_id": a["id"], "quantity": 1}, {"product_id": b["id"], "quantity": 1}], 422),
        ([{"product_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "quantity": 1}], 404),
        ([], 422),
    ):
        await problem(await client.post("/api/orders", json={"items": items, **CHECKOUT}, headers=h), status)
    await problem(
        await client.post(
            "/api/orders",
            json={"items": [{"product_id": a["id"], "quantity": 1}], **CHECKOUT},
            headers=bearer(seller),
        ),
        403,
    )
    assert await count(client, orders) == 0
    async with client.app[DATABASE].read() as conn:
        stocks = (await conn.execute(sa.select(sa.func.sum(products.c.stock)))).scalar_one()
    assert stocks == 4


async def test_coupons_percent_fixed_scope_minimum_expiry_limits(client: Client) -> None:
    seller = await creator(client)
    buyer = await register(client)
    a = await product(client, seller, price=4000, stock=50)
    h, hs = bearer(buyer), bearer(seller)
    made = await client.post(
        "/api/coupons",
        json={"code": "save10", "kind": "percent", "value": 10, "min_order": 5000, "per_user_limit": 1},
        headers=hs,
    )
    assert made.status == 201, await made.text()
    assert (await made.json())["code"] == "SAVE10"
    await problem(
        await client.post("/api/coupons", json={"code": "SAVE10", "kind": "fixed", "value": 5}, headers=hs), 409
    )
    await problem(
        await client.post(
            "/api/coupons", json={"code": "ALL", "kind": "fixed", "value": 5, "scope": "all"}, headers=hs
        ),
        403,
    )
    await problem(
        await client.post("/api/coupons", json={"code": "PCT", "kind": "percent", "value": 150}, headers=hs), 422
    )
    await problem(await client.post("/api/coupons", json={"code": "X1", "kind": "percent", "value": 5}, headers=h), 403)
    assert (await (await client.get("/api/coupons/save10")).json())["kind"] == "percent"
    await problem(await client.get("/api/coupons/NOPE"), 404)
    listed = await (await client.get(f"/api/coupons?seller_id={seller['user']['id']}")).json()
    assert [c["code"] for c in listed["items"]] == ["SAVE10"]

    one = [{"product_id": a["id"], "quantity": 1}]
    two = [{"product_id": a["id"], "quantity": 2}]
    check = await (await client.post("/api/coupons/validate", json={"code": "SAVE10", "items": one}, headers=h)).json()
    assert check["valid"] is False and check["reason"] == "below-minimum" and "5000" in check["detail"]
    check = await (await client.post("/api/coupons/validate", json={"code": "SAVE10", "items": two}, headers=h)).json()
    assert check == {
        "code": "SAVE10",
        "valid": True,
        "reason": None,
        "detail": None,
        "subtotal": 8000,
        "discount": 800,
        "total": 7200,
    }

    order = await (
        await client.post("/api/orders", json={"items": two, "coupon_code": "save10", **CHECKOUT}, headers=h)
    ).json()
    assert order["discount_line"] == {"code": "SAVE10", "amount": 800} and order["total"] == 7200
    again = await problem(
        await client.post("/api/orders", json={"items": two, "coupon_code": "SAVE10", **CHECKOUT}, headers=h),
        409,
    )
    assert again["reason"] == "user-limit"
    check = await (await client.post("/api/coupons/validate", json={"code": "SAVE10", "items": two}, headers=h)).json()
    assert check["reason"] == "user-limit"
    # Cancelling gives the use back.
    await client.put(f"/api/orders/{order['id']}/cancel", headers=h)
    check = await (await client.post("/api/coupons/validate", json={"code": "SAVE10", "items": two}, headers=h)).json()
    assert check["valid"] is True

    # Fixed, product scope, expired.
    other = await product(client, seller, price=300, stock=5)
    await client.post(
        "/api/coupons",
        json={"code": "MIC5", "kind": "fixed", "value": 500, "scope": "product", "scope_id": other["id"]},
        headers=hs,
    )
    check = await (await client.post("/api/coupons/validate", json={"code": "MIC5", "items": one}, headers=h)).json()
    assert check["reason"] == "not-applicable"
    mixed = [*one, {"product_id": other["id"], "quantity": 1}]
    check = await (await client.post("/api/coupons/validate", json={"code": "MIC5", "items": mixed}, headers=h)).json()
    assert check["discount"] == 300 and check["total"] == 4000  # capped at the covered items
    async with client.app[DATABASE].write() as conn:
        await conn.execute(
            coupons.update().where(coupons.c.code == "MIC5").values(starts_at=sa.literal(0), expires_at=sa.literal(1))
        )
    check = await (await client.post("/api/coupons/validate", json={"code": "MIC5", "items": mixed}, headers=h)).json()
    assert check["reason"] == "expired"
    await problem(
        await client.post("/api/orders", json={"items": mixed, "coupon_code": "MIC5", **CHECKOUT}, headers=h),
        409,
    )
    assert (await (await client.get(f"/api/products/{other['id']}")).json())["stock"] == 5


async def cart_order(client: Client, who: dict[str, Any], items: list[dict[str, Any]], **extra: Any) -> Any:
    return await client.post("/api/orders", json={"items": items, **CHECKOUT, **extra}, headers=bearer(who))


async def test_seed_demo_stocks_the_shop_once(make_client: AppFactory, db_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "seed", database_url=db_url)
    first = await seed_demo(settings)
    assert "coupon WELCOME10 created" in first and sum("product" in line for line in first) == 3
    again = await seed_demo(settings)
    assert not any("product" in line or "coupon" in line for line in again)
    client = await make_client(database_url=db_url)
    listed = await (await client.get("/api/products")).json()
    assert len(listed["items"]) == 3
    assert (await (await client.get("/api/coupons/welcome10")).json())["scope"] == "all"


async def test_orders_left_pending_by_a_crash_are_finished(client: Client) -> None:
    seller = await creator(client)
    buyer = await register(client)
    item = await product(client, seller, price=142, stock=5)
    h = bearer(buyer)
    assert (
        await client.post("/api/wallets/top-up", json={"coins": 100, "payment_token": "tok_visa"}, headers=h)
    ).status in (200, 201)
    orders_service = client.app[ORDERS]
    # Two orders placed by a process that died before charging (first) and after charging (second).
    unpaid_orders = Orders(client.app[DATABASE], Coupons(client.app[DATABASE]))
    who = Principal(buyer["user"]["id"], Role.USER, "s")
    body = OrderCreate.model_validate(
        {"items": [{"product_id": item["id"], "quantity": 1}], **CHECKOUT, "payment_method": "coins"}
    )
    never_charged = await unpaid_orders.place(who, body)
    charged = await unpaid_orders.place(who, body)
    assert orders_service.payments is not None
    ref = await orders_service.payments.charge(Orders._charge_of(charged, None))
    assert (await (await client.get(f"/api/products/{item['id']}")).json())["stock"] == 3

    assert await orders_service.recover_stale(timedelta(minutes=5)) == 0  # too young: may still be paying
    assert await orders_service.recover_stale(timedelta(0)) == 2
    first = await (await client.get(f"/api/orders/{never_charged.id}", headers=h)).json()
    second = await (await client.get(f"/api/orders/{charged.id}", headers=h)).json()
    assert first["status"] == "cancelled" and (second["status"], second["payment_ref"]) == ("paid", ref)
    assert (await (await client.get(f"/api/products/{item['id']}")).json())["stock"] == 4
    assert await wallet(client, buyer) == 0 and await wallet(client, seller) == 100
