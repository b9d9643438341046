"""Live rooms: N Socket.IO viewers in one live and a gift storm: charged gifts/s and ack-to-arrival delay.

The server is its own process (``python -m api.cli serve`` on loopback, SQLite), in process (memory room
store) and with Redis (a throwaway ``redis-server``: Redis room store and the ``AsyncRedisManager`` fan-out).
Worker processes run the N anonymous viewers, ``--per-worker`` each: ``--client raw`` (the default,
``benchmarks.raw_viewers``: asyncio protocols that only append each read during the storm and decode it
afterwards, so 2,000 viewers cost a small part of a core; they offer permessage-deflate as browsers do,
``--no-deflate``: plain frames), ``light`` (``LightAudience``, a minimal Engine.IO
v4 / Socket.IO v5 client on aiohttp that parses as it reads) or ``socketio`` (python-socketio's
``AsyncClient``). This process runs G signed-in givers that send gifts over ``/live`` at a set total rate
(raw: ``benchmarks.raw_givers``, one frame per gift, connected but not joined; otherwise python-socketio
clients that join). The server refuses a socket over 20 events/s, so G must exceed rate / 20.
``--batch``: everyone joins with ``batch: true`` (one ``events`` frame per tick). A gift's delay is from its
acknowledgement at the giver to the ``gift.sent`` event's arrival at each viewer, clamped at 0 because
per-event delivery broadcasts a gift before it answers the giver ("ack→arrival"), next to the full path
from the giver's send to each viewer's arrival ("send→arrival") and to the ack ("send→ack"); the workers
return these as 0.1 ms histograms. "charged/s" counts gifts whose ack said ok, over the time from the first
send to the last ack; "late" counts (gift, viewer) pairs not delivered 5 s after the storm ended;
"disorder" frames whose first seq was below one the viewer had seen; server CPU is read from ``/proc`` (per
gift, and per gift and recipient), Redis CPU from ``INFO cpu``, and the server's RSS growth per connected
viewer from ``/proc/<pid>/status``; the cores the server, the driver and the viewers' workers used during
the storm are printed per row. ``--server-root`` serves another checkout (a before/after).

    python -m benchmarks.rooms                                   # short: 100 viewers, 200 gifts/s, 5 s, both stores
    python -m benchmarks.rooms --viewers 500,2000 --rate 10,1000,2000,3000 --givers 200 --stores memory --batch
    python -m benchmarks.rooms --stores memory --server-root /work/main   # the main branch, per-event
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
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
from benchmarks.raw_givers import RawGivers
from benchmarks.raw_viewers import RawAudience
from store import migrate
from store.database import Database
from tests.services import free_port, redis_server, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def _serve(port: int, data_dir: Path, env: dict[str, str], root: Path = ROOT) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir)], env={**env, "PYTHONPATH": str(root)}, cwd=root,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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

    async def add(self, base: str, room: str, auth: dict[str, str] | None = None, *,
                  batch: bool = False) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)

        async def on_gift(event: dict[str, Any]) -> None:
            self.arrivals.setdefault(event["data"]["transfer_id"], []).append(time.monotonic())

        async def on_batch(events: list[dict[str, Any]]) -> None:
            at = time.monotonic()
            for event in events:
                if event["data"]["type"] == "gift.sent":
                    self.arrivals.setdefault(event["data"]["transfer_id"], []).append(at)

        client.on("gift.sent", on_gift, namespace="/live")
        client.on("events", on_batch, namespace="/live")
        await client.connect(base, namespaces=["/live"], auth=auth, transports=["websocket"], wait_timeout=30)
        join = {"room": room, "batch": True} if batch else {"room": room}  # a server without batches refuses the key
        answer = await client.call("join", join, namespace="/live", timeout=30)
        if not answer.get("ok"):
            raise RuntimeError(f"join: {answer}")
        self.clients.append(client)
        return client

    async def close(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients), return_exceptions=True)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    return sum(_cpu_split_s(pid))


def _cpu_split_s(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def _worker(base: str, room: str, count: int, *, client: str = "socketio", batch: bool = False,
                  deflate: bool = True) -> None:
    """A viewer process: ``count`` viewers join, "ready" is printed, then stdin is read to its end. Empty:
    the arrival times (``time.monotonic``, one clock for every process on the machine) are printed as JSON.
    A JSON object ``{transfer_id: [sent, acked]}``: the delays are printed as histograms instead
    (``_histograms``), which stay small whatever the number of (gift, viewer) pairs."""
    audience: Audience | LightAudience | RawAudience = (
        RawAudience(deflate=deflate) if client == "raw" else LightAudience() if client == "light" else Audience())
    for start in range(0, count, 50):
        await asyncio.gather(*(audience.add(base, room, batch=batch) for _ in range(start, min(count, start + 50))))
    if isinstance(audience, RawAudience):
        audience.record()
    print("ready", flush=True)
    timings = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await audience.close()
    if isinstance(audience, RawAudience):  # decoded now, after the storm
        print(json.dumps(audience.report(json.loads(timings) if timings.strip() else {})), flush=True)
        return
    if not timings.strip():
        print(json.dumps(audience.arrivals), flush=True)
        return
    print(json.dumps(_histograms(audience, json.loads(timings))), flush=True)


def _histograms(audience: Audience | LightAudience, timings: dict[str, list[float]]) -> dict[str, Any]:
    """ack→arrival (clamped at 0) and send→arrival delays in 0.1 ms buckets, arrivals, disorder count."""
    ack: dict[int, int] = {}
    send: dict[int, int] = {}
    delivered = 0
    for transfer, (sent, acked) in timings.items():
        for at in audience.arrivals.get(transfer, []):
            delivered += 1
            a, f = int(max(0.0, at - acked) * 10_000), int((at - sent) * 10_000)
            ack[a] = ack.get(a, 0) + 1
            send[f] = send.get(f, 0) + 1
    return {"ack": ack, "send": send, "delivered": delivered,
            "disorder": getattr(audience, "disorder", 0)}


_TRANSFER = re.compile(r'"transfer_id":"([^"]+)"')
_SEQ = re.compile(r'"seq":(\d+)')


class LightAudience:
    """Minimal Engine.IO v4 / Socket.IO v5 viewers over aiohttp WebSockets: open, connect to ``/live``, join,
    answer pings, and note the arrival of each ``gift.sent`` (per-event or in an ``events`` batch) by a scan
    of the frame for transfer ids, without decoding the JSON: ~10x less client CPU per viewer than
    python-socketio's client, so 2,000 viewers fit in a few processes. Each viewer's reader task is owned
    here and cancelled by ``close``; ``disorder`` counts frames whose first seq is below one seen before."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.disorder = 0
        self._http: aiohttp.ClientSession | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def add(self, base: str, room: str, auth: dict[str, str] | None = None, *, batch: bool = False) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        url = base.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
        ws = await self._http.ws_connect(url, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=5))
        opened = await ws.receive_str(timeout=30)
        if not opened.startswith("0{"):  # Engine.IO OPEN
            raise RuntimeError(f"Engine.IO open: {opened!r}")
        await ws.send_str("40/live," + (json.dumps(auth) if auth else ""))  # Socket.IO CONNECT to /live
        connected = await ws.receive_str(timeout=30)
        if not connected.startswith("40/live,"):
            raise RuntimeError(f"/live connect: {connected!r}")
        join = {"room": room, "batch": True} if batch else {"room": room}
        await ws.send_str("42/live,1" + json.dumps(["join", join]))  # EVENT, ack id 1
        while True:
            text = await ws.receive_str(timeout=30)
            if text.startswith("43/live,1["):  # ACK 1
                answer = json.loads(text[len("43/live,1"):])[0]
                if not answer.get("ok"):
                    raise RuntimeError(f"join: {answer}")
                break
            if text == "2":
                await ws.send_str("3")
        self._readers.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        last = 0
        arrivals = self.arrivals
        try:
            async for message in ws:
                text = message.data
                if not isinstance(text, str):
                    continue
                if text == "2":  # Engine.IO PING: answer PONG or the server closes the socket
                    await ws.send_str("3")
                    continue
                at = time.monotonic()
                for transfer in _TRANSFER.findall(text):
                    arrivals.setdefault(transfer, []).append(at)
                seqs = _SEQ.findall(text)
                if seqs:
                    if int(seqs[0]) < last:
                        self.disorder += 1
                    last = max(last, int(seqs[-1]))
        finally:
            await ws.close()

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self._http is not None:
            await self._http.close()


