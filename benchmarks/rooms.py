"""Live rooms: N Socket.IO viewers in one live and a gift storm: charged gifts/s and ack-to-arrival delay.

The server is its own process (``python -m api.cli serve`` on loopback, SQLite), in process (memory room
store) and with Redis (a throwaway ``redis-server``: Redis room store and ``AsyncRedisManager`` fan-out).
Worker processes run the N anonymous viewers (python-socketio ``AsyncClient`` over WebSocket, 250 per
process) and this process G signed-in givers that send gifts over ``/live`` at a set total rate. A gift's
delay is from its acknowledgement at the giver to the ``gift.sent`` event's arrival at each viewer. The
server broadcasts a gift before it answers the giver, so the event usually overtakes the ack: that delay is
reported clamped at 0 ("ack→arrival"), next to the full path from the giver's send to each viewer's arrival
("send→arrival") and to the ack ("send→ack"); "charged/s" counts gifts whose ack said ok, over the storm's
duration; "late" counts (gift, viewer) pairs not delivered 5 s after the storm ended; server CPU is read from ``/proc``.

    python -m benchmarks.rooms                                   # short: 100 viewers, 200 gifts/s, 5 s, both stores
    python -m benchmarks.rooms --viewers 500,2000 --rate 500,2000 --seconds 10 --givers 120
    python -m benchmarks.rooms --stores memory                   # skip the Redis run
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def _worker(base: str, room: str, count: int) -> None:
    """A viewer process: ``count`` viewers join, "ready" is printed, and when stdin closes the arrival times
    (``time.monotonic``, one clock for every process on the machine) are printed as JSON."""
    audience = Audience()
    for start in range(0, count, 50):
        await asyncio.gather(*(audience.add(base, room) for _ in range(start, min(count, start + 50))))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await audience.close()
    print(json.dumps(audience.arrivals), flush=True)


class Viewers:
    """The audience, in worker processes so that the clients' own CPU is not the server's bottleneck."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, base: str, room: str, viewers: int, per_worker: int) -> None:
        counts = [min(per_worker, viewers - n) for n in range(0, viewers, per_worker)]
        for count in counts:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.rooms", "--worker", base, room, str(count),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
            self.processes.append(process)
        for process in self.processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 300)
            if line.strip() != b"ready":
                raise RuntimeError(f"a viewer worker failed: {line!r}")

    async def arrivals(self) -> dict[str, list[float]]:
        merged: dict[str, list[float]] = {}
        for process in self.processes:
            out, _ = await process.communicate(b"")
            for transfer, times in json.loads(out.decode().strip().splitlines()[-1]).items():
                merged.setdefault(transfer, []).extend(times)
        return merged

    async def close(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _storm(base: str, viewers: int, rate: float, seconds: float, givers: int, pid: int,
                 per_worker: int) -> dict[str, Any]:
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
    audience = Viewers()
    givers_audience = Audience()
    try:
        await audience.start(base, room, viewers, per_worker)
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
        await asyncio.sleep(5)  # the last events' fan-out
        cpu_per_gift = (_cpu_s(pid) - cpu_before) / max(1, len(acks))
        arrivals = await audience.arrivals()
        delays = [max(0.0, at - acked) * 1000 for t, acked in acks.items() for at in arrivals.get(t, [])]
        fanout = [(at - sent_at[t]) * 1000 for t in acks for at in arrivals.get(t, [])]
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


async def _run(store: str, viewers: list[int], rates: list[float], seconds: float, givers: int,
               per_worker: int) -> list[list[str]]:
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
                    r = await _storm(f"http://127.0.0.1:{port}", n, rate, seconds, givers, server.pid,
                                    per_worker)
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
    parser.add_argument("--per-worker", type=int, default=250, help="viewers per client process")
    parser.add_argument("--worker", nargs=3, metavar=("URL", "ROOM", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args.worker[0], args.worker[1], int(args.worker[2])))
        return
    viewers = [int(v) for v in args.viewers.split(",")]
    rates = [float(r) for r in args.rate.split(",")]
    print("store | viewers | offered/s | charged/s | refused | send→ack p50/p99 | send→arrival p50/p99 | "
          "ack→arrival p50/p99 | late | server CPU µs/gift")
    rows = []
    for store in args.stores.split(","):
        rows += asyncio.run(_run(store, viewers, rates, args.seconds, args.givers, args.per_worker))
    print()
    print("| store | viewers | offered gifts/s | charged gifts/s | refused | send→ack p50 ms | p99 ms "
          "| send→arrival p50 ms | p99 ms | ack→arrival p50 ms | p99 ms | late | server CPU µs/gift |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
