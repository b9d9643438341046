"""The analytics feed: what users do, told by the social and economy domains, batched into ``Analytics.record``.

Observers are called on the request path after the change committed, so :class:`AnalyticsFeed` only appends
to a buffer there. One task, owned by the feed, writes the buffer every ``flush_s`` seconds (one transaction,
one UPSERT per bucket touched, however many events arrived); ``close`` writes what is left. The events of a
batch whose write fails, and of at most one window if the process dies, are lost: these are counters for
creators, not the ledger, and the social and economy tables keep the facts themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.creator.analytics import PROFILE, ActivityEvent, Analytics, Metric
from api.economy.models import GiftReceipt
from api.social.activity import Verb

log = logging.getLogger(__name__)

_METRIC = {
    Verb.VIEW: Metric.VIEW,
    Verb.LIKE: Metric.LIKE,
    Verb.COMMENT: Metric.COMMENT,
    Verb.SHARE: Metric.SHARE,
    Verb.FOLLOW: Metric.FOLLOW,
    Verb.UNFOLLOW: Metric.UNFOLLOW,
}


class AnalyticsFeed:
    def __init__(self, analytics: Analytics, flush_s: float) -> None:
        self._analytics = analytics
        self._flush_s = flush_s
        self._buffer: list[ActivityEvent] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # Observers (api.social.activity.Observer, Gifting.observers) ---------------------------------------------

    def saw(self, verb: Verb, user_id: str, creator_id: str, content_id: str | None) -> None:
        metric = _METRIC.get(verb)
        if metric is not None and user_id != creator_id:  # a creator's own views and likes are not reach
            self.add(ActivityEvent(metric, creator_id, content_id or PROFILE, user_id))

    def gift(self, receipt: GiftReceipt) -> None:
        self.add(
            ActivityEvent(
                Metric.GIFT,
                receipt.receiver_id,
                receipt.livestream_id or PROFILE,
                receipt.sender_id,
                receipt.coins,
                receipt.created_at,
            )
        )

    def add(self, event: ActivityEvent) -> None:
        self._buffer.append(event)
        self._ready.set()

    # The writer ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="analytics-feed")

    async def flush(self) -> int:
        """Write the buffered events now; returns how many."""
        batch, self._buffer = self._buffer, []
        self._ready.clear()
        if batch:
            await self._analytics.record(*batch)
        return len(batch)

    async def _loop(self) -> None:
        while True:
            await self._ready.wait()
            await asyncio.sleep(self._flush_s)  # the batching window: everything arriving in it is one write
            try:
                await self.flush()
            except Exception:
                log.exception("writing a batch of analytics events failed; it is dropped")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last analytics events failed")
