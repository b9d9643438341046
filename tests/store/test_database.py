"""Storage: migrations match the schema on both backends; writes serialize; identifiers sort by time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncConnection

from store import migrate
from store.database import Database, normalize_url
from store.errors import ConfigurationError
from store.ids import encode_ulid, is_id, new_id
from store.schema import metadata


async def test_migrations_produce_exactly_the_schema(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    try:
        await migrate.upgrade(db)
        assert await migrate.current_revision(db) == migrate.head_revision()

        def diff(connection: sa.Connection) -> list[object]:
            context = MigrationContext.configure(connection, opts={"include_name": migrate.include_name})
            return list(compare_metadata(context, metadata))

        async with db.read() as conn:
            assert await conn.run_sync(diff) == []
        await migrate.upgrade(db)  # a second run is a no-op
    finally:
        await db.close()


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        async with db.read() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        await db.close()


async def test_write_transactions_serialize_read_check_write(db_url: str) -> None:
    """Two Database objects (as two processes would have) increment one counter; no update is lost."""
    first, second = Database(db_url), Database(db_url)
    counter = sa.table("counter", sa.column("n", sa.Integer))
    try:
        async with first.write() as conn:
            await conn.execute(sa.text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            await conn.execute(sa.text("INSERT INTO counter VALUES (0)"))

        async def bump(db: Database) -> None:
            async def work(conn: AsyncConnection) -> None:
                select = sa.select(counter.c.n)
                if not db.is_sqlite:
                    select = select.with_for_update()
                n: int = (await conn.execute(select)).scalar_one()
                await asyncio.sleep(0)  # let the other writer try to interleave
                await conn.execute(counter.update().values(n=n + 1))

            await db.run(work)

        await asyncio.gather(*(bump(db) for _ in range(25) for db in (first, second)))
        async with first.read() as conn:
            assert (await conn.execute(sa.select(counter.c.n))).scalar_one() == 50
    finally:
        await first.close()
        await second.close()


def test_url_normalization() -> None:
    assert normalize_url("sqlite:///var/x.db") == "sqlite+aiosqlite:///var/x.db"
    assert normalize_url("postgresql://u:p@h:5/db") == "postgresql+asyncpg://u:p@h:5/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    for bad in ("mysql://u@h/db", "not a url"):
        with pytest.raises(ConfigurationError):
            normalize_url(bad)


def test_ids_are_time_ordered_ulids() -> None:
    assert encode_ulid(0, bytes(10)) == "0" * 26
    assert encode_ulid((1 << 48) - 1, b"\xff" * 10) == "7" + "Z" * 25
    ids = []
    for _ in range(5):
        ids.append(new_id())
        time.sleep(0.002)
    assert ids == sorted(ids) and len(set(ids)) == 5 and all(is_id(i) for i in ids)
    assert not is_id("8" + "0" * 25) and not is_id("0" * 25 + "U")


@pytest.mark.parametrize("inline", [False, True], ids=["reader-threads", "inline"])
async def test_readers_see_whole_transactions_beside_a_writer(db_url: str, inline: bool) -> None:
    """Readers (``run_read``, on reader threads or inline in the event loop on SQLite) run while a writer moves
    value between two rows: every reader sees one committed snapshot, so the total never changes; a reader
    cannot write."""
    db = Database(db_url)
    account = sa.table("account", sa.column("id", sa.Integer), sa.column("n", sa.Integer))
    try:
        async with db.write() as conn:
            await conn.execute(sa.text("CREATE TABLE account (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
            await conn.execute(sa.text("INSERT INTO account VALUES (1, 1000), (2, 0)"))
        moves = 60

        async def writer() -> None:
            for _ in range(moves):
                async with db.write() as conn:
                    await conn.execute(account.update().where(account.c.id == 1).values(n=account.c.n - 1))
                    await asyncio.sleep(0)  # readers run while the transaction is half done
                    await conn.execute(account.update().where(account.c.id == 2).values(n=account.c.n + 1))

        def snapshot(conn: sa.Connection) -> tuple[int, int]:
            first: int = conn.execute(sa.select(account.c.n).where(account.c.id == 1)).scalar_one()
            time.sleep(0.0005)  # widen the window between the two statements
            second: int = conn.execute(sa.select(account.c.n).where(account.c.id == 2)).scalar_one()
            return first, second

        seen: list[tuple[int, int]] = []

        async def reader() -> None:
            for _ in range(40):
                seen.append(await db.run_read(snapshot, inline=inline))
                await asyncio.sleep(0)  # an inline read never yields to the writer by itself

        await asyncio.gather(writer(), *(reader() for _ in range(8)))
        assert len(seen) == 320 and all(a + b == 1000 for a, b in seen)
        assert len({b for _, b in seen}) > 1  # the readers really ran beside the writer
        assert await db.run_read(snapshot, inline=inline) == (1000 - moves, moves)
        if db.is_sqlite:
            with pytest.raises(sa.exc.OperationalError, match="readonly"):
                await db.run_read(lambda conn: conn.execute(account.update().values(n=0)), inline=inline)
    finally:
        await db.close()
