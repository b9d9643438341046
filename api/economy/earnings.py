"""A creator's earnings: diamonds by period and by source, and gift stats in time buckets."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from api.economy.models import Earnings, Stats, StatsBucket
from api.economy.periods import bucket_start, since
from store.database import Database
from store.ledger import Account, Currency, Ledger
from store.schema.economy import gift_sends, payouts
from store.schema.ledger import ledger_entries as entries
from store.schema.ledger import ledger_transfers as transfers

# Transfer kinds that bring a creator diamonds, by the source they are reported under. A failed payout
# returning diamonds is not new income, so it is not here.
SOURCES = {"gift": "gifts", "live_shopping": "live_shopping"}


class CreatorEarnings:
    def __init__(self, db: Database, ledger: Ledger) -> None:
        self._db = db
        self._ledger = ledger

    async def earnings(self, user_id: str, period: str) -> Earnings:
        start = since(period)
        account = Account.user(user_id, Currency.DIAMONDS)
        query = (
            sa.select(transfers.c.kind, sa.func.sum(entries.c.amount))
            .select_from(entries.join(transfers, transfers.c.id == entries.c.transfer_id))
            .where(entries.c.account_id == account.id, entries.c.side == "C", transfers.c.kind.in_(list(SOURCES)))
            .group_by(transfers.c.kind)
        )
        if start is not None:
            query = query.where(entries.c.created_at >= start)
        held = (
            sa.select(payouts.c.status, sa.func.sum(payouts.c.diamonds))
            .where(payouts.c.user_id == user_id)
            .group_by(payouts.c.status)
        )
        async with self._db.read() as conn:
            by_source = {SOURCES[str(row[0])]: int(row[1] or 0) for row in await conn.execute(query)}
            payout_totals = {str(row[0]): int(row[1] or 0) for row in await conn.execute(held)}
        return Earnings(
            period=period,
            since=start,
            diamonds_balance=await self._ledger.balance(account),
            earned=sum(by_source.values()),
            by_source=by_source,
            pending_payouts=payout_totals.get("pending", 0),
            paid_out=payout_totals.get("paid", 0),
        )

    async def stats(self, user_id: str, period: str, bucket: str) -> Stats:
        start = since(period)
        bucket_col = bucket_start(gift_sends.c.created_at, bucket).label("bucket")
        query = (
            sa.select(
                bucket_col,
                sa.func.sum(gift_sends.c.diamonds),
                sa.func.count(),
                sa.func.count(sa.distinct(gift_sends.c.sender_id)),
            )
            .where(gift_sends.c.receiver_id == user_id)
            .group_by(bucket_col)
            .order_by(bucket_col)
        )
        if start is not None:
            query = query.where(gift_sends.c.created_at >= start)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        buckets = [
            StatsBucket(
                start=datetime.fromtimestamp(int(b) / 1000, tz=UTC),
                diamonds=int(d or 0),
                gifts=int(g),
                supporters=int(s),
            )
            for b, d, g, s in rows
        ]
        return Stats(
            period=period,
            bucket=bucket,
            since=start,
            total_diamonds=sum(b.diamonds for b in buckets),
            total_gifts=sum(b.gifts for b in buckets),
            buckets=buckets,
        )
