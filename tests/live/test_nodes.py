"""Many nodes: a real redis-server and two app processes (``python -m api.cli serve``) sharing one SQLite
database on loopback. A viewer on node B receives, in order, a gift sent through node A; a PK battle
refereed by both nodes ends exactly once. A co-host publishing (aiortc, WHIP) to node A is muted, kicked and
the live ended through node B: A's engine acts at once, and the old tokens publish on no node, a node started
after the kick included."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import RTCPeerConnection

from api.economy.catalog import seed_catalog
from store import migrate
from store.database import Database
from tests.live.conftest import Viewer
from tests.services import free_port, redis_server, wait_for_port
from tests.signaling.clients import answer, whep_offer, whip_offer

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
PK_PHASES = ("pk.invited", "pk.countdown", "pk.started", "pk.ended")


def _serve(port: int, data_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir)], env=env, cwd=ROOT)
    try:
        wait_for_port(port, 30.0, process)
    except BaseException:
        process.terminate()
        process.wait(15)
        raise
    return process


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


class Cluster:
    """App processes sharing one database and one Redis, each on its own loopback port and data dir."""

    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.database_url = f"sqlite:///{tmp_path / 'shared.db'}"
        self.redis_url = redis_url
        self.processes: list[subprocess.Popen[bytes]] = []

    async def start(self, name: str) -> str:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
               "MIXILLO_JWT_SECRET": "two-nodes-test-secret-0123456789abcdef", "MIXILLO_LOG_JSON": "false",
               "MIXILLO_RATE_AUTH_PER_IP": "100000", "MIXILLO_RATE_WRITE_PER_IP": "100000",
               "MIXILLO_RATE_WRITE_PER_USER": "100000", "MIXILLO_PK_COUNTDOWN": "0"}
        self.processes.append(await asyncio.to_thread(_serve, port, self.tmp_path / name, env))
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(15)


@pytest.fixture
async def cluster(tmp_path: Path, redis_url: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path, redis_url)
    db = Database(cluster.database_url)
    await migrate.upgrade(db)
    async with db.write() as conn:
        await seed_catalog(conn)
    await db.close()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def nodes(cluster: Cluster) -> list[str]:
    return [await cluster.start("a"), await cluster.start("b")]


async def _post(http: aiohttp.ClientSession, url: str, body: Any = None, token: str | None = None,
                key: str | None = None, status: int = 200) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key:
        headers["Idempotency-Key"] = key
    async with http.post(url, json=body, headers=headers) as response:
        assert response.status == status, await response.text()
        return await response.json() if response.status != 204 else None


async def _user(http: aiohttp.ClientSession, base: str, name: str, **extra: Any) -> dict[str, Any]:
    body = {"username": name, "email": f"{name}@example.test", "password": "correct horse battery", **extra}
    session: dict[str, Any] = await _post(http, f"{base}/api/auth/register", body, status=201)
    return session


async def test_gift_on_node_a_reaches_viewer_on_node_b_and_pk_ends_once(nodes: list[str]) -> None:
    a, b = nodes
    async with aiohttp.ClientSession() as http:
        host = await _user(http, a, "nodehost", account_type="creator")
        rival = await _user(http, b, "noderival", account_type="creator")
        giver = await _user(http, a, "nodegiver")
        watcher = await _user(http, b, "nodewatcher")
        await _post(http, f"{a}/api/wallets/top-up", {"coins": 1000, "payment_token": "tok_visa"},
                    giver["access_token"], status=201)
        streams = []
        for base, who in ((a, host), (b, rival)):
            created = await _post(http, f"{base}/api/livestreams", {"title": "two nodes"}, who["access_token"],
                                  status=201)
            await _post(http, f"{base}/api/livestreams/{created['id']}/start", None, who["access_token"])
            streams.append(created["id"])
        room, rival_room = streams

        viewer = await Viewer().connect(b, watcher)
        try:
            assert (await viewer.call("join", {"room": room}))["ok"]
            for n in range(5):  # through node A, over REST
                await _post(http, f"{a}/api/livestreams/{room}/gift",
                            {"receiver_id": host["user"]["id"], "gift_id": "rose", "quantity": n + 1},
                            giver["access_token"], key=f"node-gift-{n}", status=201)
            deadline = asyncio.get_running_loop().time() + 10
            while len(viewer.of("gift.sent")) < 5:
                assert asyncio.get_running_loop().time() < deadline, viewer.events
                await asyncio.sleep(0.05)
            gifts = viewer.of("gift.sent")
            assert [g["data"]["quantity"] for g in gifts] == [1, 2, 3, 4, 5]
            assert [g["seq"] for g in gifts] == sorted(g["seq"] for g in gifts)

            # A PK battle: invited on A, accepted on B; both nodes referee it; it ends once, on time.
            battle = (await _post(http, f"{a}/api/pk-battles",
                                  {"room_id": room, "opponent_room_id": rival_room, "duration_s": 30},
                                  host["access_token"], status=201))["battle"]
            await _post(http, f"{b}/api/pk-battles/{battle['battle_id']}/accept", None, rival["access_token"])
            deadline = asyncio.get_running_loop().time() + 45
            while not viewer.of("pk.ended"):
                assert asyncio.get_running_loop().time() < deadline, [e["data"]["type"] for e in viewer.events]
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.5)  # both referees have ticked again since
            assert len(viewer.of("pk.ended")) == 1
            phases = [e["data"]["type"] for e in viewer.events if e["data"]["type"] in PK_PHASES]
            assert phases == list(PK_PHASES), phases  # every phase once, in order, whichever node told it
            async with http.get(f"{b}/api/pk-battles/{battle['battle_id']}") as response:
                assert (await response.json())["battle"]["state"] == "ended"
        finally:
            await viewer.close()


async def _offer(http: aiohttp.ClientSession, url: str, offer: str, token: str | None) -> aiohttp.ClientResponse:
    headers = {"Content-Type": "application/sdp", **({"Authorization": f"Bearer {token}"} if token else {})}
    async with http.post(url, data=offer.encode(), headers=headers) as response:
        await response.read()
        return response


async def _publish(http: aiohttp.ClientSession, url: str, token: str, peers: list[RTCPeerConnection]) -> str:
    """Publish a test pattern and a tone with aiortc over WHIP; the session's absolute URL once connected."""
    pc, offer = await whip_offer()
    peers.append(pc)
    response = await _offer(http, url, offer, token)
    assert response.status == 201, await response.text()
    await answer(pc, await response.text())
    await _until(lambda: pc.connectionState == "connected", f"publisher is {pc.connectionState}")
    return url[:url.index("/whip/")] + response.headers["Location"]


