"""Orders per second (stock reservation, coupon, payment through the ledger) and analytics ingest and read cost.

Orders go through ``Orders.place``, the path ``POST /api/orders`` takes: the conditional stock UPDATE,
optionally a coupon redemption, the order rows, then payment: "coins" is one ledger transfer from a funded
wallet, "card" is a sandbox card charge that tops the wallet up (payment row + ledger transfer) and then the
same transfer, "none" stops before payment (``payments=None``), for the ratios. "hot" is every buyer on one
product (one row everyone locks), "spread" one product per buyer. Analytics records events (folded into one
UPSERT per bucket, plus a log row each) and then times the overview read, which must stay flat as events grow.

    python -m benchmarks.commerce                    # SQLite, short
    python -m benchmarks.commerce --postgres auto    # also a throwaway PostgreSQL (needs initdb), or a URL
    python -m benchmarks.commerce --orders 2000 --concurrency 16,64,256 --events 100000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.auth.tokens import Principal, Role
from api.commerce.coupons import Coupons
from api.commerce.models import Address, ItemRequest, OrderCreate
from api.commerce.orders import Orders
from api.commerce.payments import LedgerPayments, coins_for
from api.config import Settings
from api.creator.analytics import ActivityEvent, Analytics, Metric
from api.economy.economy import Economy
from api.problems import ApiError
from store import migrate
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.commerce import products
from store.types import utcnow

ADDRESS = Address(name="B", line1="1 Bench St", city="Lisbon", postal_code="1000", country="PT")


async def _users(db: Database, n: int, role: str) -> list[str]:
    now = utcnow()
    ids = [new_id() for _ in range(n)]
    async with db.write() as conn:
        await conn.execute(
            users.insert(),
            [
                {
                    "id": i,
                    "username": f"b{i.lower()}",
                    "email": f"{i.lower()}@bench.test",
                    "password_hash": "x",
                    "role": role,
                    "display_name": "bench",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
    return ids


async def _products(db: Database, seller: str, n: int, stock: int) -> list[str]:
    now = utcnow()
    ids = [new_id() for _ in range(n)]
    async with db.write() as conn:
        await conn.execute(
            products.insert(),
            [
                {
                    "id": i,
                    "seller_id": seller,
                    "title": "Bench item",
                    "description": "",
                    "category": "general",
                    "price": 500,
                    "currency": "USD",
                    "stock": stock,
                    "sold": 0,
                    "image_url": None,
                    "featured": False,
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
    return ids


async def bench_orders(url: str, total: int, concurrency: int, layout: str, pay: str) -> dict[str, Any]:
    db = Database(url)
    await migrate.upgrade(db)
    economy = Economy.build(db, Settings.model_validate({"data_dir": tempfile.mkdtemp()}))
    await economy.start()
    try:
        [seller] = await _users(db, 1, "creator")
        buyers = await _users(db, concurrency, "user")
        items = await _products(db, seller, 1 if layout == "hot" else concurrency, total)
        orders = Orders(db, Coupons(db), LedgerPayments(db, economy, 142) if pay != "none" else None)
        if pay == "coins":  # fund every buyer first (through the card sandbox), outside the timed part
            per_buyer = coins_for(500, 142) * total  # workers share one queue: any may take many
            for buyer in buyers:
                await economy.coins.top_up(buyer, per_buyer, "tok_visa", f"bench-fund:{buyer}")
        latencies: list[float] = []
        failures = 0
        queue = iter(range(total))

        async def worker(index: int) -> None:
            nonlocal failures
            who = Principal(buyers[index], Role.USER, "bench")
            item = items[0] if layout == "hot" else items[index]
            body = OrderCreate(
                items=[ItemRequest(product_id=item, quantity=1)],
                shipping_address=ADDRESS,
                payment_method="coins" if pay == "coins" else "card",
                payment_token="tok_visa",
            )
            for _ in queue:
                started = time.perf_counter()
                try:
                    await orders.place(who, body)
                except ApiError:
                    failures += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu
        latencies.sort()
        return {
            "orders/s": total / elapsed,
            "p50 ms": 1000 * statistics.median(latencies),
            "p99 ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "CPU µs/order": 1e6 * cpu_used / total,
            "failed": failures,
        }
    finally:
        await economy.close()
        await db.close()


async def bench_analytics(url: str, events: int, batch: int) -> dict[str, Any]:
    db = Database(url)
    await migrate.upgrade(db)
    try:
        analytics = Analytics(db)
        creator = new_id()
        content = [new_id() for _ in range(50)]
        metrics = [Metric.VIEW, Metric.LIKE, Metric.WATCH_MS, Metric.SHARE]
        started = time.perf_counter()
        for start in range(0, events, batch):
            await analytics.record(
                *(
                    ActivityEvent(metrics[i % 4], creator, content[i % 50], f"u{i % 997}", 1 + i % 7)
                    for i in range(start, min(events, start + batch))
                )
            )
        ingest = events / (time.perf_counter() - started)
        reads = []
        for _ in range(20):
            t = time.perf_counter()
            await analytics.overview(creator, 28)
            reads.append(time.perf_counter() - t)
        return {"events/s": ingest, "overview p50 ms": 1000 * statistics.median(reads)}
    finally:
        await db.close()


def _row(cells: list[Any]) -> str:
    return (
        "| "
        + " | ".join(
            f"{c:,.0f}" if isinstance(c, float) and c >= 100 else f"{c:.1f}" if isinstance(c, float) else str(c)
            for c in cells
        )
        + " |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--concurrency", default="32")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL, or 'auto' for a throwaway server")
    args = parser.parse_args()
    with _postgres(args.postgres) as pg:
        await _run(args, [("SQLite", None)] + ([("PostgreSQL", pg)] if pg else []))


@contextlib.contextmanager
def _postgres(spec: str | None) -> Iterator[str | None]:
    if spec != "auto":
        yield spec
        return
    from tests.services import postgres  # the test harness's throwaway server

    with postgres() as url:
        yield url


async def _run(args: argparse.Namespace, backends: list[tuple[str, str | None]]) -> None:
    print("| backend | layout | payment | buyers | orders/s | p50 ms | p99 ms | CPU µs/order | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, pg in backends:
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                for layout in ("hot", "spread"):
                    for pay in ("none", "coins", "card"):
                        url = pg or f"sqlite:///{Path(tmp) / new_id()}.db"
                        r = await bench_orders(url, args.orders, concurrency, layout, pay)
                        print(
                            _row(
                                [
                                    name,
                                    layout,
                                    pay,
                                    concurrency,
                                    r["orders/s"],
                                    r["p50 ms"],
                                    r["p99 ms"],
                                    r["CPU µs/order"],
                                    r["failed"],
                                ]
                            ),
                            flush=True,
                        )
        print()
        print("| backend | events | events/s (batches of 1) | events/s (batches of 100) | overview p50 ms |")
        print("|---|---|---|---|---|")
        for name, pg in backends:
            one = await bench_analytics(pg or f"sqlite:///{Path(tmp) / new_id()}.db", args.events // 10, 1)
            many = await bench_analytics(pg or f"sqlite:///{Path(tmp) / new_id()}.db", args.events, 100)
            print(_row([name, args.events, one["events/s"], many["events/s"], many["overview p50 ms"]]))


if __name__ == "__main__":
    asyncio.run(main())
