"""Fixtures for issue 5: accounts in each role and a product factory, all made over HTTP."""

from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa

from api.state import DATABASE
from store.schema.accounts import users
from tests.api.helpers import Client, bearer, register

_names = itertools.count()


async def creator(client: Client, name: str | None = None) -> dict[str, Any]:
    return await register(client, name or f"seller{next(_names)}", account_type="creator")


async def admin(client: Client) -> dict[str, Any]:
    """An administrator: registered as a user, promoted in the database (no API grants admin), signed in again."""
    name = f"admin{next(_names)}"
    session = await register(client, name)
    async with client.app[DATABASE].write() as conn:
        await conn.execute(users.update().where(users.c.id == session["user"]["id"]).values(role="admin"))
    response = await client.post("/api/auth/login", json={"login": name, "password": "correct horse battery"})
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def product(client: Client, seller: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"title": f"Ring light {next(_names)}", "description": "LED ring light", "price": 2500, "stock": 10}
    body.update(fields)
    response = await client.post("/api/products", json=body, headers=bearer(seller))
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def count(client: Client, table: sa.Table) -> int:
    async with client.app[DATABASE].read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Lisbon", "postal_code": "1000-001", "country": "PT"}
# Orders pay by card through the sandbox payment provider (issue 3) unless a test says otherwise.
CHECKOUT = {"shipping_address": ADDRESS, "payment_method": "card", "payment_token": "tok_visa"}


async def notices(client: Client, user: dict[str, Any]) -> list[dict[str, Any]]:
    """The user's notifications, oldest first, as GET /api/notifications lists them."""
    listed = await client.get("/api/notifications?limit=100", headers=bearer(user))
    assert listed.status == 200, await listed.text()
    return list(reversed((await listed.json())["items"]))
