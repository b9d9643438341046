"""``/api/search``: everything at once, suggestions, and typed searches (users, content, sounds, products)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from api.commerce.models import Product
from api.models import Page, PageQuery, QueryModel, ResponseModel
from api.pagination import encode_cursor
from api.routing import Access, Routes, optional_principal
from api.social.routes.models import (
    Content,
    Profile,
    Sound,
    content_model,
    media_base,
    score_cursor,
    sound_model,
)
from api.state import SOCIAL

routes = Routes()
TAGS = ("search",)
Q = Annotated[str, Field(min_length=1, max_length=100, description="Words to find; the last may be a prefix.")]


class SearchQuery(PageQuery):
    q: Q


class OverviewQuery(QueryModel):
    q: Q
    limit: int = Field(5, ge=1, le=20, description="Results per kind.")


class SuggestQuery(QueryModel):
    q: Q
    limit: int = Field(10, ge=1, le=20)


class Overview(ResponseModel):
    users: list[Profile]
    content: list[Content]
    sounds: list[Sound]
    products: list[Product]


class Suggestion(ResponseModel):
    kind: str = Field(description="hashtag, users or sounds")
    text: str


class Suggestions(ResponseModel):
    items: list[Suggestion]


def _viewer(request: web.Request) -> str | None:
    who = optional_principal(request)
    return who.user_id if who else None


async def _typed(request: web.Request, kind: str, query: SearchQuery) -> tuple[list[Any], str | None]:
    rows = await request.app[SOCIAL].search.search(
        kind, query.q, _viewer(request), query.limit, score_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([items[-1].score, items[-1].id]) if len(rows) > query.limit else None
    return items, cursor


@routes.get("/api/search", query=OverviewQuery, response=Overview, access=Access.PUBLIC, tags=TAGS)
async def search_all(request: web.Request, query: OverviewQuery) -> Overview:
    """The best users, posts, sounds and products for the words, ranked by relevance and popularity."""
    search = request.app[SOCIAL].search
    viewer = _viewer(request)
    base = media_base(request)
    found = await search.search_kinds(("users", "content", "sounds", "products"), query.q, viewer, query.limit)
    users, content, sounds = found["users"], found["content"], found["sounds"]
    return Overview(
        users=[Profile.model_validate(r) for r in users[: query.limit]],
        content=[content_model(r, base) for r in content[: query.limit]],
        sounds=[sound_model(r, base) for r in sounds[: query.limit]],
        products=[Product.model_validate(r) for r in found["products"][: query.limit]],
    )


@routes.get("/api/search/suggestions", query=SuggestQuery, response=Suggestions, access=Access.PUBLIC, tags=TAGS)
async def suggestions(request: web.Request, query: SuggestQuery) -> Suggestions:
    """Completions of what is being typed: hashtags, usernames, sound titles."""
    found = await request.app[SOCIAL].search.suggestions(query.q, _viewer(request), query.limit)
    return Suggestions(items=[Suggestion(kind=k, text=t) for k, t in found])


@routes.get("/api/search/users", query=SearchQuery, response=Page[Profile], access=Access.PUBLIC, tags=TAGS)
async def search_users(request: web.Request, query: SearchQuery) -> Page[Profile]:
    """Users by username and display name."""
    items, cursor = await _typed(request, "users", query)
    return Page[Profile](items=[Profile.model_validate(r) for r in items], next_cursor=cursor)


@routes.get("/api/search/content", query=SearchQuery, response=Page[Content], access=Access.PUBLIC, tags=TAGS)
async def search_content(request: web.Request, query: SearchQuery) -> Page[Content]:
    """Posts by caption (hashtags included)."""
    items, cursor = await _typed(request, "content", query)
    base = media_base(request)
    return Page[Content](items=[content_model(r, base) for r in items], next_cursor=cursor)


@routes.get("/api/search/sounds", query=SearchQuery, response=Page[Sound], access=Access.PUBLIC, tags=TAGS)
async def search_sounds(request: web.Request, query: SearchQuery) -> Page[Sound]:
    """Sounds by title and artist."""
    items, cursor = await _typed(request, "sounds", query)
    base = media_base(request)
    return Page[Sound](items=[sound_model(r, base) for r in items], next_cursor=cursor)


@routes.get("/api/search/products", query=SearchQuery, response=Page[Product], access=Access.PUBLIC, tags=TAGS)
async def search_for_products(request: web.Request, query: SearchQuery) -> Page[Product]:
    """Products on sale by title, description and category, ranked by relevance and sales."""
    items, cursor = await _typed(request, "products", query)
    return Page[Product](items=[Product.model_validate(r) for r in items], next_cursor=cursor)
