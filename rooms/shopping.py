"""``LiveShopping``: a shopping session attached to a live. The host (or a moderator) pins one product card
at a time (pinning another replaces it, unpinning removes it); viewers see it, click it and order it through
the commerce side (:class:`OrderPlacer`: stock reserved, paid, idempotent on the client's key); the session
counts pin views, clicks, orders and revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rooms.actor import Actor, Role, require_id
from rooms.clock import to_datetime
from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotFound
from rooms.events import OrderPlaced, PinnedProduct, ProductCard, ProductPinned, RoomEvent
from rooms.room import PINNED_PRODUCT, Room
from store.database import Database
from store.ids import new_id
from store.schema.rooms import live_shopping_sessions as sessions

PIN_VIEWS, CLICKS, ORDERS, REVENUE = "shop_pin_views", "shop_clicks", "shop_orders", "shop_revenue"
CURRENCY = "shop_currency"  # room field
ANNOUNCED = "shop_orders_announced"  # room board: order id -> seq of its event (0 while being announced)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: str
    total: int  # minor units
    currency: str


class OrderPlacer(Protocol):
    """Commerce's order path: reserve stock, pay, record the order. Idempotent on ``key``: the same key gives
    the same order. Raises (out of stock, payment refused, ...) when no order was placed."""

    async def place(self, *, buyer_id: str, product_id: str, quantity: int, key: str,
                    livestream_id: str) -> PlacedOrder: ...


@dataclass(frozen=True, slots=True)
class ShopSession:
    id: str
    room_id: str
    host_id: str


@dataclass(frozen=True, slots=True)
class ShopAnalytics:
    session_id: str
    pin_views: int
    clicks: int
    orders: int
    revenue: int
    currency: str | None
    closed: bool


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order: PlacedOrder
    event: RoomEvent | None  # None when this order had been announced before (a retried key)


class LiveShopping:
    def __init__(self, db: Database, directory: RoomDirectory, orders: OrderPlacer) -> None:
        self._db = db
        self._directory = directory
        self._orders = orders
        self._sessions: dict[str, ShopSession] = {}  # immutable once created: safe to cache

    async def open(self, actor: Actor, room_id: str) -> ShopSession:
        """The live's session, created on first call (one per live)."""
        standing = await self._directory.room(room_id).require(actor, Role.HOST)
        now = to_datetime(self._directory.clock.now_ms())
        session = ShopSession(new_id(), room_id, standing.host)
        try:
            async with self._db.write() as conn:
                await conn.execute(sessions.insert().values(
                    id=session.id, room_id=room_id, host_id=session.host_id, created_at=now, pin_views=0,
                    clicks=0, orders=0, revenue=0))
        except IntegrityError:
            async with self._db.read() as conn:
                row = (await conn.execute(sa.select(sessions).where(sessions.c.room_id == room_id))).one()
            session = ShopSession(row.id, row.room_id, row.host_id)
        self._sessions[session.id] = session
        return session

    async def session(self, session_id: str) -> ShopSession:
        cached = self._sessions.get(session_id)
        if cached is not None:
            return cached
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).one_or_none()
        if row is None:
            raise NotFound(f"no live shopping session {session_id!r}", slug="unknown-shop-session")
        session = self._sessions[session_id] = ShopSession(row.id, row.room_id, row.host_id)
        return session

    async def _room(self, session_id: str) -> tuple[ShopSession, Room]:
        session = await self.session(session_id)
        return session, self._directory.room(session.room_id)

    async def pin(self, actor: Actor, session_id: str, card: ProductCard) -> RoomEvent:
        session, room = await self._room(session_id)
        await room.require(actor, Role.HOST, Role.MODERATOR)
        if card.seller_id != session.host_id:
            raise Invalid("only the host's own products are pinned in their live", slug="not-hosts-product")
        pin = PinnedProduct(session_id=session_id, product=card, pinned_at=room.clock.now_ms())
        await room.store.put(room.id, PINNED_PRODUCT, pin.model_dump_json())
        return await room.append(ProductPinned(pin=pin))

    async def unpin(self, actor: Actor, session_id: str) -> RoomEvent:
        _, room = await self._room(session_id)
        await room.require(actor, Role.HOST, Role.MODERATOR)
        await room.store.put(room.id, PINNED_PRODUCT, None)
        return await room.append(ProductPinned(pin=None))

    async def _pinned(self, room: Room) -> PinnedProduct | None:
        raw = await room.store.get(room.id, PINNED_PRODUCT)
        return None if raw is None else PinnedProduct.model_validate_json(raw)

    async def saw(self, actor: Actor, session_id: str) -> None:
        """A viewer's client displayed the pinned card (anonymous viewers count too)."""
        _, room = await self._room(session_id)
        await room.standing(actor, live=True)
        if await self._pinned(room) is not None:
            await room.store.incr(room.id, PIN_VIEWS)

    async def click(self, actor: Actor, session_id: str) -> None:
        _, room = await self._room(session_id)
        await room.standing(actor, live=True)
        if await self._pinned(room) is None:
            raise Conflict("no product is pinned", slug="nothing-pinned")
        await room.store.incr(room.id, CLICKS)

    async def order(self, actor: Actor, session_id: str, *, product_id: str, key: str,
                    quantity: int = 1) -> OrderOutcome:
        """Order the pinned product; the order is placed by commerce before the room hears about it."""
        require_id(product_id, "product_id")
        _, room = await self._room(session_id)
        standing = await room.require(actor, Role.MODERATOR, Role.VIEWER, Role.HOST)
        assert actor.user_id is not None
        if actor.user_id == standing.host:
            raise Invalid("the host cannot order from their own live", slug="own-product")
        if not key or len(key) > 255:
            raise Invalid("an order needs an idempotency key of 1 to 255 characters", slug="bad-idempotency-key")
        if not 1 <= quantity <= 99:
            raise Invalid("quantity is 1 to 99", slug="bad-quantity")
        pinned = await self._pinned(room)
        if pinned is None or pinned.product.product_id != product_id:
            raise Conflict("that product is not pinned now", slug="not-pinned")
        placed = await self._orders.place(buyer_id=actor.user_id, product_id=product_id, quantity=quantity,
                                          key=key, livestream_id=room.id)
        if not await room.store.put_score(room.id, ANNOUNCED, placed.order_id, 0, raise_only=True):
            return OrderOutcome(placed, None)
        orders = await room.store.incr(room.id, ORDERS)
        await room.store.incr(room.id, REVENUE, placed.total)
        await room.store.put(room.id, CURRENCY, placed.currency, expect=None)
        event = await room.append(OrderPlaced(
            session_id=session_id, order_id=placed.order_id, buyer_id=actor.user_id, product_id=product_id,
            quantity=quantity, orders=orders))
        await room.store.put_score(room.id, ANNOUNCED, placed.order_id, event.seq)
        return OrderOutcome(placed, event)

    async def analytics(self, session_id: str) -> ShopAnalytics:
        """Live counters while the session is open, the stored totals once it closed."""
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).one_or_none()
        if row is None:
            raise NotFound(f"no live shopping session {session_id!r}", slug="unknown-shop-session")
        if row.closed_at is not None:
            return ShopAnalytics(row.id, row.pin_views, row.clicks, row.orders, row.revenue, row.currency, True)
        counters = await self._directory.store.counters(row.room_id)
        currency = await self._directory.store.get(row.room_id, CURRENCY)
        return ShopAnalytics(row.id, counters.get(PIN_VIEWS, 0), counters.get(CLICKS, 0), counters.get(ORDERS, 0),
                             counters.get(REVENUE, 0), currency, False)

    async def close_room(self, room_id: str) -> ShopAnalytics | None:
        """Close the live's session, if it has one."""
        async with self._db.read() as conn:
            session_id = await conn.scalar(sa.select(sessions.c.id).where(sessions.c.room_id == room_id))
        return None if session_id is None else await self.close(session_id)

    async def close(self, session_id: str) -> ShopAnalytics:
        """The live ended: store the totals and unpin (before the room's state is dropped)."""
        live = await self.analytics(session_id)
        if live.closed:
            return live
        session, room = await self._room(session_id)
        async with self._db.write() as conn:
            await conn.execute(sessions.update().where(sessions.c.id == session_id, sessions.c.closed_at.is_(None))
                               .values(closed_at=to_datetime(room.clock.now_ms()), pin_views=live.pin_views,
                                       clicks=live.clicks, orders=live.orders, revenue=live.revenue,
                                       currency=live.currency))
        await room.store.put(session.room_id, PINNED_PRODUCT, None)
        return await self.analytics(session_id)
