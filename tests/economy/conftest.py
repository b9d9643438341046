"""Fixtures for the economy tests: a migrated database with a ledger, users, funded wallets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from store import migrate
from store.database import Database
from store.ids import new_id
from store.ledger import Account, Currency, Leg, Ledger, System, TransferRequest
from store.schema.ledger import ledger_accounts, ledger_entries, ledger_transfers
from store.schema.accounts import users
from store.types import utcnow


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await migrate.upgrade(database)
    yield database
    await database.close()


@pytest.fixture
async def ledger(db: Database) -> AsyncIterator[Ledger]:
    book = Ledger(db)
    await book.start()
    yield book
    await book.close()


async def make_user(db: Database, name: str | None = None) -> str:
    user_id = new_id()
    now = utcnow()
    name = name or f"u{user_id[-8:].lower()}"
    async with db.write() as conn:
        await conn.execute(users.insert().values(
            id=user_id, username=name, email=f"{name}@example.test", password_hash="x", role="user",
            display_name=name, status="active", created_at=now, updated_at=now,
        ))
    return user_id


async def fund(ledger: Ledger, user_id: str, coins: int, key: str | None = None) -> None:
    leg = Leg(Account.system(System.CLEARING, Currency.COINS), Account.user(user_id, Currency.COINS), coins)
    await ledger.post(TransferRequest(key or f"fund:{new_id()}", "purchase", (leg,)))


async def snapshot(db: Database) -> dict[str, Any]:
    """Everything the ledger holds, to prove a refused request changed nothing."""
    async with db.read() as conn:
        # An account opened at zero holds nothing; only value (and rows that record it) must not change.
        balances = {r.id: r.balance for r in await conn.execute(sa.select(ledger_accounts)) if r.balance}
        transfers = await conn.scalar(sa.select(sa.func.count()).select_from(ledger_transfers))
        entries = await conn.scalar(sa.select(sa.func.count()).select_from(ledger_entries))
    return {"balances": balances, "transfers": transfers, "entries": entries}