class Viewers:
    """The audience, in worker processes so that the clients' own CPU is not the server's bottleneck."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, base: str, room: str, viewers: int, per_worker: int, *, client: str = "socketio",
                    batch: bool = False, deflate: bool = True) -> None:
        counts = [min(per_worker, viewers - n) for n in range(0, viewers, per_worker)]
        for count in counts:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.rooms", "--worker", base, room, str(count), "--client", client,
                *(["--batch"] if batch else []), "--deflate" if deflate else "--no-deflate",
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

    async def histograms(self, timings: dict[str, list[float]]) -> dict[str, Any]:
        """Each worker's delays for ``{transfer_id: [sent, acked]}`` (``_histograms``), merged."""
        merged: dict[str, Any] = {"ack": {}, "send": {}, "delivered": 0, "disorder": 0, "pong_mismatch": 0,
                                  "partial": 0}
        body = json.dumps(timings).encode()
        for process in self.processes:
            out, _ = await process.communicate(body)
            part = json.loads(out.decode().strip().splitlines()[-1])
            for kind in ("ack", "send"):
                for bucket, count in part[kind].items():
                    merged[kind][int(bucket)] = merged[kind].get(int(bucket), 0) + count
            for count in ("delivered", "disorder", "pong_mismatch", "partial"):
                merged[count] += part.get(count, 0)
        return merged

    async def close(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _givers(base: str, count: int, coins: int = 100_000) -> list[dict[str, Any]]:
    """Signed-in fans with coins (registered ten at a time: each is a password hash on the server)."""
    tag = os.urandom(3).hex()
    async with aiohttp.ClientSession() as http:
        async def one(n: int) -> dict[str, Any]:
            fan = await _register(http, base, f"g{tag}{n}")
            await _post(http, f"{base}/api/wallets/top-up", {"coins": coins, "payment_token": "tok_visa"},
                        fan["access_token"])
            return fan

        fans: list[dict[str, Any]] = []
        for start in range(0, count, 10):
            fans += await asyncio.gather(*(one(n) for n in range(start, min(count, start + 10))))
    return fans


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _redis_cpu_s(redis_url: str | None) -> float:
    """redis-server's own CPU seconds (``INFO cpu``), 0 without Redis."""
    if not redis_url:
        return 0.0
    from redis.asyncio import Redis
    client = Redis.from_url(redis_url)
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _hist_quantile(histogram: dict[int, int], q: float) -> float:
    """The q-quantile (0..1) of a 0.1 ms histogram, in ms."""
    total = sum(histogram.values())
    if not total:
        return 0.0
    rank, seen = q * (total - 1), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen > rank:
            return bucket / 10
    return max(histogram) / 10


async def _storm(base: str, viewers: int, rate: float, seconds: float, givers: int, pid: int,
                 per_worker: int, *, client: str = "socketio", batch: bool = False, deflate: bool = True,
                 redis_url: str | None = None, senders: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    tag = os.urandom(3).hex()
    async with aiohttp.ClientSession() as http:
        host = await _register(http, base, f"h{tag}", account_type="creator")
        stream = await _post(http, f"{base}/api/livestreams", {"title": "bench"}, host["access_token"])
        await _post(http, f"{base}/api/livestreams/{stream['id']}/start", None, host["access_token"])
    senders = (senders or [])[:givers] or await _givers(base, givers)
    room, receiver = stream["id"], host["user"]["id"]
    audience = Viewers()
    givers_audience = Audience()
    raw_givers = RawGivers()
    try:
        rss_before = _rss_kib(pid)
        await audience.start(base, room, viewers, per_worker, client=client, batch=batch, deflate=deflate)
        if client == "raw":  # raw givers connect signed in and do not join (benchmarks/raw_givers.py)
            for s in senders:
                await raw_givers.add(base, s["access_token"])
            sockets = []
        else:
            sockets = [await givers_audience.add(base, room, {"token": s["access_token"]}, batch=batch)
                       for s in senders]
        rss_per_viewer = (_rss_kib(pid) - rss_before) / (viewers + givers)
        acks: dict[str, float] = {}
        sent_at: dict[str, float] = {}
        failures = 0
        total = int(rate * seconds)
        interval = 1 / rate
        payloads = [{"room": room, "receiver_id": receiver, "gift_id": "rose", "key": f"b{tag}-{n}"}
                    for n in range(total)]

        async def send(n: int) -> None:
            nonlocal failures
            at = time.monotonic()
            try:
                answer = await sockets[n % len(sockets)].call("gift", payloads[n], namespace="/live", timeout=60)
            except socketio.exceptions.TimeoutError:  # the server is far behind: count it, keep the run
                failures += 1
                return
            if answer.get("ok"):
                acks[answer["transfer_id"]] = time.monotonic()
                sent_at[answer["transfer_id"]] = at
            else:
                failures += 1

        await asyncio.sleep(1)  # the joins' own events settle
        began = time.monotonic()
        cpu_before, redis_before = _cpu_s(pid), await _redis_cpu_s(redis_url)
        split_before = _cpu_split_s(pid)
        driver_before = time.process_time()
        viewers_before = sum(_cpu_s(p.pid) for p in audience.processes)
        if client == "raw":
            sent, _ = await raw_givers.storm(payloads, rate)
            for n, (at, answer) in raw_givers.acks.items():
                if isinstance(answer, dict) and answer.get("ok"):
                    acks[answer["transfer_id"]] = at
                    sent_at[answer["transfer_id"]] = sent[n]
            failures = total - len(acks)  # refused, or no ack within 60 s
            elapsed = max([*acks.values(), sent[-1] if sent else began]) - began
        else:
            tasks = []
            for n in range(total):
                delay = began + n * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(n)))
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - began
        driver_share = (time.process_time() - driver_before) / elapsed  # the givers' process, in cores
        server_share = (_cpu_s(pid) - cpu_before) / elapsed
        viewers_share = (sum(_cpu_s(p.pid) for p in audience.processes) - viewers_before) / elapsed
        await asyncio.sleep(5)  # the last events' fan-out
        cpu_per_gift = (_cpu_s(pid) - cpu_before) / max(1, len(acks))
        user, system = (after - before for after, before in zip(_cpu_split_s(pid), split_before, strict=True))
        system_share = system / max(1e-9, user + system)
        redis_per_gift = (await _redis_cpu_s(redis_url) - redis_before) / max(1, len(acks))
        ack = [(acks[t] - sent_at[t]) * 1000 for t in acks]
        merged = await audience.histograms({t: [sent_at[t], acks[t]] for t in acks})
    finally:
        await audience.close()
        await givers_audience.close()
        await raw_givers.close()
    a = _quantiles(ack)
    return {"charged_per_s": len(acks) / elapsed, "offered_per_s": rate, "refused": failures,
            "p50": _hist_quantile(merged["ack"], 0.5), "p99": _hist_quantile(merged["ack"], 0.99),
            "fan50": _hist_quantile(merged["send"], 0.5), "fan99": _hist_quantile(merged["send"], 0.99),
            "ack50": a[49], "ack99": a[98], "lost": len(acks) * viewers - merged["delivered"],
            "disorder": merged["disorder"], "cpu_us": cpu_per_gift * 1e6,
            "cpu_us_per_recipient": cpu_per_gift * 1e6 / viewers, "redis_us": redis_per_gift * 1e6,
            "rss_kib_per_viewer": rss_per_viewer, "driver_cores": driver_share, "server_cores": server_share,
            "server_system_share": system_share, "viewers_cores": viewers_share,
            "pong_mismatch": merged["pong_mismatch"], "partial": merged["partial"]}


