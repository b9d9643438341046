"""Creator analytics: activity events folded into hourly buckets as they happen, summed on request.

Every recorded event does one UPSERT per bucket it touches (the item's and the creator profile's) inside one
transaction, so the counters are always current and an endpoint reads a few dozen rows however many events
there were. ``live_peak`` keeps the maximum instead of a sum. The raw event is kept too (``activity_log``),
for item-to-item recommendations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from api.models import ResponseModel
from store.database import Database
from store.ids import new_id
from store.schema.creator import activity_log, analytics_buckets
from store.types import utcnow
from store.upsert import insert

PROFILE = ""  # content_id of the creator-wide buckets


class Metric(StrEnum):
    VIEW = "views"
    WATCH_MS = "watch_ms"
    LIKE = "likes"
    COMMENT = "comments"
    SHARE = "shares"
    FOLLOW = "follows"
    UNFOLLOW = "unfollows"
    GIFT = "gift_coins"
    ORDER = "orders"
    REVENUE = "revenue"
    LIVE_PEAK = "live_peak_viewers"


MAXIMA = frozenset({Metric.LIVE_PEAK})


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    metric: Metric
    creator_id: str
    item_id: str = PROFILE  # content, live or product id; PROFILE for follows
    actor_id: str | None = None
    value: int = 1
    at: datetime = field(default_factory=utcnow)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class MetricSeries(ResponseModel):
    metric: str
    total: int
    previous: int
    change_pct: float | None
    daily: list[int]


class Overview(ResponseModel):
    creator_id: str
    content_id: str | None
    days: int
    since: datetime
    metrics: list[MetricSeries]


class TopItem(ResponseModel):
    content_id: str
    views: int


class Profile(ResponseModel):
    creator_id: str
    follower_gain_28d: int
    all_time: dict[str, int]
    top_content: list[TopItem]


class Analytics:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, *events: ActivityEvent) -> None:
        """Fold events into their buckets: one UPSERT per distinct bucket, in one transaction."""
        folded: dict[tuple[str, str, str, datetime], int] = {}
        for event in events:
            for content_id in {event.item_id, PROFILE}:
                key = (event.creator_id, content_id, event.metric.value, hour_of(event.at))
                if event.metric in MAXIMA:
                    folded[key] = max(folded.get(key, 0), event.value)
                else:
                    folded[key] = folded.get(key, 0) + event.value
        sums = [(*k, v) for k, v in folded.items() if k[2] not in MAXIMA]
        peaks = [(*k, v) for k, v in folded.items() if k[2] in MAXIMA]
        log_rows = [
            {
                "id": new_id(),
                "kind": e.metric.value,
                "actor_id": e.actor_id,
                "creator_id": e.creator_id,
                "item_id": e.item_id,
                "value": e.value,
                "at": e.at,
            }
            for e in events
            if e.item_id != PROFILE
        ]
        async with self._db.write() as conn:
            for rows, keep_max in ((sums, False), (peaks, True)):
                if rows:
                    await conn.execute(
                        self._upsert(keep_max),
                        [
                            {"creator_id": c, "content_id": i, "metric": m, "bucket": b, "value": v}
                            for c, i, m, b, v in rows
                        ],
                    )
            if log_rows:
                await conn.execute(activity_log.insert(), log_rows)

    async def record_order(self, seller_id: str, buyer_id: str, product_ids: list[str], total: int) -> None:
        """The shop's hook (``api.commerce.orders.ActivitySink``)."""
        events = [ActivityEvent(Metric.ORDER, seller_id, pid, buyer_id) for pid in product_ids]
        events.append(ActivityEvent(Metric.REVENUE, seller_id, PROFILE, buyer_id, total))
        await self.record(*events)

    def _upsert(self, keep_max: bool) -> Any:
        stmt = insert(self._db.dialect, analytics_buckets)
        current = analytics_buckets.c.value
        merged = (
            sa.case((current > stmt.excluded.value, current), else_=stmt.excluded.value)
            if keep_max
            else current + stmt.excluded.value
        )
        return stmt.on_conflict_do_update(
            index_elements=["creator_id", "content_id", "metric", "bucket"], set_={"value": merged}
        )

    async def overview(self, creator_id: str, days: int, content_id: str | None = None) -> Overview:
        now = utcnow()
        start = hour_of(now) - timedelta(days=days) + timedelta(hours=1)
        before = start - timedelta(days=days)
        b = analytics_buckets.c
        query = sa.select(b.metric, b.bucket, b.value).where(
            b.creator_id == creator_id, b.content_id == (content_id or PROFILE), b.bucket >= before
        )
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
        series = []
        for metric in Metric:
            daily = [0] * days
            total = previous = 0
            for row in rows:
                if row.metric != metric:
                    continue
                if row.bucket < start:
                    previous = max(previous, row.value) if metric in MAXIMA else previous + row.value
                    continue
                index = min(days - 1, int((row.bucket - start).total_seconds() // 86400))
                if metric in MAXIMA:
                    daily[index] = max(daily[index], row.value)
                    total = max(total, row.value)
                else:
                    daily[index] += row.value
                    total += row.value
            change = None if previous == 0 else round(100.0 * (total - previous) / previous, 1)
            series.append(MetricSeries(metric=metric, total=total, previous=previous, change_pct=change, daily=daily))
        return Overview(creator_id=creator_id, content_id=content_id, days=days, since=start, metrics=series)

    async def owner_of(self, content_id: str) -> str | None:
        async with self._db.read() as conn:
            found = await conn.execute(
                sa.select(analytics_buckets.c.creator_id).where(analytics_buckets.c.content_id == content_id).limit(1)
            )
            return found.scalar_one_or_none()

    async def profile(self, creator_id: str) -> Profile:
        b = analytics_buckets.c
        since = utcnow() - timedelta(days=28)
        async with self._db.read() as conn:
            sums = await conn.execute(
                sa.select(b.metric, sa.func.sum(b.value).label("total"), sa.func.max(b.value).label("peak"))
                .where(b.creator_id == creator_id, b.content_id == PROFILE)
                .group_by(b.metric)
            )
            all_time = {r.metric: int(r.peak if r.metric in MAXIMA else r.total) for r in sums}
            gain = await conn.execute(
                sa.select(b.metric, sa.func.sum(b.value))
                .where(
                    b.creator_id == creator_id,
                    b.content_id == PROFILE,
                    b.bucket >= since,
                    b.metric.in_([Metric.FOLLOW, Metric.UNFOLLOW]),
                )
                .group_by(b.metric)
            )
            moves = {r[0]: int(r[1]) for r in gain}
            top = await conn.execute(
                sa.select(b.content_id, sa.func.sum(b.value).label("views"))
                .where(b.creator_id == creator_id, b.content_id != PROFILE, b.metric == Metric.VIEW)
                .group_by(b.content_id)
                .order_by(sa.desc("views"), b.content_id)
                .limit(10)
            )
            top_items = [TopItem(content_id=r.content_id, views=int(r.views)) for r in top]
        return Profile(
            creator_id=creator_id,
            follower_gain_28d=moves.get(Metric.FOLLOW, 0) - moves.get(Metric.UNFOLLOW, 0),
            all_time=all_time,
            top_content=top_items,
        )
