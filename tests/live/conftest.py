"""Fixtures for the live-room edges: the whole app on a real loopback socket with the gift catalog, hosts
and fans made over HTTP, and a live on air."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
import socketio

from api.economy.catalog import seed_catalog
from api.state import DATABASE
from tests.api.helpers import Client, bearer, register
from tests.conftest import AppFactory

_names = itertools.count()


@pytest.fixture
async def live_app(make_client: AppFactory, db_url: str) -> Client:
    """The app (SQLite, and PostgreSQL under the harness) with the demo gift catalog."""
    client = await make_client(database_url=db_url, pk_countdown_s=0)
    async with client.app[DATABASE].write() as conn:
        await seed_catalog(conn)
    return client


async def creator(client: Client) -> dict[str, Any]:
    return await register(client, f"host{next(_names)}", account_type="creator")


async def fan(client: Client, coins: int = 0) -> dict[str, Any]:
    session = await register(client, f"fan{next(_names)}")
    if coins:
        response = await client.post("/api/wallets/top-up", json={"coins": coins, "payment_token": "tok_visa"},
                                     headers=bearer(session))
        assert response.status == 201, await response.text()
    return session


async def go_live(client: Client, host: dict[str, Any], title: str = "Evening show") -> dict[str, Any]:
    response = await client.post("/api/livestreams", json={"title": title, "category": "music"},
                                 headers=bearer(host))
    assert response.status == 201, await response.text()
    stream = await response.json()
    response = await client.post(f"/api/livestreams/{stream['id']}/start", headers=bearer(host))
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def coins(client: Client, session: dict[str, Any]) -> int:
    response = await client.get("/api/wallets", headers=bearer(session))
    assert response.status == 200, await response.text()
    return int((await response.json())["coins"])


class Viewer:
    """A python-socketio client on ``/live`` that records the room events it receives, in order."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[dict[str, Any]] = []
        self.sio.on("*", self._record, namespace="/live")

    async def _record(self, event: str, data: Any) -> None:
        if isinstance(data, dict) and "seq" in data:
            self.events.append(data)

    async def connect(self, url: str, session: dict[str, Any] | None = None) -> Viewer:
        auth = {"token": session["access_token"]} if session else None
        await self.sio.connect(url, namespaces=["/live"], auth=auth, transports=["websocket"], wait_timeout=10)
        return self

    async def call(self, event: str, payload: Any, wait_s: float = 10) -> dict[str, Any]:
        answer: dict[str, Any] = await self.sio.call(event, payload, namespace="/live", timeout=wait_s)
        return answer

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["data"]["type"] == kind]

    async def close(self) -> None:
        await self.sio.disconnect()


def url_of(client: Client) -> str:
    return str(client.make_url("/")).rstrip("/")
