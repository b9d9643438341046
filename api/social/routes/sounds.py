"""``/api/sounds``: the library, popular sounds, use, favorites, download, upload."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field, ValidationError

from api.models import Line, Page, PageQuery, RequestModel, ResponseModel
from api.pagination import decode_cursor, encode_cursor
from api.problems import from_validation
from api.routing import Access, Routes, optional_principal, principal
from api.social.media import discard, probe_async
from api.social.routes.content import read_upload
from api.social.routes.models import Sound, id_cursor, media_base, sound_model
from api.state import SOCIAL

routes = Routes()
TAGS = ("sounds",)


class SoundForm(RequestModel):
    title: Annotated[Line, Field(min_length=1, max_length=120)]
    artist: Annotated[Line, Field(min_length=1, max_length=120)] | None = None


class SoundQuery(PageQuery):
    favorites: bool = Field(False, description="Only my favorites.")


class Used(ResponseModel):
    use_count: int


UPLOAD_SCHEMA = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file", "title"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "title": {"type": "string"},
                "artist": {"type": "string"},
            },
        }
    }
}


def _sid(request: web.Request) -> str:
    return request.match_info["sound_id"]


def _viewer(request: web.Request) -> str | None:
    who = optional_principal(request)
    return who.user_id if who else None


@routes.get("/api/sounds", query=SoundQuery, response=Page[Sound], access=Access.PUBLIC, tags=TAGS)
async def list_sounds(request: web.Request, query: SoundQuery) -> Page[Sound]:
    """The sound library, newest first (or only my favorites)."""
    rows = await request.app[SOCIAL].sounds.library(
        _viewer(request), query.limit, id_cursor(query.cursor), query.favorites
    )
    items = rows[: query.limit]
    base = media_base(request)
    return Page[Sound](
        items=[sound_model(r, base) for r in items],
        next_cursor=encode_cursor([items[-1].id]) if len(rows) > query.limit else None,
    )


@routes.get("/api/sounds/trending", query=PageQuery, response=Page[Sound], access=Access.PUBLIC, tags=TAGS)
async def popular_sounds(request: web.Request, query: PageQuery) -> Page[Sound]:
    """Sounds by how often they were used."""
    key = decode_cursor(query.cursor, 2)
    after = (int(key[0]), str(key[1])) if key else None
    rows = await request.app[SOCIAL].sounds.popular(_viewer(request), query.limit, after)
    items = rows[: query.limit]
    base = media_base(request)
    cursor = encode_cursor([items[-1].use_count, items[-1].id]) if len(rows) > query.limit else None
    return Page[Sound](items=[sound_model(r, base) for r in items], next_cursor=cursor)


@routes.post(
    "/api/sounds",
    response=Sound,
    status=201,
    request_content=UPLOAD_SCHEMA,
    access=Access.CREATOR,
    tags=TAGS,
    errors=(403, 413, 415, 422),
)
async def upload_sound(request: web.Request) -> Sound:
    """Upload an audio file (creator accounts; probed; at most the configured duration)."""
    me = principal(request).user_id
    temp, values = await read_upload(request, {"title", "artist"})
    try:
        form = SoundForm.model_validate(values, strict=False)
        media = await probe_async(temp)
    except ValidationError as exc:
        discard(temp)
        raise from_validation(exc, "body") from None
    except BaseException:
        discard(temp)
        raise
    row = await request.app[SOCIAL].sounds.upload(me, temp, media, form.title, form.artist)
    return sound_model(row, media_base(request))


@routes.get("/api/sounds/{sound_id}", response=Sound, access=Access.PUBLIC, tags=TAGS, errors=(404,))
async def get_sound(request: web.Request) -> Sound:
    """One sound."""
    return sound_model(await request.app[SOCIAL].sounds.get(_sid(request), _viewer(request)), media_base(request))


@routes.post("/api/sounds/{sound_id}/use", response=Used, tags=TAGS, errors=(404,))
async def use_sound(request: web.Request) -> Used:
    """Count a use of a sound (a creator picked it for a post)."""
    return Used(use_count=await request.app[SOCIAL].sounds.use(_sid(request), principal(request).user_id))


@routes.post("/api/sounds/{sound_id}/favorite", status=204, tags=TAGS, errors=(404, 409))
async def favorite_sound(request: web.Request) -> None:
    """Add a sound to my favorites."""
    await request.app[SOCIAL].sounds.favorite(_sid(request), principal(request).user_id)


@routes.delete("/api/sounds/{sound_id}/favorite", status=204, tags=TAGS, errors=(404,))
async def unfavorite_sound(request: web.Request) -> None:
    """Remove a sound from my favorites."""
    await request.app[SOCIAL].sounds.unfavorite(_sid(request), principal(request).user_id)


@routes.get(
    "/api/sounds/{sound_id}/download",
    access=Access.PUBLIC,
    tags=TAGS,
    errors=(404,),
    summary="Download the original audio file.",
)
async def download_sound(request: web.Request) -> web.FileResponse:
    """Download the original audio file."""
    path, media_type, name = await request.app[SOCIAL].sounds.file(_sid(request))
    safe = "".join(c if c.isalnum() or c in " ._-" else "_" for c in name)
    return web.FileResponse(
        path, headers={"Content-Type": media_type, "Content-Disposition": f'attachment; filename="{safe}"'}
    )
