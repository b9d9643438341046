"""Response models shared by the social routes, and the functions that build them from rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import Field
from pydantic_core import to_json

from api.models import ResponseModel
from api.pagination import decode_cursor
from api.social.media import MediaFiles
from api.social.text import hashtags
from api.social.vod import VodPackager
from api.state import SETTINGS, SOCIAL


@dataclass(frozen=True, slots=True)
class Links:
    """Absolute URLs for one response: the configured public URL, else the origin the client used."""

    base: str
    files: MediaFiles

    vod: VodPackager

    def media(self, key: str | None) -> str | None:
        return self.files.url(self.base, key) if key else None

    def packaged(self, key: str | None) -> str | None:
        """A key the VOD packager wrote (HLS playlists, posters of videos)."""
        if not key:
            return None
        where = self.vod.url(key)
        return where if "://" in where else f"{self.base}{where}"

    def api(self, path: str) -> str:
        return self.base + path


def media_base(request: web.Request) -> Links:
    public = request.app[SETTINGS].public_url
    base = public.rstrip("/") if public else str(request.url.origin())
    social = request.app[SOCIAL]
    return Links(base, social.files, social.contents.jobs.packager)


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """Decode a ``[milliseconds, id]`` cursor."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    return datetime.fromtimestamp(int(key[0]) / 1000, tz=UTC), str(key[1])


def score_cursor(cursor: str | None) -> tuple[float, str] | None:
    key = decode_cursor(cursor, 2)
    return None if key is None else (float(key[0]), str(key[1]))


def id_cursor(cursor: str | None) -> str | None:
    key = decode_cursor(cursor, 1)
    return None if key is None else str(key[0])


class UserSummary(ResponseModel):
    id: str
    username: str
    display_name: str | None = None


class Profile(ResponseModel):
    id: str
    username: str
    display_name: str
    role: str
    bio: str
    avatar_url: str | None
    website: str | None
    is_private: bool
    follower_count: int
    following_count: int
    content_count: int
    like_count: int
    created_at: datetime


class PublicProfile(Profile):
    is_following: bool = Field(description="The caller follows this account.")
    can_see_content: bool = Field(description="False for a private account the caller does not follow.")


class Connection(Profile):
    followed_at: datetime


class Playback(ResponseModel):
    hls_url: str | None = Field(None, description="HLS multivariant playlist (videos, once ready).")
    poster_url: str | None = None
    image_url: str | None = Field(None, description="The picture (images).")


class Content(ResponseModel):
    id: str
    creator: UserSummary
    kind: str
    caption: str
    hashtags: list[str]
    category: str | None
    sound_id: str | None
    status: str = Field(description="pending, processing, ready, failed, or removed (by moderation; owner only).")
    error: str | None
    playback: Playback
    duration_s: float | None
    width: int | None
    height: int | None
    view_count: int
    like_count: int
    comment_count: int
    liked: bool
    created_at: datetime


def content_fields(row: Mapping[str, Any], links: Links) -> dict[str, Any]:
    """A content row (its ``Row._mapping``) as :class:`Content`'s plain values in the model's field order: every
    value comes from a typed column, so hot paths encode these with :func:`page_json` instead of validating a
    model per item. By key, not attribute: a ``Row``'s attribute lookup costs about four times as much."""
    kind = row["kind"]
    caption = row["caption"]
    return {
        "id": row["id"],
        "creator": {
            "id": row["creator_id"],
            "username": row["creator_username"],
            "display_name": row["creator_display_name"],
        },
        "kind": kind,
        "caption": caption,
        "hashtags": hashtags(caption),
        "category": row["category"],
        "sound_id": row["sound_id"],
        "status": row["status"],
        "error": row["error"],
        "playback": {
            "hls_url": links.packaged(row["playlist_key"]),
            "poster_url": links.packaged(row["poster_key"]) if kind == "video" else links.media(row["poster_key"]),
            "image_url": links.media(row["image_key"]),
        },
        "duration_s": row["duration_s"],
        "width": row["width"],
        "height": row["height"],
        "view_count": row["view_count"],
        "like_count": row["like_count"],
        "comment_count": row["comment_count"],
        "liked": bool(row["liked"]),
        "created_at": row["created_at"],
    }


def content_model(row: Any, links: Links) -> Content:
    return Content.model_validate(content_fields(row._mapping, links))


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """``Page[Content](items=..., next_cursor=...).model_dump_json()`` for :func:`content_fields` items, byte for
    byte: pydantic's own serializer (datetimes, floats, non-ASCII text) without building a model per item."""
    return to_json({"items": items, "next_cursor": next_cursor})


class Sound(ResponseModel):
    id: str
    title: str
    artist: str
    duration_s: float
    media_type: str
    creator: UserSummary | None
    use_count: int
    favorite_count: int
    favorite: bool
    file_url: str
    download_url: str
    created_at: datetime


def sound_model(row: Any, links: Links) -> Sound:
    creator = (
        UserSummary(id=row.creator_id, username=row.creator_username)
        if row.creator_id and row.creator_username
        else None
    )
    return Sound(
        id=row.id,
        title=row.title,
        artist=row.artist,
        duration_s=row.duration_s,
        media_type=row.media_type,
        creator=creator,
        use_count=row.use_count,
        favorite_count=row.favorite_count,
        favorite=bool(row.favorite),
        file_url=links.files.url(links.base, row.file_key),
        download_url=links.api(f"/api/sounds/{row.id}/download"),
        created_at=row.created_at,
    )


class Message(ResponseModel):
    id: str
    conversation_id: str
    sender_id: str
    text: str | None
    content_id: str | None
    story_id: str | None
    media_url: str | None
    created_at: datetime
    deleted: bool


def message_model(row: Any) -> Message:
    deleted = row.deleted_at is not None or row.removed_at is not None  # by its sender, or by moderation
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        sender_id=row.sender_id,
        text=None if deleted else row.text,
        content_id=None if deleted else row.content_id,
        story_id=None if deleted else row.story_id,
        media_url=None if deleted else row.media_url,
        created_at=row.created_at,
        deleted=deleted,
    )


class Notification(ResponseModel):
    id: str
    kind: str
    actor_id: str | None
    subject_id: str | None
    text: str
    data: dict[str, Any]
    created_at: datetime
    read: bool


def notification_model(row: Any) -> Notification:
    return Notification(
        id=row.id,
        kind=row.kind,
        actor_id=row.actor_id,
        subject_id=row.subject_id,
        text=row.text,
        data=json.loads(row.data),
        created_at=row.created_at,
        read=row.read_at is not None,
    )
