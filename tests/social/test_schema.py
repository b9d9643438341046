"""The migration builds exactly the social tables of ``store.schema`` (plus the search indexes), on both
backends, and can be rolled back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import migrate
from store.database import Database
from store.schema import metadata


def _diff(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, metadata) if not _search_index(d)]


def _downgrade(connection: sa.Connection) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0001_accounts")


def _search_index(diff: Any) -> bool:
    # FTS5 tables (SQLite) and GIN expression indexes (PostgreSQL) live only in the migration.
    item = diff[1] if isinstance(diff, tuple) and len(diff) > 1 else None
    name = getattr(item, "name", "") or ""
    return name.startswith("search_") or name.endswith("_search")


async def test_migration_matches_metadata(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        async with db.read() as conn:
            assert await conn.run_sync(_diff) == []
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        assert {"contents", "messages", "notifications", "stories", "sounds"} <= tables
        if db.is_sqlite:
            assert {"search_users", "search_contents", "search_sounds"} <= tables
        async with db.write() as conn:
            await conn.run_sync(_downgrade)
            left = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        assert left <= {"users", "refresh_tokens", "idempotency_keys", "alembic_version"}
        await migrate.upgrade(db)
    finally:
        await db.close()
