"""``/api/analytics`` and ``/api/scheduling``: the seed's creator-tool endpoints."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, Field

from api.creator.analytics import Overview, Profile
from api.creator.scheduling import ItemKind
from api.models import Id, Line, Page, PageQuery, Paragraphs, QueryModel, RequestModel, ResponseModel
from api.pagination import decode_cursor, encode_cursor
from api.problems import NotFound
from api.routing import Access, Routes, principal
from api.state import ANALYTICS, SCHEDULER, TARGETS

routes = Routes()
ANALYTICS_TAGS = ("analytics",)
SCHEDULING = ("scheduling",)

Url = Annotated[str, Field(max_length=512, pattern=r"^https?://\S+$")]
Tag = Annotated[str, Field(pattern=r"^#?\w{1,50}$")]


# Analytics -----------------------------------------------------------------------------------------------


class WindowQuery(QueryModel):
    days: int = Field(7, ge=1, le=90, description="Window length in days.")


@routes.get("/api/analytics/overview", query=WindowQuery, response=Overview, access=Access.CREATOR, tags=ANALYTICS_TAGS)
async def analytics_overview(request: web.Request, query: WindowQuery) -> Overview:
    """The caller's totals per metric over the window, the window before it, and a daily series."""
    return await request.app[ANALYTICS].overview(principal(request).user_id, query.days)


@routes.get(
    "/api/analytics/content/{content_id}",
    query=WindowQuery,
    response=Overview,
    access=Access.CREATOR,
    tags=ANALYTICS_TAGS,
    errors=(404,),
)
async def analytics_content(request: web.Request, query: WindowQuery) -> Overview:
    """One of the caller's posts, lives or products, metric by metric."""
    who = principal(request)
    content_id = request.match_info["content_id"]
    owner = await request.app[ANALYTICS].owner_of(content_id)
    if owner is None:
        owner = await request.app[TARGETS].known_owner(content_id)
    if owner is None or (owner != who.user_id and not who.is_admin):
        raise NotFound("no analytics for that content", slug="content-not-found")
    return await request.app[ANALYTICS].overview(owner, query.days, content_id)


@routes.get("/api/analytics/profile", response=Profile, access=Access.CREATOR, tags=ANALYTICS_TAGS)
async def analytics_profile(request: web.Request) -> Profile:
    """Follower growth, all-time totals and the top content of the caller."""
    return await request.app[ANALYTICS].profile(principal(request).user_id)


# Scheduling ----------------------------------------------------------------------------------------------


class SchedulePost(RequestModel):
    scheduled_at: AwareDatetime
    caption: Annotated[Paragraphs, Field(max_length=2200)] = ""
    content_id: Id | None = Field(
        None, description="An upload of yours (POST /api/content) to publish when due; it stays hidden until then."
    )
    media_url: Url | None = None
    hashtags: Annotated[list[Tag], Field(max_length=30)] = Field(default_factory=list)
    visibility: Literal["public", "followers", "private"] = "public"


class ScheduleLive(RequestModel):
    scheduled_at: AwareDatetime
    title: Annotated[Line, Field(min_length=1, max_length=150)]
    description: Annotated[Paragraphs, Field(max_length=2000)] = ""


class ScheduleEdit(RequestModel):
    scheduled_at: AwareDatetime | None = None
    title: Annotated[Line, Field(min_length=1, max_length=150)] | None = None
    caption: Annotated[Paragraphs, Field(max_length=2200)] | None = None
    description: Annotated[Paragraphs, Field(max_length=2000)] | None = None
    media_url: Url | None = None
    hashtags: Annotated[list[Tag], Field(max_length=30)] | None = None


class Scheduled(ResponseModel):
    id: str
    kind: str
    status: str
    title: str
    payload: dict[str, Any]
    scheduled_at: datetime
    runs_at: datetime
    attempts: int
    result_ref: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


