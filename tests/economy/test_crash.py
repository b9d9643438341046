"""Crash test: a gift storm against a ``mixillo serve`` process killed with SIGKILL midway.

After the kill, ``mixillo ledger-check`` passes, every gift the server acknowledged is in the ledger, and
resending the unacknowledged ones (same Idempotency-Keys) after a restart applies each exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from store.database import Database
from store.ledger.audit import audit
from store.schema.economy import gift_sends
from store.schema.ledger import ledger_transfers
from tests.conftest import ROOT, TEST_SECRET
from tests.services import free_port, wait_for_port

pytestmark = pytest.mark.slow


def _env(data_dir: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "MIXILLO_DATA_DIR": str(data_dir),
        "MIXILLO_JWT_SECRET": TEST_SECRET,
        "MIXILLO_LOG_LEVEL": "WARNING",
        "MIXILLO_RATE_WRITE_PER_USER": "1000000",
        "MIXILLO_RATE_WRITE_PER_IP": "1000000",
        "MIXILLO_RATE_AUTH_PER_IP": "1000",
        "MIXILLO_IDEMPOTENCY_LEASE": "1",  # keys in flight at the kill are reclaimable after the restart
    }


def _cli(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=_env(data_dir, url),
        capture_output=True,
        text=True,
        timeout=120,
    )


class Server:
    def __init__(self, data_dir: Path, url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=_env(data_dir, url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout=30, process=self.process)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


async def _login(http: aiohttp.ClientSession, url: str, name: str) -> dict[str, Any]:
    async with http.post(f"{url}/api/auth/login", json={"login": name, "password": "mixillo-demo"}) as r:
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def test_sigkill_mid_storm_loses_no_acknowledged_gift(tmp_path: Path, db_url: str, servers: list[Server]) -> None:
    seeded = _cli(tmp_path, db_url, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    servers.append(Server(tmp_path, db_url))
    url = servers[0].url
    acked: dict[str, str] = {}  # idempotency key -> transfer id
    keys = [f"storm-{i}" for i in range(4000)]
    async with aiohttp.ClientSession() as http:
        carla, alice = await _login(http, url, "carla"), await _login(http, url, "alice")
        auth = {"Authorization": f"Bearer {carla['access_token']}"}
        async with http.post(
            f"{url}/api/wallets/top-up", json={"coins": 100_000, "payment_token": "tok_visa"}, headers=auth
        ) as r:
            assert r.status == 201
        body = {"gift_id": "heart", "receiver_id": alice["user"]["id"]}
        pending = iter(keys)
        enough = asyncio.Event()

        async def worker() -> None:
            for key in pending:
                try:
                    async with http.post(
                        f"{url}/api/gifts/send", json=body, headers={**auth, "Idempotency-Key": key}
                    ) as r:
                        if r.status == 201:
                            acked[key] = (await r.json())["transfer_id"]
                            if len(acked) >= 300:
                                enough.set()
                        else:
                            raise AssertionError(await r.text())
                except (TimeoutError, aiohttp.ClientError):
                    return  # the server died under this request: not acknowledged

        async def killer() -> None:
            await enough.wait()
            servers[0].kill()

        await asyncio.gather(killer(), *(worker() for _ in range(32)))
        assert 300 <= len(acked) < len(keys)

        checked = _cli(tmp_path, db_url, "ledger-check")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "ledger-check: OK" in checked.stdout

        db = Database(db_url)
        try:
            async with db.read() as conn:
                stored: dict[str, str] = dict(
                    (
                        await conn.execute(
                            sa.select(ledger_transfers.c.id, ledger_transfers.c.kind).where(
                                ledger_transfers.c.id.in_(list(acked.values()))
                            )
                        )
                    ).all()
                )
                sends_before = await conn.scalar(sa.select(sa.func.count()).select_from(gift_sends))
        finally:
            await db.close()
        assert set(stored) == set(acked.values()) and set(stored.values()) == {"gift"}

        # Restart; resend every key that was not acknowledged. Each lands once, the acknowledged ones replay.
        servers.append(Server(tmp_path, db_url))
        url = servers[1].url
        carla = await _login(http, url, "carla")
        auth = {"Authorization": f"Bearer {carla['access_token']}"}
        sample = [k for k in keys if k not in acked][:200] + list(acked)[:50]

        async def resend(key: str) -> None:
            async with http.post(f"{url}/api/gifts/send", json=body, headers={**auth, "Idempotency-Key": key}) as r:
                assert r.status == 201, await r.text()
                if key in acked:
                    assert (await r.json())["transfer_id"] == acked[key]

        await asyncio.gather(*(resend(k) for k in sample))
        async with http.get(f"{url}/api/wallets", headers=auth) as r:
            coins = (await r.json())["coins"]
    db = Database(db_url)
    try:
        async with db.read() as conn:
            sends = int(await conn.scalar(sa.select(sa.func.count()).select_from(gift_sends)) or 0)
        report = await audit(db)  # the CLI proved itself right after the kill; in process is quicker
    finally:
        await db.close()
    assert sends >= (sends_before or 0) and sends <= (sends_before or 0) + 200
    assert coins == 100_000 - 5 * sends  # one heart (5 coins) per stored send, no more, no less
    assert report.ok, report.lines()
