"""Live shopping: one pinned card at a time, orders of the pinned product through commerce, analytics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound, Unauthenticated
from rooms.events import OrderPlaced, ProductCard
from rooms.shopping import LiveShopping, PlacedOrder, ShopAnalytics
from store.database import Database
from tests.rooms.conftest import ALICE, ANON, BOB, HOST, Sink

MUG = ProductCard(product_id="p-mug", seller_id="host", title="Mug", price=1200, currency="EUR")
CAP = ProductCard(product_id="p-cap", seller_id="host", title="Cap", price=900, currency="EUR")


class OutOfStock(Exception):
    pass


class FakeCommerce:
    """Stock per product, idempotent on the key, refuses beyond the stock."""

    def __init__(self) -> None:
        self.stock = {"p-mug": 3, "p-cap": 10}
        self.prices = {"p-mug": 1200, "p-cap": 900}
        self.by_key: dict[str, PlacedOrder] = {}

    async def place(self, *, buyer_id: str, product_id: str, quantity: int, key: str,
                    livestream_id: str) -> PlacedOrder:
        await asyncio.sleep(0)
        if key in self.by_key:
            return self.by_key[key]
        if self.stock[product_id] < quantity:
            raise OutOfStock(product_id)
        self.stock[product_id] -= quantity
        order = PlacedOrder(f"o{len(self.by_key) + 1}", self.prices[product_id] * quantity, "EUR")
        self.by_key[key] = order
        return order


@pytest.fixture
async def shop(db: Database, directory: RoomDirectory) -> AsyncIterator[LiveShopping]:
    await directory.open("live1", "host")
    yield LiveShopping(db, directory, FakeCommerce())


async def test_pin_replace_unpin_and_order(shop: LiveShopping, sink: Sink, directory: RoomDirectory) -> None:
    with pytest.raises(NotAllowed):
        await shop.open(ALICE, "live1")
    session = await shop.open(HOST, "live1")
    assert (await shop.open(HOST, "live1")).id == session.id  # one session per live
    with pytest.raises(Conflict):
        await shop.order(ALICE, session.id, product_id="p-mug", key="k0")  # nothing pinned
    with pytest.raises(NotAllowed):
        await shop.pin(ALICE, session.id, MUG)
    with pytest.raises(Invalid):
        await shop.pin(HOST, session.id, MUG.model_copy(update={"seller_id": "someone-else"}))
    await shop.pin(HOST, session.id, MUG)
    await shop.saw(ANON, session.id)
    await shop.saw(ALICE, session.id)
    await shop.click(ALICE, session.id)
    first = await shop.order(ALICE, session.id, product_id="p-mug", key="k1", quantity=2)
    assert first.order == PlacedOrder("o1", 2400, "EUR")
    again = await shop.order(ALICE, session.id, product_id="p-mug", key="k1", quantity=2)
    assert again.event is None and again.order == first.order
    with pytest.raises(Unauthenticated):
        await shop.order(ANON, session.id, product_id="p-mug", key="k2")
    with pytest.raises(Invalid):
        await shop.order(HOST, session.id, product_id="p-mug", key="k2")
    await shop.pin(HOST, session.id, CAP)  # replaces the mug
    with pytest.raises(Conflict):
        await shop.order(BOB, session.id, product_id="p-mug", key="k3")
    await shop.order(BOB, session.id, product_id="p-cap", key="k4")
    snap = await directory.room("live1").snapshot()
    assert snap.pinned_product is not None and snap.pinned_product.product == CAP
    await shop.unpin(HOST, session.id)
    assert (await directory.room("live1").snapshot()).pinned_product is None
    assert sink.history() == [(1, "shop.pinned"), (2, "shop.order"), (3, "shop.pinned"), (4, "shop.order"),
                              (5, "shop.pinned")]
    assert [e.data.orders for e in sink.events if isinstance(e.data, OrderPlaced)] == [1, 2]
    assert await shop.analytics(session.id) == ShopAnalytics(session.id, 2, 1, 2, 3300, "EUR", False)


async def test_a_refused_order_is_not_announced_nor_counted(shop: LiveShopping, sink: Sink) -> None:
    session = await shop.open(HOST, "live1")
    await shop.pin(HOST, session.id, MUG)
    with pytest.raises(OutOfStock):
        await shop.order(ALICE, session.id, product_id="p-mug", key="big", quantity=4)
    assert sink.history() == [(1, "shop.pinned")]
    assert (await shop.analytics(session.id)).orders == 0


async def test_analytics_survive_the_live(shop: LiveShopping, directory: RoomDirectory, db: Database) -> None:
    session = await shop.open(HOST, "live1")
    await shop.pin(HOST, session.id, MUG)
    await shop.click(BOB, session.id)
    await shop.order(BOB, session.id, product_id="p-mug", key="k")
    closed = await shop.close(session.id)
    assert closed == ShopAnalytics(session.id, 0, 1, 1, 1200, "EUR", True)
    await directory.forget("live1")
    fresh = LiveShopping(db, directory, FakeCommerce())  # another node, or after a restart
    assert await fresh.analytics(session.id) == closed
    assert await fresh.close(session.id) == closed
    with pytest.raises(NotFound):
        await fresh.analytics("nope")
