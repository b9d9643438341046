"""``CommerceOrderPlacer``: the room domain's :class:`~rooms.shopping.OrderPlacer` over commerce's orders
(stock reserved and the order paid in one ``Orders.place``), made idempotent on the client's key.

What a live order needs beyond the domain's arguments (the shipping address, how to pay) is the buyer's
checkout: the edge sets it in :data:`CHECKOUT` for the call (a context variable: it is per request and
never leaks into another task).
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar

from api.auth.tokens import Principal, Role
from api.commerce.models import Address, ItemRequest, OrderCreate
from api.commerce.orders import Orders
from api.idempotency import IdempotencyKeys, StoredResponse
from api.problems import Unprocessable
from rooms.shopping import PlacedOrder


class Checkout:
    """How the buyer pays for and receives a live order."""

    def __init__(self, address: Address, payment_method: str = "coins", payment_token: str | None = None) -> None:
        self.address = address
        self.payment_method = payment_method
        self.payment_token = payment_token


CHECKOUT: ContextVar[Checkout | None] = ContextVar("live_checkout", default=None)
_PATH = "/live-shopping/order"  # the idempotency record's own path (not an HTTP route)


class CommerceOrderPlacer:
    def __init__(self, orders: Orders, keys: IdempotencyKeys) -> None:
        self._orders = orders
        self._keys = keys

    async def place(self, *, buyer_id: str, product_id: str, quantity: int, key: str,
                    livestream_id: str) -> PlacedOrder:
        checkout = CHECKOUT.get()
        if checkout is None:
            raise Unprocessable("a live order needs a shipping address", slug="missing-checkout")
        scope = f"live-order:{buyer_id}"
        digest = hashlib.sha256(f"{livestream_id}\n{key}".encode()).hexdigest()
        fp = hashlib.sha256(f"{product_id}\n{quantity}".encode()).hexdigest()
        stored = await self._keys.begin(scope, digest, "POST", _PATH, fp)
        if stored is not None:  # the same key placed this order before: the same order
            return PlacedOrder(**json.loads(stored.body))
        try:
            order = await self._orders.place(
                Principal(buyer_id, Role.USER, ""),
                OrderCreate(items=[ItemRequest(product_id=product_id, quantity=quantity)],
                            payment_method=checkout.payment_method,  # type: ignore[arg-type]
                            payment_token=checkout.payment_token, shipping_address=checkout.address),
            )
        except BaseException:
            await self._keys.release(scope, digest)
            raise
        placed = PlacedOrder(order.id, order.total, order.currency)
        body = json.dumps({"order_id": placed.order_id, "total": placed.total, "currency": placed.currency})
        await self._keys.finish(scope, digest, StoredResponse(201, body))
        return placed
