"""User reports: anyone signed in reports a thing with a reason code and sees what became of it.

Each report is one per reporter per target (a second one is a 409, so one person cannot push a target past
the queue threshold alone), and counts on the target's moderation case.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import Field

from api.models import Id, Page, Paragraphs, RequestModel, ResponseModel
from api.pagination import decode_cursor, page_of
from api.problems import Conflict, Unprocessable
from api.safety.moderation import Moderation
from api.safety.targets import TargetKind
from store.database import Database
from store.ids import new_id
from store.schema.safety import moderation_cases, reports
from store.types import utcnow


class ReasonCode(StrEnum):
    SPAM = "spam"
    HARASSMENT = "harassment"
    HATE_SPEECH = "hate_speech"
    VIOLENCE = "violence"
    NUDITY = "nudity"
    CHILD_SAFETY = "child_safety"
    SELF_HARM = "self_harm"
    SCAM = "scam"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    MISINFORMATION = "misinformation"
    OTHER = "other"


# Reasons where waiting for more reports could cost someone their safety: queued on the first report.
SEVERE = frozenset({ReasonCode.CHILD_SAFETY, ReasonCode.SELF_HARM, ReasonCode.VIOLENCE})


class ReportCreate(RequestModel):
    target_type: TargetKind
    target_id: Id
    reason: ReasonCode
    details: Annotated[Paragraphs, Field(max_length=2000)] = ""


class ReportView(ResponseModel):
    id: str
    target_type: str
    target_id: str
    reason: str
    details: str
    status: str = Field(description="received | in_review | action_taken | no_violation")
    created_at: datetime


def _status(case_status: str, queued: bool) -> str:
    if case_status == "actioned":
        return "action_taken"
    if case_status == "dismissed":
        return "no_violation"
    return "in_review" if queued else "received"


class Reports:
    def __init__(self, db: Database, moderation: Moderation) -> None:
        self._db = db
        self._moderation = moderation

    async def file(self, reporter_id: str, body: ReportCreate) -> ReportView:
        owner = await self._moderation.targets.reportable_owner(body.target_type, body.target_id, reporter_id)
        if owner == reporter_id:
            raise Unprocessable("you cannot report your own account or posts", slug="self-report")
        now = utcnow()
        report_id = new_id()
        async with self._db.write() as conn:
            case = await self._moderation.open_case(conn, body.target_type, body.target_id, owner)
            dup = await conn.execute(
                sa.select(reports.c.id).where(
                    reports.c.reporter_id == reporter_id,
                    reports.c.target_kind == body.target_type,
                    reports.c.target_id == body.target_id,
                )
            )
            if dup.first() is not None:
                raise Conflict("you have already reported this", slug="already-reported")
            await conn.execute(
                reports.insert().values(
                    id=report_id,
                    reporter_id=reporter_id,
                    case_id=case.id,
                    target_kind=body.target_type,
                    target_id=body.target_id,
                    reason=body.reason,
                    details=body.details,
                    created_at=now,
                )
            )
            await self._moderation.count_report(conn, case.id, body.reason in SEVERE)
        return (await self._list(reporter_id, 1, None, report_id)).items[0]

    async def mine(self, reporter_id: str, limit: int, cursor: str | None) -> Page[ReportView]:
        return await self._list(reporter_id, limit, cursor, None)

    async def _list(self, reporter_id: str, limit: int, cursor: str | None, only: str | None) -> Page[ReportView]:
        query = (
            sa.select(reports, moderation_cases.c.status.label("case_status"), moderation_cases.c.queued)
            .join(moderation_cases, moderation_cases.c.id == reports.c.case_id)
            .where(reports.c.reporter_id == reporter_id)
        )
        if only:
            query = query.where(reports.c.id == only)
        after = decode_cursor(cursor, 1)
        if after:
            query = query.where(reports.c.id < str(after[0]))
        async with self._db.read() as conn:
            rows = list(await conn.execute(query.order_by(reports.c.id.desc()).limit(limit + 1)))
        views = [
            ReportView(
                id=r.id,
                target_type=r.target_kind,
                target_id=r.target_id,
                reason=r.reason,
                details=r.details,
                status=_status(r.case_status, r.queued),
                created_at=r.created_at,
            )
            for r in rows
        ]
        items, next_cursor = page_of(views, limit, lambda v: [v.id])
        return Page[ReportView](items=items, next_cursor=next_cursor)
