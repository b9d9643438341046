"""Property: whatever is thrown at the auth routes, the answer is a clear 4xx problem (or a success), the
server keeps serving, and nothing is written by a request that was refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.state import DATABASE
from store.schema.accounts import refresh_tokens, users
from tests.api.helpers import Client
from tests.conftest import AppFactory

SQL_METACHARACTERS = [
    "' OR '1'='1", "'; DROP TABLE users; --", '" OR ""="', "admin'--", "1; SELECT pg_sleep(5)",
    "%' AND 1=1 --", "\\'; --", "' UNION SELECT password_hash FROM users --", "ʼ OR 1=1", "\x00",
]
text = st.one_of(st.sampled_from(SQL_METACHARACTERS), st.text(max_size=80), st.text(alphabet="ab_.@'\";-", max_size=40))
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
value = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8
)
FIELDS = ["username", "email", "password", "display_name", "account_type", "login", "refresh_token", "role"]
well_shaped = st.fixed_dictionaries(
    {"username": text, "email": text, "password": text},
    optional={"display_name": text, "login": text, "refresh_token": text},
)
bodies = st.one_of(
    well_shaped,
    st.dictionaries(st.sampled_from(FIELDS), st.one_of(text, value), max_size=6),
    value,
    st.binary(max_size=200).map(lambda raw: raw),
)
ROUTES = ["/api/auth/register", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout"]
CONTENT_TYPES = [
    "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
]


@pytest.fixture
async def fuzz_client(make_client: AppFactory, tmp_path: Path) -> Client:
    return await make_client(database_url=f"sqlite:///{tmp_path / 'fuzz.db'}")


async def _counts(client: Client) -> tuple[int, int]:
    async with client.app[DATABASE].read() as conn:
        n_users = (await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar_one()
        n_tokens = (await conn.execute(sa.select(sa.func.count()).select_from(refresh_tokens))).scalar_one()
    return n_users, n_tokens


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(route=st.sampled_from(ROUTES), body=bodies, content_type=st.sampled_from(CONTENT_TYPES))
async def test_auth_routes_refuse_garbage_cleanly(
    fuzz_client: Client, route: str, body: Any, content_type: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    before = await _counts(fuzz_client)
    response = await fuzz_client.post(route, data=raw, headers={"Content-Type": content_type})
    text_body = await response.text()
    assert response.status < 500, text_body
    if response.status >= 400:
        assert response.content_type == "application/problem+json", text_body
        problem = json.loads(text_body)
        assert problem["status"] == response.status and problem["type"].startswith("https://mixillo.live/problems/")
        assert await _counts(fuzz_client) == before
    else:  # a generated body that happens to be a valid registration
        assert route == "/api/auth/register" and response.status == 201
    assert (await fuzz_client.get("/healthz")).status == 200
