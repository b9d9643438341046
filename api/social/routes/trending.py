"""``/api/trending`` and ``/api/explorer``: ranked content, hashtags, sounds and creators; category browse."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from api.models import Page, PageQuery, QueryModel, ResponseModel
from api.pagination import encode_cursor
from api.routing import Access, Routes, optional_principal
from api.social.content import Category
from api.social.routes.models import (
    Content,
    Profile,
    Sound,
    content_model,
    media_base,
    score_cursor,
    sound_model,
)
from api.social.trending import Window
from api.state import SOCIAL

routes = Routes()
TAGS = ("trending",)


class TrendingQuery(QueryModel):
    window: Window = Field(Window.DAY, description="How far back activity counts.")
    limit: int = Field(20, ge=1, le=100)


class ExplorerQuery(PageQuery):
    category: Category | None = Field(None, description="Browse one category; without it, an overview.")


class Scored(ResponseModel):
    score: float = Field(description="Decayed activity in the window.")


class TrendingContent(Content, Scored):
    pass


class TrendingSound(Sound, Scored):
    pass


class TrendingCreator(Profile, Scored):
    pass


class TrendingHashtag(Scored):
    tag: str
    content_count: int


class Ranked(ResponseModel):
    window: Window


class ContentRanking(Ranked):
    items: list[TrendingContent]


class HashtagRanking(Ranked):
    items: list[TrendingHashtag]


class SoundRanking(Ranked):
    items: list[TrendingSound]


class CreatorRanking(Ranked):
    items: list[TrendingCreator]


class CategorySummary(ResponseModel):
    category: Category
    content_count: int
    top: list[Content]


class Explorer(ResponseModel):
    categories: list[CategorySummary] = Field(default_factory=list)
    category: Category | None = None
    page: Page[Content] | None = None


def _viewer(request: web.Request) -> str | None:
    who = optional_principal(request)
    return who.user_id if who else None


@routes.get("/api/trending", query=TrendingQuery, response=ContentRanking, access=Access.PUBLIC, tags=TAGS)
async def trending_content(request: web.Request, query: TrendingQuery) -> ContentRanking:
    """Posts with the most (recent) activity in the window."""
    rows = await request.app[SOCIAL].trending.content(_viewer(request), query.window, query.limit)
    base = media_base(request)
    return ContentRanking(
        window=query.window,
        items=[TrendingContent(**content_model(r, base).model_dump(), score=r.score) for r in rows],
    )


@routes.get("/api/trending/hashtags", query=TrendingQuery, response=HashtagRanking, access=Access.PUBLIC, tags=TAGS)
async def trending_hashtags(request: web.Request, query: TrendingQuery) -> HashtagRanking:
    """Hashtags whose posts had the most activity in the window."""
    rows = await request.app[SOCIAL].trending.hashtags(query.window, query.limit)
    return HashtagRanking(
        window=query.window,
        items=[TrendingHashtag(tag=r.tag, score=r.score, content_count=r.content_count) for r in rows],
    )


@routes.get("/api/trending/sounds", query=TrendingQuery, response=SoundRanking, access=Access.PUBLIC, tags=TAGS)
async def trending_sounds(request: web.Request, query: TrendingQuery) -> SoundRanking:
    """Sounds used, and heard in posts, the most in the window."""
    rows = await request.app[SOCIAL].trending.sounds(_viewer(request), query.window, query.limit)
    base = media_base(request)
    return SoundRanking(
        window=query.window,
        items=[TrendingSound(**sound_model(r, base).model_dump(), score=r.score) for r in rows],
    )


@routes.get("/api/trending/creators", query=TrendingQuery, response=CreatorRanking, access=Access.PUBLIC, tags=TAGS)
async def trending_creators(request: web.Request, query: TrendingQuery) -> CreatorRanking:
    """Creators whose posts and profiles drew the most activity in the window."""
    rows = await request.app[SOCIAL].trending.creators(_viewer(request), query.window, query.limit)
    return CreatorRanking(window=query.window, items=[TrendingCreator.model_validate(r) for r in rows])


@routes.get("/api/explorer", query=ExplorerQuery, response=Explorer, access=Access.PUBLIC, tags=TAGS)
async def explorer(request: web.Request, query: ExplorerQuery) -> Explorer:
    """Browse by category: an overview of every category, or one category's posts by trend."""
    trending = request.app[SOCIAL].trending
    base = media_base(request)
    viewer = _viewer(request)
    if query.category is None:
        overview = await trending.categories(viewer, 3)
        return Explorer(
            categories=[
                CategorySummary(category=c, content_count=n, top=[content_model(r, base) for r in top])
                for c, n, top in overview
            ]
        )
    rows: list[Any] = await trending.category(viewer, query.category, query.limit, score_cursor(query.cursor))
    items = rows[: query.limit]
    cursor = encode_cursor([items[-1].trend, items[-1].id]) if len(rows) > query.limit else None
    return Explorer(
        category=query.category,
        page=Page[Content](items=[content_model(r, base) for r in items], next_cursor=cursor),
    )
