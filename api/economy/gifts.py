"""Gifts: the catalog (data), sending one (a linked ledger transfer), and what is popular.

Sending a gift is one transfer with up to two legs that commit together: the gift's coin price from the
sender to the platform, and its diamond value from diamond issuance to the receiver. The diamond value is
the gift's own, or the configured creator share of the price. The gift send row is written in the same
transaction. The live-room service calls :meth:`Gifting.send` too, so a gift is charged the same way
wherever it is sent, and it is charged before anyone announces it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from api.economy.directory import UserDirectory
from api.economy.keys import refused
from api.economy.models import Gift, GiftReceipt, PopularGift
from api.problems import BadRequest, Conflict, NotFound, Unprocessable
from store.database import Database
from store.ledger import (
    CREATED_AT,
    TRANSFER_ID,
    Account,
    Currency,
    Ledger,
    LedgerError,
    Leg,
    Record,
    System,
    TransferRequest,
)
from store.schema.economy import gift_sends, gifts
from store.types import utcnow

CATALOG_TTL_S = 30.0  # catalog edits show up within this long on every node


class Gifting:
    def __init__(self, db: Database, ledger: Ledger, directory: UserDirectory, *, creator_share_percent: int) -> None:
        self._db = db
        self._ledger = ledger
        self._directory = directory
        self._share = creator_share_percent
        self._catalog: dict[str, Any] = {}
        self._loaded_at = -CATALOG_TTL_S
        self._loading = asyncio.Lock()  # a burst of sends after a restart loads the catalog once
        # Told of each gift once it is posted (creator analytics); must not block, see api.creator.feed.
        self.observers: list[Callable[[GiftReceipt], None]] = []

    async def _rows(self, *, fresh: bool = False) -> dict[str, Any]:
        if not fresh and time.monotonic() - self._loaded_at <= CATALOG_TTL_S:
            return self._catalog
        asked = time.monotonic()
        async with self._loading:
            if self._loaded_at < asked:  # nobody reloaded while we waited
                async with self._db.read() as conn:
                    rows = (await conn.execute(sa.select(gifts).order_by(gifts.c.position, gifts.c.id))).all()
                self._catalog = {row.id: row for row in rows}
                self._loaded_at = time.monotonic()
        return self._catalog

    def diamonds_for(self, row: Any, quantity: int) -> int:
        each = row.diamond_value if row.diamond_value is not None else row.coin_price * self._share // 100
        return int(each) * quantity

    def _gift(self, row: Any) -> Gift:
        return Gift(
            id=row.id,
            name=row.name,
            category=row.category,
            coin_price=row.coin_price,
            diamond_value=self.diamonds_for(row, 1),
            animation_url=row.animation_url,
            streakable=row.streakable,
            active_from=row.active_from,
            active_until=row.active_until,
        )

    async def catalog(self, category: str | None = None) -> list[Gift]:
        now = utcnow()
        rows = (await self._rows()).values()
        return [self._gift(r) for r in rows if _active(r, now) and (category is None or r.category == category)]

    async def get(self, gift_id: str) -> Gift:
        rows = await self._rows()
        if gift_id not in rows:
            rows = await self._rows(fresh=True)
        if gift_id not in rows:
            raise NotFound(f"no gift {gift_id!r}", slug="unknown-gift")
        return self._gift(rows[gift_id])

    async def send(
        self,
        sender_id: str,
        receiver_id: str,
        gift_id: str,
        *,
        quantity: int = 1,
        key: str,
        livestream_id: str | None = None,
        combo_id: str | None = None,
    ) -> GiftReceipt:
        if sender_id == receiver_id:
            raise BadRequest("a gift cannot be sent to yourself", slug="gift-to-self")
        rows = await self._rows()
        row = rows.get(gift_id) or (await self._rows(fresh=True)).get(gift_id)
        if row is None:
            raise NotFound(f"no gift {gift_id!r}", slug="unknown-gift")
        if not _active(row, utcnow()):
            raise Conflict(f"the gift {gift_id!r} is not available now", slug="gift-unavailable")
        if combo_id is not None and not row.streakable:
            raise Unprocessable(f"the gift {gift_id!r} cannot be sent as a streak", slug="gift-not-streakable")
        await self._directory.require(receiver_id, what="receiver")

        coins = int(row.coin_price) * quantity
        diamonds = self.diamonds_for(row, quantity)
        payer = Account.user(sender_id, Currency.COINS)
        legs = [Leg(payer, Account.system(System.REVENUE, Currency.COINS), coins)]
        if diamonds > 0:  # a share can round down to nothing on the cheapest gifts
            legs.append(
                Leg(
                    Account.system(System.EARNINGS, Currency.DIAMONDS),
                    Account.user(receiver_id, Currency.DIAMONDS),
                    diamonds,
                )
            )
        memo = {
            "gift_id": gift_id,
            "receiver_id": receiver_id,
            "quantity": quantity,
            "livestream_id": livestream_id,
            "combo_id": combo_id,
        }
        record = Record(
            gift_sends,
            {
                "transfer_id": TRANSFER_ID,
                "gift_id": gift_id,
                "sender_id": sender_id,
                "receiver_id": receiver_id,
                "livestream_id": livestream_id,
                "combo_id": combo_id,
                "quantity": quantity,
                "coins": coins,
                "diamonds": diamonds,
                "created_at": CREATED_AT,
            },
        )
        try:
            posted = await self._ledger.post(TransferRequest(key, "gift", tuple(legs), memo, records=(record,)))
        except LedgerError as exc:
            raise refused(exc) from None
        combo_count = await self._combo_count(sender_id, combo_id) if combo_id is not None else None
        receipt = GiftReceipt(
            transfer_id=posted.transfer_id,
            gift_id=gift_id,
            sender_id=sender_id,
            receiver_id=receiver_id,
            quantity=quantity,
            coins=coins,
            diamonds=diamonds,
            balance=posted.balance(payer),
            livestream_id=livestream_id,
            combo_id=combo_id,
            combo_count=combo_count,
            created_at=posted.created_at,
        )
        if not posted.replayed:  # a retried request is the same gift: observers hear of it once
            for observer in self.observers:
                observer(receipt)
        return receipt

    async def _combo_count(self, sender_id: str, combo_id: str) -> int:
        query = sa.select(sa.func.coalesce(sa.func.sum(gift_sends.c.quantity), 0)).where(
            gift_sends.c.sender_id == sender_id, gift_sends.c.combo_id == combo_id
        )
        async with self._db.read() as conn:
            return int(await conn.scalar(query) or 0)

    async def popular(self, since: datetime | None, limit: int) -> list[PopularGift]:
        spent = sa.func.sum(gift_sends.c.coins).label("spent")
        query = (
            sa.select(gift_sends.c.gift_id, spent, sa.func.count().label("sends"))
            .group_by(gift_sends.c.gift_id)
            .order_by(spent.desc(), gift_sends.c.gift_id)
            .limit(limit)
        )
        if since is not None:
            query = query.where(gift_sends.c.created_at >= since)
        async with self._db.read() as conn:
            ranked = (await conn.execute(query)).all()
        rows = await self._rows()
        if any(r.gift_id not in rows for r in ranked):
            rows = await self._rows(fresh=True)
        return [
            PopularGift(gift=self._gift(rows[r.gift_id]), coins_spent=int(r.spent), sends=int(r.sends))
            for r in ranked
            if r.gift_id in rows
        ]


def _active(row: Any, now: datetime) -> bool:
    return (row.active_from is None or row.active_from <= now) and (row.active_until is None or now < row.active_until)
