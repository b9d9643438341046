"""Levels and badges: experience from coins gifted, coins received as gifts, and days of activity.

XP = coins spent on gifts + coins' worth of gifts received + ``ACTIVITY_XP_PER_DAY`` for every day on which
the user's wallet moved (a purchase, a gift, a transfer). The level table is data; each level's badge is
earned on reaching it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from api.economy.models import Level, MyLevel, XpBreakdown
from api.problems import NotFound
from store.database import Database
from store.ledger import Account, Currency
from store.schema.economy import gift_sends, levels
from store.schema.ledger import ledger_entries as entries

ACTIVITY_XP_PER_DAY = 50
DAY_MS = 86_400_000


class Levels:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def table(self) -> list[Level]:
        async with self._db.read() as conn:
            return [_level(r) for r in await conn.execute(sa.select(levels).order_by(levels.c.level))]

    async def get(self, number: int) -> Level:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(levels).where(levels.c.level == number))).first()
        if row is None:
            raise NotFound(f"no level {number}", slug="unknown-level")
        return _level(row)

    async def xp(self, user_id: str) -> XpBreakdown:
        spent = sa.select(sa.func.coalesce(sa.func.sum(gift_sends.c.coins), 0)).where(gift_sends.c.sender_id == user_id)
        received = sa.select(sa.func.coalesce(sa.func.sum(gift_sends.c.coins), 0)).where(
            gift_sends.c.receiver_id == user_id
        )
        millis = sa.type_coerce(entries.c.created_at, sa.BigInteger)
        days = sa.select(sa.func.count(sa.distinct(millis - millis % DAY_MS))).where(
            entries.c.account_id.in_([Account.user(user_id, c).id for c in Currency])
        )
        async with self._db.read() as conn:
            return XpBreakdown(
                coins_spent=int(await conn.scalar(spent) or 0),
                coins_received=int(await conn.scalar(received) or 0),
                activity=int(await conn.scalar(days) or 0) * ACTIVITY_XP_PER_DAY,
            )

    async def mine(self, user_id: str) -> MyLevel:
        breakdown = await self.xp(user_id)
        xp = breakdown.coins_spent + breakdown.coins_received + breakdown.activity
        table = await self.table()
        reached = [lv for lv in table if lv.min_xp <= xp]
        current = reached[-1] if reached else None
        upcoming = next((lv for lv in table if lv.min_xp > xp), None)
        floor = current.min_xp if current else 0
        if upcoming is None:
            progress, to_next = 1.0, None
        else:
            progress, to_next = (xp - floor) / (upcoming.min_xp - floor), upcoming.min_xp - xp
        return MyLevel(
            user_id=user_id,
            xp=xp,
            level=current,
            next_level=upcoming,
            xp_to_next=to_next,
            progress=round(progress, 4),
            breakdown=breakdown,
            badges=reached,
        )


def _level(row: Any) -> Level:
    return Level(level=row.level, name=row.name, min_xp=row.min_xp, badge=row.badge, badge_icon_url=row.badge_icon_url)
