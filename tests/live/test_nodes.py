"""Many nodes: a real redis-server and two app processes (``python -m api.cli serve``) sharing one SQLite
database on loopback. A viewer on node B receives, in order, a gift sent through node A; a PK battle
refereed by both nodes ends exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from api.economy.catalog import seed_catalog
from store import migrate
from store.database import Database
from tests.live.conftest import Viewer
from tests.services import free_port, redis_server, wait_for_port

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


@pytest.fixture
async def nodes(tmp_path: Path, redis_url: str) -> AsyncIterator[list[str]]:
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    db = Database(database_url)
    await migrate.upgrade(db)
    async with db.write() as conn:
        await seed_catalog(conn)
    await db.close()
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for name in ("a", "b"):
            port = free_port()
            env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                   "MIXILLO_JWT_SECRET": "two-nodes-test-secret-0123456789abcdef", "MIXILLO_LOG_JSON": "false",
                   "MIXILLO_RATE_AUTH_PER_IP": "100000", "MIXILLO_RATE_WRITE_PER_IP": "100000",
                   "MIXILLO_RATE_WRITE_PER_USER": "100000", "MIXILLO_PK_COUNTDOWN": "0"}
            processes.append(await asyncio.to_thread(_serve, port, tmp_path / name, env))
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)


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
