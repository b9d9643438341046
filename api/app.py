"""The composition root: builds the aiohttp application from :class:`~api.config.Settings`.

Everything long-lived is created here and closed here, in reverse order, through aiohttp's cleanup
contexts: the database, Redis, and (as they arrive) the media engine, transcoders and the room service.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web
from redis.asyncio import Redis

from api import health, openapi
from api.ai.routes import routes as ai_routes
from api.auth.accounts import Accounts
from api.auth.passwords import Passwords
from api.auth.routes import routes as auth_routes
from api.auth.tokens import AccessTokens
from api.commerce import setup as commerce_setup
from api.commerce.routes import routes as commerce_routes
from api.config import Settings
from api.creator.routes import routes as creator_routes
from api.economy import gift_routes, money_routes
from api.economy.economy import Economy
from api.events import LocalEvents
from api.idempotency import IdempotencyKeys
from api.live import setup as live_setup
from api.live.routes import routes as live_routes
from api.media import routes as media_routes
from api.observability import Metrics, observability_middleware
from api.problems import problem_middleware
from api.ratelimit import MemoryRateLimiter, RedisRateLimiter
from api.routing import Routes
from api.safety.routes import routes as safety_routes
from api.social.domain import Social
from api.social.routes import TABLES as SOCIAL_ROUTES
from api.social.vod import TranscodePackager
from api.state import (
    ACCESS_TOKENS,
    ACCOUNTS,
    DATABASE,
    ECONOMY,
    ENGINE,
    HLS,
    IDEMPOTENCY,
    LIVES,
    MEDIA_TOKENS,
    METRICS,
    PASSWORDS,
    RATE_LIMITER,
    SETTINGS,
    SOCIAL,
)
from engine.engine import Engine
from engine.live import LiveStudio
from engine.metrics import EngineCollector
from signaling import hls, whip
from signaling.media import engine_config, signaling_config
from signaling.socketio import SocketServer
from signaling.tokens import MediaTokens
from store import migrate
from store.database import Database
from transcode.vod import package_vod
from web import STATIC_DIR, pages

log = logging.getLogger(__name__)

VERSION = "0.1.0"
ROUTE_TABLES: list[Routes] = [
    health.routes, auth_routes, money_routes.routes, gift_routes.routes, media_routes, hls.routes,
    commerce_routes, creator_routes, safety_routes, ai_routes, *SOCIAL_ROUTES, live_routes,
]
OPENAPI = web.AppKey("openapi", dict)
SOCKETS = web.AppKey("sockets", SocketServer)


def create_app(
    settings: Settings, *, run_migrations: bool = True, extra_routes: Sequence[Routes] = ()
) -> web.Application:
    """The whole service. ``extra_routes`` adds endpoint tables that get the same conventions."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metrics = Metrics()
    app = web.Application(
        client_max_size=settings.body_limit_bytes,
        middlewares=[observability_middleware(metrics), problem_middleware],
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    db = Database(settings.database)
    app[DATABASE] = db
    tokens = AccessTokens(settings.secret(), settings.access_token_ttl_s)
    app[ACCESS_TOKENS] = tokens
    passwords = Passwords()
    app[PASSWORDS] = passwords
    app[ACCOUNTS] = Accounts(db, passwords, tokens, settings.refresh_token_ttl_s)
    app[IDEMPOTENCY] = IdempotencyKeys(db, lease_s=settings.idempotency_lease_s)
    economy = Economy.build(db, settings)
    app[ECONOMY] = economy
    economy.instrument(metrics.registry)
    app[MEDIA_TOKENS] = MediaTokens(settings.secret(), settings.media_token_ttl_s)
    media_engine = app[ENGINE] = Engine(engine_config(settings))
    metrics.registry.register(EngineCollector(media_engine))
    whip.install(app, signaling_config(settings))
    redis_client = Redis.from_url(settings.redis_url) if settings.redis_url else None
    if redis_client is not None:
        app[health.REDIS] = redis_client
        app[RATE_LIMITER] = RedisRateLimiter(redis_client)
    else:
        app[RATE_LIMITER] = MemoryRateLimiter()

    async def database(app: web.Application) -> AsyncIterator[None]:
        if run_migrations:
            await migrate.upgrade(db)
        yield
        await db.close()

    async def redis(app: web.Application) -> AsyncIterator[None]:
        yield
        if redis_client is not None:
            await redis_client.aclose()

    app[HLS] = hls.hls_service(settings, metrics.registry)

    lives = app[LIVES] = LiveStudio(media_engine, app[HLS])

    async def transcoders(app: web.Application) -> AsyncIterator[None]:
        yield
        await lives.close()  # each live's compositor and ladder, before the HLS service and the engine
        await app[HLS].close()

    async def economy_ctx(app: web.Application) -> AsyncIterator[None]:
        await economy.start()
        yield
        await economy.close()  # before the database closes: queued transfers still commit

    async def media(app: web.Application) -> AsyncIterator[None]:
        await media_engine.start()
        yield
        await media_engine.close()

    events = LocalEvents()
    sockets = SocketServer(tokens, events, redis_url=settings.redis_url, deflate=settings.socketio_deflate)
    app[SOCKETS] = sockets
    social = Social.create(db, settings, events, packager=TranscodePackager(package_vod, app[HLS].storage))
    app[SOCIAL] = social

    async def social_domains(app: web.Application) -> AsyncIterator[None]:
        await social.start()
        yield
        await sockets.close()
        await social.close()

    app.cleanup_ctx.extend([database, redis, economy_ctx, media, transcoders, social_domains])
    commerce_setup.install(app, settings, db)
    live_setup.install(app, settings, db, redis_client, sockets)

    tables = [*ROUTE_TABLES, *extra_routes]
    for table in tables:
        table.install(app)
    endpoints = [ep for table in tables for ep in table.endpoints]
    app[OPENAPI] = openapi.build(endpoints, title="Mixillo Live API", version=VERSION)
    openapi_body = json.dumps(app[OPENAPI]).encode()

    async def openapi_json(_request: web.Request) -> web.Response:
        return web.Response(body=openapi_body, content_type="application/json")

    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/docs", openapi.docs_page)
    app.router.add_get("/metrics", health.metrics)
    pages.install(app)  # the console: /, /live, /watch/{stream_id}
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
    app.router.add_static("/media/", social.files.root, append_version=False)
    sockets.attach(app)
    return app
