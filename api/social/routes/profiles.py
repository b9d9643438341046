"""``/api/users``: profiles, follow and unfollow, followers and following, block and unblock."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field, HttpUrl

from api.models import Line, Page, PageQuery, Paragraphs, RequestModel
from api.pagination import encode_cursor
from api.problems import Unprocessable
from api.routing import Access, Routes, optional_principal, principal
from api.social.routes.models import Connection, Profile, PublicProfile, millis, time_cursor
from api.state import SOCIAL

routes = Routes()
TAGS = ("users",)


class ProfileUpdate(RequestModel):
    display_name: Annotated[Line, Field(min_length=1, max_length=64)] | None = None
    bio: Annotated[Paragraphs, Field(max_length=300)] | None = None
    avatar_url: Annotated[str, Field(max_length=512)] | None = None
    website: Annotated[str, Field(max_length=512)] | None = None

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True)
        for key in ("avatar_url", "website"):
            if values.get(key):
                values[key] = str(HttpUrl(values[key]))
        return values


def _uid(request: web.Request) -> str:
    return request.match_info["user_id"]


@routes.get("/api/users/profile", response=Profile, tags=TAGS)
async def get_own_profile(request: web.Request) -> Profile:
    """The caller's own profile."""
    me = principal(request).user_id
    row, _, _ = await request.app[SOCIAL].profiles.get(me, me)
    return Profile.model_validate(row)


@routes.put("/api/users/profile", body=ProfileUpdate, response=Profile, tags=TAGS, errors=(422,))
async def update_profile(request: web.Request, body: ProfileUpdate) -> Profile:
    """Change the caller's display name, bio, avatar URL or website (fields left out stay as they are)."""
    try:
        changes = body.changes()
    except ValueError as exc:
        raise Unprocessable("avatar_url and website must be http(s) URLs", slug="invalid-url") from exc
    row = await request.app[SOCIAL].profiles.update(principal(request).user_id, changes)
    return Profile.model_validate(row)


@routes.get("/api/users/{user_id}", response=PublicProfile, access=Access.PUBLIC, tags=TAGS, errors=(404,))
async def get_profile(request: web.Request) -> PublicProfile:
    """Someone's profile, with whether the caller follows it and may see its content."""
    who = optional_principal(request)
    row, following, can_see = await request.app[SOCIAL].profiles.get(_uid(request), who.user_id if who else None)
    return PublicProfile.model_validate({**row._mapping, "is_following": following, "can_see_content": can_see})


@routes.post("/api/users/{user_id}/follow", status=204, tags=TAGS, errors=(400, 403, 404, 409))
async def follow(request: web.Request) -> None:
    """Follow a user."""
    await request.app[SOCIAL].profiles.follow(principal(request).user_id, _uid(request))


@routes.delete("/api/users/{user_id}/unfollow", status=204, tags=TAGS, errors=(404,))
async def unfollow(request: web.Request) -> None:
    """Stop following a user."""
    await request.app[SOCIAL].profiles.unfollow(principal(request).user_id, _uid(request))


@routes.post("/api/users/{user_id}/block", status=204, tags=TAGS, errors=(400, 404, 409))
async def block(request: web.Request) -> None:
    """Block a user: they can no longer follow, message or see the caller; follows both ways end."""
    await request.app[SOCIAL].profiles.block(principal(request).user_id, _uid(request))


@routes.delete("/api/users/{user_id}/unblock", status=204, tags=TAGS, errors=(404,))
async def unblock(request: web.Request) -> None:
    """Lift a block."""
    await request.app[SOCIAL].profiles.unblock(principal(request).user_id, _uid(request))


async def _connections(request: web.Request, query: PageQuery, direction: str) -> Page[Connection]:
    who = optional_principal(request)
    rows = await request.app[SOCIAL].profiles.connections(
        _uid(request), who.user_id if who else None, direction, query.limit, time_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([millis(items[-1].followed_at), items[-1].id]) if len(rows) > query.limit else None
    return Page[Connection](items=[Connection.model_validate(r) for r in items], next_cursor=cursor)


@routes.get(
    "/api/users/{user_id}/followers",
    query=PageQuery,
    response=Page[Connection],
    access=Access.PUBLIC,
    tags=TAGS,
    errors=(403, 404),
)
async def followers(request: web.Request, query: PageQuery) -> Page[Connection]:
    """Who follows a user, most recent first."""
    return await _connections(request, query, "followers")


@routes.get(
    "/api/users/{user_id}/following",
    query=PageQuery,
    response=Page[Connection],
    access=Access.PUBLIC,
    tags=TAGS,
    errors=(403, 404),
)
async def following(request: web.Request, query: PageQuery) -> Page[Connection]:
    """Whom a user follows, most recent first."""
    return await _connections(request, query, "following")
