"""REST API throughput and latency: GET /api/feed, GET /api/search, POST /api/content/:id/like on one process.

The server runs in a subprocess (``mixillo serve`` on a fresh SQLite database, or ``--database-url``) seeded
with users, follows and posts; the load comes from this process over loopback HTTP. Each endpoint gets a
closed-loop run (``--concurrency`` requests in flight, for ``--seconds``) that gives the maximum rate, then an
open-loop run at ``--rate`` requests/s that gives the latency a client sees at that load.

    .venv/bin/python -m benchmarks.api                 # short default run
    .venv/bin/python -m benchmarks.api --seconds 20 --rate 500 --posts 20000
    .venv/bin/python -m benchmarks.api --ab-root /work/main --feed-cache-size 0   # feed CPU, this tree vs another

``--ab-root`` starts a second server from another checkout on the same database and alternates closed-loop feed
runs between the two, so both see the same machine: the per-read CPU of two versions of the code, compared in
one run (on a shared machine, CPU per request drifts by 20% or more between runs minutes apart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import av
import numpy as np

from api.auth.tokens import AccessTokens, Role
from api.social.activity import decayed_log
from store import migrate
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.social import content_hashtags, contents, follows, profiles
from store.types import utcnow
from tests.services import free_port, wait_for_port

SECRET = "benchmark-secret-" + "x" * 40
WORDS = [
    "dance",
    "music",
    "cooking",
    "travel",
    "cats",
    "football",
    "makeup",
    "coding",
    "guitar",
    "sunset",
    "pizza",
    "yoga",
    "comedy",
    "science",
    "gaming",
    "beach",
]
Request = tuple[str, str, dict[str, str]]  # method, path (with query), headers


async def seed(url: str, media: Path, users_n: int, posts_n: int) -> list[str]:
    """Users, a follow graph (each follows 20 others), posts with captions and hashtags; returns user ids."""
    db = Database(url)
    rng = random.Random(7)
    try:
        await migrate.upgrade(db)
        now = utcnow()
        ids = [new_id() for _ in range(users_n)]
        user_rows = [
            dict(
                id=u,
                username=f"user{i}",
                email=f"user{i}@bench.test",
                password_hash="!",
                role="creator",
                display_name=f"{rng.choice(WORDS).title()} Fan {i}",
                status="active",
                created_at=now,
                updated_at=now,
            )
            for i, u in enumerate(ids)
        ]
        follow_rows = [
            dict(follower_id=u, followee_id=v, created_at=now)
            for u in ids
            for v in rng.sample([x for x in ids if x != u], min(20, users_n - 1))
        ]
        key = "content/bench/original.png"
        target = media / key
        target.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(target), "w", format="image2") as out:
            stream = out.add_stream("png")
            stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), dtype=np.uint8), format="rgb24")
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                out.mux(packet)
        post_rows, tag_rows = [], []
        for _ in range(posts_n):
            at = now - timedelta(seconds=rng.randint(0, 7 * 86400))
            words = rng.sample(WORDS, 3)
            content_id = new_id()
            post_rows.append(
                dict(
                    id=content_id,
                    creator_id=rng.choice(ids),
                    kind="image",
                    caption=f"{words[0]} and {words[1]} #{words[2]}",
                    status="ready",
                    media_prefix="content/bench",
                    image_key=key,
                    poster_key=key,
                    width=32,
                    height=32,
                    view_count=rng.randint(0, 1000),
                    like_count=0,
                    trend=decayed_log(1.0 + rng.random() * 10, at),
                    created_at=at,
                )
            )
            tag_rows.append(dict(content_id=content_id, tag=words[2]))
        async with db.write() as conn:
            for table, rows in (
                (users, user_rows),
                (profiles, [dict(user_id=u, updated_at=now) for u in ids]),
                (follows, follow_rows),
                (contents, post_rows),
                (content_hashtags, tag_rows),
            ):
                for start in range(0, len(rows), 500):
                    await conn.execute(table.insert(), rows[start : start + 500])
        return ids
    finally:
        await db.close()


async def closed_loop(
    session: aiohttp.ClientSession,
    base: str,
    requests: Iterator[Request],
    concurrency: int,
    seconds: float,
    expect: int,
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            method, path, headers = next(requests)
            start = time.perf_counter()
            async with session.request(method, base + path, headers=headers) as response:
                await response.read()
                if response.status != expect:
                    errors += 1
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return int(len(latencies) / elapsed), latencies, errors


async def open_loop(
    session: aiohttp.ClientSession,
    base: str,
    requests: Iterator[Request],
    rate: float,
    seconds: float,
    expect: int,
) -> tuple[int, list[float], int]:
    """Send at a fixed rate whatever the responses do; latency counts from the scheduled send time."""
    latencies: list[float] = []
    errors = 0
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(scheduled: float, request: Request) -> None:
        nonlocal errors
        method, path, headers = request
        async with session.request(method, base + path, headers=headers) as response:
            await response.read()
            if response.status != expect:
                errors += 1
        latencies.append(loop.time() - scheduled)

    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, next(requests))))
    await asyncio.gather(*tasks)
    return int(total / (loop.time() - start)), latencies, errors


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 2 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each run (default 4)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight, closed loop")
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s of the open-loop run")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--database-url", help="PostgreSQL URL instead of a fresh SQLite file")
    parser.add_argument(
        "--ab-root",
        type=Path,
        help="another checkout: compare its feed CPU per read with this tree's, in alternating runs",
    )
    parser.add_argument("--rounds", type=int, default=6, help="alternating runs per server with --ab-root")
    parser.add_argument(
        "--feed-path",
        default="/api/feed?limit=20",
        help="the feed request the --ab-root runs make (default: the first page)",
    )
    parser.add_argument(
        "--feed-cache-size",
        type=int,
        help="MIXILLO_FEED_CACHE_SIZE of the server (0: every feed read goes to the database)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mixillo-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'mixillo.db'}"
    ids = asyncio.run(seed(url, workdir / "media", args.users, args.posts))
    env = {
        **os.environ,
        "MIXILLO_DATA_DIR": str(workdir),
        "MIXILLO_JWT_SECRET": SECRET,
        "DATABASE_URL": url,
        "MIXILLO_LOG_LEVEL": "WARNING",
        "MIXILLO_RATE_WRITE_PER_USER": "1000000",
        "MIXILLO_RATE_WRITE_PER_IP": "1000000",
    }
    if args.feed_cache_size is not None:
        env["MIXILLO_FEED_CACHE_SIZE"] = str(args.feed_cache_size)
    servers: list[tuple[str, subprocess.Popen[bytes], int, list[str]]] = []
    try:
        roots: list[tuple[str, Path | None]] = [("this tree", None)]
        if args.ab_root:
            if args.database_url:
                raise SystemExit("--ab-root compares on SQLite: each checkout seeds a database of its own schema")
            roots.append((str(args.ab_root), args.ab_root.resolve()))
        for name, root in roots:
            port = free_port()
            server_env, server_ids = env, ids
            if root is not None:
                # The other checkout's schema may differ (its migrations): it seeds its own database, alike.
                data = workdir / "ab"
                other_url = f"sqlite:///{data / 'mixillo.db'}"
                server_env = {**env, "PYTHONPATH": str(root), "MIXILLO_DATA_DIR": str(data), "DATABASE_URL": other_url}
                server_ids = seed_in(root, other_url, data / "media", args.users, args.posts)
            command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
            # -m puts the working directory first on sys.path: the other checkout's code, not this one's.
            server = subprocess.Popen(command, env=server_env, stdout=subprocess.DEVNULL, cwd=root)
            servers.append((name, server, port, server_ids))
            wait_for_port(port, 30, server)
        if args.ab_root:
            asyncio.run(compare(args, [(n, f"http://127.0.0.1:{p}", s.pid, i) for n, s, p, i in servers]))
        else:
            _, server, port, _ = servers[0]
            asyncio.run(measure(args, f"http://127.0.0.1:{port}", ids, url, server.pid))
    finally:
        for _, server, _, _ in servers:
            server.terminate()
            server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def seed_in(root: Path, url: str, media: Path, users_n: int, posts_n: int) -> list[str]:
    """:func:`seed` as another checkout's code runs it; its user ids."""
    script = (
        "import asyncio, json, sys; from pathlib import Path; from benchmarks.api import seed; "
        "print(json.dumps(asyncio.run(seed(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, url, str(media), str(users_n), str(posts_n)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=True,
    )
    ids: list[str] = json.loads(done.stdout.splitlines()[-1])
    return ids


