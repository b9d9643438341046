"""Media commands on bytes, the state they leave, and both ``MediaBus`` backends (Redis: a real
redis-server on loopback, two buses as two nodes)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from api.live.commands import (
    Admit,
    End,
    Hosted,
    Kick,
    MediaCommand,
    Mute,
    PkPicture,
    StreamMedia,
    decode,
    encode,
)
from api.live.mediabus import MemoryMediaBus
from api.live.redis_bus import RedisMediaBus
from rooms.events import PkScore, RoomEvent
from tests.services import free_port, redis_server

pytestmark = pytest.mark.timeout(60)
_prefixes = itertools.count()
SCORE = RoomEvent(seq=7, room="live1", at=1000, data=PkScore(battle_id="b1", score_a=3, score_b=5))


# --- wire format ---------------------------------------------------------------------------------------------

def test_commands_as_bytes() -> None:
    assert encode("n1", Kick("live1", "u2")) == b'{"v":1,"node":"n1","op":"kick","stream":"live1","user":"u2"}'
    assert encode("n1", Admit("live1", "u2")) == b'{"v":1,"node":"n1","op":"admit","stream":"live1","user":"u2"}'
    assert encode("n1", Mute("live1", "u2", False)) == (
        b'{"v":1,"node":"n1","op":"mute","stream":"live1","user":"u2","muted":false}')
    assert encode("n1", End("live1")) == b'{"v":1,"node":"n1","op":"end","stream":"live1"}'
    assert encode("n1", Hosted("live1", "http://10.0.0.5:8080")) == (
        b'{"v":1,"node":"n1","op":"hosted","stream":"live1","url":"http://10.0.0.5:8080"}')
    assert encode("n1", PkPicture(SCORE)) == (
        b'{"v":1,"node":"n1","op":"pk","event":{"seq":7,"v":1,"room":"live1","at":1000,'
        b'"data":{"type":"pk.score","battle_id":"b1","score_a":3,"score_b":5}}}')


@pytest.mark.parametrize("command", [Kick("s", "u"), Admit("s", "u"), Mute("s", "u", True), Mute("s", "u", False),
                                     End("s"), Hosted("s", "http://a:1"), PkPicture(SCORE)])
def test_every_command_round_trips(command: MediaCommand) -> None:
    assert decode(encode("node-a", command)) == ("node-a", command)


@pytest.mark.parametrize("raw", [
    b"", b"\xff", b"[]", b"null", b'{"v":2,"node":"n","op":"end","stream":"s"}',
    b'{"node":"n","op":"end","stream":"s"}', b'{"v":1,"op":"end","stream":"s"}',
    b'{"v":1,"node":"n","op":"reboot","stream":"s"}', b'{"v":1,"node":"n","op":"end"}',
    b'{"v":1,"node":"n","op":"end","stream":""}', b'{"v":1,"node":"n","op":"kick","stream":"s"}',
    b'{"v":1,"node":"n","op":"kick","stream":"s","user":5}',
    b'{"v":1,"node":"n","op":"mute","stream":"s","user":"u"}',
    b'{"v":1,"node":"n","op":"mute","stream":"s","user":"u","muted":1}',
    b'{"v":1,"node":"n","op":"pk","event":{"seq":0,"room":"r","at":1,"data":{"type":"pk.score"}}}',
    b'{"v":1,"node":"n","op":"pk"}', b'{"v":1,"node":"n","op":"hosted","stream":"s"}',
])
def test_anything_else_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        decode(raw)


def test_state_after_each_command() -> None:
    state = StreamMedia()
    history = []
    for command in (Hosted("s", "http://a:1"), Mute("s", "g", True), Kick("s", "g"), Mute("s", "h", True),
                    Admit("s", "g"), Kick("s", "h"), Mute("s", "h", False), PkPicture(SCORE), End("s"),
                    Admit("s", "h")):
        state = state.after(command)
        history.append((state.home, state.ended, sorted(state.barred), sorted(state.muted)))
    home = "http://a:1"
    assert history == [
        (home, False, [], []),
        (home, False, [], ["g"]),
        (home, False, ["g"], []),  # a kicked guest's mute goes with them
        (home, False, ["g"], ["h"]),
        (home, False, [], ["h"]),
        (home, False, ["h"], []),
        (home, False, ["h"], []),
        (home, False, ["h"], []),
        (None, True, [], []),  # ended: every slot is refused, bars, mutes and home are moot
        (None, True, [], []),
    ]


# --- in memory -----------------------------------------------------------------------------------------------

async def test_memory_bus_executes_here_and_keeps_the_state_for_its_ttl() -> None:
    now = [100.0]
    bus = MemoryMediaBus(ttl_s=60, clock=lambda: now[0])
    executed: list[MediaCommand] = []

    async def execute(command: MediaCommand) -> None:
        executed.append(command)

    async def reconcile() -> None:
        raise AssertionError("one process never misses a command")

    await bus.send(Kick("s", "early"))  # not started: the state is kept, nothing executes
    bus.start(execute, reconcile)
    commands: list[MediaCommand] = [Kick("s", "g"), Mute("s", "h", True), PkPicture(SCORE), End("t")]
    for command in commands:
        await bus.send(command)
    assert executed == commands
    assert await bus.state("s") == StreamMedia(barred=frozenset({"early", "g"}), muted=frozenset({"h"}))
    assert await bus.state("t") == StreamMedia(ended=True)
    assert await bus.state("live1") == StreamMedia()  # a picture leaves no state
    now[0] += 59
    await bus.send(Admit("s", "early"))  # a write renews the stream's state
    now[0] += 2
    assert await bus.state("t") == StreamMedia()  # the end's ttl ran out: every old token has expired
    assert await bus.state("s") == StreamMedia(barred=frozenset({"g"}), muted=frozenset({"h"}))
    await bus.close()
    await bus.send(End("s"))
    assert executed[-1] == Admit("s", "early")  # closed: nothing executes any more


# --- Redis ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


class Node:
    def __init__(self, client: Redis, prefix: str) -> None:
        self.bus = RedisMediaBus(client, ttl_s=120, prefix=prefix, poll_s=0.1)
        self.executed: list[MediaCommand] = []
        self.reconciled = 0

    async def execute(self, command: MediaCommand) -> None:
        self.executed.append(command)

    async def reconcile(self) -> None:
        self.reconciled += 1

    async def start(self) -> Node:
        self.bus.start(self.execute, self.reconcile)
        await asyncio.wait_for(self.bus.subscribed.wait(), 5)
        return self


@pytest.fixture
async def two_nodes(redis_url: str) -> AsyncIterator[tuple[Node, Node, Redis]]:
    prefix = f"t{next(_prefixes)}:media"
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    a, b = Node(clients[0], prefix), Node(clients[1], prefix)
    await a.start()
    await b.start()
    yield a, b, clients[2]
    await a.bus.close()
    await b.bus.close()
    for client in clients:
        await client.aclose()


async def _until(check: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while not check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


async def test_redis_bus_every_node_executes_each_command_once_in_order(
        two_nodes: tuple[Node, Node, Redis]) -> None:
    a, b, _ = two_nodes
    sent: list[MediaCommand] = [Hosted("s", "http://b:2"), Kick("s", "g"), Mute("s", "h", True),
                                Mute("s", "h", False), PkPicture(SCORE), Admit("s", "g"), End("s")]
    for command in sent:
        await b.bus.send(command)
        assert b.executed[-1] == command  # the sender's own share is done when send returns
    await _until(lambda: len(a.executed) == len(sent), f"node A got {a.executed}")
    await asyncio.sleep(0.3)  # nothing more arrives: B skipped its own messages, A got each once
    assert a.executed == sent and b.executed == sent
    assert await a.bus.state("s") == StreamMedia(ended=True)


async def test_redis_bus_state_is_shared_and_expires(two_nodes: tuple[Node, Node, Redis]) -> None:
    a, b, redis = two_nodes
    await a.bus.send(Hosted("s", "http://a:1"))
    await a.bus.send(Kick("s", "g"))
    await a.bus.send(Mute("s", "h", True))
    assert await b.bus.state("s") == StreamMedia(barred=frozenset({"g"}), muted=frozenset({"h"}), home="http://a:1")
    prefix = a.bus._prefix
    assert 110 < await redis.ttl(f"{prefix}:{{s}}") <= 120  # the tokens' lifetime: then every bar is moot
    await b.bus.send(Admit("s", "g"))
    assert await a.bus.state("s") == StreamMedia(muted=frozenset({"h"}), home="http://a:1")
    await b.bus.send(PkPicture(SCORE))
    assert await redis.exists(f"{prefix}:{{live1}}") == 0  # a picture leaves no state


async def test_a_node_cut_off_from_redis_reconciles_when_it_is_back(two_nodes: tuple[Node, Node, Redis]) -> None:
    a, b, redis = two_nodes
    assert a.reconciled == b.reconciled == 1  # on subscribing
    # The subscriptions are cut (as a network blip or a Redis failover would): both nodes come back by
    # themselves and re-read the state of what they hold, whatever was published while they were away.
    killed = await redis.client_kill_filter(_type="pubsub")
    assert killed == 2
    await _until(lambda: a.reconciled == b.reconciled == 2, f"reconciled {a.reconciled}, {b.reconciled} times")
    await a.bus.send(Kick("s", "g"))  # and they listen again
    await _until(lambda: b.executed == [Kick("s", "g")], f"node B got {b.executed}")


async def test_with_redis_down_the_sender_still_does_its_share_and_says_it_failed() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    node = Node(client, "down:media")
    node.bus.start(node.execute, node.reconcile)
    try:
        with pytest.raises(RedisConnectionError):
            await node.bus.send(Kick("s", "g"))
        assert node.executed == [Kick("s", "g")]
    finally:
        await node.bus.close()
        await client.aclose()
