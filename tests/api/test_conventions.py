"""The HTTP conventions every endpoint shares: problem+json, limits, validation, pagination, idempotency."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from pydantic import Field

from api.app import create_app
from api.models import Page, PageQuery, RequestModel, ResponseModel
from api.pagination import decode_cursor, page_of
from api.problems import Conflict
from api.routing import Access, Routes
from api.state import DATABASE
from store.schema.accounts import users
from tests.api.helpers import Client, bearer, problem, register
from tests.conftest import AppFactory, make_settings

extra = Routes()
CALLS: dict[str, int] = {}


class Item(ResponseModel):
    n: int


class Charge(RequestModel):
    amount: int = Field(gt=0)
    note: str = ""


class Charged(ResponseModel):
    amount: int
    call: int


@extra.get("/api/test/items", query=PageQuery, response=Page[Item], access=Access.PUBLIC)
async def list_items(request: web.Request, query: PageQuery) -> Page[Item]:
    after = decode_cursor(query.cursor, 1)
    start = after[0] + 1 if after else 0
    rows = [Item(n=n) for n in range(start, min(start + query.limit + 1, 45))]
    items, cursor = page_of(rows, query.limit, lambda item: [item.n])
    return Page[Item](items=items, next_cursor=cursor)


@extra.post("/api/test/charge", body=Charge, response=Charged, status=201, idempotent=True)
async def charge(request: web.Request, body: Charge) -> Charged:
    CALLS["charge"] = CALLS.get("charge", 0) + 1
    await asyncio.sleep(0.05)  # long enough for concurrent retries to arrive while this one runs
    if body.amount == 13:
        raise Conflict("thirteen is unlucky")
    return Charged(amount=body.amount, call=CALLS["charge"])


@extra.get("/api/test/boom", access=Access.PUBLIC)
async def boom(request: web.Request) -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture
async def app_client(make_client: AppFactory, tmp_path: Path, db_url: str) -> Client:
    CALLS.clear()
    return await make_client(create_app(make_settings(tmp_path / "conv", database_url=db_url), extra_routes=[extra]))


async def test_unknown_route_and_wrong_method(app_client: Client) -> None:
    await problem(await app_client.get("/api/nothing-here"), 404)
    response = await app_client.get("/api/auth/login")
    body = await problem(response, 405)
    assert "POST" in response.headers["Allow"]
    assert body["type"].endswith("method-not-allowed")


async def test_malformed_wrong_type_unknown_field(app_client: Client) -> None:
    url = "/api/auth/register"
    assert (await problem(await app_client.post(url, data=b"{not json", headers=_json), 400))["type"].endswith(
        "malformed-json"
    )
    await problem(await app_client.post(url, data=b"", headers=_json), 400)
    body = await problem(
        await app_client.post(url, json={"username": 5, "email": "x@y.io", "password": "longenough", "extra": 1}),
        422,
    )
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"#/username", "#/extra"}
    body = await problem(await app_client.post(url, json=["not", "an", "object"]), 422)
    await problem(await app_client.post(url, data=b'{"a":1}', headers={"Content-Type": "text/plain"}), 415)
    await problem(await app_client.post(url, json={"username": "ok_name", "email": "bad", "password": "short"}), 422)


async def test_bad_input_writes_nothing(app_client: Client) -> None:
    for body in (
        {"username": "a'; DROP TABLE users; --", "email": "x@y.io", "password": "longenough1"},
        {"username": "bob", "email": "bob@y.io", "password": "short"},
        {"username": "bob", "email": "bob@y.io", "password": "longenough1", "display_name": "bell\x07"},
        {"username": "bob", "email": "bob@y.io", "password": "longenough1", "role": "admin"},
    ):
        await problem(await app_client.post("/api/auth/register", json=body), 422)
    async with app_client.app[DATABASE].read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar_one() == 0


async def test_body_limit_is_413(make_client: AppFactory) -> None:
    small = await make_client(body_limit_bytes=2048)
    body = {"username": "big", "email": "big@y.io", "password": "x" * 4000}
    assert (await problem(await small.post("/api/auth/register", json=body), 413))["type"].endswith(
        "payload-too-large"
    )
    assert (await small.get("/healthz")).status == 200


async def test_rate_limit_is_429_with_retry_after(make_client: AppFactory) -> None:
    limited = await make_client(rate_auth_per_ip=3)
    statuses = []
    for _ in range(5):
        response = await limited.post("/api/auth/login", json={"login": "nobody", "password": "whatever1"})
        statuses.append(response.status)
        if response.status == 429:
            body = await problem(response, 429)
            assert int(response.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
    assert statuses == [401, 401, 401, 429, 429]


async def test_unexpected_error_is_500_without_leaking(app_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = await app_client.get("/api/test/boom")
        body = await problem(response, 500)
    assert "hunter2" not in await response.text() and "Traceback" not in await response.text()
    assert body["type"].endswith("internal-error")
    assert any("hunter2" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert (await app_client.get("/healthz")).status == 200


async def test_cursor_pagination_walks_without_repeats(app_client: Client) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = await (await app_client.get("/api/test/items", params=params)).json()
        seen += [item["n"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(45)) and pages == 5
    await problem(await app_client.get("/api/test/items", params={"cursor": "%%%"}), 400)
    await problem(await app_client.get("/api/test/items", params={"cursor": "WzEsMl0"}), 400)  # [1,2]: wrong arity
    for limit in ("0", "101", "ten"):
        await problem(await app_client.get("/api/test/items", params={"limit": limit}), 422)


async def test_idempotency_key_semantics(app_client: Client) -> None:
    session = await register(app_client)
    headers = {**bearer(session), "Idempotency-Key": "order-1"}
    first = await app_client.post("/api/test/charge", json={"amount": 5}, headers=headers)
    assert first.status == 201
    again = await app_client.post("/api/test/charge", json={"amount": 5}, headers=headers)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json() == {"amount": 5, "call": 1}
    other = await problem(await app_client.post("/api/test/charge", json={"amount": 6}, headers=headers), 422)
    assert other["type"].endswith("idempotency-key-reused")
    assert CALLS["charge"] == 1

    # Another user's key space is separate; no key means no deduplication.
    other_user = {**bearer(await register(app_client)), "Idempotency-Key": "order-1"}
    assert (await app_client.post("/api/test/charge", json={"amount": 5}, headers=other_user)).status == 201
    for _ in range(2):
        assert (await app_client.post("/api/test/charge", json={"amount": 5}, headers=bearer(session))).status == 201
    assert CALLS["charge"] == 4


async def test_idempotency_concurrent_retries_have_one_effect(app_client: Client) -> None:
    headers = {**bearer(await register(app_client)), "Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(app_client.post("/api/test/charge", json={"amount": 7}, headers=headers) for _ in range(20))
    )
    assert [r.status for r in responses] == [201] * 20
    assert {(await r.json())["call"] for r in responses} == {1}
    assert CALLS["charge"] == 1


async def test_idempotency_replays_client_errors(app_client: Client) -> None:
    headers = {**bearer(await register(app_client)), "Idempotency-Key": "unlucky"}
    await problem(await app_client.post("/api/test/charge", json={"amount": 13}, headers=headers), 409)
    replay = await app_client.post("/api/test/charge", json={"amount": 13}, headers=headers)
    await problem(replay, 409)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert CALLS["charge"] == 1
    bad_key = {**headers, "Idempotency-Key": "x" * 300}
    await problem(await app_client.post("/api/test/charge", json={"amount": 1}, headers=bad_key), 400)


async def test_openapi_document_is_generated_from_the_routes(app_client: Client) -> None:
    doc = await (await app_client.get("/api/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    for path, method in [
        ("/api/auth/register", "post"), ("/api/auth/login", "post"), ("/api/auth/refresh", "post"),
        ("/api/auth/logout", "post"), ("/api/auth/me", "get"), ("/healthz", "get"), ("/readyz", "get"),
        ("/api/test/charge", "post"),
    ]:
        assert method in doc["paths"][path], path
    register_op = doc["paths"]["/api/auth/register"]["post"]
    ref = register_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False and set(schema["required"]) == {"username", "email", "password"}
    assert {"201", "409", "415", "422", "429"} <= set(register_op["responses"])
    assert doc["paths"]["/api/auth/me"]["get"]["security"] == [{"bearer": []}]
    charge_params = {p["name"] for p in doc["paths"]["/api/test/charge"]["post"]["parameters"]}
    assert "Idempotency-Key" in charge_params

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for target in refs(doc):
        assert target.rsplit("/", 1)[1] in doc["components"]["schemas"], target
    docs = await app_client.get("/api/docs")
    assert docs.status == 200 and "openapi.json" in await docs.text()


_json = {"Content-Type": "application/json"}


class Tag(ResponseModel):
    name: str


@extra.get("/api/test/tags", response=list[Tag], access=Access.PUBLIC)
async def list_tags(request: web.Request) -> web.Response:
    return web.json_response([{"name": "a"}])


async def test_openapi_includes_models_of_non_model_responses(app_client: Client) -> None:
    doc = await (await app_client.get("/api/openapi.json")).json()
    schema = doc["paths"]["/api/test/tags"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["items"]["$ref"] == "#/components/schemas/Tag"
    assert "Tag" in doc["components"]["schemas"]
