"""Fixtures for the economy tests: a migrated database with a ledger, users, funded wallets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from store import migrate
from store.database import Database
from store.ids import new_id
from store.ledger import Account, Currency, Ledger, Leg, System, TransferRequest
from store.schema.accounts import users
from store.schema.ledger import ledger_accounts, ledger_entries, ledger_transfers
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
        await conn.execute(
            users.insert().values(
                id=user_id,
                username=name,
                email=f"{name}@example.test",
                password_hash="x",
                role="user",
                display_name=name,
                status="active",
                created_at=now,
                updated_at=now,
            )
        )
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


# Over HTTP ---------------------------------------------------------------------------------------------

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient  # noqa: E402

from api.economy.catalog import seed_catalog  # noqa: E402
from api.state import DATABASE  # noqa: E402
from tests.api.helpers import bearer, register  # noqa: E402
from tests.conftest import AppFactory  # noqa: E402

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def econ(make_client: AppFactory, db_url: str) -> Client:
    """The app on SQLite (and PostgreSQL), with the demo catalog, and a low withdrawal minimum."""
    client = await make_client(database_url=db_url, min_withdraw_diamonds=10)
    async with client.app[DATABASE].write() as conn:
        await seed_catalog(conn)
    return client


async def top_up(client: Client, session: dict[str, Any], coins: int) -> dict[str, Any]:
    response = await client.post(
        "/api/wallets/top-up", json={"coins": coins, "payment_token": "tok_visa"}, headers=bearer(session)
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def wallet(client: Client, session: dict[str, Any]) -> dict[str, Any]:
    response = await client.get("/api/wallets", headers=bearer(session))
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def app_snapshot(client: Client) -> dict[str, Any]:
    return await snapshot(client.app[DATABASE])


async def app_audit_ok(client: Client) -> None:
    from store.ledger.audit import audit

    report = await audit(client.app[DATABASE])
    assert report.ok, report.lines()


__all__ = ["Client", "app_audit_ok", "app_snapshot", "bearer", "register", "top_up", "wallet"]
