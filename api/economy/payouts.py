"""Diamond withdrawals: a payout request holds the diamonds (pending), then is paid or fails.

Withdrawing moves the diamonds from the creator to the ``payouts`` system account in the same transaction
that records the request. An administrator then settles it (payouts -> settled) or fails it (a reversing
transfer returns the diamonds). Both outcomes post under one ledger key per payout, so at most one of them
ever happens, even when two administrators decide at once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from api.economy.keys import refused
from api.economy.models import Payout
from api.problems import Conflict, NotFound, Unprocessable
from store.database import Database
from store.ids import new_id
from store.ledger import (
    CREATED_AT,
    TRANSFER_ID,
    Account,
    Currency,
    IdempotencyKeyReused,
    Ledger,
    LedgerError,
    Leg,
    Record,
    System,
    TransferRequest,
)
from store.schema.economy import payouts
from store.types import utcnow


class Payouts:
    def __init__(self, db: Database, ledger: Ledger, *, minimum: int) -> None:
        self._db = db
        self._ledger = ledger
        self.minimum = minimum

    async def withdraw(self, user_id: str, diamonds: int, method: str, key: str) -> Payout:
        if diamonds < self.minimum:
            raise Unprocessable(
                f"the smallest withdrawal is {self.minimum} diamonds",
                slug="below-minimum",
                minimum=self.minimum,
            )
        payout_id = new_id()
        record = Record(
            payouts,
            {
                "id": payout_id,
                "user_id": user_id,
                "diamonds": diamonds,
                "method": method,
                "status": "pending",
                "transfer_id": TRANSFER_ID,
                "settlement_id": None,
                "failure": None,
                "created_at": CREATED_AT,
                "updated_at": CREATED_AT,
            },
        )
        leg = Leg(
            Account.user(user_id, Currency.DIAMONDS),
            Account.system(System.PAYOUTS, Currency.DIAMONDS),
            diamonds,
        )
        try:
            posted = await self._ledger.post(
                TransferRequest(key, "payout", (leg,), {"method": method}, records=(record,))
            )
        except LedgerError as exc:
            raise refused(exc) from None
        return await self._by_transfer(posted.transfer_id)

    async def decide(self, payout_id: str, status: str, reason: str | None) -> Payout:
        row = await self._get(payout_id)
        key = f"payout-decision:{payout_id}"
        memo = {"payout_id": payout_id, "reason": reason}
        try:
            if status == "paid":
                leg = Leg(
                    Account.system(System.PAYOUTS, Currency.DIAMONDS),
                    Account.system(System.SETTLED, Currency.DIAMONDS),
                    int(row.diamonds),
                )
                posted = await self._ledger.post(TransferRequest(key, "payout_settled", (leg,), memo))
            else:
                posted = await self._ledger.reverse(row.transfer_id, key=key, kind="payout_failed", memo=memo)
        except IdempotencyKeyReused:
            raise Conflict(
                f"payout {payout_id} was already decided", slug="payout-decided", status_now=row.status
            ) from None
        except LedgerError as exc:
            raise refused(exc) from None
        async with self._db.write() as conn:
            await conn.execute(
                payouts.update()
                .where(payouts.c.id == payout_id, payouts.c.status == "pending")
                .values(
                    status=status,
                    settlement_id=posted.transfer_id,
                    failure=reason if status == "failed" else None,
                    updated_at=utcnow(),
                )
            )
        return _payout(await self._get(payout_id))

    async def list(self, user_id: str | None, status: str | None, limit: int) -> list[Payout]:
        query = sa.select(payouts).order_by(payouts.c.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(payouts.c.user_id == user_id)
        if status is not None:
            query = query.where(payouts.c.status == status)
        async with self._db.read() as conn:
            return [_payout(row) for row in await conn.execute(query)]

    async def _get(self, payout_id: str) -> Any:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(payouts).where(payouts.c.id == payout_id))).first()
        if row is None:
            raise NotFound(f"no payout {payout_id}", slug="unknown-payout")
        return row

    async def _by_transfer(self, transfer_id: str) -> Payout:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(payouts).where(payouts.c.transfer_id == transfer_id))).one()
        return _payout(row)


def _payout(row: Any) -> Payout:
    return Payout(
        id=row.id,
        user_id=row.user_id,
        diamonds=row.diamonds,
        method=row.method,
        status=row.status,
        failure=row.failure,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
