"""Supporters: who gifted a creator the most coins in a period, and the biggest gifters overall."""

from __future__ import annotations

import sqlalchemy as sa

from api.economy.directory import UserDirectory
from api.economy.models import Supporter
from api.economy.periods import since
from store.database import Database
from store.schema.economy import gift_sends


class Supporters:
    def __init__(self, db: Database, directory: UserDirectory) -> None:
        self._db = db
        self._directory = directory

    async def of_creator(self, creator_id: str, period: str, limit: int) -> list[Supporter]:
        return await self._rank(gift_sends.c.receiver_id == creator_id, period, limit)

    async def top(self, period: str, limit: int) -> list[Supporter]:
        return await self._rank(None, period, limit)

    async def _rank(self, where: sa.ColumnElement[bool] | None, period: str, limit: int) -> list[Supporter]:
        coins = sa.func.sum(gift_sends.c.coins).label("coins")
        query = (
            sa.select(gift_sends.c.sender_id, coins, sa.func.count().label("gifts"))
            .group_by(gift_sends.c.sender_id)
            .order_by(coins.desc(), gift_sends.c.sender_id)
            .limit(limit)
        )
        if where is not None:
            query = query.where(where)
        start = since(period)
        if start is not None:
            query = query.where(gift_sends.c.created_at >= start)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        names = await self._directory.names(r.sender_id for r in rows)
        return [
            Supporter(
                rank=i,
                user_id=r.sender_id,
                username=names[r.sender_id].username,
                display_name=names[r.sender_id].display_name,
                coins=int(r.coins),
                gifts=int(r.gifts),
            )
            for i, r in enumerate(rows, start=1)
            if r.sender_id in names
        ]