async def compare(args: argparse.Namespace, servers: list[tuple[str, str, int, list[str]]]) -> None:
    """Feed reads against each server in turn, ``--rounds`` times: CPU per read and the closed-loop rate."""
    tokens = AccessTokens(SECRET, 3600)
    rng = random.Random(11)

    def feed(ids: list[str]) -> Iterator[Request]:
        headers = [{"Authorization": f"Bearer {tokens.issue(u, Role.CREATOR, new_id())}"} for u in ids]
        while True:
            yield "GET", args.feed_path, rng.choice(headers)

    cpu: dict[str, list[float]] = {name: [] for name, _, _, _ in servers}
    rates: dict[str, list[int]] = {name: [] for name, _, _, _ in servers}
    streams = {name: feed(ids) for name, _, _, ids in servers}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        for name, base, _pid, _ids in servers:
            await closed_loop(session, base, streams[name], 4, 1.0, 200)  # warm up: imports, token cache
        for _ in range(args.rounds):
            for name, base, pid, _ids in servers:
                requests = streams[name]
                before = cpu_seconds(pid)
                rps, latencies, errors = await closed_loop(session, base, requests, args.concurrency, args.seconds, 200)
                if errors:
                    raise SystemExit(f"{name}: {errors} feed reads failed")
                cpu[name].append((cpu_seconds(pid) - before) * 1000 / max(1, len(latencies)))
                rates[name].append(rps)
    print(
        f"\nGET {args.feed_path} CPU per read, {args.rounds} alternating closed-loop runs of {args.seconds:g}s "
        f"({args.concurrency} in flight; feed cache size "
        f"{'default' if args.feed_cache_size is None else args.feed_cache_size}); load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"{'server':<28} {'CPU ms/read (median)':>20} {'runs':<40} {'max req/s (median)':>18}")
    for name, _, _, _ in servers:
        runs = ", ".join(f"{c:.2f}" for c in cpu[name])
        print(f"{name:<28} {statistics.median(cpu[name]):>20.3f} {runs:<40} {statistics.median(rates[name]):>18.0f}")
    ours = statistics.median(cpu[servers[0][0]])
    for name, _, _, _ in servers[1:]:
        print(f"CPU per read, {name} / this tree: {statistics.median(cpu[name]) / ours:.2f}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux ``/proc/<pid>/stat``, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(args: argparse.Namespace, base: str, ids: list[str], url: str, pid: int) -> None:
    tokens = AccessTokens(SECRET, 3600)
    headers = [{"Authorization": f"Bearer {tokens.issue(u, Role.CREATOR, new_id())}"} for u in ids]
    db = Database(url)
    async with db.read() as conn:
        posts = [r[0] for r in await conn.execute(contents.select().with_only_columns(contents.c.id))]
    await db.close()
    rng = random.Random(11)
    pairs = ((h, p) for p in posts for h in headers)  # each (user, post) like happens once

    def noop() -> Iterator[Request]:
        while True:
            yield "GET", "/healthz", {}

    def feed() -> Iterator[Request]:
        while True:
            yield "GET", "/api/feed?limit=20", rng.choice(headers)

    def search() -> Iterator[Request]:
        while True:
            yield "GET", f"/api/search?q={rng.choice(WORDS)}", rng.choice(headers)

    def like() -> Iterator[Request]:
        for h, post in pairs:
            yield "POST", f"/api/content/{post}/like", h

    cases: list[tuple[str, Callable[[], Iterator[Request]], int]] = [
        ("GET /healthz (baseline)", noop, 200),
        ("GET /api/feed", feed, 200),
        ("GET /api/search", search, 200),
        ("POST /api/content/:id/like", like, 200),
    ]
    rows = []
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        for name, make, expect in cases:
            requests = make()
            await closed_loop(session, base, requests, 4, 0.5, expect)  # warm up
            cpu_before = cpu_seconds(pid)
            rps, lat, err = await closed_loop(session, base, requests, args.concurrency, args.seconds, expect)
            # Server CPU per request does not depend on what else the machine runs, unlike the rates.
            cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / max(1, len(lat))
            # Past its maximum an open loop only measures its own queue: offer at most 80% of the maximum.
            offered = min(args.rate, 0.8 * rps)
            rate, open_lat, open_err = await open_loop(session, base, requests, offered, args.seconds, expect)
            rows.append(
                (
                    name,
                    rps,
                    pct(lat, 50),
                    pct(lat, 99),
                    rate,
                    pct(open_lat, 50),
                    pct(open_lat, 99),
                    err + open_err,
                    cpu_ms,
                )
            )
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"\nREST API on one process ({backend}; {len(ids)} users, {len(posts)} posts; "
        f"closed loop: {args.concurrency} in flight, {args.seconds:g}s; "
        f"open loop: {args.rate:g} req/s or 80% of the maximum; feed cache size "
        f"{'default' if args.feed_cache_size is None else args.feed_cache_size})"
    )
    header = (
        f"{'endpoint':<28} {'max req/s':>9} {'p50 ms':>7} {'p99 ms':>7} | {'at req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} | {'CPU ms/req':>10} {'req/s per core':>14}"
    )
    print(header)
    print("-" * len(header))
    for name, rps, p50, p99, rate, op50, op99, errors, cpu_ms in rows:
        print(
            f"{name:<28} {rps:>9} {p50:>7.1f} {p99:>7.1f} | {rate:>8} {op50:>7.1f} {op99:>7.1f} "
            f"{errors:>6} | "
            f"{cpu_ms:>10.2f} {1000 / cpu_ms if cpu_ms else float('nan'):>14.0f}"
        )
    baseline, feed_row = rows[0], rows[1]
    print(
        f"\nfeed: {feed_row[1] / 2000:.2f}x the 2,000 reads/s aim, "
        f"{feed_row[1] / max(1, baseline[1]):.2f}x the no-op endpoint on this machine; "
        f"p99 {feed_row[6]:.1f} ms at {feed_row[4]} req/s (aim: under 50 ms at 500); "
        f"{1000 / feed_row[8]:.0f} req/s per core of server CPU; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
