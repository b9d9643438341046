"""Shared fixtures: settings in a temp dir, databases on both backends, an app on a real loopback socket."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.config import Settings

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


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    assert POSTGRES_URL is not None
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


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
