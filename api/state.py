"""Typed application state (``aiohttp.web.AppKey``): what the composition root hands to handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from api.auth.passwords import Passwords
from api.auth.tokens import AccessTokens
from api.config import Settings
from api.idempotency import IdempotencyKeys
from api.ratelimit import RateLimiter
from store.database import Database
from transcode.service import HlsService

if TYPE_CHECKING:
    from api.ai.provider import AiProvider
    from api.ai.service import AiService
    from api.auth.accounts import Accounts
    from api.commerce.cart import Cart
    from api.commerce.coupons import Coupons
    from api.commerce.orders import Orders
    from api.commerce.products import Catalog
    from api.creator.analytics import Analytics
    from api.creator.feed import AnalyticsFeed
    from api.creator.scheduling import Scheduler
    from api.economy.economy import Economy
    from api.live.mediabus import MediaBus
    from api.live.sockets import LiveNamespace
    from api.observability import Metrics
    from api.safety.moderation import Moderation
    from api.safety.reports import Reports
    from api.safety.support import Support
    from api.safety.targets import Targets
    from api.social.domain import Social
    from engine.engine import Engine
    from engine.live import LiveStudio
    from rooms.service import RoomService
    from signaling.tokens import MediaTokens

# Foundation.
SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokens)
PASSWORDS = web.AppKey("passwords", Passwords)
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyKeys)
ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")

# Coin economy and social domains.
ECONOMY: web.AppKey[Economy] = web.AppKey("economy")
SOCIAL: web.AppKey[Social] = web.AppKey("social")

# Commerce, creator tools, safety, AI.
CATALOG: web.AppKey[Catalog] = web.AppKey("catalog")
CART: web.AppKey[Cart] = web.AppKey("cart")
COUPONS: web.AppKey[Coupons] = web.AppKey("coupons")
ORDERS: web.AppKey[Orders] = web.AppKey("orders")
ANALYTICS: web.AppKey[Analytics] = web.AppKey("analytics")
ANALYTICS_FEED: web.AppKey[AnalyticsFeed] = web.AppKey("analytics_feed")
SCHEDULER: web.AppKey[Scheduler] = web.AppKey("scheduler")
REPORTS: web.AppKey[Reports] = web.AppKey("reports")
MODERATION: web.AppKey[Moderation] = web.AppKey("moderation")
SUPPORT: web.AppKey[Support] = web.AppKey("support")
TARGETS: web.AppKey[Targets] = web.AppKey("targets")
AI_PROVIDER: web.AppKey[AiProvider] = web.AppKey("ai_provider")
AI: web.AppKey[AiService] = web.AppKey("ai")

# Media plane: SFU, media tokens, HLS, each live's program and ladder (engine.live).
ENGINE: web.AppKey[Engine] = web.AppKey("engine")
MEDIA_TOKENS: web.AppKey[MediaTokens] = web.AppKey("media_tokens")
HLS = web.AppKey("hls", HlsService)
LIVES: web.AppKey[LiveStudio] = web.AppKey("lives")
MEDIA_BUS: web.AppKey[MediaBus] = web.AppKey("media_bus")  # media commands to every node, and their state

# Live rooms.
ROOMS: web.AppKey[RoomService] = web.AppKey("rooms")
LIVE_SOCKETS: web.AppKey[LiveNamespace] = web.AppKey("live_sockets")
