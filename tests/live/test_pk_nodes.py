"""Two apps in this process on one database and one real redis-server. The PK picture with the two lives'
media on two nodes: whichever node appends the battle's events, both programs go to the split screen with the
board, and a gift through the other node moves the right side's score. A guest admitted through the node
that does not hold the live is seated in the program of the node that does, and publishes there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.economy.catalog import seed_catalog
from api.state import DATABASE, LIVES
from engine.live import LiveMedia
from tests.api.helpers import Client, bearer
from tests.conftest import AppFactory
from tests.live.conftest import creator, fan, go_live, key
from tests.live.test_sockets import until
from tests.services import redis_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def _live(client: Client, stream: str) -> LiveMedia:
    live = client.app[LIVES].get(stream)
    assert live is not None
    return live


async def test_a_battle_between_lives_on_two_nodes_is_on_both_pictures(
        make_client: AppFactory, db_url: str, redis_url: str) -> None:
    a = await make_client(database_url=db_url, redis_url=redis_url, pk_countdown_s=0)
    b = await make_client(database_url=db_url, redis_url=redis_url, pk_countdown_s=0)
    async with a.app[DATABASE].write() as conn:
        await seed_catalog(conn)
    host_a, host_b, giver = await creator(a), await creator(b), await fan(a, coins=1000)
    room_a = (await go_live(a, host_a))["stream"]["id"]
    room_b = (await go_live(b, host_b))["stream"]["id"]
    assert b.app[LIVES].get(room_a) is None and a.app[LIVES].get(room_b) is None  # one node each
    ids = host_a["user"]["id"], host_b["user"]["id"]
    try:
        response = await a.post("/api/pk-battles", json={"room_id": room_a, "opponent_room_id": room_b,
                                                         "duration_s": 30}, headers=bearer(host_a))
        assert response.status == 201, await response.text()
        battle = (await response.json())["battle"]["battle_id"]
        response = await b.post(f"/api/pk-battles/{battle}/accept", headers=bearer(host_b))
        assert response.status == 200, await response.text()

        # Each node's program splits with the other host, whichever node announced the start.
        await until(lambda: sorted(_live(a, room_a).program.names) == sorted(ids)
                    and sorted(_live(b, room_b).program.names) == sorted(ids), within=10)
        board_a, board_b = _live(a, room_a).program.board, _live(b, room_b).program.board
        assert (board_a.name_a, board_a.name_b) == (host_a["user"]["username"], host_b["user"]["username"])
        assert (board_b.name_a, board_b.name_b) == (host_b["user"]["username"], host_a["user"]["username"])

        # A gift to host B sent through node A: each board shows it on B's side (its own left on node B).
        response = await a.post(f"/api/pk-battles/{battle}/gift", headers={**bearer(giver), **key()},
                                json={"receiver_id": ids[1], "gift_id": "rose", "quantity": 3})
        assert response.status == 201, await response.text()
        await until(lambda: (board_a.score_a, board_a.score_b, board_b.score_a, board_b.score_b) == (0, 3, 3, 0),
                    within=10)
    finally:
        for client, host, room in ((a, host_a, room_a), (b, host_b, room_b)):
            response = await client.post(f"/api/livestreams/{room}/end", headers=bearer(host))
            assert response.status == 200, await response.text()
    # Ending live A through node A ended its media there; live B's on node B.
    await until(lambda: a.app[LIVES].get(room_a) is None and b.app[LIVES].get(room_b) is None, within=10)


async def test_a_guest_admitted_through_another_node_is_seated_where_the_live_is(
        make_client: AppFactory, db_url: str, redis_url: str) -> None:
    a = await make_client(database_url=db_url, redis_url=redis_url, public_url="http://node-a.test")
    b = await make_client(database_url=db_url, redis_url=redis_url, public_url="http://node-b.test")
    host, guest = await creator(a), await fan(a)
    room = (await go_live(a, host))["stream"]["id"]
    live = _live(a, room)
    try:
        response = await b.post(f"/api/multi-host/{room}/invite", json={"user_id": guest["user"]["id"]},
                                 headers=bearer(host))
        assert response.status == 200, await response.text()
        response = await b.post(f"/api/multi-host/{room}/accept", json={}, headers=bearer(guest))
        assert response.status == 200, await response.text()
        ticket = await response.json()
        assert ticket["whip_url"] == f"http://node-a.test/whip/{room}"  # where the live's media is
        await until(lambda: guest["user"]["id"] in live.program.names, within=10)
        assert b.app[LIVES].get(room) is None
        response = await b.post(f"/api/multi-host/{room}/kick", json={"user_id": guest["user"]["id"]},
                                headers=bearer(host))
        assert response.status == 200, await response.text()
        await until(lambda: guest["user"]["id"] not in live.program.names, within=10)
    finally:
        response = await b.post(f"/api/livestreams/{room}/end", headers=bearer(host))
        assert response.status == 200, await response.text()
    await until(lambda: a.app[LIVES].get(room) is None, within=10)  # ended through B, on A
