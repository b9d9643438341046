"""The Redis ``RoomStore`` (redis.asyncio), for many nodes: any node can serve any viewer of a room.

Each method that reads and writes is one Lua script, so it is atomic on the server
(https://redis.io/docs/latest/develop/interact/programmability/eval-intro/): numbering an event and pushing
it on the replay buffer, presence with its count, bounded boards (co-host seats), compare-and-set fields
(pins, status, PK state) and token buckets. All of a room's keys share the hash tag ``{room}``, so on a Redis
Cluster they live in one slot and the scripts may touch several of them.

The client is the application's (``api/app.py`` creates and closes it); this class never closes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis

from rooms.store import ANY, SUPPORTERS, TALLIED, VIEWERS, _Any

_APPEND = """
local seq = redis.call('INCR', KEYS[1])
local event = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], event)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return event
"""

# KEYS[1] seq, KEYS[2] log, KEYS[3] the claim board, KEYS[4] fields; ARGV: draft, buffer size, member, then
# field/value pairs. ZADD NX claims the member only if absent (https://redis.io/docs/latest/commands/zadd/);
# the claim and the append are one script, so whoever finds the claim taken finds the event in the log.
_APPEND_ONCE = """
if redis.call('ZADD', KEYS[3], 'NX', 0, ARGV[3]) == 0 then return false end
local seq = redis.call('INCR', KEYS[1])
local event = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], event)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('ZADD', KEYS[3], 'XX', seq, ARGV[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
return event
"""

_SINCE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = last - redis.call('LLEN', KEYS[2]) + 1
local seq = tonumber(ARGV[1])
if seq > last or seq < first - 1 then return false end
return redis.call('LRANGE', KEYS[2], seq - first + 1, -1)
"""

# Presence: KEYS[1] viewer -> connections, KEYS[2] "node|viewer" -> connections that node holds,
# KEYS[3] the VIEWERS board. ``release`` takes connections off a viewer's total and says if they are gone.
_RELEASE = """
local function release(viewer, n)
  local left = redis.call('HINCRBY', KEYS[1], viewer, -n)
  if left > 0 then return 0 end
  redis.call('HDEL', KEYS[1], viewer)
  redis.call('ZREM', KEYS[3], viewer)
  if left + n > 0 then return 1 end
  return 0
end
"""

_ENTER = """
redis.call('HINCRBY', KEYS[2], ARGV[3] .. '|' .. ARGV[1], 1)
local connections = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[3], redis.call('ZSCORE', KEYS[4], ARGV[1]) or 0, ARGV[1])
end
return {connections, redis.call('HLEN', KEYS[1])}
"""

_EXIT = _RELEASE + """
if ARGV[3] == '1' then
  local suffix = '|' .. ARGV[1]
  for _, held in ipairs(redis.call('HKEYS', KEYS[2])) do
    if string.sub(held, -#suffix) == suffix then redis.call('HDEL', KEYS[2], held) end
  end
  local total = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  if total == 0 then return {0, redis.call('HLEN', KEYS[1])} end
  return {release(ARGV[1], total), redis.call('HLEN', KEYS[1])}
end
local held = ARGV[2] .. '|' .. ARGV[1]
local mine = tonumber(redis.call('HGET', KEYS[2], held) or '0')
if mine == 0 then return {0, redis.call('HLEN', KEYS[1])} end
if mine == 1 then redis.call('HDEL', KEYS[2], held) else redis.call('HINCRBY', KEYS[2], held, -1) end
return {release(ARGV[1], 1), redis.call('HLEN', KEYS[1])}
"""

_REAP = _RELEASE + """
local prefix = ARGV[1] .. '|'
local gone = {}
for _, held in ipairs(redis.call('HKEYS', KEYS[2])) do
  if string.sub(held, 1, #prefix) == prefix then
    local n = tonumber(redis.call('HGET', KEYS[2], held))
    redis.call('HDEL', KEYS[2], held)
    local viewer = string.sub(held, #prefix + 1)
    if release(viewer, n) == 1 then table.insert(gone, viewer) end
  end
end
return {gone, redis.call('HLEN', KEYS[1])}
"""

_SUPPORT = """
local total = redis.call('ZINCRBY', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', total, ARGV[1])
return total
"""

_PUT_SCORE = """
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current and ARGV[3] ~= '' and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
if current and ARGV[4] == '1' and tonumber(current) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

_PUT_FIELD = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == 'absent' and current then return 0 end
if ARGV[2] == 'equal' and current ~= ARGV[3] then return 0 end
if ARGV[5] == '1' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[4]) end
return 1
"""

# KEYS[1] fields, KEYS[2] the TALLIED board, KEYS[3..] the boards of ``adds``; ARGV: gate, key, now, then
# (member, amount) per board. Returns the new scores as strings (a Lua number reply would be truncated).
_TALLY = """
local window = redis.call('HGET', KEYS[1], ARGV[1])
if not window then return false end
local start, finish = string.match(window, '^(%d+):(%d+)$')
local now = tonumber(ARGV[3])
if not start or now < tonumber(start) or now >= tonumber(finish) then return false end
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return false end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
local scores = {}
for i = 3, #KEYS do
  scores[#scores + 1] = redis.call('ZINCRBY', KEYS[i], ARGV[2 * i - 1], ARGV[2 * i - 2])
end
return scores
"""

# Token bucket; the reply is a string because Redis truncates Lua numbers to integers.
_THROTTLE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local last = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _glob_escape(value: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in value)


class RedisRoomStore:
    def __init__(self, redis: Redis, *, buffer_size: int = 512, prefix: str = "mixillo:room") -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be positive")
        self.buffer_size = buffer_size
        self._redis = redis
        self._prefix = prefix
        self._append = redis.register_script(_APPEND)
        self._append_once = redis.register_script(_APPEND_ONCE)
        self._since = redis.register_script(_SINCE)
        self._enter = redis.register_script(_ENTER)
        self._exit = redis.register_script(_EXIT)
        self._reap = redis.register_script(_REAP)
        self._support = redis.register_script(_SUPPORT)
        self._put_score = redis.register_script(_PUT_SCORE)
        self._put_field = redis.register_script(_PUT_FIELD)
        self._throttle = redis.register_script(_THROTTLE)
        self._tally = redis.register_script(_TALLY)

    def _key(self, room: str, *parts: str) -> str:
        return ":".join((self._prefix, "{" + room + "}", *parts))

    def _board(self, room: str, board: str) -> str:
        return self._key(room, "board", board)

    async def append(self, room: str, draft: str) -> str:
        keys = [self._key(room, "seq"), self._key(room, "log")]
        return _text(await self._append(keys=keys, args=[draft, self.buffer_size]))

    async def append_once(self, room: str, draft: str, *, board: str, member: str,
                          fields: Mapping[str, str] | None = None) -> str | None:
        keys = [self._key(room, "seq"), self._key(room, "log"), self._board(room, board), self._key(room, "fields")]
        args: list[str | int] = [draft, self.buffer_size, member]
        for name, value in (fields or {}).items():
            args += [name, value]
        found: Any = await self._append_once(keys=keys, args=args)
        return None if found is None else _text(found)

    async def since(self, room: str, seq: int) -> list[str] | None:
        found: Any = await self._since(keys=[self._key(room, "seq"), self._key(room, "log")], args=[seq])
        return None if found is None else [_text(item) for item in found]

    async def last_seq(self, room: str) -> int:
        return int(await self._redis.get(self._key(room, "seq")) or 0)

    async def recent(self, room: str, count: int) -> list[str]:
        if count <= 0:
            return []
        return [_text(item) for item in await self._redis.lrange(self._key(room, "log"), -count, -1)]  # type: ignore[misc]

    def _presence(self, room: str) -> list[str]:
        return [self._key(room, "presence"), self._key(room, "held"), self._board(room, VIEWERS)]

    async def enter(self, room: str, viewer: str, *, ranked: bool, node: str = "") -> tuple[bool, int]:
        keys = [*self._presence(room), self._board(room, SUPPORTERS)]
        connections, count = await self._enter(keys=keys, args=[viewer, "1" if ranked else "0", node])
        return int(connections) == 1, int(count)

    async def exit(self, room: str, viewer: str, *, node: str = "", every_connection: bool = False
                   ) -> tuple[bool, int]:
        args = [viewer, node, "1" if every_connection else "0"]
        gone, count = await self._exit(keys=self._presence(room), args=args)
        return int(gone) == 1, int(count)

    async def presence_nodes(self, room: str) -> set[str]:
        held = await self._redis.hkeys(self._key(room, "held"))  # type: ignore[misc]
        return {_text(key).split("|", 1)[0] for key in held}

    async def reap(self, room: str, node: str) -> tuple[list[str], int]:
        gone, count = await self._reap(keys=self._presence(room), args=[node])
        return sorted(_text(viewer) for viewer in gone), int(count)

    async def heartbeat(self, node: str, ttl_s: float) -> None:
        await self._redis.set(f"{self._prefix}:node:{node}", b"1", px=max(1, int(ttl_s * 1000)))

    async def alive(self, nodes: Sequence[str]) -> set[str]:
        ordered = list(nodes)
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in ordered:
                pipe.exists(f"{self._prefix}:node:{node}")
            found = await pipe.execute()
        return {node for node, exists in zip(ordered, found, strict=True) if exists}

    async def viewers(self, room: str) -> int:
        return int(await self._redis.hlen(self._key(room, "presence")))  # type: ignore[misc]

    async def support(self, room: str, user: str, coins: int) -> int:
        keys = [self._board(room, SUPPORTERS), self._board(room, VIEWERS)]
        return int(float(await self._support(keys=keys, args=[user, coins])))

    async def add(self, room: str, board: str, member: str, amount: int) -> int:
        return int(await self._redis.zincrby(self._board(room, board), amount, member))

    async def put_score(
        self, room: str, board: str, member: str, score: int, *, limit: int | None = None, raise_only: bool = False
    ) -> bool:
        args: list[str | int] = [member, score, "" if limit is None else limit, "1" if raise_only else "0"]
        return bool(await self._put_score(keys=[self._board(room, board)], args=args))

    async def remove(self, room: str, board: str, member: str) -> bool:
        return bool(await self._redis.zrem(self._board(room, board), member))

    async def claim(self, room: str, board: str, member: str, score: int) -> bool:
        return bool(await self._redis.zadd(self._board(room, board), {member: score}, nx=True))

    async def trim(self, room: str, board: str, below: int) -> int:
        return int(await self._redis.zremrangebyscore(self._board(room, board), "-inf", f"({below}"))

    async def score(self, room: str, board: str, member: str) -> int | None:
        value = await self._redis.zscore(self._board(room, board), member)
        return None if value is None else int(value)

    async def top(self, room: str, board: str, count: int | None = None) -> list[tuple[str, int]]:
        end = -1 if count is None else count - 1
        if end < -1 or count == 0:
            return []
        rows = await self._redis.zrevrange(self._board(room, board), 0, end, withscores=True)
        return [(_text(member), int(score)) for member, score in rows]

    async def size(self, room: str, board: str) -> int:
        return int(await self._redis.zcard(self._board(room, board)))

    async def tally(
        self, room: str, *, gate: str, key: str, now_ms: int, adds: Sequence[tuple[str, str, int]]
    ) -> list[int] | None:
        keys = [self._key(room, "fields"), self._board(room, TALLIED), *(self._board(room, b) for b, _, _ in adds)]
        args: list[str | int] = [gate, key, now_ms]
        for _, member, amount in adds:
            args += [member, amount]
        found: Any = await self._tally(keys=keys, args=args)
        return None if found is None else [int(float(_text(score))) for score in found]

    async def incr(self, room: str, counter: str, by: int = 1) -> int:
        return int(await self._redis.hincrby(self._key(room, "counters"), counter, by))  # type: ignore[misc]

    async def counters(self, room: str) -> dict[str, int]:
        values = await self._redis.hgetall(self._key(room, "counters"))  # type: ignore[misc]
        return {_text(k): int(v) for k, v in values.items()}

    async def get(self, room: str, field: str) -> str | None:
        value = await self._redis.hget(self._key(room, "fields"), field)  # type: ignore[misc]
        return None if value is None else _text(value)

    async def put(self, room: str, field: str, value: str | None, *, expect: str | _Any | None = ANY) -> bool:
        key = self._key(room, "fields")
        if expect is ANY:
            if value is None:
                await self._redis.hdel(key, field)  # type: ignore[misc]
            else:
                await self._redis.hset(key, field, value)  # type: ignore[misc]
            return True
        mode = "absent" if expect is None else "equal"
        args = [field, mode, expect if isinstance(expect, str) else "", value or "", "1" if value is None else "0"]
        return bool(await self._put_field(keys=[key], args=args))

    async def fields(self, room: str) -> dict[str, str]:
        values = await self._redis.hgetall(self._key(room, "fields"))  # type: ignore[misc]
        return {_text(k): _text(v) for k, v in values.items()}

    async def read(self, room: str, scores: Sequence[tuple[str, str]] = ()) -> tuple[dict[str, str], list[int | None]]:
        async with self._redis.pipeline(transaction=True) as pipe:  # MULTI/EXEC: one consistent read
            pipe.hgetall(self._key(room, "fields"))
            for board, member in scores:
                pipe.zscore(self._board(room, board), member)
            results = await pipe.execute()
        fields = {_text(k): _text(v) for k, v in results[0].items()}
        return fields, [None if value is None else int(value) for value in results[1:]]

    async def throttle(self, room: str, key: str, *, per_s: float, burst: int, now_ms: int) -> float:
        if per_s <= 0 or burst < 1:
            raise ValueError("a throttle needs a positive rate and burst")
        wait = await self._throttle(keys=[self._key(room, "bucket", key)], args=[repr(per_s), burst, now_ms])
        return float(_text(wait))

    async def drop(self, room: str) -> None:
        pattern = _glob_escape(self._key(room)) + ":*"
        keys = [key async for key in self._redis.scan_iter(match=pattern, count=500)]
        if keys:
            await self._redis.delete(*keys)

    async def expire(self, room: str, after_s: float) -> None:
        """Every key of the room gets the deadline (appending to the log or a hash keeps a key's TTL)."""
        pattern = _glob_escape(self._key(room)) + ":*"
        ms = max(1, int(after_s * 1000))
        async with self._redis.pipeline(transaction=False) as pipe:
            async for key in self._redis.scan_iter(match=pattern, count=500):
                pipe.pexpire(key, ms)
            await pipe.execute()

    async def close(self) -> None:
        """Nothing to do: the Redis client belongs to the application."""
