"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from api.models import ResponseModel
from api.routing import Access, Routes
from api.state import DATABASE, METRICS, SETTINGS

log = logging.getLogger(__name__)
routes = Routes()
REDIS = web.AppKey("redis", Redis)


class Health(ResponseModel):
    status: str


class Readiness(ResponseModel):
    status: str
    checks: dict[str, str]


@routes.get("/healthz", response=Health, access=Access.PUBLIC, tags=("operations",))
async def healthz(_request: web.Request) -> Health:
    """The process is up and serving."""
    return Health(status="ok")


@routes.get("/readyz", response=Readiness, access=Access.PUBLIC, tags=("operations",), errors=(503,))
async def readyz(request: web.Request) -> web.Response:
    """The database and, when configured, Redis answer within a second."""
    checks: dict[str, str] = {}

    async def check(name: str, probe: asyncio.Future[object] | object) -> None:
        try:
            async with asyncio.timeout(1.0):
                await probe  # type: ignore[misc]
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; the reason goes to the log and the body
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name] = f"failed: {type(exc).__name__}"

    await check("database", request.app[DATABASE].ping())
    if request.app[SETTINGS].redis_url:
        await check("redis", request.app[REDIS].ping())
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return web.Response(
        status=200 if ready else 503, body=body.model_dump_json().encode(), content_type="application/json"
    )


async def metrics(request: web.Request) -> web.Response:
    payload = generate_latest(request.app[METRICS].registry)
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})
