"""Scheduled posts and lives, and the in-process scheduler that runs them when due.

Safe across restarts and across nodes because all of its state is in the database:

* each item's ``run_at`` is stored (a post runs at its due time; a live runs its follower reminder
  ``live_reminder_lead_s`` before it starts), so a restarted process finds what came due while it was down;
* a worker claims an item with a compare-and-set ``UPDATE ... SET status='running' WHERE id=? AND
  status='pending'`` and acts only if that changed one row, so one item runs once however many schedulers
  look at it;
* an item whose worker died mid-run (claimed longer than the lease ago) is claimed again; the publisher gets
  the item id as its idempotency key, so that retry cannot publish twice.

The scheduler's loop is one task owned by the :class:`Scheduler`, started and cancelled with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa

from api.problems import Conflict, NotFound, Unprocessable
from store.database import Database
from store.ids import new_id
from store.schema.creator import scheduled_items
from store.types import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_AHEAD = timedelta(days=366)


class ItemKind(StrEnum):
    POST = "post"
    LIVE = "live"


class ItemStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class DueItem:
    id: str
    owner_id: str
    kind: ItemKind
    title: str
    payload: dict[str, Any]
    due_at: datetime


class Publisher(Protocol):
    """Does what a due item asks. Both calls must be idempotent per ``item.id`` (see the module docstring)."""

    async def publish_post(self, item: DueItem) -> str | None:
        """Publish the post; return the new content's id."""

    async def announce_live(self, item: DueItem) -> None:
        """Tell the creator's followers the live is about to start."""

    async def hold(self, owner_id: str, payload: dict[str, Any]) -> None:
        """A post was scheduled: keep what it publishes hidden until then (or refuse with an ApiError)."""

    async def release(self, owner_id: str, payload: dict[str, Any]) -> None:
        """A scheduled post was cancelled: let go of what :meth:`hold` kept."""


Followers = Callable[[str], Awaitable[list[str]]]
"""The user ids following a creator (the social domain's follow graph)."""


