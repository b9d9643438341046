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
    from api.auth.accounts import Accounts
    from api.economy.economy import Economy
    from api.observability import Metrics

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokens)
PASSWORDS = web.AppKey("passwords", Passwords)
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyKeys)
ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
ECONOMY: web.AppKey[Economy] = web.AppKey("economy")
HLS = web.AppKey("hls", HlsService)
