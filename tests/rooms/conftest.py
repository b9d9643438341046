"""Fixtures for the room domain: a RoomStore on each backend (Redis is a real redis-server on loopback),
a fake clock, and an event sink that records what the edges would broadcast."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from rooms.actor import Actor
from rooms.directory import RoomDirectory
from rooms.events import RoomEvent
from rooms.memory_store import MemoryRoomStore
from rooms.redis_store import RedisRoomStore
from rooms.store import RoomStore
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
