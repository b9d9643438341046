"""Token-bucket rate limits: one interface, an in-process backend and a Redis backend for many nodes.

A bucket holds up to ``per_minute`` tokens and refills at ``per_minute / 60`` tokens a second; a request takes
one. When the bucket is empty the caller gets how long until a token is back (``Retry-After``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis


class RateLimiter(Protocol):
    async def take(self, key: str, per_minute: int) -> float:
        """Take a token from ``key``'s bucket: 0.0 if allowed, else seconds until one is available."""
        ...


class MemoryRateLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys

    async def take(self, key: str, per_minute: int, *, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        tokens, stamp = self._buckets.pop(key, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - stamp) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / rate
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait


# KEYS[1] bucket; ARGV: capacity, refill per ms. The server's clock is used so every node agrees.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - stamp) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return wait
"""


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "mixillo:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_TAKE)

    async def take(self, key: str, per_minute: int) -> float:
        wait_ms = await self._script(keys=[self._prefix + key], args=[per_minute, per_minute / 60_000.0])
        return int(wait_ms) / 1000.0
