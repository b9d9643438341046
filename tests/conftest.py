"""Shared fixtures: settings in a temp dir, databases on both backends, an app on a real loopback socket."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.config import Settings
from store import migrate
from store.database import Database

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("MIXILLO_TEST_POSTGRES_URL")
TEST_SECRET = "test-secret-" + "x" * 40

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="MIXILLO_TEST_POSTGRES_URL is not set (make test sets it)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# Under pytest-xdist each worker is a process with its own name (gw0, gw1, ...); serially it is "main".
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _in_thread(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` on an event loop of its own: session fixtures are set up while a test's loop may run."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work()).result()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.close()


async def _admin(statement: str) -> None:
    assert POSTGRES_URL is not None
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _postgres_url(name: str) -> str:
    assert POSTGRES_URL is not None
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the migrations built, once per worker, for ``db_url`` to copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _in_thread(lambda: _migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database the migrations built, once per worker, for ``db_url`` to clone (CREATE DATABASE
    ... TEMPLATE, https://www.postgresql.org/docs/current/manage-ag-templatedbs.html): cloning takes a tenth
    of a second where running the migrations takes seconds, and most tests need a migrated database."""
    name = f"template_{WORKER}_{uuid.uuid4().hex[:12]}"
    _in_thread(lambda: _admin(f'CREATE DATABASE "{name}"'))
    try:
        _in_thread(lambda: _migrate(_postgres_url(name)))
        yield name
    finally:
        _in_thread(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _fresh_database(request: pytest.FixtureRequest, tmp_path: Path, migrated: bool) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if migrated:
            template = request.getfixturevalue("sqlite_template")
            # The backup API copies a consistent image whatever state the template's WAL is in.
            with contextlib.closing(sqlite3.connect(template)) as source, \
                    contextlib.closing(sqlite3.connect(path)) as target:
                source.backup(target)
        yield f"sqlite:///{path}"
        return
    name = f"t_{WORKER}_{uuid.uuid4().hex[:16]}"
    template = f' TEMPLATE "{request.getfixturevalue("postgres_template")}"' if migrated else ""
    await _admin(f'CREATE DATABASE "{name}"{template}')
    yield _postgres_url(name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards. For the tests
    of the migrations themselves."""
    async for url in _fresh_database(request, tmp_path, migrated=False):
        yield url


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of the test's own with the migrations applied (a copy of a template they built once
    per worker), on SQLite and, when available, on PostgreSQL. Upgrading it again is a no-op."""
    async for url in _fresh_database(request, tmp_path, migrated=True):
        yield url


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "jwt_secret": TEST_SECRET,
        "log_json": False,
        "rate_auth_per_ip": 100_000,
        "rate_write_per_ip": 100_000,
        "rate_write_per_user": 100_000,
    }
    values.update(overrides)
    return Settings.model_validate(values)


AppFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Start apps on real loopback sockets; ``make_client(**settings)`` returns a client for a new one."""
    clients: list[TestClient[web.Request, web.Application]] = []

    async def factory(
        app: web.Application | None = None, **overrides: Any
    ) -> TestClient[web.Request, web.Application]:
        if app is None:
            app = create_app(make_settings(tmp_path / f"app{len(clients)}", **overrides))
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for client in reversed(clients):
        await client.close()


@pytest.fixture
async def client(make_client: AppFactory, db_url: str) -> TestClient[web.Request, web.Application]:
    """An app on SQLite and, when available, on PostgreSQL."""
    return await make_client(database_url=db_url)
