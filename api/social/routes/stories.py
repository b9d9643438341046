"""``/api/stories``: post, list, delete, view; viewers (owner only), reactions, replies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from api.models import Id, Page, PageQuery, Paragraphs, RequestModel, ResponseModel
from api.pagination import encode_cursor
from api.routing import Routes, principal
from api.social.routes.models import Message, UserSummary, message_model, millis, time_cursor
from api.social.stories import Reaction
from api.state import SOCIAL

routes = Routes()
TAGS = ("stories",)


class StoryBody(RequestModel):
    text: Annotated[Paragraphs, Field(max_length=500)] = ""
    content_id: Id | None = Field(None, description="One of the caller's ready posts, shown as the story's media.")
    background: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None


class StoryQuery(PageQuery):
    user_id: Id | None = Field(None, description="Only this user's stories; default: mine and those I follow.")


class ReactionBody(RequestModel):
    emoji: Reaction


class ReplyBody(RequestModel):
    text: Annotated[Paragraphs, Field(min_length=1, max_length=1000)]


class Story(ResponseModel):
    id: str
    user: UserSummary
    text: str
    content_id: str | None
    background: str | None
    created_at: datetime
    expires_at: datetime


class StoryViewer(ResponseModel):
    user: UserSummary
    viewed_at: datetime
    reaction: str | None


class Viewed(ResponseModel):
    counted: bool


def _story(row: Any) -> Story:
    return Story(
        id=row.id,
        user=UserSummary(id=row.user_id, username=row.username),
        text=row.text,
        content_id=row.content_id,
        background=row.background,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def _sid(request: web.Request) -> str:
    return request.match_info["story_id"]


@routes.get("/api/stories", query=StoryQuery, response=Page[Story], tags=TAGS)
async def list_stories(request: web.Request, query: StoryQuery) -> Page[Story]:
    """Stories that have not expired: mine and those of accounts I follow, or one user's."""
    rows = await request.app[SOCIAL].stories.page(
        principal(request).user_id, query.user_id, query.limit, time_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([millis(items[-1].created_at), items[-1].id]) if len(rows) > query.limit else None
    return Page[Story](items=[_story(r) for r in items], next_cursor=cursor)


@routes.post("/api/stories", body=StoryBody, response=Story, status=201, tags=TAGS, errors=(400, 404, 422))
async def create_story(request: web.Request, body: StoryBody) -> Story:
    """Post a story for 24 hours; @mentions notify."""
    row = await request.app[SOCIAL].stories.create(
        principal(request).user_id, body.text, body.content_id, body.background
    )
    return _story(row)


@routes.delete("/api/stories/{story_id}", status=204, tags=TAGS, errors=(403, 404))
async def delete_story(request: web.Request) -> None:
    """Delete one of my stories."""
    await request.app[SOCIAL].stories.delete(_sid(request), principal(request).user_id)


@routes.post("/api/stories/{story_id}/view", response=Viewed, tags=TAGS, errors=(404,))
async def view_story(request: web.Request) -> Viewed:
    """Record that I saw a story (once)."""
    return Viewed(counted=await request.app[SOCIAL].stories.view(_sid(request), principal(request).user_id))


@routes.get(
    "/api/stories/{story_id}/viewers",
    query=PageQuery,
    response=Page[StoryViewer],
    tags=TAGS,
    errors=(403, 404),
)
async def story_viewers(request: web.Request, query: PageQuery) -> Page[StoryViewer]:
    """Who saw my story, with their reaction (owner only)."""
    rows = await request.app[SOCIAL].stories.viewers(
        _sid(request), principal(request).user_id, query.limit, time_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([millis(items[-1].viewed_at), items[-1].viewer_id]) if len(rows) > query.limit else None
    return Page[StoryViewer](
        items=[
            StoryViewer(
                user=UserSummary(id=r.viewer_id, username=r.username, display_name=r.display_name),
                viewed_at=r.viewed_at,
                reaction=r.emoji,
            )
            for r in items
        ],
        next_cursor=cursor,
    )


@routes.post("/api/stories/{story_id}/reactions", body=ReactionBody, status=204, tags=TAGS, errors=(400, 404, 409, 422))
async def react_story(request: web.Request, body: ReactionBody) -> None:
    """React to a story with ❤️ 😂 😮 😢 or 🔥 (once)."""
    await request.app[SOCIAL].stories.react(_sid(request), principal(request).user_id, body.emoji)


@routes.post(
    "/api/stories/{story_id}/reply",
    body=ReplyBody,
    response=Message,
    status=201,
    tags=TAGS,
    errors=(400, 403, 404),
)
async def reply_story(request: web.Request, body: ReplyBody) -> Message:
    """Reply to a story: sent as a direct message to its owner."""
    row = await request.app[SOCIAL].stories.reply(_sid(request), principal(request).user_id, body.text)
    return message_model(row)
