"""Moderation: cases, the admin queue, and audited actions that take effect everywhere.

A case collects everything said about one target (user reports, AI flags). It enters the queue when its
report count reaches the configured threshold, when a report gives a severe reason, or when AI moderation
flags it. An administrator's action (remove, restore, warn, ban, dismiss) is applied through the target's
own interface, written to the append-only ``moderation_actions`` audit trail, and closes the case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.accounts import Accounts
from api.models import Page, ResponseModel
from api.pagination import decode_cursor, page_of
from api.problems import Conflict
from api.safety.targets import TargetKind, Targets
from api.social.notifications import Kind, Notifications
from store.database import Database
from store.ids import new_id
from store.schema.safety import moderation_actions, moderation_cases
from store.types import utcnow
from store.upsert import insert


class Action(StrEnum):
    REMOVE = "remove"  # hide the target everywhere
    RESTORE = "restore"  # undo a removal (or a ban, on a user)
    WARN = "warn"  # tell the owner; the target stays
    BAN = "ban"  # suspend the owner's account
    DISMISS = "dismiss"  # no violation


class QueueReason(StrEnum):
    THRESHOLD = "report-threshold"
    SEVERE = "severe-reason"
    AI = "ai-flag"


class Case(ResponseModel):
    id: str
    target_kind: str
    target_id: str
    owner_id: str | None
    status: str
    queued: bool
    queued_reason: str | None
    report_count: int
    ai_score: float | None
    ai_labels: str | None
    resolution: str | None


class ActionRecord(ResponseModel):
    id: str
    case_id: str | None
    admin_id: str | None
    target_kind: str
    target_id: str
    action: str
    reason: str


class Moderation:
    def __init__(
        self, db: Database, targets: Targets, accounts: Accounts, notifications: Notifications, threshold: int
    ) -> None:
        self._db = db
        self.targets = targets
        self._accounts = accounts
        self._notifications = notifications
        self.threshold = threshold
        # Run with the banned user's id after a ban, e.g. to end their lives (registered at composition).
        self.on_ban: list[Callable[[str], Awaitable[None]]] = []

    async def open_case(self, conn: AsyncConnection, kind: TargetKind, target_id: str, owner_id: str | None) -> Any:
        """The case for a target, created if new (concurrent creators meet on the unique key)."""
        now = utcnow()
        await conn.execute(
            insert(self._db.dialect, moderation_cases)
            .values(
                id=new_id(),
                target_kind=kind,
                target_id=target_id,
                owner_id=owner_id,
                status="open",
                queued=False,
                report_count=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["target_kind", "target_id"])
        )
        return (
            await conn.execute(
                sa.select(moderation_cases).where(
                    moderation_cases.c.target_kind == kind, moderation_cases.c.target_id == target_id
                )
            )
        ).one()

    async def count_report(self, conn: AsyncConnection, case_id: str, severe: bool) -> None:
        """Add one report to a case; queue it if that reaches the threshold or the reason is severe."""
        await conn.execute(
            moderation_cases.update()
            .where(moderation_cases.c.id == case_id)
            .values(report_count=moderation_cases.c.report_count + 1, updated_at=utcnow())
        )
        case = (await conn.execute(sa.select(moderation_cases).where(moderation_cases.c.id == case_id))).one()
        reason = (
            QueueReason.SEVERE if severe else QueueReason.THRESHOLD if case.report_count >= self.threshold else None
        )
        if reason is not None:
            await self._queue(conn, case, reason)

    async def flag_by_ai(
        self, kind: TargetKind, target_id: str, owner_id: str | None, score: float, labels: list[str]
    ) -> Case:
        async with self._db.write() as conn:
            case = await self.open_case(conn, kind, target_id, owner_id)
            await conn.execute(
                moderation_cases.update()
                .where(moderation_cases.c.id == case.id)
                .values(ai_score=score, ai_labels=",".join(labels)[:200])
            )
            await self._queue(conn, case, QueueReason.AI)
            return Case.model_validate(
                (await conn.execute(sa.select(moderation_cases).where(moderation_cases.c.id == case.id))).one()
            )

    async def _queue(self, conn: AsyncConnection, case: Any, reason: QueueReason) -> None:
        # A resolved case reopens when new reports or flags arrive: the target may have changed since.
        # SET expressions read the old row, so an open queued case keeps the reason it was first queued for.
        c = moderation_cases.c
        keep = sa.and_(c.status == "open", c.queued.is_(True), c.queued_reason.is_not(None))
        await conn.execute(
            moderation_cases.update()
            .where(c.id == case.id)
            .values(
                queued=True,
                status="open",
                resolution=None,
                updated_at=utcnow(),
                queued_reason=sa.case((keep, c.queued_reason), else_=sa.literal(reason.value)),
            )
        )

    async def queue(self, limit: int, cursor: str | None) -> Page[Case]:
        """Open queued cases, oldest first, so nothing waits forever behind new arrivals."""
        query = sa.select(moderation_cases).where(
            moderation_cases.c.queued.is_(True), moderation_cases.c.status == "open"
        )
        after = decode_cursor(cursor, 1)
        if after:
            query = query.where(moderation_cases.c.id > str(after[0]))
        async with self._db.read() as conn:
            rows = [
                Case.model_validate(r)
                for r in await conn.execute(query.order_by(moderation_cases.c.id).limit(limit + 1))
            ]
        items, next_cursor = page_of(rows, limit, lambda c: [c.id])
        return Page[Case](items=items, next_cursor=next_cursor)

    async def act(self, admin_id: str, kind: TargetKind, target_id: str, action: Action, reason: str) -> ActionRecord:
        owner = await self.targets.owner_of(kind, target_id)
        if action is Action.BAN and owner == admin_id:
            raise Conflict("you cannot ban yourself", slug="self-ban")
        target = self.targets.kind(kind)
        # Apply the effect first: if it fails, nothing is recorded as done.
        if action is Action.REMOVE:
            await target.set_removed(target_id, True)
        elif action is Action.RESTORE:
            await target.set_removed(target_id, False)
        elif action is Action.BAN:
            await self.targets.kind(TargetKind.USER).set_removed(owner, True)
            await self._accounts.revoke_all(owner, "banned")
            for hook in self.on_ban:
                await hook(owner)
        if action in (Action.WARN, Action.REMOVE, Action.BAN):
            await self._notifications.notify(
                Kind.MODERATION,
                owner,
                subject_id=target_id,
                text=f"Moderation: {action.value} of your {kind.value}" + (f": {reason}" if reason else ""),
                data={"target_kind": kind.value, "action": action.value, "reason": reason},
            )
        now = utcnow()
        async with self._db.write() as conn:
            case = await self.open_case(conn, kind, target_id, owner)
            record = {
                "id": new_id(),
                "case_id": case.id,
                "admin_id": admin_id,
                "target_kind": kind.value,
                "target_id": target_id,
                "action": action.value,
                "reason": reason,
                "created_at": now,
            }
            await conn.execute(moderation_actions.insert().values(**record))
            await conn.execute(
                moderation_cases.update()
                .where(moderation_cases.c.id == case.id)
                .values(
                    status="dismissed" if action is Action.DISMISS else "actioned",
                    resolution=action.value,
                    updated_at=now,
                )
            )
        return ActionRecord.model_validate(record)

    async def history(self, kind: TargetKind, target_id: str) -> list[ActionRecord]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                sa.select(moderation_actions)
                .where(moderation_actions.c.target_kind == kind, moderation_actions.c.target_id == target_id)
                .order_by(moderation_actions.c.id)
            )
            return [ActionRecord.model_validate(r) for r in rows]
