"""Fixtures for the room domain: a RoomStore on each backend (Redis is a real redis-server on loopback),
a fake clock, and an event sink that records what the edges would broadcast."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.events import RoomEvent
from rooms.gifts import GiftCharge
from rooms.media import Ingest, Playback
from rooms.memory_store import MemoryRoomStore
from rooms.redis_store import RedisRoomStore
from rooms.store import RoomStore
from store import migrate
from store.database import Database
from store.schema.accounts import users
from store.types import utcnow
from tests.services import redis_server

_prefixes = itertools.count()


class FakeClock:
    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += round(seconds * 1000)


class Sink:
    """Collects published events in the order the domain published them."""

    def __init__(self) -> None:
        self.events: list[RoomEvent] = []

    async def __call__(self, event: RoomEvent) -> None:
        self.events.append(event)

    def history(self, room: str | None = None) -> list[tuple[int, str]]:
        return [(e.seq, e.type) for e in self.events if room is None or e.room == room]

    def of(self, kind: str) -> list[RoomEvent]:
        return [e for e in self.events if e.type == kind]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RoomStore]:
    """The same behaviour suite runs on both backends; each Redis test gets its own key prefix."""
    if request.param == "memory":
        yield MemoryRoomStore(buffer_size=8)
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisRoomStore(client, buffer_size=8, prefix=f"t{next(_prefixes)}:room")
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
async def directory(store: RoomStore, clock: FakeClock, sink: Sink) -> AsyncIterator[RoomDirectory]:
    rooms = RoomDirectory(store, clock, sink)
    yield rooms
    await rooms.close()


HOST = Actor("host")
MOD = Actor("mod")
ALICE = Actor("alice", "sid-a")
BOB = Actor("bob", "sid-b")
ANON = Actor.anonymous("sid-anon")


class ChargeRefused(Exception):
    """What the fake ledger raises when it charges nothing (the real one raises a 402 problem)."""


class FakeCharger:
    """A small ledger: coin balances, idempotent on the key, refuses when the sender cannot pay."""

    def __init__(self, balances: dict[str, int] | None = None, prices: dict[str, int] | None = None,
                 clock: FakeClock | None = None) -> None:
        self.clock = clock  # stamps each charge's time, as the ledger does (None: charges carry no time)
        self.balances = dict(balances or {})
        self.prices = prices or {"rose": 1, "lion": 500}
        self.by_key: dict[str, GiftCharge] = {}
        self.calls = 0
        self.fail_next = False

    async def charge(
        self, *, sender_id: str, receiver_id: str, gift_id: str, quantity: int, key: str, livestream_id: str,
        combo_id: str | None,
    ) -> GiftCharge:
        self.calls += 1
        await asyncio.sleep(0)  # a real ledger awaits its database
        if key in self.by_key:
            return self.by_key[key]
        if self.fail_next:
            self.fail_next = False
            raise ChargeRefused("ledger unavailable")
        if gift_id not in self.prices:
            raise ChargeRefused(f"no gift {gift_id}")
        coins = self.prices[gift_id] * quantity
        if self.balances.get(sender_id, 0) < coins:
            raise ChargeRefused("insufficient coins")
        self.balances[sender_id] -= coins
        self.balances[receiver_id] = self.balances.get(receiver_id, 0) + coins // 2
        charge = GiftCharge(f"t{len(self.by_key) + 1}", gift_id, quantity, coins, coins // 2,
                            self.balances[sender_id], self.clock.now_ms() if self.clock else None)
        self.by_key[key] = charge
        return charge


USERS = ("host", "host2", "host3", "mod", "alice", "bob", "carol", "guest")


async def add_users(db: Database, *user_ids: str) -> None:
    now = utcnow()
    async with db.write() as conn:
        await conn.execute(users.insert(), [
            {"id": u, "username": u, "email": f"{u}@example.test", "password_hash": "x", "role": "user",
             "display_name": u, "created_at": now, "updated_at": now} for u in user_ids
        ])


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated database (SQLite, and PostgreSQL under tests.harness) with the test users in it."""
    database = Database(db_url)
    await migrate.upgrade(database)
    await add_users(database, *USERS)
    yield database
    await database.close()


class FakeMedia:
    """Records what the engine was told, in order; can refuse to mint a guest token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.fail_mint = False

    async def host_ingest(self, room_id: str, host_id: str) -> Ingest:
        self.calls.append(("ingest", host_id))
        return Ingest(f"http://127.0.0.1/whip/{room_id}", f"publish:{room_id}:{host_id}")

    async def playback(self, room_id: str) -> Playback:
        base = f"http://127.0.0.1/live/{room_id}"
        return Playback(f"{base}/whep", f"{base}/index.m3u8", f"{base}/ll.m3u8")

    async def end_stream(self, room_id: str) -> None:
        self.calls.append(("end", room_id))

    async def guest_token(self, room_id: str, user_id: str) -> str:
        if self.fail_mint:
            raise RuntimeError("engine unavailable")
        self.calls.append(("token", user_id))
        return f"publish:{room_id}:{user_id}"

    async def close_guest(self, room_id: str, user_id: str) -> None:
        self.calls.append(("close", user_id))

    async def mute_guest(self, room_id: str, user_id: str, muted: bool) -> None:
        self.calls.append(("mute" if muted else "unmute", user_id))
