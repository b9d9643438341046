"""Live rooms: N Socket.IO viewers in one live and a gift storm: charged gifts/s and ack-to-arrival delay.

The server is its own process (``python -m api.cli serve`` on loopback, SQLite), in process (memory room
store) and with Redis (a throwaway ``redis-server``: Redis room store and ``AsyncRedisManager`` fan-out).
This process runs the N anonymous viewers (python-socketio ``AsyncClient`` over WebSocket) and G signed-in
givers that send gifts over ``/live`` at a set total rate. A gift's delay is from its acknowledgement at the
giver to the ``gift.sent`` event's arrival at each viewer. The server broadcasts a gift before it answers
the giver, so the event usually overtakes the ack: that delay is reported clamped at 0 ("ack→arrival"), next
to the full path from the giver's send to each viewer's arrival ("send→arrival") and to the ack ("send→ack");
"charged/s" counts gifts whose ack said ok, over the storm's duration; "lost" counts (gift, viewer) pairs
that never arrived.

    python -m benchmarks.rooms                                   # short: 100 viewers, 200 gifts/s, 5 s
    python -m benchmarks.rooms --viewers 500,2000 --rate 500,2000 --seconds 10 --givers 120
    python -m benchmarks.rooms --stores memory                   # skip the Redis run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from api.economy.catalog import seed_catalog
from store import migrate
from store.database import Database
from tests.services import free_port, redis_server, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def _serve(port: int, data_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 30.0, process)
    except BaseException:
        process.terminate()
        raise
    return process


async def _post(http: aiohttp.ClientSession, url: str, body: Any, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(url, json=body, headers=headers) as response:
        if response.status >= 300:
            raise RuntimeError(f"{url}: {response.status} {await response.text()}")
        return await response.json()


async def _register(http: aiohttp.ClientSession, base: str, name: str, **extra: Any) -> dict[str, Any]:
    body = {"username": name, "email": f"{name}@bench.test", "password": "correct horse battery", **extra}
    session: dict[str, Any] = await _post(http, f"{base}/api/auth/register", body)
    return session


class Audience:
    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.clients: list[socketio.AsyncClient] = []

    async def add(self, base: str, room: str, auth: dict[str, str] | None = None) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)

        async def on_gift(event: dict[str, Any]) -> None:
            self.arrivals.setdefault(event["data"]["transfer_id"], []).append(time.monotonic())

        client.on("gift.sent", on_gift, namespace="/live")
        await client.connect(base, namespaces=["/live"], auth=auth, transports=["websocket"], wait_timeout=30)
        answer = await client.call("join", {"room": room}, namespace="/live", timeout=30)
        if not answer.get("ok"):
            raise RuntimeError(f"join: {answer}")
        self.clients.append(client)
        return client

    async def close(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients), return_exceptions=True)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _storm(base: str, viewers: int, rate: float, seconds: float, givers: int, pid: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        tag = os.urandom(3).hex()
        host = await _register(http, base, f"h{tag}", account_type="creator")
        stream = await _post(http, f"{base}/api/livestreams", {"title": "bench"}, host["access_token"])
        await _post(http, f"{base}/api/livestreams/{stream['id']}/start", None, host["access_token"])
        senders = []
        for n in range(givers):
            fan = await _register(http, base, f"g{tag}{n}")
            await _post(http, f"{base}/api/wallets/top-up", {"coins": 100_000, "payment_token": "tok_visa"},
                        fan["access_token"])
            senders.append(fan)
    room, receiver = stream["id"], host["user"]["id"]
    audience = Audience()
    givers_audience = Audience()
    try:
        for start in range(0, viewers, 50):  # join in waves, as a live fills up
            await asyncio.gather(*(audience.add(base, room) for _ in range(start, min(viewers, start + 50))))
        sockets = [await givers_audience.add(base, room, {"token": s["access_token"]}) for s in senders]
        acks: dict[str, float] = {}
        sent_at: dict[str, float] = {}
        failures = 0
        total = int(rate * seconds)
        interval = 1 / rate

        async def send(n: int) -> None:
            nonlocal failures
            payload = {"room": room, "receiver_id": receiver, "gift_id": "rose", "key": f"b{tag}-{n}"}
            at = time.monotonic()
            answer = await sockets[n % len(sockets)].call("gift", payload, namespace="/live", timeout=60)
            if answer.get("ok"):
                acks[answer["transfer_id"]] = time.monotonic()
                sent_at[answer["transfer_id"]] = at
            else:
                failures += 1

        began = time.monotonic()
        cpu_before = _cpu_s(pid)
        tasks = []
        for n in range(total):
            delay = began + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(n)))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - began
        for _ in range(100):  # up to 10 s for the last events to arrive
            if sum(len(audience.arrivals.get(t, [])) for t in acks) >= len(acks) * viewers:
                break
            await asyncio.sleep(0.1)
        cpu_per_gift = (_cpu_s(pid) - cpu_before) / max(1, len(acks))
        delays = [max(0.0, at - acked) * 1000 for t, acked in acks.items() for at in audience.arrivals.get(t, [])]
        fanout = [(at - sent_at[t]) * 1000 for t in acks for at in audience.arrivals.get(t, [])]
        ack = [(acks[t] - sent_at[t]) * 1000 for t in acks]
        lost = len(acks) * viewers - len(delays)
    finally:
        await audience.close()
        await givers_audience.close()
    q, f, a = _quantiles(delays), _quantiles(fanout), _quantiles(ack)
    return {"charged_per_s": len(acks) / elapsed, "offered_per_s": rate, "refused": failures,
            "p50": q[49], "p99": q[98], "fan50": f[49], "fan99": f[98], "ack50": a[49], "ack99": a[98],
            "lost": lost, "cpu_us": cpu_per_gift * 1e6}


def _quantiles(values: list[float]) -> list[float]:
    return statistics.quantiles(values, n=100) if len(values) >= 2 else [0.0] * 99


async def _run(store: str, viewers: list[int], rates: list[float], seconds: float, givers: int) -> list[list[str]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rooms-") as tmp, \
            (redis_server() if store == "redis" else _nothing()) as redis_url:
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(database_url)
        await migrate.upgrade(db)
        async with db.write() as conn:
            await seed_catalog(conn)
        await db.close()
        env = {**os.environ, "DATABASE_URL": database_url, "MIXILLO_JWT_SECRET": "bench-secret-0123456789abcdef0123",
               "MIXILLO_LOG_LEVEL": "WARNING", "MIXILLO_RATE_AUTH_PER_IP": "1000000",
               "MIXILLO_RATE_WRITE_PER_IP": "1000000", "MIXILLO_RATE_WRITE_PER_USER": "1000000"}
        if redis_url:
            env["REDIS_URL"] = redis_url
        port = free_port()
        server = await asyncio.to_thread(_serve, port, Path(tmp) / "data", env)
        try:
            for n in viewers:
                for rate in rates:
                    r = await _storm(f"http://127.0.0.1:{port}", n, rate, seconds, givers, server.pid)
                    rows.append([store, str(n), f"{rate:.0f}", f"{r['charged_per_s']:.0f}", str(r["refused"]),
                                 f"{r['ack50']:.1f}", f"{r['ack99']:.1f}", f"{r['fan50']:.1f}", f"{r['fan99']:.1f}",
                                 f"{r['p50']:.1f}", f"{r['p99']:.1f}", str(r["lost"]), f"{r['cpu_us']:.0f}"])
                    print(" | ".join(rows[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(15)
    return rows


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", default="100", help="comma-separated viewer counts (500,2000)")
    parser.add_argument("--rate", default="200", help="comma-separated gift rates per second (all givers)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--givers", type=int, default=20, help="signed-in sockets sending (each under 20/s)")
    parser.add_argument("--stores", default="memory,redis")
    args = parser.parse_args()
    viewers = [int(v) for v in args.viewers.split(",")]
    rates = [float(r) for r in args.rate.split(",")]
    print("store | viewers | offered/s | charged/s | refused | send→ack p50/p99 | send→arrival p50/p99 | "
          "ack→arrival p50/p99 | lost | server CPU µs/gift")
    rows = []
    for store in args.stores.split(","):
        rows += asyncio.run(_run(store, viewers, rates, args.seconds, args.givers))
    print()
    print("| store | viewers | offered gifts/s | charged gifts/s | refused | send→ack p50 ms | p99 ms "
          "| send→arrival p50 ms | p99 ms | ack→arrival p50 ms | p99 ms | lost | server CPU µs/gift |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
