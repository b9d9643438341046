"""Charged gifts per second and p50/p99 latency through Gifting.send and the ledger, SQLite and PostgreSQL.

Each gift is the full domain path the HTTP endpoint and the live rooms use: catalog and receiver checks,
then one linked transfer (coins from the sender, diamonds to the creator) plus its gift_sends row, committed
by the ledger's group-commit writer. ``--batch 1`` turns group commit off, for the ratio.

    python -m benchmarks.ledger                       # SQLite, 3 s per row
    python -m benchmarks.ledger --postgres auto       # also a throwaway PostgreSQL (needs initdb)
    python -m benchmarks.ledger --seconds 10 --concurrency 64,256,1024
    python -m benchmarks.ledger --http                # also over real HTTP against `mixillo serve`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from api.economy.catalog import seed_catalog
from api.economy.directory import UserDirectory
from api.economy.gifts import Gifting
from benchmarks.toolkit.tables import markdown_header, markdown_row
from store import migrate
from store.database import Database
from store.ids import new_id
from store.ledger import Account, Currency, Ledger, Leg, System, TransferRequest
from store.ledger.audit import audit
from store.schema.accounts import users
from store.types import utcnow

SENDERS = 200
CREATORS = 5


async def _setup(db: Database) -> tuple[list[str], list[str]]:
    await migrate.upgrade(db)
    now = utcnow()
    ids = [new_id() for _ in range(SENDERS + CREATORS)]
    async with db.write() as conn:
        await seed_catalog(conn)
        await conn.execute(
            users.insert(),
            [
                {
                    "id": i,
                    "username": f"b{i.lower()}",
                    "email": f"{i.lower()}@bench.test",
                    "password_hash": "x",
                    "role": "user",
                    "display_name": "bench",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
    book = Ledger(db)
    await asyncio.gather(
        *(
            book.post(
                TransferRequest(
                    f"bench-fund:{i}",
                    "purchase",
                    (
                        Leg(
                            Account.system(System.CLEARING, Currency.COINS),
                            Account.user(i, Currency.COINS),
                            10**9,
                        ),
                    ),
                )
            )
            for i in ids[:SENDERS]
        )
    )
    await book.close()
    return ids[:SENDERS], ids[SENDERS:]


async def run_domain(url: str, concurrency: int, seconds: float, batch: int) -> dict[str, float]:
    db = Database(url)
    try:
        senders, creators = await _setup(db)
        ledger = Ledger(db, max_batch=batch)
        gifting = Gifting(db, ledger, UserDirectory(db), creator_share_percent=50)
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        counter = 0

        async def worker(n: int) -> None:
            nonlocal counter
            sender = senders[n % len(senders)]
            while time.perf_counter() < deadline:
                counter += 1
                start = time.perf_counter()
                await gifting.send(sender, creators[counter % len(creators)], "heart", key=f"b:{n}:{counter}")
                latencies.append(time.perf_counter() - start)

        began, cpu_began = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        batches = ledger.batches
        await ledger.close()
        report = await audit(db)
        if not report.ok:
            raise SystemExit("\n".join(report.lines()))
        return _row(latencies, elapsed, batches, cpu)
    finally:
        await db.close()


ROOT = Path(__file__).resolve().parent.parent


def _start_server(url: str, data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    """Seed demo data and start `mixillo serve` on a free port (blocking; run it in a thread)."""
    from tests.services import free_port, wait_for_port

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MIXILLO_DATA_DIR": data_dir,
        "DATABASE_URL": url,
        "MIXILLO_LOG_LEVEL": "WARNING",
        "MIXILLO_RATE_WRITE_PER_USER": "100000000",
        "MIXILLO_RATE_WRITE_PER_IP": "100000000",
        "MIXILLO_RATE_AUTH_PER_IP": "100000",
    }
    subprocess.run([sys.executable, "-m", "api.cli", "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    wait_for_port(port, 30, server)
    return server, f"http://127.0.0.1:{port}"


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(10)


async def run_http(url: str, data_dir: str, concurrency: int, seconds: float, keys: bool) -> dict[str, float]:
    """Gifts over real HTTP against a `mixillo serve` subprocess (the client runs in this process)."""
    import aiohttp

    server, base = await asyncio.to_thread(_start_server, url, data_dir)
    try:
        latencies: list[float] = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
            sessions = []
            for name in ("carla", "alice"):
                async with http.post(f"{base}/api/auth/login", json={"login": name, "password": "mixillo-demo"}) as r:
                    sessions.append(await r.json())
            auth = {"Authorization": f"Bearer {sessions[0]['access_token']}"}
            for _ in range(10):
                top_up = {"coins": 1_000_000, "payment_token": "tok_visa"}
                async with http.post(f"{base}/api/wallets/top-up", json=top_up, headers=auth) as r:
                    assert r.status == 201, await r.text()
            body = {"gift_id": "heart", "receiver_id": sessions[1]["user"]["id"]}
            deadline = time.perf_counter() + seconds

            sent = 0

            async def worker() -> None:
                nonlocal sent
                while time.perf_counter() < deadline:
                    sent += 1
                    headers = {**auth, "Idempotency-Key": f"bench-{sent}"} if keys else auth
                    start = time.perf_counter()
                    async with http.post(f"{base}/api/gifts/send", json=body, headers=headers) as r:
                        assert r.status == 201, await r.text()
                    latencies.append(time.perf_counter() - start)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
    finally:
        await asyncio.to_thread(_stop_server, server)
    return _row(latencies, elapsed, 0)


def _row(latencies: list[float], elapsed: float, batches: int, cpu: float = 0.0) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "gifts": len(ordered),
        "per_s": len(ordered) / elapsed,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "batch": len(ordered) / batches if batches else 0.0,
        # CPU of this process (all threads, SQLite's included) per gift: capacity that shared cores hide.
        "cpu_us": cpu / len(ordered) * 1e6 if ordered else 0.0,
    }


@contextlib.contextmanager
def _postgres(spec: str | None) -> Iterator[str | None]:
    if spec is None:
        yield None
    elif spec == "auto":
        from tests.services import postgres

        with postgres() as url:
            yield url
    else:
        yield spec


async def _fresh_pg(admin_url: str) -> str:
    import asyncpg

    name = f"bench_{new_id().lower()}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def main_async(args: argparse.Namespace) -> None:
    levels = [int(c) for c in args.concurrency.split(",")]
    print(markdown_header(["backend", "path", "batch", "conc", "gifts", "gifts/s", "p50 ms", "p99 ms", "avg batch",
                           "cpu us/gift"]))
    with _postgres(args.postgres) as pg, tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, str | None]] = [("sqlite", None)] + ([("postgres", pg)] if pg else [])
        for backend, admin in backends:
            for batch in (args.batch, 1) if args.batch != 1 else (1,):
                for concurrency in levels:
                    if admin is None:
                        url = f"sqlite:///{Path(tmp) / f'{new_id()}.db'}"
                    else:
                        url = await _fresh_pg(admin)
                    row = await run_domain(url, concurrency, args.seconds, batch)
                    print(markdown_row([backend, "domain", str(batch), str(concurrency), f"{row['gifts']:.0f}",
                                        f"{row['per_s']:.0f}", f"{row['p50']:.2f}", f"{row['p99']:.2f}",
                                        f"{row['batch']:.1f}", f"{row['cpu_us']:.0f}"]), flush=True)
            if args.http:
                url = f"sqlite:///{Path(tmp) / 'http.db'}" if admin is None else await _fresh_pg(admin)
                row = await run_http(url, f"{tmp}/http-{backend}", levels[-1], args.seconds, args.http_keys)
                path = "http+key" if args.http_keys else "http"
                print(markdown_row([backend, path, str(args.batch), str(levels[-1]), f"{row['gifts']:.0f}",
                                    f"{row['per_s']:.0f}", f"{row['p50']:.2f}", f"{row['p99']:.2f}", "", ""]),
                      flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", default="256", help="comma-separated concurrent senders")
    parser.add_argument("--batch", type=int, default=512, help="group commit size (1 = off)")
    parser.add_argument("--postgres", help="a PostgreSQL admin URL, or 'auto' for a throwaway server")
    parser.add_argument("--http", action="store_true", help="also measure over HTTP against mixillo serve")
    parser.add_argument("--http-keys", action="store_true", help="send an Idempotency-Key with every HTTP gift")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
