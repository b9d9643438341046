"""The migrations build exactly the tables that ``store.schema`` declares (ledger and economy tables)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from store import migrate
from store.database import Database
from store.schema import metadata


async def test_migrated_schema_matches_metadata(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)

        def diff(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        async with db.read() as conn:
            differences = await conn.run_sync(diff)
    finally:
        await db.close()
    assert differences == []
