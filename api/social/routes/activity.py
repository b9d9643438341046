"""``/api/activity``: track an event, my activity, recommendations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import Field

from api.models import Id, Page, PageQuery, QueryModel, RequestModel, ResponseModel
from api.pagination import encode_cursor
from api.routing import Routes, principal
from api.social.activity import Verb
from api.social.routes.models import Content, content_model, id_cursor, media_base
from api.state import SOCIAL

routes = Routes()
TAGS = ("activity",)


class TrackBody(RequestModel):
    verb: Literal["share", "watch_complete", "profile_visit"]
    content_id: Id | None = None
    creator_id: Id | None = None
    sound_id: Id | None = None


class ActivityItem(ResponseModel):
    id: str
    verb: str
    content_id: str | None
    creator_id: str | None
    sound_id: str | None
    created_at: datetime


class Recommended(ResponseModel):
    items: list[Content]


class RecommendationQuery(QueryModel):
    limit: int = Field(20, ge=1, le=50)


@routes.post("/api/activity/track", body=TrackBody, status=204, tags=TAGS, errors=(404, 422))
async def track(request: web.Request, body: TrackBody) -> None:
    """Record a share, a completed watch or a profile visit (they count toward trending)."""
    await request.app[SOCIAL].activity.track(
        principal(request).user_id, Verb(body.verb), body.content_id, body.creator_id, body.sound_id
    )


@routes.get("/api/activity/my-activity", query=PageQuery, response=Page[ActivityItem], tags=TAGS)
async def my_activity(request: web.Request, query: PageQuery) -> Page[ActivityItem]:
    """What I did, newest first."""
    rows = await request.app[SOCIAL].activity.mine(principal(request).user_id, query.limit, id_cursor(query.cursor))
    items = rows[: query.limit]
    return Page[ActivityItem](
        items=[ActivityItem.model_validate(r) for r in items],
        next_cursor=encode_cursor([items[-1].id]) if len(rows) > query.limit else None,
    )


@routes.get("/api/activity/recommendations", query=RecommendationQuery, response=Recommended, tags=TAGS)
async def recommendations(request: web.Request, query: RecommendationQuery) -> Recommended:
    """Posts sharing hashtags with what I engaged with lately, then trending; never mine or liked."""
    me = principal(request).user_id
    social = request.app[SOCIAL]
    ids = await social.activity.recommendations(me, query.limit)
    base = media_base(request)
    return Recommended(items=[content_model(r, base) for r in await social.contents.by_ids(ids, me)])
