"""Liveness, readiness (database and Redis), Prometheus metrics, request ids, JSON logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from api.observability import REQUEST_ID, JsonFormatter
from tests.api.helpers import problem
from tests.conftest import AppFactory
from tests.services import free_port, redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def test_health_ready_metrics(make_client: AppFactory) -> None:
    client = await make_client()
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"] == {"database": "ok"}
    await client.get("/api/no-such-thing")
    metrics = await (await client.get("/metrics")).text()
    assert 'mixillo_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics
    assert 'route="unmatched",status="404"' in metrics
    assert "mixillo_http_request_duration_seconds_bucket" in metrics


async def test_readiness_checks_redis(make_client: AppFactory, redis_url: str) -> None:
    up = await make_client(redis_url=redis_url)
    body = await (await up.get("/readyz")).json()
    assert body == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}

    down = await make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = await down.get("/readyz")
    assert response.status == 503
    assert (await response.json())["checks"]["redis"].startswith("failed")


async def test_redis_backs_the_rate_limits(make_client: AppFactory, redis_url: str) -> None:
    # Two app instances (two nodes) share one budget through Redis.
    a = await make_client(redis_url=redis_url, rate_auth_per_ip=4)
    b = await make_client(redis_url=redis_url, rate_auth_per_ip=4)
    statuses = []
    for client in (a, b, a, b, a, b):
        response = await client.post("/api/auth/login", json={"login": "nobody", "password": "whatever1"})
        statuses.append(response.status)
    assert statuses == [401, 401, 401, 401, 429, 429]
    await problem(await b.post("/api/auth/login", json={"login": "nobody", "password": "whatever1"}), 429)


async def test_request_id_is_echoed_or_made(make_client: AppFactory) -> None:
    client = await make_client()
    given = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces; drop"})
    assert len(made.headers["X-Request-Id"]) == 26
    missing = await client.get("/nope")
    assert len(missing.headers["X-Request-Id"]) == 26


def test_json_log_lines_carry_the_request_id() -> None:
    formatter = JsonFormatter()
    token = REQUEST_ID.set("req-1")
    try:
        record = logging.LogRecord("mixillo.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        record.status = 201
        line = json.loads(formatter.format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["msg"] == "hello world" and line["request_id"] == "req-1" and line["status"] == 201
    assert line["level"] == "info" and line["ts"].endswith("Z")
