"""Orders paid through the coin economy (issue 3): :class:`~api.commerce.orders.OrderPayments` on the ledger.

* ``coins``: one ledger transfer moves the order's price in coins from the buyer's wallet to the seller's
  (kind ``order``, ledger key ``order:<id>``, so a retried charge cannot pay twice). Prices are in US cents;
  coins are priced at the coin shop's top-up rate, rounded up, so paying in coins never costs the seller.
* ``card``: the card is charged through the configured payment provider for exactly the coins the order
  needs (the coin shop's ``top_up``, idempotency key ``order-card:<id>``), and those coins then pay the order
  as above. The money path is therefore the same for both methods.
* A refund is a reversing transfer of the order's payment: the coins go back to the buyer's wallet. For a
  card order that is store credit, not money back on the card: the payment provider interface has no
  refund call yet.
"""

from __future__ import annotations

import sqlalchemy as sa

from api.commerce.orders import OrderCharge
from api.economy.coins import PRICE_CURRENCY
from api.economy.economy import Economy
from api.economy.keys import refused
from api.problems import PaymentRequired, Unprocessable
from store.database import Database
from store.ledger import Account, Currency, LedgerError, Leg, TransferRequest
from store.schema.ledger import ledger_transfers


def coins_for(cents: int, cents_per_100_coins: int) -> int:
    return -(-cents * 100 // cents_per_100_coins)


class LedgerPayments:
    def __init__(self, db: Database, economy: Economy, cents_per_100_coins: int) -> None:
        self._db = db
        self._economy = economy
        self._rate = cents_per_100_coins

    async def charge(self, order: OrderCharge) -> str:
        if order.currency != PRICE_CURRENCY:
            raise Unprocessable(
                f"orders are paid in {PRICE_CURRENCY} prices; this one is in {order.currency}",
                slug="unsupported-currency",
            )
        coins = coins_for(order.amount, self._rate)
        if coins == 0:
            return "free"
        if order.method == "card":
            if not order.token:
                raise Unprocessable("a card payment needs a payment_token", slug="payment-token-required")
            receipt = await self._economy.coins.top_up(
                order.buyer_id, coins, order.token, f"order-card:{order.order_id}"
            )
            if receipt.transfer_id is None:  # the provider wants the buyer to confirm (e.g. 3-D Secure)
                raise PaymentRequired(
                    "the card payment needs confirmation (3-D Secure), which orders do not "
                    "support yet; pay with coins or another card",
                    slug="card-action-required",
                )
        leg = Leg(Account.user(order.buyer_id, Currency.COINS), Account.user(order.seller_id, Currency.COINS), coins)
        request = TransferRequest(f"order:{order.order_id}", "order", (leg,), {"order_id": order.order_id})
        try:
            posted = await self._economy.ledger.post(request)
        except LedgerError as exc:
            raise refused(exc) from None
        return posted.transfer_id

    async def settled(self, order: OrderCharge) -> str | None:
        if coins_for(order.amount, self._rate) == 0:
            return "free"
        async with self._db.read() as conn:
            found = await conn.execute(
                sa.select(ledger_transfers.c.id).where(ledger_transfers.c.idempotency_key == f"order:{order.order_id}")
            )
            return found.scalar_one_or_none()

    async def refund(self, order: OrderCharge, payment_ref: str) -> None:
        if payment_ref == "free":
            return
        try:
            await self._economy.ledger.reverse(
                payment_ref,
                key=f"order-refund:{order.order_id}",
                kind="order-refund",
                memo={"order_id": order.order_id},
            )
        except LedgerError as exc:
            raise refused(exc) from None