def _view(row: Any) -> Scheduled:
    return Scheduled(
        id=row.id,
        kind=row.kind,
        status=row.status,
        title=row.title,
        payload=json.loads(row.payload),
        scheduled_at=row.due_at,
        runs_at=row.run_at,
        attempts=row.attempts,
        result_ref=row.result_ref,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@routes.post(
    "/api/scheduling/schedule", body=SchedulePost, response=Scheduled, status=201, tags=SCHEDULING, errors=(404, 409)
)
async def schedule_post(request: web.Request, body: SchedulePost) -> Scheduled:
    """Schedule a post to publish at a time: an upload of yours (``content_id``), hidden until then, or a
    caption you are reminded to post."""
    payload = body.model_dump(exclude={"scheduled_at"})
    title = (body.caption.splitlines() or ["Scheduled post"])[0][:150] or "Scheduled post"
    row = await request.app[SCHEDULER].schedule(
        principal(request).user_id, ItemKind.POST, title, payload, body.scheduled_at
    )
    return _view(row)


@routes.post(
    "/api/scheduling/livestream",
    body=ScheduleLive,
    response=Scheduled,
    status=201,
    access=Access.CREATOR,
    tags=SCHEDULING,
)
async def schedule_live(request: web.Request, body: ScheduleLive) -> Scheduled:
    """Schedule a livestream; followers are reminded before it starts."""
    row = await request.app[SCHEDULER].schedule(
        principal(request).user_id, ItemKind.LIVE, body.title, {"description": body.description}, body.scheduled_at
    )
    return _view(row)


class MineQuery(PageQuery):
    status: Literal["pending", "running", "done", "failed", "cancelled"] | None = None
    kind: Literal["post", "live"] | None = None


@routes.get("/api/scheduling/my-scheduled", query=MineQuery, response=Page[Scheduled], tags=SCHEDULING)
async def my_scheduled(request: web.Request, query: MineQuery) -> Page[Scheduled]:
    """The caller's scheduled items, soonest first."""
    after = decode_cursor(query.cursor, 2)
    key = (int(after[0]), str(after[1])) if after else None
    rows = await request.app[SCHEDULER].mine(principal(request).user_id, query.status, query.kind, query.limit + 1, key)
    items = [_view(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    cursor = encode_cursor([int(items[-1].scheduled_at.timestamp() * 1000), items[-1].id]) if more else None
    return Page[Scheduled](items=items, next_cursor=cursor)


class MonthQuery(QueryModel):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (UTC).")


class CalendarDay(ResponseModel):
    date: str
    items: list[Scheduled]


class Calendar(ResponseModel):
    month: str
    days: list[CalendarDay]


@routes.get("/api/scheduling/calendar", query=MonthQuery, response=Calendar, tags=SCHEDULING)
async def scheduling_calendar(request: web.Request, query: MonthQuery) -> Calendar:
    """The caller's scheduled items in one month, by day (days with nothing are left out)."""
    match = re.match(r"(\d{4})-(\d{2})", query.month)
    assert match is not None
    year, month = int(match[1]), int(match[2])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    rows = await request.app[SCHEDULER].between(principal(request).user_id, start, end)
    days: dict[str, list[Scheduled]] = {}
    for row in rows:
        days.setdefault(row.due_at.date().isoformat(), []).append(_view(row))
    return Calendar(month=query.month, days=[CalendarDay(date=d, items=i) for d, i in sorted(days.items())])


@routes.put("/api/scheduling/{scheduled_id}", body=ScheduleEdit, response=Scheduled, tags=SCHEDULING, errors=(404, 409))
async def edit_scheduled(request: web.Request, body: ScheduleEdit) -> Scheduled:
    """Change a pending item's time or text."""
    payload = body.model_dump(exclude_unset=True, exclude={"scheduled_at", "title"})
    row = await request.app[SCHEDULER].edit(
        principal(request).user_id, request.match_info["scheduled_id"], body.title, payload, body.scheduled_at
    )
    return _view(row)


@routes.delete("/api/scheduling/{scheduled_id}", response=Scheduled, tags=SCHEDULING, errors=(404, 409))
async def cancel_scheduled(request: web.Request) -> Scheduled:
    """Cancel a pending item."""
    return _view(await request.app[SCHEDULER].cancel(principal(request).user_id, request.match_info["scheduled_id"]))
