"""Analytics fed through AnalyticsFeed: request-path cost per event and end-to-end events/s, vs one write each.

Requests arrive as ``--clients`` concurrent tasks each "doing" ``--events / --clients`` likes on 50 posts of one
creator. "direct" awaits ``Analytics.record`` for every event (what a request would pay without the feed);
"feed" calls ``AnalyticsFeed.saw`` (a list append) and the feed's own task writes a batch every ``--flush``
seconds. The run ends when everything is in the buckets (``close`` writes the rest).

    python -m benchmarks.analytics_feed                     # SQLite, short
    python -m benchmarks.analytics_feed --postgres auto     # also a throwaway PostgreSQL
    python -m benchmarks.analytics_feed --events 100000 --clients 64
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.creator.analytics import ActivityEvent, Analytics, Metric
from api.creator.feed import AnalyticsFeed
from api.social.activity import Verb
from store import migrate
from store.database import Database
from store.ids import new_id
from store.schema.creator import analytics_buckets


async def bench(url: str, events: int, clients: int, mode: str, flush_s: float) -> dict[str, Any]:
    db = Database(url)
    await migrate.upgrade(db)
    try:
        analytics = Analytics(db)
        feed = AnalyticsFeed(analytics, flush_s)
        creator = new_id()
        posts = [new_id() for _ in range(50)]
        per_client = events // clients
        on_path = 0.0

        async def client(n: int) -> None:
            nonlocal on_path
            for i in range(per_client):
                post = posts[(n + i) % 50]
                t = time.perf_counter()
                if mode == "direct":
                    await analytics.record(ActivityEvent(Metric.LIKE, creator, post, f"u{n}"))
                else:
                    feed.saw(Verb.LIKE, f"u{n}", creator, post)
                on_path += time.perf_counter() - t
                await asyncio.sleep(0)  # other requests run between two of one client's

        feed.start()
        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        await feed.close()
        elapsed = time.perf_counter() - started
        async with db.read() as conn:
            stored = (
                await conn.execute(
                    sa.select(sa.func.sum(analytics_buckets.c.value)).where(
                        analytics_buckets.c.creator_id == creator, analytics_buckets.c.content_id != ""
                    )
                )
            ).scalar()
        return {
            "events/s": per_client * clients / elapsed,
            "µs/event on the request path": 1e6 * on_path / (per_client * clients),
            "stored": int(stored or 0),
        }
    finally:
        await db.close()


@contextlib.contextmanager
def _postgres(spec: str | None) -> Iterator[str | None]:
    if spec != "auto":
        yield spec
        return
    from tests.services import postgres  # the test harness's throwaway server

    with postgres() as url:
        yield url


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--flush", type=float, default=0.05, help="the feed's batching window, seconds")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL, or 'auto' for a throwaway server")
    args = parser.parse_args()
    print("| backend | mode | events | events/s | µs/event on the request path | stored |")
    print("|---|---|---|---|---|---|")
    with _postgres(args.postgres) as pg, tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", None)] + ([("PostgreSQL", pg)] if pg else [])
        results: dict[tuple[str, str], float] = {}
        for name, url in backends:
            for mode in ("direct", "feed"):
                # "direct" pays a transaction per event: a tenth of the events keeps the default run short.
                count = args.events // 10 if mode == "direct" else args.events
                r = await bench(url or f"sqlite:///{Path(tmp) / new_id()}.db", count, args.clients, mode, args.flush)
                results[(name, mode)] = r["events/s"]
                print(
                    f"| {name} | {mode} | {count:,} | {r['events/s']:,.0f} | "
                    f"{r['µs/event on the request path']:,.1f} | {r['stored']:,} |",
                    flush=True,
                )
        for name, _ in backends:
            print(f"{name}: feed / direct = {results[(name, 'feed')] / results[(name, 'direct')]:.1f}x events/s")


if __name__ == "__main__":
    asyncio.run(main())