async def _refused(http: aiohttp.ClientSession, url: str, token: str) -> tuple[int, str]:
    pc, offer = await whip_offer()
    try:
        response = await _offer(http, url, offer, token)
        return response.status, str((await response.json())["type"]).rsplit("/", 1)[-1]
    finally:
        await pc.close()


async def _open(http: aiohttp.ClientSession, session_url: str) -> bool:
    """Is the WHIP session there? A PATCH with a stale ETag changes nothing: 412 while it is, 404 after."""
    headers = {"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": '"stale"'}
    async with http.patch(session_url, data=b"", headers=headers) as response:
        assert response.status in (404, 412), await response.text()
        return response.status == 412


async def _packets(pc: RTCPeerConnection, kind: str) -> int:
    stats = await pc.getStats()
    return sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp" and s.kind == kind)


async def _until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while not await _truth(check()):
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_cohost_on_node_a_is_muted_kicked_and_the_live_ended_through_node_b(
        cluster: Cluster, nodes: list[str]) -> None:
    a, b = nodes
    peers: list[RTCPeerConnection] = []
    async with aiohttp.ClientSession() as http:
        try:
            host = await _user(http, a, "mediahost", account_type="creator")
            guest = await _user(http, a, "mediaguest")
            guest_id = guest["user"]["id"]
            stream = (await _post(http, f"{a}/api/livestreams", {"title": "nodes"}, host["access_token"],
                                  status=201))["id"]
            go = await _post(http, f"{a}/api/livestreams/{stream}/start", None, host["access_token"])
            host_url, host_token = go["ingest"]["whip_url"], go["ingest"]["publish_token"]
            assert host_url.startswith(a)  # the live's media is on node A
            host_session = await _publish(http, host_url, host_token, peers)

            await _post(http, f"{b}/api/multi-host/{stream}/invite", {"user_id": guest_id}, host["access_token"])
            ticket = await _post(http, f"{b}/api/multi-host/{stream}/accept", {}, guest["access_token"])
            guest_url, guest_token = ticket["whip_url"], ticket["publish_token"]
            assert guest_url.startswith(a)  # accepted through B, the guest publishes where the live's media is
            guest_session = await _publish(http, guest_url, guest_token, peers)

            # A viewer of the guest's own stream on node A hears them...
            viewer, offer = await whep_offer()
            peers.append(viewer)
            response = await _offer(http, f"{a}/whep/{stream}/{guest_id}", offer, None)
            assert response.status == 201, await response.text()
            await answer(viewer, await response.text())
            heard = await _packets(viewer, "audio")
            await _until(lambda: _more(viewer, "audio", heard + 25), "the viewer hears the guest")

            # ... until the host mutes the guest through node B: A pauses the audio producer, video goes on.
            await _post(http, f"{b}/api/multi-host/{stream}/mute", {"user_id": guest_id}, host["access_token"])
            await asyncio.sleep(0.5)  # packets already on their way
            heard, seen = await _packets(viewer, "audio"), await _packets(viewer, "video")
            await asyncio.sleep(1.0)
            assert await _packets(viewer, "audio") == heard
            assert await _packets(viewer, "video") > seen + 10

            # Kicked through node B: the guest's session on A closes at once, and their token is refused
            # on every node, on one started after the kick too (the bar is in Redis, not in a process).
            assert await _open(http, guest_session)
            await _post(http, f"{b}/api/multi-host/{stream}/kick", {"user_id": guest_id}, host["access_token"])
            await _until(lambda: _closed(http, guest_session), "the guest's WHIP session on A closes")
            c = await cluster.start("c")
            for base in (a, b, c):
                assert await _refused(http, f"{base}/whip/{stream}", guest_token) == (403, "publisher-barred")

            # Ended through node B: A ends the host's ingest and finalises the recording; the host's token
            # publishes nowhere any more.
            assert await _open(http, host_session)
            await _post(http, f"{b}/api/livestreams/{stream}/end", None, host["access_token"])
            await _until(lambda: _closed(http, host_session), "the host's WHIP session on A closes")
            for base in (a, b, c):
                assert await _refused(http, f"{base}/whip/{stream}", host_token) == (410, "stream-ended")
            async with http.get(f"{a}/hls/live/{stream}/master.m3u8") as response:
                assert response.status == 200, await response.text()
                rendition = next(line for line in (await response.text()).splitlines()
                                 if line and not line.startswith("#"))
            async with http.get(f"{a}/hls/live/{stream}/{rendition}") as response:
                assert response.status == 200
                assert (await response.text()).rstrip().endswith("#EXT-X-ENDLIST")  # the recording
        finally:
            for pc in peers:
                await pc.close()


async def _truth(value: bool | Awaitable[bool]) -> bool:
    return await value if inspect.isawaitable(value) else value


async def _more(pc: RTCPeerConnection, kind: str, than: int) -> bool:
    return await _packets(pc, kind) > than


async def _closed(http: aiohttp.ClientSession, session_url: str) -> bool:
    return not await _open(http, session_url)
