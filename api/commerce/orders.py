"""Orders: stock taken atomically at placement, totals computed here, a small status machine, cancellation.

Placement runs in one write transaction. For each line (in product-id order, so two orders never lock rows
in opposite orders and deadlock) a conditional ``UPDATE products SET stock = stock - q WHERE id = ? AND
stock >= q`` takes the stock; if any line finds too little, the whole transaction rolls back and the buyer
gets a 409 naming the product. Two buyers can never both get the last item: on SQLite the transaction holds
the write lock, on PostgreSQL the UPDATE row-locks and re-checks ``stock >= q`` after the other commits.

Status machine::

    pending ──► paid ──► shipped ──► delivered
       │          │
       ▼          ▼
    cancelled   refunded          (both return the stock and the coupon use)

Payment belongs to the coin economy (ledger, card provider); it reaches this module through the
:class:`OrderPayments` protocol, so the order is charged before it is confirmed and refunded by a reversing
transfer when a paid order is cancelled.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.tokens import Principal
from api.commerce.cart import Cart, load_lines, priced
from api.commerce.coupons import Coupons
from api.commerce.models import DiscountLine, ItemRequest, Order, OrderCreate, OrderLine
from api.models import Page
from api.pagination import decode_cursor, page_of
from api.problems import Conflict, Forbidden, NotFound, Unprocessable
from store.database import Database
from store.ids import new_id
from store.schema.commerce import cart_items, order_items, orders, products
from store.types import utcnow

log = logging.getLogger(__name__)


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class OrderCharge:
    """What a payment backend needs to charge or refund an order."""

    order_id: str
    buyer_id: str
    seller_id: str
    amount: int
    currency: str
    method: str  # coins | card
    token: str | None = None  # the card payment token, for card payments


class OrderPayments(Protocol):
    """Charges and refunds orders; implemented on the coin ledger and the card payment provider.

    ``charge`` returns a payment reference or raises an :class:`~api.problems.ApiError` (402 when the buyer
    cannot pay); ``refund`` reverses the charge with that reference. Both must be idempotent per order id.
    """

    async def charge(self, order: OrderCharge) -> str: ...

    async def refund(self, order: OrderCharge, payment_ref: str) -> None: ...

    async def settled(self, order: OrderCharge) -> str | None:
        """The payment reference if ``order`` was charged (e.g. by a process that died before recording it)."""


class OrderWatcher(Protocol):
    async def order_status(self, user_id: str, order_id: str, status: str) -> None:
        """Tell the buyer their order changed status (the notifications service)."""


class ActivitySink(Protocol):
    async def record_order(self, seller_id: str, buyer_id: str, product_ids: list[str], total: int) -> None: ...


def _lines_of(items: list[ItemRequest]) -> dict[str, int]:
    quantities: dict[str, int] = {}
    for item in items:
        quantities[item.product_id] = quantities.get(item.product_id, 0) + item.quantity
    return quantities


class Orders:
    def __init__(
        self,
        db: Database,
        coupons: Coupons,
        payments: OrderPayments | None = None,
        activity: ActivitySink | None = None,
        watcher: OrderWatcher | None = None,
    ) -> None:
        self._db = db
        self._coupons = coupons
        self.payments = payments
        self._activity = activity
        self._watcher = watcher

    async def place(self, buyer: Principal, body: OrderCreate) -> Order:
        from_cart = body.items is None
        if body.items is not None:
            quantities = _lines_of(body.items)
        else:
            async with self._db.read() as conn:
                rows = await conn.execute(
                    sa.select(cart_items.c.product_id, cart_items.c.quantity).where(
                        cart_items.c.user_id == buyer.user_id
                    )
                )
                quantities = {r.product_id: r.quantity for r in rows}
            if not quantities:
                raise Conflict("your cart is empty", slug="cart-empty")

        async def work(conn: AsyncConnection) -> str:
            lines = await load_lines(conn, quantities)
            sellers = {row.seller_id for row, _ in lines}
            if len(sellers) != 1:
                raise Unprocessable(
                    f"these items come from {len(sellers)} sellers; place one order per seller",
                    slug="several-sellers",
                )
            currencies = {row.currency for row, _ in lines}
            if len(currencies) != 1:
                raise Unprocessable("these items are priced in different currencies", slug="several-currencies")
            if any(row.seller_id == buyer.user_id for row, _ in lines):
                raise Forbidden("you cannot buy your own products", slug="own-product")
            for row, qty in lines:
                taken = await conn.execute(
                    products.update()
                    .where(products.c.id == row.id, products.c.status == "active", products.c.stock >= qty)
                    .values(stock=products.c.stock - qty, sold=products.c.sold + qty)
                )
                if taken.rowcount != 1:
                    left = (await conn.execute(sa.select(products.c.stock).where(products.c.id == row.id))).scalar()
                    slug = "sold-out" if not left else "insufficient-stock"
                    raise Conflict(
                        f"not enough stock for {row.title!r} ({left or 0} left)",
                        slug=slug,
                        product_id=row.id,
                        available=left or 0,
                    )
            order_id = new_id()
            subtotal = sum(row.price * qty for row, qty in lines)
            coupon, discount = None, 0
            if body.coupon_code is not None:
                coupon, discount = await self._coupons.redeem(conn, buyer.user_id, body.coupon_code, priced(lines))
            now = utcnow()
            await conn.execute(
                orders.insert().values(
                    id=order_id,
                    buyer_id=buyer.user_id,
                    seller_id=sellers.pop(),
                    status=OrderStatus.PENDING,
                    currency=currencies.pop(),
                    subtotal=subtotal,
                    discount=discount,
                    total=subtotal - discount,
                    coupon_id=coupon.id if coupon else None,
                    coupon_code=coupon.code if coupon else None,
                    payment_method=body.payment_method,
                    shipping_address=json.dumps(body.shipping_address.model_dump()),
                    created_at=now,
                    updated_at=now,
                )
            )
            await conn.execute(
                order_items.insert(),
                [
                    {
                        "order_id": order_id,
                        "product_id": row.id,
                        "title": row.title,
                        "unit_price": row.price,
                        "quantity": qty,
                    }
                    for row, qty in lines
                ],
            )
            if coupon is not None:
                await self._coupons.record(conn, coupon.id, buyer.user_id, order_id, discount)
            return order_id

        order_id = await self._db.run(work)
        order = await self._load(order_id)
        if self.payments is not None:
            order = await self._charge(order, body.payment_token)  # a failed payment leaves the cart as it was
        if from_cart:
            async with self._db.write() as conn:
                await Cart.clear(conn, buyer.user_id, list(quantities))
        if self._activity is not None:
            await self._activity.record_order(
                order.seller_id, order.buyer_id, [line.product_id for line in order.items], order.total
            )
        return await self._told(order)

    async def _told(self, order: Order) -> Order:
        """The order, after telling its buyer its (new) status."""
        if self._watcher is not None:
            await self._watcher.order_status(order.buyer_id, order.id, order.status)
        return order

    async def _charge(self, order: Order, token: str | None) -> Order:
        assert self.payments is not None
        charge = OrderCharge(
            order.id, order.buyer_id, order.seller_id, order.total, order.currency, order.payment_method, token
        )
        try:
            ref = await self.payments.charge(charge)
        except Exception:  # declined, insufficient coins, provider down: the stock goes back on sale
            await self._restock(order.id, (OrderStatus.PENDING,), OrderStatus.CANCELLED)
            raise
        async with self._db.write() as conn:
            now = utcnow()
            await conn.execute(
                orders.update()
                .where(orders.c.id == order.id, orders.c.status == OrderStatus.PENDING)
                .values(status=OrderStatus.PAID, payment_ref=ref, paid_at=now, updated_at=now)
            )
        return await self._load(order.id)

    async def get(self, who: Principal, order_id: str) -> Order:
        order = await self._load(order_id)
        if who.user_id not in (order.buyer_id, order.seller_id) and not who.is_admin:
            raise NotFound("no such order", slug="order-not-found")
        return order

    async def listing(
        self, who: Principal, role: str, status: str | None, limit: int, cursor: str | None
    ) -> Page[Order]:
        column = orders.c.seller_id if role == "seller" else orders.c.buyer_id
        query = sa.select(orders.c.id).where(column == who.user_id)
        if status:
            query = query.where(orders.c.status == status)
        after = decode_cursor(cursor, 1)
        if after:
            query = query.where(orders.c.id < str(after[0]))
        async with self._db.read() as conn:
            ids: list[str] = list((await conn.execute(query.order_by(orders.c.id.desc()).limit(limit + 1))).scalars())
            page_ids, next_cursor = page_of(ids, limit, lambda i: [i])
            items = [await self._load_in(conn, i) for i in page_ids]
        return Page[Order](items=items, next_cursor=next_cursor)

    async def cancel(self, who: Principal, order_id: str) -> Order:
        order = await self.get(who, order_id)
        if order.status not in (OrderStatus.PENDING, OrderStatus.PAID):
            raise Conflict(
                f"a {order.status} order cannot be cancelled", slug="order-not-cancellable", order_status=order.status
            )
        if order.status == OrderStatus.PAID:
            if self.payments is None or order.payment_ref is None:
                raise Conflict("this order cannot be refunded here", slug="refund-unavailable")
            charge = OrderCharge(
                order.id, order.buyer_id, order.seller_id, order.total, order.currency, order.payment_method
            )
            # Refund first (idempotent per order): a crash after it leaves a paid order a retry will finish.
            await self.payments.refund(charge, order.payment_ref)
            await self._restock(order.id, (OrderStatus.PAID,), OrderStatus.REFUNDED)
        elif not await self._restock(order.id, (OrderStatus.PENDING,), OrderStatus.CANCELLED):
            raise Conflict("the order changed while cancelling; reload it", slug="order-changed")
        return await self._told(await self._load(order_id))

    async def advance(self, who: Principal, order_id: str, to: OrderStatus, tracking: str | None = None) -> Order:
        """The seller (or an administrator) marks a paid order shipped, or a shipped order delivered."""
        order = await self.get(who, order_id)
        if who.user_id != order.seller_id and not who.is_admin:
            raise Forbidden("only the seller updates shipping", slug="not-the-seller")
        before = {OrderStatus.SHIPPED: OrderStatus.PAID, OrderStatus.DELIVERED: OrderStatus.SHIPPED}[to]
        now = utcnow()
        values: dict[str, Any] = {"status": to, "updated_at": now, f"{to.value}_at": now}
        if tracking is not None:
            values["tracking"] = tracking
        async with self._db.write() as conn:
            moved = await conn.execute(
                orders.update().where(orders.c.id == order_id, orders.c.status == before).values(**values)
            )
        if moved.rowcount != 1:
            raise Conflict(
                f"a {order.status} order cannot become {to}", slug="invalid-transition", order_status=order.status
            )
        return await self._told(await self._load(order_id))

    async def recover_stale(self, older_than: timedelta) -> int:
        """Finish orders a crashed process left pending: mark them paid if the charge went through, else
        cancel them so their stock goes back on sale. Returns how many were finished."""
        if self.payments is None:
            return 0
        cutoff = utcnow() - older_than
        async with self._db.read() as conn:
            stale: list[str] = list(
                (
                    await conn.execute(
                        sa.select(orders.c.id)
                        .where(orders.c.status == OrderStatus.PENDING, orders.c.created_at < cutoff)
                        .limit(500)
                    )
                ).scalars()
            )
        for order_id in stale:
            order = await self._load(order_id)
            ref = await self.payments.settled(self._charge_of(order, None))
            if ref is None:
                await self._restock(order_id, (OrderStatus.PENDING,), OrderStatus.CANCELLED)
                continue
            now = utcnow()
            async with self._db.write() as conn:
                await conn.execute(
                    orders.update()
                    .where(orders.c.id == order_id, orders.c.status == OrderStatus.PENDING)
                    .values(status=OrderStatus.PAID, payment_ref=ref, paid_at=now, updated_at=now)
                )
        if stale:
            log.info("recovered %d stale pending orders", len(stale))
        return len(stale)

    @staticmethod
    def _charge_of(order: Order, token: str | None) -> OrderCharge:
        return OrderCharge(
            order.id, order.buyer_id, order.seller_id, order.total, order.currency, order.payment_method, token
        )

    async def _restock(self, order_id: str, from_states: tuple[OrderStatus, ...], to: OrderStatus) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            now = utcnow()
            moved = await conn.execute(
                orders.update()
                .where(orders.c.id == order_id, orders.c.status.in_(from_states))
                .values(status=to, cancelled_at=now, updated_at=now)
            )
            if moved.rowcount != 1:
                return False
            lines = await conn.execute(
                sa.select(order_items).where(order_items.c.order_id == order_id).order_by(order_items.c.product_id)
            )
            for line in lines.all():
                await conn.execute(
                    products.update()
                    .where(products.c.id == line.product_id)
                    .values(stock=products.c.stock + line.quantity, sold=products.c.sold - line.quantity)
                )
            await Coupons.release(conn, order_id)
            return True

        return await self._db.run(work)

    async def _load(self, order_id: str) -> Order:
        async with self._db.read() as conn:
            return await self._load_in(conn, order_id)

    @staticmethod
    async def _load_in(conn: AsyncConnection, order_id: str) -> Order:
        row = (await conn.execute(sa.select(orders).where(orders.c.id == order_id))).first()
        if row is None:
            raise NotFound("no such order", slug="order-not-found")
        lines = await conn.execute(
            sa.select(order_items).where(order_items.c.order_id == order_id).order_by(order_items.c.product_id)
        )
        data = dict(row._mapping)
        data["shipping_address"] = json.loads(row.shipping_address)
        data["items"] = [
            OrderLine(
                product_id=li.product_id,
                title=li.title,
                unit_price=li.unit_price,
                quantity=li.quantity,
                line_total=li.unit_price * li.quantity,
            )
            for li in lines
        ]
        data["discount_line"] = DiscountLine(code=row.coupon_code, amount=row.discount) if row.coupon_code else None
        return Order.model_validate(data)
