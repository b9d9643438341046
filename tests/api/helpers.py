"""Small helpers for talking to the app in tests."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]
_counter = itertools.count()


async def register(client: Client, username: str | None = None, **extra: Any) -> dict[str, Any]:
    name = username or f"user{next(_counter)}"
    body = {"username": name, "email": f"{name}@example.test", "password": "correct horse battery", **extra}
    response = await client.post("/api/auth/register", json=body)
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/problem+json", (response.content_type, text)
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["status"] == status
    assert body["type"].startswith("https://mixillo.live/problems/")
    assert body["title"]
    return body
