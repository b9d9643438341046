"""The database: one async SQLAlchemy engine, SQLite by default and PostgreSQL by URL.

Writes go through :meth:`Database.write`. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so it
holds the database's write lock from its first statement (https://www.sqlite.org/lang_transaction.html):
a read-check-write inside it cannot interleave with another writer, in this process or another one. In
process, writers also queue on an ``asyncio.Lock`` so they wait on the event loop instead of in SQLite's
busy handler. On PostgreSQL, callers lock the rows they change (``SELECT ... FOR UPDATE``) and
:meth:`Database.run` retries serialization failures and deadlocks (SQLSTATE 40001, 40P01).

Hot read paths use :meth:`Database.run_read`: a synchronous function runs a whole read transaction. On a
SQLite file it runs on one of a few reader threads, each with its own read-only ``sqlite3`` connection (WAL
lets readers run beside the writer, https://www.sqlite.org/wal.html), so a transaction costs one hop to a
thread and back; through aiosqlite every statement, fetch, BEGIN and COMMIT is its own hop (a one-statement
transaction costs 3-4 times the CPU, docs/performance.md "REST API"). Elsewhere it runs through
:meth:`AsyncConnection.run_sync`. A short read whose work is bounded (an index walk that stops after a page)
may ask to run ``inline``: in the event loop's thread, on a read-only connection of its own, with no hop at all.

The hot write path (the ledger's group commit) uses :meth:`Database.run_write` the same way: a synchronous
function runs a whole write transaction, on a SQLite file on the one writer thread with a ``sqlite3``
connection of its own (``BEGIN IMMEDIATE``, under the same in-process lock as :meth:`Database.write`), so
a batch of transfers costs one hop instead of one per statement (docs/performance.md, "Live rooms").
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from store.errors import ConfigurationError

log = logging.getLogger(__name__)

T = TypeVar("T")

_RETRY_SQLSTATES = {"40001", "40P01"}
_WRITE_OPTION = "mixillo_write"
_READER_THREADS = 4


def normalize_url(url: str) -> str:
    """Map the URLs people write (``sqlite:///x.db``, ``postgresql://...``) to the async drivers."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a long text
        raise ConfigurationError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ConfigurationError(f"unsupported database backend {backend!r} (use sqlite or postgresql)")


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself, so it can be BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_reader_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    _sqlite_on_connect(dbapi_connection, record)
    # A reader never writes: a write through it would bypass the writer's lock and BEGIN IMMEDIATE.
    dbapi_connection.execute("PRAGMA query_only=ON")


def _sqlite_inline_reader_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    _sqlite_reader_on_connect(dbapi_connection, record)
    # It runs in the event loop's thread: never wait there for a lock (a WAL reader rarely meets one), let the
    # caller retry on a reader thread instead (Database.run_read).
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def _sqlite_reader_on_begin(conn: Any) -> None:
    # Straight to the driver: a reader's BEGIN needs none of a statement's machinery (events, result set), and
    # through exec_driver_sql it cost as much Python as the feed's query itself.
    conn.connection.driver_connection.execute("BEGIN")


def _sqlite_writer_on_begin(conn: Any) -> None:
    # The writer thread's connection only ever writes: take the write lock at once (see the module docstring).
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


def _sqlite_on_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def sqlstate_of(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for attr in ("sqlstate", "pgcode"):
        code = getattr(orig, attr, None)
        if isinstance(code, str):
            return code
    return None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and sqlstate_of(exc) in _RETRY_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


async def _on_thread(threads: ThreadPoolExecutor, engine: Engine, work: Callable[[Connection], T]) -> T:
    """``work`` in one transaction on a connection of ``engine``, run by one of ``threads``."""

    def transaction() -> T:
        with engine.connect() as conn, conn.begin():
            return work(conn)

    return await asyncio.get_running_loop().run_in_executor(threads, transaction)


class Database:
    """Owns the engine; every connection the service uses comes from here."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["pool_size"] = 8
            kwargs["max_overflow"] = 8
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        self._readers: Engine | None = None
        self._reader_threads: ThreadPoolExecutor | None = None
        self._inline_reader: Engine | None = None
        self._inline_connection: Connection | None = None
        self._writer: Engine | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_on_connect)
            event.listen(self.engine.sync_engine, "begin", _sqlite_on_begin)
            database = parsed.database or ""
            # An in-memory database is private to its connection: readers of their own would see another one.
            if database and database != ":memory:" and not database.startswith("file:"):
                self._readers = create_engine(
                    parsed.set(drivername="sqlite+pysqlite"),
                    echo=echo,
                    pool_size=_READER_THREADS,
                    max_overflow=0,
                    # Pooled connections move between the reader threads, one thread at a time.
                    connect_args={"check_same_thread": False},
                )
                event.listen(self._readers, "connect", _sqlite_reader_on_connect)
                event.listen(self._readers, "begin", _sqlite_reader_on_begin)
                self._reader_threads = ThreadPoolExecutor(_READER_THREADS, thread_name_prefix="sqlite-reader")
                # One connection is enough inline: work there is synchronous, so two never overlap. It is
                # kept checked out (Database._inline): a pool's checkout and reset cost more than the BEGIN.
                self._inline_reader = create_engine(
                    parsed.set(drivername="sqlite+pysqlite"), echo=echo, pool_size=1, max_overflow=0
                )
                event.listen(self._inline_reader, "connect", _sqlite_inline_reader_on_connect)
                event.listen(self._inline_reader, "begin", _sqlite_reader_on_begin)
                self._writer = create_engine(
                    parsed.set(drivername="sqlite+pysqlite"), echo=echo, pool_size=1, max_overflow=0,
                    connect_args={"check_same_thread": False},  # used on the writer thread, closed by close()
                )
                event.listen(self._writer, "connect", _sqlite_on_connect)
                event.listen(self._writer, "begin", _sqlite_writer_on_begin)
                self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a (deferred, on SQLite) transaction, for reads."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    async def run_read(self, work: Callable[[Connection], T], *, inline: bool = False) -> T:
        """Run ``work`` (synchronous: it must not touch the event loop) in one read transaction.

        ``work`` sees one snapshot of the database (a deferred transaction on SQLite, read-only REPEATABLE READ
        on PostgreSQL). It runs on a reader thread (SQLite file) or in the event loop's thread through
        ``run_sync`` (PostgreSQL, in-memory SQLite).

        ``inline=True`` is for reads that do a bounded amount of work (a few index searches, one page of rows):
        on a SQLite file they run at once in the event loop's thread, which then waits as it does while a
        response is encoded. That costs less CPU than the hop to a reader thread and back and the threads'
        contention for the GIL (docs/performance.md, "REST API"). If SQLite reports a lock (a reader meets one
        only around WAL recovery or a checkpoint's reset), the read is retried on a reader thread.
        """
        if inline and self._inline_reader is not None:
            try:
                own = self._inline()
                with own.begin():
                    return work(own)
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
        if self._readers is None or self._reader_threads is None:
            async with self.engine.connect() as raw:
                # PostgreSQL's default, READ COMMITTED, gives each statement its own snapshot; a read-only
                # REPEATABLE READ transaction gives the whole function one and never fails to serialize.
                conn = raw
                if not self.is_sqlite:
                    conn = await raw.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                async with conn.begin():
                    return await conn.run_sync(work)
        return await _on_thread(self._reader_threads, self._readers, work)

    def _inline(self) -> Connection:
        assert self._inline_reader is not None
        if self._inline_connection is None or self._inline_connection.closed:
            self._inline_connection = self._inline_reader.connect()
        return self._inline_connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction: committed on success, rolled back on any error."""
        if self._write_lock is None:
            async with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        async with self._write_lock, self.engine.connect() as raw:
            conn = await raw.execution_options(**{_WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` (synchronous: it must not touch the event loop) in one write transaction: committed if it
        returns, rolled back if it raises.

        On a SQLite file it runs on the writer thread, on that thread's own connection, after taking the same
        in-process lock as :meth:`write` (so the two never wait on each other inside SQLite); other processes
        are kept out by ``BEGIN IMMEDIATE`` and SQLite's busy timeout, waited out on that thread. Elsewhere
        (PostgreSQL, in-memory SQLite) it runs through ``run_sync`` on a :meth:`write` connection. No retry
        here: the caller knows whether its work may run twice."""
        if self._writer is None or self._writer_thread is None or self._write_lock is None:
            async with self.write() as conn:
                return await conn.run_sync(work)
        async with self._write_lock:
            return await _on_thread(self._writer_thread, self._writer, work)

    async def run(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, attempts: int = 8
    ) -> T:
        """Run ``work`` in a write transaction, retrying serialization failures and deadlocks."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.write() as conn:
                    return await work(conn)
            except (DBAPIError, OperationalError) as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                delay = min(0.2, 0.002 * 2**attempt) * random.uniform(0.5, 1.5)
                log.info("retrying transaction after %s (attempt %d)", sqlstate_of(exc) or exc, attempt)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._reader_threads is not None and self._readers is not None:
            # Wait for running readers off the loop, then close their connections.
            await asyncio.get_running_loop().run_in_executor(None, self._reader_threads.shutdown)
            self._readers.dispose()
        if self._inline_reader is not None:
            if self._inline_connection is not None:
                self._inline_connection.close()
                self._inline_connection = None
            self._inline_reader.dispose()
        if self._writer_thread is not None and self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._writer_thread.shutdown)
            self._writer.dispose()
        await self.engine.dispose()
