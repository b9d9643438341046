"""Coupons: percent or fixed discounts with a minimum order, a validity window, a scope, and usage limits.

Pricing a coupon against order lines is a pure function (:func:`evaluate`), used both to explain to a
shopper why a code does not apply and at checkout. At checkout the global limit is enforced by a
conditional ``UPDATE coupons SET uses = uses + 1 WHERE uses < max_uses`` inside the order's write
transaction: the row lock that UPDATE takes (or SQLite's write lock) also serialises the per-user count that
follows it, so neither limit can be overrun by concurrent orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.tokens import Principal
from api.commerce.models import Coupon, CouponCheck, CouponCreate
from api.models import Page
from api.pagination import decode_cursor, page_of
from api.problems import Conflict, Forbidden, NotFound, Unprocessable
from store.database import Database
from store.ids import new_id
from store.schema.commerce import coupon_redemptions, coupons, products
from store.types import utcnow


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: str
    seller_id: str
    unit_price: int
    quantity: int

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Quote:
    discount: int
    reason: str | None = None  # None when the coupon applies
    detail: str | None = None


def evaluate(coupon: Any, lines: Sequence[PricedLine], user_uses: int, now: datetime) -> Quote:
    """The discount ``coupon`` gives on ``lines``, or the first reason it does not apply."""
    if not coupon.active:
        return Quote(0, "inactive", "this coupon has been switched off")
    if now < coupon.starts_at:
        return Quote(0, "not-started", f"this coupon starts on {coupon.starts_at.isoformat()}")
    if coupon.expires_at is not None and now >= coupon.expires_at:
        return Quote(0, "expired", f"this coupon expired on {coupon.expires_at.isoformat()}")
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        return Quote(0, "exhausted", "this coupon has been used as many times as it allows")
    if coupon.per_user_limit is not None and user_uses >= coupon.per_user_limit:
        return Quote(0, "user-limit", f"you have already used this coupon {user_uses} time(s)")
    if coupon.scope == "product":
        eligible = [line for line in lines if line.product_id == coupon.scope_id]
    elif coupon.scope == "creator":
        eligible = [line for line in lines if line.seller_id == coupon.scope_id]
    else:
        eligible = list(lines)
    if not eligible:
        return Quote(0, "not-applicable", f"none of these items is covered by this coupon ({coupon.scope} scope)")
    base = sum(line.total for line in eligible)
    if base < coupon.min_order:
        return Quote(0, "below-minimum", f"the covered items total {base}; the coupon needs {coupon.min_order}")
    # Percent discounts round down: the shop never gives away a fraction of a cent it did not promise.
    discount = base * coupon.value // 100 if coupon.kind == "percent" else min(coupon.value, base)
    return Quote(discount)


class Coupons:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, who: Principal, body: CouponCreate) -> Coupon:
        scope_id = body.scope_id
        if body.scope == "all" and not who.is_admin:
            raise Forbidden("only administrators create platform-wide coupons", slug="not-admin")
        if body.scope == "creator":
            scope_id = scope_id or who.user_id
            if scope_id != who.user_id and not who.is_admin:
                raise Forbidden("a creator coupon can only cover your own products", slug="not-your-shop")
        if body.kind == "percent" and body.value > 100:
            raise Unprocessable(
                "a percent coupon is 1-100",
                errors=[{"pointer": "#/value", "in": "body", "detail": "must be at most 100"}],
            )
        now = utcnow()
        starts = body.starts_at or now
        if body.expires_at is not None and body.expires_at <= starts:
            raise Unprocessable(
                "the coupon would expire before it starts",
                errors=[{"pointer": "#/expires_at", "in": "body", "detail": "must be after starts_at"}],
            )
        values = {
            "id": new_id(),
            "code": body.code.upper(),
            "owner_id": who.user_id,
            "kind": body.kind,
            "value": body.value,
            "min_order": body.min_order,
            "scope": body.scope,
            "scope_id": None if body.scope == "all" else scope_id,
            "max_uses": body.max_uses,
            "per_user_limit": body.per_user_limit,
            "uses": 0,
            "starts_at": starts,
            "expires_at": body.expires_at,
            "active": True,
            "description": body.description,
            "created_at": now,
        }
        async with self._db.write() as conn:
            if body.scope == "product":
                seller = (await conn.execute(sa.select(products.c.seller_id).where(products.c.id == scope_id))).first()
                if seller is None:
                    raise NotFound("no such product to scope the coupon to", slug="product-not-found")
                if seller.seller_id != who.user_id and not who.is_admin:
                    raise Forbidden("that product belongs to another seller", slug="not-your-product")
            taken = await conn.execute(sa.select(coupons.c.id).where(coupons.c.code == values["code"]))
            if taken.first() is not None:
                raise Conflict("that coupon code is taken", slug="coupon-code-taken")
            await conn.execute(coupons.insert().values(**values))
        return Coupon.model_validate(values)

    async def get(self, code: str) -> Coupon:
        async with self._db.read() as conn:
            return Coupon.model_validate(await self._by_code(conn, code))

    async def list_available(self, limit: int, cursor: str | None, seller_id: str | None = None) -> Page[Coupon]:
        """Coupons that can be used now: active, started, not expired, not used up."""
        now = utcnow()
        query = sa.select(coupons).where(
            coupons.c.active.is_(True),
            coupons.c.starts_at <= now,
            sa.or_(coupons.c.expires_at.is_(None), coupons.c.expires_at > now),
            sa.or_(coupons.c.max_uses.is_(None), coupons.c.uses < coupons.c.max_uses),
        )
        if seller_id:
            query = query.where(coupons.c.owner_id == seller_id)
        after = decode_cursor(cursor, 1)
        if after:
            query = query.where(coupons.c.id < str(after[0]))
        async with self._db.read() as conn:
            rows = [
                Coupon.model_validate(r)
                for r in await conn.execute(query.order_by(coupons.c.id.desc()).limit(limit + 1))
            ]
        items, next_cursor = page_of(rows, limit, lambda c: [c.id])
        return Page[Coupon](items=items, next_cursor=next_cursor)

    async def check(self, user_id: str, code: str, lines: Sequence[PricedLine]) -> CouponCheck:
        async with self._db.read() as conn:
            coupon = await self._by_code(conn, code)
            uses = await self.user_uses(conn, coupon.id, user_id)
        quote = evaluate(coupon, lines, uses, utcnow())
        subtotal = sum(line.total for line in lines)
        return CouponCheck(
            code=coupon.code,
            valid=quote.reason is None,
            reason=quote.reason,
            detail=quote.detail,
            subtotal=subtotal,
            discount=quote.discount,
            total=subtotal - quote.discount,
        )

    async def redeem(
        self, conn: AsyncConnection, user_id: str, code: str, lines: Sequence[PricedLine]
    ) -> tuple[Any, int]:
        """Inside an order's write transaction: take one use of the coupon, or raise why it does not apply."""
        coupon = await self._by_code(conn, code)
        quote = evaluate(coupon, lines, 0, utcnow())
        if quote.reason is not None and quote.reason != "user-limit":
            raise Conflict(quote.detail, slug=f"coupon-{quote.reason}", reason=quote.reason)
        taken = await conn.execute(
            coupons.update()
            .where(
                coupons.c.id == coupon.id,
                coupons.c.active.is_(True),
                sa.or_(coupons.c.max_uses.is_(None), coupons.c.uses < coupons.c.max_uses),
            )
            .values(uses=coupons.c.uses + 1)
        )
        if taken.rowcount != 1:
            raise Conflict(
                "this coupon has been used as many times as it allows", slug="coupon-exhausted", reason="exhausted"
            )
        # The row is now locked for this transaction, so this count cannot race another order's.
        uses = await self.user_uses(conn, coupon.id, user_id)
        if coupon.per_user_limit is not None and uses >= coupon.per_user_limit:
            raise Conflict(
                f"you have already used this coupon {uses} time(s)", slug="coupon-user-limit", reason="user-limit"
            )
        return coupon, quote.discount

    @staticmethod
    async def record(conn: AsyncConnection, coupon_id: str, user_id: str, order_id: str, discount: int) -> None:
        await conn.execute(
            coupon_redemptions.insert().values(
                id=new_id(),
                coupon_id=coupon_id,
                user_id=user_id,
                order_id=order_id,
                discount=discount,
                created_at=utcnow(),
            )
        )

    @staticmethod
    async def release(conn: AsyncConnection, order_id: str) -> None:
        """A cancelled order gives its coupon use back."""
        found = (
            await conn.execute(
                sa.select(coupon_redemptions.c.coupon_id).where(coupon_redemptions.c.order_id == order_id)
            )
        ).first()
        if found is None:
            return
        await conn.execute(coupon_redemptions.delete().where(coupon_redemptions.c.order_id == order_id))
        await conn.execute(
            coupons.update().where(coupons.c.id == found.coupon_id, coupons.c.uses > 0).values(uses=coupons.c.uses - 1)
        )

    @staticmethod
    async def user_uses(conn: AsyncConnection, coupon_id: str, user_id: str) -> int:
        count = await conn.execute(
            sa.select(sa.func.count())
            .select_from(coupon_redemptions)
            .where(coupon_redemptions.c.coupon_id == coupon_id, coupon_redemptions.c.user_id == user_id)
        )
        return int(count.scalar_one())

    @staticmethod
    async def _by_code(conn: AsyncConnection, code: str) -> Any:
        row = (await conn.execute(sa.select(coupons).where(coupons.c.code == code.upper()))).first()
        if row is None:
            raise NotFound("no coupon with that code", slug="coupon-not-found")
        return row
