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
from store.schema import metadata, social


def _diff(connection: sa.Connection) -> list[Any]:
    opts = {"compare_type": True, "include_name": migrate.include_name}
    return list(compare_metadata(MigrationContext.configure(connection, opts=opts), metadata))


def _downgrade(connection: sa.Connection) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0004_commerce")


async def test_migration_matches_metadata(empty_db_url: str) -> None:
    db = Database(empty_db_url)
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
        assert not left & {t.name for t in vars(social).values() if isinstance(t, sa.Table)}
        assert not {name for name in left if name.startswith("search_")}
        await migrate.upgrade(db)
    finally:
        await db.close()
