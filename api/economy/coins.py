"""Buying coins: packages (data), custom top-ups, and crediting a payment exactly once.

A payment is credited by a ledger transfer whose key is ``payment:<provider>:<reference>``. The purchase
request (when the card succeeds at once) and the provider's webhook (however often it repeats) post that
same transfer, so the coins arrive exactly once whichever comes first.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from api.economy.directory import UserDirectory
from api.economy.keys import refused
from api.economy.models import CoinPackage, PurchaseReceipt
from api.economy.payments import (
    ChargeStatus,
    InvalidPaymentToken,
    Order,
    PaymentDeclined,
    PaymentProvider,
    PaymentProviderError,
)
from api.problems import ApiError, BadRequest, NotFound, PaymentRequired
from store.database import Database
from store.ids import new_id
from store.ledger import Account, Currency, Ledger, LedgerError, Leg, System, TransferRequest
from store.schema.economy import coin_packages, payments
from store.types import utcnow

log = logging.getLogger(__name__)
PRICE_CURRENCY = "USD"


class PaymentProviderFailed(ApiError):
    status, slug, title = 502, "payment-provider-error", "Payment provider error"


class CoinShop:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        provider: PaymentProvider,
        directory: UserDirectory,
        *,
        topup_cents_per_100_coins: int,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self.provider = provider
        self._directory = directory
        self._topup_rate = topup_cents_per_100_coins

    async def packages(self) -> list[CoinPackage]:
        query = sa.select(coin_packages).where(coin_packages.c.active.is_(True)).order_by(coin_packages.c.position)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_package(row) for row in rows]

    async def purchase(self, user_id: str, package_id: str, token: str, key: str) -> PurchaseReceipt:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(coin_packages).where(coin_packages.c.id == package_id, coin_packages.c.active.is_(True))
                )
            ).first()
        if row is None:
            raise NotFound(f"no coin package {package_id!r}", slug="unknown-package")
        coins = int(row.coins + row.bonus_coins)
        return await self._buy(user_id, coins, row.price_cents, row.price_currency, package_id, token, key)

    async def top_up(self, user_id: str, coins: int, token: str, key: str) -> PurchaseReceipt:
        cents = -(-coins * self._topup_rate // 100)  # round up: never sell below the rate
        return await self._buy(user_id, coins, cents, PRICE_CURRENCY, None, token, key)

    async def _buy(
        self,
        user_id: str,
        coins: int,
        cents: int,
        currency: str,
        package_id: str | None,
        token: str,
        key: str,
    ) -> PurchaseReceipt:
        order = Order(
            amount_cents=cents,
            currency=currency,
            token=token,
            description=f"{coins} Mixillo coins",
            idempotency_key=key,
            metadata={"user_id": user_id, "coins": str(coins), "package_id": package_id or ""},
        )
        try:
            charge = await self.provider.charge(order)
        except PaymentDeclined as declined:
            if declined.reference:
                await self._record(
                    user_id,
                    declined.reference,
                    coins,
                    cents,
                    currency,
                    package_id,
                    status="failed",
                    failure=declined.code,
                )
            raise PaymentRequired(
                f"the card was declined: {declined.message}", slug="card-declined", decline_code=declined.code
            ) from None
        except InvalidPaymentToken as exc:
            raise BadRequest(str(exc), slug="invalid-payment-token") from None
        except PaymentProviderError as exc:
            log.warning("payment provider %s failed: %s", self.provider.name, exc)
            raise PaymentProviderFailed(
                "the payment provider did not answer; nothing was charged twice, retry with the same Idempotency-Key"
            ) from None
        payment = await self._record(user_id, charge.reference, coins, cents, currency, package_id, status="pending")
        if charge.status is not ChargeStatus.SUCCEEDED:
            balance = await self._ledger.balance(Account.user(user_id, Currency.COINS))
            return _receipt(payment, None, balance)
        return await self.credit(payment)

    async def settle(self, reference: str, metadata: dict[str, Any], amount_cents: int, currency: str) -> None:
        """A provider reports a payment succeeded (webhook): credit it unless that already happened."""
        async with self._db.read() as conn:
            payment = (
                await conn.execute(
                    sa.select(payments).where(
                        payments.c.provider == self.provider.name, payments.c.provider_ref == reference
                    )
                )
            ).first()
        if payment is None:
            # The webhook can beat the purchase request's own bookkeeping: rebuild the row from the metadata
            # this service attached to the payment (the signature proves it came back unaltered).
            user_id, coins = str(metadata.get("user_id", "")), int(metadata.get("coins", 0) or 0)
            if not user_id or coins <= 0:
                log.warning("payment %s carries no Mixillo metadata; not credited", reference)
                return
            try:
                await self._directory.require(user_id)
            except NotFound:  # permanent: answering 4xx would only make the provider retry for days
                log.warning("payment %s names unknown user %s; not credited", reference, user_id)
                return
            payment = await self._record(
                user_id,
                reference,
                coins,
                amount_cents,
                currency.upper(),
                str(metadata.get("package_id") or "") or None,
                status="pending",
            )
        await self.credit(payment)

    async def fail(self, reference: str, reason: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                payments.update()
                .where(
                    payments.c.provider == self.provider.name,
                    payments.c.provider_ref == reference,
                    payments.c.status == "pending",
                )
                .values(status="failed", failure=reason, updated_at=utcnow())
            )

    async def credit(self, payment: Any) -> PurchaseReceipt:
        to = Account.user(payment.user_id, Currency.COINS)
        memo = {
            "payment_id": payment.id,
            "provider": payment.provider,
            "reference": payment.provider_ref,
            "package_id": payment.package_id,
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
        }
        request = TransferRequest(
            f"payment:{payment.provider}:{payment.provider_ref}",
            "purchase",
            (Leg(Account.system(System.CLEARING, Currency.COINS), to, int(payment.coins)),),
            memo,
        )
        try:
            posted = await self._ledger.post(request)
        except LedgerError as exc:
            raise refused(exc) from None
        async with self._db.write() as conn:
            await conn.execute(
                payments.update()
                .where(payments.c.id == payment.id, payments.c.status != "succeeded")
                .values(status="succeeded", updated_at=utcnow())
            )
        return _receipt(payment, posted.transfer_id, posted.balance(to), status="succeeded")

    async def _record(
        self,
        user_id: str,
        reference: str,
        coins: int,
        cents: int,
        currency: str,
        package_id: str | None,
        *,
        status: str,
        failure: str | None = None,
    ) -> Any:
        """The payments row for ``reference``: inserted once, found on every later call."""
        now = utcnow()
        values = {
            "id": new_id(),
            "user_id": user_id,
            "provider": self.provider.name,
            "provider_ref": reference,
            "package_id": package_id,
            "coins": coins,
            "amount_cents": cents,
            "currency": currency,
            "status": status,
            "failure": failure,
            "created_at": now,
            "updated_at": now,
        }
        dialect = sqlite if self._db.is_sqlite else postgresql
        async with self._db.write() as conn:
            await conn.execute(
                dialect.insert(payments)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["provider", "provider_ref"])
            )
            return (
                await conn.execute(
                    sa.select(payments).where(
                        payments.c.provider == self.provider.name, payments.c.provider_ref == reference
                    )
                )
            ).one()


def _package(row: Any) -> CoinPackage:
    return CoinPackage(
        id=row.id,
        name=row.name,
        coins=row.coins,
        bonus_coins=row.bonus_coins,
        total_coins=row.coins + row.bonus_coins,
        price_cents=row.price_cents,
        price_currency=row.price_currency,
    )


def _receipt(payment: Any, transfer_id: str | None, balance: int, status: str | None = None) -> PurchaseReceipt:
    return PurchaseReceipt(
        payment_id=payment.id,
        provider=payment.provider,
        reference=payment.provider_ref,
        status=status or payment.status,
        coins=payment.coins,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        transfer_id=transfer_id,
        balance=balance,
    )
