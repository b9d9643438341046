"""``/api/content`` and ``/api/feed``: upload, read, view, like, unlike, comment; the feed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from aiohttp import BodyPartReader, web
from pydantic import Field, ValidationError

from api.models import Id, Page, PageQuery, Paragraphs, RequestModel, ResponseModel
from api.pagination import decode_cursor, encode_cursor
from api.problems import PayloadTooLarge, Unprocessable, UnsupportedMediaType, from_validation
from api.routing import Access, Routes, optional_principal, principal
from api.social.content import Category
from api.social.media import discard, probe_async, receive
from api.social.routes.models import (
    Content,
    Links,
    UserSummary,
    content_fields,
    content_model,
    id_cursor,
    media_base,
    millis,
    page_json,
    time_cursor,
)
from api.state import SETTINGS, SOCIAL
from store.ids import new_id

routes = Routes()
TAGS = ("content",)
Caption = Annotated[Paragraphs, Field(max_length=2200)]


class UploadForm(RequestModel):
    caption: Caption = ""
    category: Category | None = None
    sound_id: Id | None = None


UPLOAD_SCHEMA = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "A video or an image; its type is found by probing it.",
                },
                "caption": {"type": "string", "maxLength": 2200},
                "category": {"type": "string", "enum": [c.value for c in Category]},
                "sound_id": {"type": "string"},
            },
        }
    }
}


class CommentBody(RequestModel):
    text: Annotated[Paragraphs, Field(min_length=1, max_length=500)]


class Comment(ResponseModel):
    id: str
    content_id: str
    user: UserSummary
    text: str
    created_at: datetime


class ViewResult(ResponseModel):
    counted: bool = Field(description="False when this user already viewed it within the hour.")


class LikeResult(ResponseModel):
    liked: bool
    like_count: int


async def read_field(part: BodyPartReader, limit: int = 8192) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(4096):
        data += chunk
        if len(data) > limit:
            raise PayloadTooLarge(f"the form field {part.name!r} is too long", slug="field-too-large")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise Unprocessable(f"the form field {part.name!r} is not UTF-8 text", slug="invalid-field") from None


async def read_upload(request: web.Request, fields: set[str]) -> tuple[Path, dict[str, str]]:
    """Stream a multipart form with one ``file`` part to a temporary file, which the caller owns."""
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("send the upload as multipart/form-data", accept="multipart/form-data")
    settings = request.app[SETTINGS]
    temp = settings.data_dir / "uploads" / f"incoming-{new_id()}"
    values: dict[str, str] = {}
    got_file = False
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise Unprocessable("nested multipart bodies are not accepted", slug="invalid-form")
            if part.name == "file" and not got_file:
                await receive(part, temp, settings.upload_limit_bytes)
                got_file = True
            elif part.name in fields:
                values[part.name] = await read_field(part)
            else:
                raise Unprocessable(f"unexpected form field {part.name!r}", slug="invalid-form")
        if not got_file:
            raise Unprocessable("the form has no 'file' part", slug="file-missing")
    except BaseException:
        discard(temp)
        raise
    return temp, values


def _cid(request: web.Request) -> str:
    return request.match_info["content_id"]


@routes.post(
    "/api/content",
    response=Content,
    status=202,
    request_content=UPLOAD_SCHEMA,
    tags=TAGS,
    errors=(404, 413, 415, 422),
)
async def create_content(request: web.Request) -> Content:
    """Upload a video or an image with a caption; a video is packaged as HLS in the background
    (``status`` goes pending, processing, ready or failed)."""
    me = principal(request).user_id
    temp, values = await read_upload(request, {"caption", "category", "sound_id"})
    try:
        form = UploadForm.model_validate(values, strict=False)
        media = await probe_async(temp)
    except ValidationError as exc:
        discard(temp)
        raise from_validation(exc, "body") from None
    except BaseException:
        discard(temp)
        raise
    row = await request.app[SOCIAL].contents.publish(me, temp, media, form.caption, form.category, form.sound_id)
    return content_model(row, media_base(request))


@routes.get("/api/content/{content_id}", response=Content, access=Access.PUBLIC, tags=TAGS, errors=(404,))
async def get_content(request: web.Request) -> Content:
    """One post, with its playback URLs and processing status."""
    who = optional_principal(request)
    row = await request.app[SOCIAL].contents.get(_cid(request), who.user_id if who else None)
    return content_model(row, media_base(request))


@routes.post("/api/content/{content_id}/view", response=ViewResult, tags=TAGS, errors=(404,))
async def view_content(request: web.Request) -> ViewResult:
    """Count a view (once per user per hour)."""
    return ViewResult(counted=await request.app[SOCIAL].contents.view(_cid(request), principal(request).user_id))


@routes.post("/api/content/{content_id}/like", response=LikeResult, tags=TAGS, errors=(404, 409))
async def like_content(request: web.Request) -> LikeResult:
    """Like a post (once)."""
    count = await request.app[SOCIAL].contents.like(_cid(request), principal(request).user_id)
    return LikeResult(liked=True, like_count=count)


@routes.delete("/api/content/{content_id}/unlike", response=LikeResult, tags=TAGS, errors=(404,))
async def unlike_content(request: web.Request) -> LikeResult:
    """Take a like back."""
    count = await request.app[SOCIAL].contents.unlike(_cid(request), principal(request).user_id)
    return LikeResult(liked=False, like_count=count)


def _comment(row: Any) -> Comment:
    return Comment(
        id=row.id,
        content_id=row.content_id,
        user=UserSummary(id=row.user_id, username=row.username),
        text=row.body,
        created_at=row.created_at,
    )


@routes.post(
    "/api/content/{content_id}/comment",
    body=CommentBody,
    response=Comment,
    status=201,
    tags=TAGS,
    errors=(404, 422),
)
async def comment_content(request: web.Request, body: CommentBody) -> Comment:
    """Comment on a post; @mentions in the text notify."""
    return _comment(await request.app[SOCIAL].contents.comment(_cid(request), principal(request).user_id, body.text))


@routes.get(
    "/api/content/{content_id}/comments",
    query=PageQuery,
    response=Page[Comment],
    access=Access.PUBLIC,
    tags=TAGS,
    errors=(404,),
)
async def list_comments(request: web.Request, query: PageQuery) -> Page[Comment]:
    """Comments on a post, oldest first."""
    who = optional_principal(request)
    rows = await request.app[SOCIAL].contents.comments(
        _cid(request), who.user_id if who else None, query.limit, id_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([items[-1].id]) if len(rows) > query.limit else None
    return Page[Comment](items=[_comment(r) for r in items], next_cursor=cursor)


@routes.get(
    "/api/users/{user_id}/content",
    query=PageQuery,
    response=Page[Content],
    access=Access.PUBLIC,
    tags=TAGS,
    errors=(404,),
)
async def creator_content(request: web.Request, query: PageQuery) -> Page[Content]:
    """A creator's posts, newest first (empty for a private account the caller does not follow)."""
    who = optional_principal(request)
    rows = await request.app[SOCIAL].contents.of_creator(
        request.match_info["user_id"], who.user_id if who else None, query.limit, time_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([millis(items[-1].created_at), items[-1].id]) if len(rows) > query.limit else None
    base = media_base(request)
    return Page[Content](items=[content_model(r, base) for r in items], next_cursor=cursor)


@routes.get(
    "/api/users/{user_id}/liked",
    query=PageQuery,
    response=Page[Content],
    access=Access.PUBLIC,
    tags=TAGS,
    errors=(403, 404),
)
async def liked_content(request: web.Request, query: PageQuery) -> Page[Content]:
    """Posts a user liked, most recent first (403 when they keep their likes private)."""
    who = optional_principal(request)
    rows = await request.app[SOCIAL].contents.liked_by(
        request.match_info["user_id"], who.user_id if who else None, query.limit, time_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([millis(items[-1].liked_at), items[-1].id]) if len(rows) > query.limit else None
    base = media_base(request)
    return Page[Content](items=[content_model(r, base) for r in items], next_cursor=cursor)


def _feed_page(rows: list[Any], key: list[Any] | None, base: Links) -> bytes:
    # The body of a Page[Content], encoded without a model per item (api.social.routes.models.page_json).
    return page_json([content_fields(r._mapping, base) for r in rows], encode_cursor(key) if key else None)


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


@routes.get("/api/feed", query=PageQuery, response=Page[Content], access=Access.PUBLIC, tags=TAGS)
async def feed(request: web.Request, query: PageQuery) -> web.Response:
    """Posts of followed creators, newest first, then trending posts; no post appears twice across pages."""
    who = optional_principal(request)
    viewer = who.user_id if who else None
    base = media_base(request)
    feed = request.app[SOCIAL].feed
    if query.cursor is not None or not feed.cache.enabled:
        rows, key = await feed.page(viewer, query.limit, decode_cursor(query.cursor, 3))
        return _json(_feed_page(rows, key, base))
    # The first page comes from the cache (api.social.feed_cache) when it can; later pages never do.
    variant = (query.limit, base.base)
    cached = feed.cache.get(viewer, variant)
    if cached is not None and (not feed.cache.recheck or await feed.still_visible(viewer, list(cached.content_ids))):
        return _json(cached.body)
    epoch = feed.cache.epoch
    rows, key, followed = await feed.first_page(viewer, query.limit)
    body = _feed_page(rows, key, base)
    creators = {r.creator_id for r in rows}.union(followed)
    feed.cache.put(viewer, variant, body, [r.id for r in rows], creators, epoch)
    return _json(body)
