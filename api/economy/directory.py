"""Which user ids exist, and their names, for the economy's checks and rankings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from api.problems import NotFound
from store.database import Database
from store.schema.accounts import users


class UserDirectory:
    def __init__(self, db: Database, *, cache_size: int = 100_000) -> None:
        self._db = db
        self._known: set[str] = set()  # accounts are never hard-deleted while they hold ledger rows
        self._cache_size = cache_size
        self._asking: dict[str, asyncio.Future[bool]] = {}  # one query per id, however many ask at once

    async def require(self, user_id: str, *, what: str = "user") -> None:
        if user_id in self._known:
            return
        pending = self._asking.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._exists(user_id))
            self._asking[user_id] = pending
            pending.add_done_callback(lambda _: self._asking.pop(user_id, None))
        if not await asyncio.shield(pending):
            raise NotFound(f"no {what} with id {user_id}", slug="unknown-user")

    async def _exists(self, user_id: str) -> bool:
        async with self._db.read() as conn:
            found = await conn.scalar(sa.select(users.c.id).where(users.c.id == user_id, users.c.status != "banned"))
        if found is not None and len(self._known) < self._cache_size:
            self._known.add(user_id)
        return found is not None

    async def names(self, user_ids: Iterable[str]) -> dict[str, Any]:
        ids = list(set(user_ids))
        if not ids:
            return {}
        async with self._db.read() as conn:
            rows = await conn.execute(
                sa.select(users.c.id, users.c.username, users.c.display_name).where(users.c.id.in_(ids))
            )
            return {row.id: row for row in rows}