def _quantiles(values: list[float]) -> list[float]:
    return statistics.quantiles(values, n=100) if len(values) >= 2 else [0.0] * 99


async def _run(store: str, viewers: list[int], rates: list[float], seconds: float, givers: int,
               per_worker: int, *, client: str = "socketio", batch: bool = False, deflate: bool = True,
               server_root: Path = ROOT) -> list[list[str]]:
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
        server = await asyncio.to_thread(_serve, port, Path(tmp) / "data", env, server_root)
        try:
            senders = await _givers(f"http://127.0.0.1:{port}", givers)  # reused by each storm
            for n in viewers:
                for rate in rates:
                    r = await _storm(f"http://127.0.0.1:{port}", n, rate, seconds, givers, server.pid,
                                     per_worker, client=client, batch=batch, deflate=deflate, redis_url=redis_url,
                                     senders=senders)
                    delivery = ("batch" if batch else "event") + (", deflate" if deflate and client == "raw" else "")
                    rows.append([store, delivery, str(n), f"{rate:.0f}",
                                 f"{r['charged_per_s']:.0f}", str(r["refused"]),
                                 f"{r['ack50']:.1f}", f"{r['ack99']:.1f}", f"{r['fan50']:.1f}", f"{r['fan99']:.1f}",
                                 f"{r['p50']:.1f}", f"{r['p99']:.1f}", str(r["lost"]), str(r["disorder"]),
                                 f"{r['cpu_us']:.0f}", f"{r['cpu_us_per_recipient']:.2f}",
                                 f"{r['redis_us']:.0f}" if redis_url else "—", f"{r['rss_kib_per_viewer']:.0f}"])
                    print(" | ".join(rows[-1]), f"load {os.getloadavg()[0]:.1f}",
                          f"cores during the storm: server {r['server_cores']:.2f}, driver {r['driver_cores']:.2f}, "
                          f"viewers {r['viewers_cores']:.2f};",
                          f"viewers with unanswered pings {r['pong_mismatch']}, cut frames {r['partial']};",
                          f"server CPU in the kernel {r['server_system_share']:.0%}",
                          flush=True)
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
    parser.add_argument("--per-worker", type=int, default=0,
                        help="viewers per client process (default: 1,000 raw viewers, 250 of the others)")
    parser.add_argument("--client", choices=("raw", "light", "socketio"), default="raw",
                        help="viewer client: raw asyncio protocols decoding after the storm (default), a minimal "
                             "Engine.IO/Socket.IO one on aiohttp, or python-socketio's")
    parser.add_argument("--batch", action="store_true", help="viewers and givers join with batch: true")
    parser.add_argument("--deflate", action=argparse.BooleanOptionalAction, default=True,
                        help="raw viewers offer permessage-deflate, as browsers, socket.io-client and dart:io do "
                             "(default); --no-deflate: plain frames")
    parser.add_argument("--server-root", type=Path, default=ROOT,
                        help="serve from this checkout (e.g. the main branch, for a before/after in one run)")
    parser.add_argument("--worker", nargs=3, metavar=("URL", "ROOM", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args.worker[0], args.worker[1], int(args.worker[2]), client=args.client,
                            batch=args.batch, deflate=args.deflate))
        return
    viewers = [int(v) for v in args.viewers.split(",")]
    rates = [float(r) for r in args.rate.split(",")]
    print("store | delivery | viewers | offered/s | charged/s | refused | send→ack p50/p99 | send→arrival p50/p99 | "
          "ack→arrival p50/p99 | late | disorder | server CPU µs/gift | µs/recipient | Redis CPU µs/gift | "
          "RSS KiB/viewer | load")
    per_worker = args.per_worker or (1000 if args.client == "raw" else 250)
    rows = []
    for store in args.stores.split(","):
        rows += asyncio.run(_run(store, viewers, rates, args.seconds, args.givers, per_worker,
                                 client=args.client, batch=args.batch, deflate=args.deflate,
                                 server_root=args.server_root))
    print()
    print("| store | delivery | viewers | offered gifts/s | charged gifts/s | refused | send→ack p50 ms | p99 ms "
          "| send→arrival p50 ms | p99 ms | ack→arrival p50 ms | p99 ms | late | disorder | server CPU µs/gift "
          "| µs/recipient | Redis CPU µs/gift | RSS KiB/viewer |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
