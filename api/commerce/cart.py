"""The shopping cart: one line per product, quantities checked against stock as they change.

The cart reserves nothing; stock is only taken when an order is placed. A line whose product sold out in the
meantime is shown as unavailable, and checking out such a cart is refused until the line is changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.commerce.coupons import PricedLine
from api.commerce.models import CartLine, CartView
from api.commerce.products import on_sale, to_product
from api.problems import Conflict, NotFound
from store.database import Database
from store.schema.commerce import cart_items, products
from store.types import utcnow


async def load_lines(conn: AsyncConnection, quantities: Mapping[str, int]) -> list[tuple[Any, int]]:
    """The product rows for ``quantities`` (product id -> quantity), in product-id order; 404 if one is unknown."""
    ids = sorted(quantities)
    query = sa.select(products, on_sale().label("for_sale")).where(products.c.id.in_(ids))
    rows = {r.id: r for r in await conn.execute(query)}
    missing = [pid for pid in ids if pid not in rows or not rows[pid].for_sale]
    if missing:
        raise NotFound(f"no such product: {missing[0]}", slug="product-not-found", product_id=missing[0])
    return [(rows[pid], quantities[pid]) for pid in ids]


def priced(lines: list[tuple[Any, int]]) -> list[PricedLine]:
    return [PricedLine(row.id, row.seller_id, row.price, qty) for row, qty in lines]


class Cart:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def view(self, user_id: str) -> CartView:
        query = (
            sa.select(products, cart_items.c.quantity, on_sale().label("for_sale"))
            .join(cart_items, cart_items.c.product_id == products.c.id)
            .where(cart_items.c.user_id == user_id)
            .order_by(cart_items.c.added_at, products.c.id)
        )
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
        lines = [
            CartLine(
                product=to_product(row),
                quantity=row.quantity,
                line_total=row.price * row.quantity,
                available=bool(row.for_sale) and row.stock >= row.quantity,
            )
            for row in rows
        ]
        currencies = {line.product.currency for line in lines}
        return CartView(
            items=lines,
            subtotal=sum(line.line_total for line in lines),
            currency=currencies.pop() if len(currencies) == 1 else None,
            item_count=sum(line.quantity for line in lines),
        )

    async def quantities(self, user_id: str) -> dict[str, int]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                sa.select(cart_items.c.product_id, cart_items.c.quantity).where(cart_items.c.user_id == user_id)
            )
            return {r.product_id: r.quantity for r in rows}

    async def add(self, user_id: str, product_id: str, quantity: int) -> CartView:
        async with self._db.write() as conn:
            current = await self._quantity(conn, user_id, product_id)
            await self._set(conn, user_id, product_id, current + quantity, exists=current > 0)
        return await self.view(user_id)

    async def update(self, user_id: str, product_id: str, quantity: int) -> CartView:
        async with self._db.write() as conn:
            if await self._quantity(conn, user_id, product_id) == 0:
                raise NotFound("that product is not in your cart", slug="not-in-cart")
            await self._set(conn, user_id, product_id, quantity, exists=True)
        return await self.view(user_id)

    async def remove(self, user_id: str, product_id: str) -> CartView:
        async with self._db.write() as conn:
            gone = await conn.execute(
                cart_items.delete().where(cart_items.c.user_id == user_id, cart_items.c.product_id == product_id)
            )
            if gone.rowcount == 0:
                raise NotFound("that product is not in your cart", slug="not-in-cart")
        return await self.view(user_id)

    @staticmethod
    async def clear(conn: AsyncConnection, user_id: str, product_ids: list[str]) -> None:
        await conn.execute(
            cart_items.delete().where(cart_items.c.user_id == user_id, cart_items.c.product_id.in_(product_ids))
        )

    @staticmethod
    async def _quantity(conn: AsyncConnection, user_id: str, product_id: str) -> int:
        found = await conn.execute(
            sa.select(cart_items.c.quantity).where(
                cart_items.c.user_id == user_id, cart_items.c.product_id == product_id
            )
        )
        return int(found.scalar_one_or_none() or 0)

    @staticmethod
    async def _set(conn: AsyncConnection, user_id: str, product_id: str, quantity: int, *, exists: bool) -> None:
        [(row, _)] = await load_lines(conn, {product_id: quantity})
        if row.stock == 0:
            raise Conflict("this product is sold out", slug="sold-out", product_id=product_id)
        if quantity > row.stock:
            raise Conflict(
                f"only {row.stock} left in stock", slug="insufficient-stock", product_id=product_id, available=row.stock
            )
        if quantity > 1000:
            raise Conflict("at most 1000 of one product per cart", slug="cart-line-limit")
        if exists:
            await conn.execute(
                cart_items.update()
                .where(cart_items.c.user_id == user_id, cart_items.c.product_id == product_id)
                .values(quantity=quantity)
            )
        else:
            await conn.execute(
                cart_items.insert().values(user_id=user_id, product_id=product_id, quantity=quantity, added_at=utcnow())
            )