class Scheduler:
    def __init__(
        self, db: Database, publisher: Publisher, *, poll_s: float, lease_s: int, reminder_lead_s: int
    ) -> None:
        self._db = db
        self.publisher = publisher
        self._poll_s = poll_s
        self._lease = timedelta(seconds=lease_s)
        self._lead = timedelta(seconds=reminder_lead_s)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Periodic housekeeping other services hand to this loop (one owned task instead of one each).
        self.chores: list[Callable[[], Awaitable[object]]] = []
        self.chore_interval_s = 60.0
        self._chores_at = 0.0

    # Lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
                await self._run_chores()
                delay = await self._next_delay()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a bad row or a database hiccup
                log.exception("scheduler pass failed")
                delay = self._poll_s
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _run_chores(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._chores_at:
            return
        self._chores_at = now + self.chore_interval_s
        for chore in self.chores:
            try:
                await chore()
            except Exception:
                log.exception("scheduler chore %s failed", getattr(chore, "__name__", chore))

    async def _next_delay(self) -> float:
        async with self._db.read() as conn:
            next_at = (
                await conn.execute(
                    sa.select(sa.func.min(scheduled_items.c.run_at)).where(
                        scheduled_items.c.status == ItemStatus.PENDING
                    )
                )
            ).scalar()
        if next_at is None:
            return self._poll_s
        return max(0.0, min(self._poll_s, float((next_at - utcnow()).total_seconds())))

    # Running -----------------------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Claim and run every item that is due now; returns how many ran."""
        now = utcnow()
        c = scheduled_items.c
        claimable = sa.or_(
            sa.and_(c.status == ItemStatus.PENDING, c.run_at <= now),
            sa.and_(c.status == ItemStatus.RUNNING, c.claimed_at < now - self._lease),
        )
        async with self._db.read() as conn:
            ids: list[str] = list(
                (await conn.execute(sa.select(c.id).where(claimable).order_by(c.run_at).limit(100))).scalars()
            )
        ran = 0
        for item_id in ids:
            async with self._db.write() as conn:
                claimed = await conn.execute(
                    scheduled_items.update()
                    .where(c.id == item_id, claimable)
                    .values(status=ItemStatus.RUNNING, claimed_at=now, attempts=c.attempts + 1, updated_at=now)
                )
                if claimed.rowcount != 1:
                    continue  # another worker got it
                row = (await conn.execute(sa.select(scheduled_items).where(c.id == item_id))).one()
            await self._run(row, now)
            ran += 1
        return ran

    async def _run(self, row: Any, claimed_at: datetime) -> None:
        item = DueItem(row.id, row.owner_id, ItemKind(row.kind), row.title, json.loads(row.payload), row.due_at)
        c = scheduled_items.c
        mine = sa.and_(c.id == item.id, c.status == ItemStatus.RUNNING, c.claimed_at == claimed_at)
        try:
            if item.kind is ItemKind.POST:
                ref = await self.publisher.publish_post(item)
            else:
                await self.publisher.announce_live(item)
                ref = None
        except Exception as exc:
            log.exception("scheduled %s %s failed (attempt %d)", item.kind, item.id, row.attempts)
            retry = row.attempts < MAX_ATTEMPTS
            now = utcnow()
            async with self._db.write() as conn:
                await conn.execute(
                    scheduled_items.update()
                    .where(mine)
                    .values(
                        status=ItemStatus.PENDING if retry else ItemStatus.FAILED,
                        run_at=now + timedelta(seconds=5 * 2**row.attempts) if retry else row.run_at,
                        error=str(exc)[:300],
                        updated_at=now,
                    )
                )
            return
        now = utcnow()
        async with self._db.write() as conn:
            await conn.execute(
                scheduled_items.update()
                .where(mine)
                .values(status=ItemStatus.DONE, finished_at=now, result_ref=ref, updated_at=now)
            )

    # The creator's calendar ------------------------------------------------------------------------------

    async def schedule(
        self, owner_id: str, kind: ItemKind, title: str, payload: dict[str, Any], due_at: datetime
    ) -> Any:
        self._check_time(due_at)
        now = utcnow()
        values = {
            "id": new_id(),
            "owner_id": owner_id,
            "kind": kind,
            "status": ItemStatus.PENDING,
            "title": title,
            "payload": json.dumps(payload),
            "due_at": due_at,
            "run_at": self._run_at(kind, due_at, now),
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        if kind is ItemKind.POST:
            await self.publisher.hold(owner_id, payload)
        try:
            async with self._db.write() as conn:
                await conn.execute(scheduled_items.insert().values(**values))
        except BaseException:
            if kind is ItemKind.POST:
                await asyncio.shield(self.publisher.release(owner_id, payload))
            raise
        self._wake.set()
        return await self.get(owner_id, str(values["id"]))

    async def edit(
        self, owner_id: str, item_id: str, title: str | None, payload: dict[str, Any] | None, due_at: datetime | None
    ) -> Any:
        current = await self.get(owner_id, item_id)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if title is not None:
            values["title"] = title
        if payload:
            values["payload"] = json.dumps({**json.loads(current.payload), **payload})
        if due_at is not None:
            self._check_time(due_at)
            values["due_at"] = due_at
            values["run_at"] = self._run_at(ItemKind(current.kind), due_at, utcnow())
        await self._pending_only(item_id, values, "edited")
        self._wake.set()
        return await self.get(owner_id, item_id)

    async def cancel(self, owner_id: str, item_id: str) -> Any:
        item = await self.get(owner_id, item_id)
        await self._pending_only(item_id, {"status": ItemStatus.CANCELLED, "updated_at": utcnow()}, "cancelled")
        if item.kind == ItemKind.POST:
            await self.publisher.release(owner_id, json.loads(item.payload))
        return await self.get(owner_id, item_id)

    async def _pending_only(self, item_id: str, values: dict[str, Any], verb: str) -> None:
        # The same compare-and-set the scheduler claims with: an edit cannot land on an item already running.
        async with self._db.write() as conn:
            changed = await conn.execute(
                scheduled_items.update()
                .where(scheduled_items.c.id == item_id, scheduled_items.c.status == ItemStatus.PENDING)
                .values(**values)
            )
        if changed.rowcount != 1:
            raise Conflict(f"only a pending item can be {verb}", slug="not-pending")

    async def get(self, owner_id: str, item_id: str) -> Any:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(scheduled_items).where(scheduled_items.c.id == item_id))).first()
        if row is None or row.owner_id != owner_id:
            raise NotFound("no such scheduled item", slug="scheduled-not-found")
        return row

    async def mine(
        self, owner_id: str, status: str | None, kind: str | None, limit: int, after: tuple[int, str] | None
    ) -> list[Any]:
        c = scheduled_items.c
        query = sa.select(scheduled_items).where(c.owner_id == owner_id)
        if status:
            query = query.where(c.status == status)
        if kind:
            query = query.where(c.kind == kind)
        if after is not None:
            at = datetime.fromtimestamp(after[0] / 1000, tz=utcnow().tzinfo)
            query = query.where(sa.or_(c.due_at > at, sa.and_(c.due_at == at, c.id > after[1])))
        async with self._db.read() as conn:
            return list(await conn.execute(query.order_by(c.due_at, c.id).limit(limit)))

    async def between(self, owner_id: str, start: datetime, end: datetime) -> list[Any]:
        c = scheduled_items.c
        query = (
            sa.select(scheduled_items)
            .where(c.owner_id == owner_id, c.due_at >= start, c.due_at < end, c.status != ItemStatus.CANCELLED)
            .order_by(c.due_at, c.id)
        )
        async with self._db.read() as conn:
            return list(await conn.execute(query))

    def _run_at(self, kind: ItemKind, due_at: datetime, now: datetime) -> datetime:
        return due_at if kind is ItemKind.POST else max(now, due_at - self._lead)

    @staticmethod
    def _check_time(due_at: datetime) -> None:
        now = utcnow()
        if due_at.tzinfo is None:
            raise Unprocessable("give the time with a UTC offset", slug="naive-time")
        if due_at <= now:
            raise Unprocessable("the scheduled time is in the past", slug="time-in-past")
        if due_at - now > MAX_AHEAD:
            raise Unprocessable("schedule at most a year ahead", slug="time-too-far")
