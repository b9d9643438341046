"""The feed's body is encoded from plain values (api.social.routes.models.page_json), not from a model per item:
it must be byte for byte what ``Page[Content]`` renders, which is what the OpenAPI document describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from api.models import Page
from api.social.media import MediaFiles
from api.social.routes.models import Content, Links, Playback, UserSummary, content_fields, page_json
from api.social.text import hashtags
from api.social.vod import FfmpegPackager


def _reference(row: Any, links: Links) -> Content:
    """The model the feed used to build per item, field by field."""
    return Content(
        id=row.id,
        creator=UserSummary(id=row.creator_id, username=row.creator_username, display_name=row.creator_display_name),
        kind=row.kind,
        caption=row.caption,
        hashtags=hashtags(row.caption),
        category=row.category,
        sound_id=row.sound_id,
        status=row.status,
        error=row.error,
        playback=Playback(
            hls_url=links.packaged(row.playlist_key),
            poster_url=links.packaged(row.poster_key) if row.kind == "video" else links.media(row.poster_key),
            image_url=links.media(row.image_key),
        ),
        duration_s=row.duration_s,
        width=row.width,
        height=row.height,
        view_count=row.view_count,
        like_count=row.like_count,
        comment_count=row.comment_count,
        liked=bool(row.liked),
        created_at=row.created_at,
    )


_keys = st.one_of(st.none(), st.from_regex(r"content/[a-z0-9]{4}/[a-z]{1,8}\.(png|m3u8|jpg)", fullmatch=True))
_rows = st.builds(
    SimpleNamespace,
    id=st.from_regex(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", fullmatch=True),
    creator_id=st.from_regex(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", fullmatch=True),
    creator_username=st.from_regex(r"[a-z0-9_.]{3,32}", fullmatch=True),
    creator_display_name=st.one_of(st.none(), st.text(max_size=40)),
    kind=st.sampled_from(["video", "image"]),
    caption=st.text(max_size=200) | st.just("dance #Cats and #cats 😀 \"quoted\" \\ \n tab\t"),
    category=st.one_of(st.none(), st.sampled_from(["music", "dance"])),
    sound_id=st.one_of(st.none(), st.from_regex(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", fullmatch=True)),
    status=st.sampled_from(["ready", "pending", "removed"]),
    error=st.one_of(st.none(), st.text(max_size=30)),
    playlist_key=_keys,
    poster_key=_keys,
    image_key=_keys,
    duration_s=st.one_of(st.none(), st.floats(min_value=0, max_value=600, allow_nan=False)),
    width=st.one_of(st.none(), st.integers(1, 4096)),
    height=st.one_of(st.none(), st.integers(1, 4096)),
    view_count=st.integers(0, 2**53),
    like_count=st.integers(0, 2**31),
    comment_count=st.integers(0, 2**31),
    liked=st.sampled_from([0, 1, True, False]),
    created_at=st.builds(
        lambda ms, micro: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms, microseconds=micro),
        st.integers(0, 10**11),
        st.sampled_from([0, 1, 500, 999]),
    ),
)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(_rows, max_size=5), cursor=st.one_of(st.none(), st.text(max_size=40)))
def test_page_json_is_what_the_models_render(tmp_path_factory: Any, rows: list[Any], cursor: str | None) -> None:
    files = MediaFiles(Path(tmp_path_factory.getbasetemp()) / "media")
    links = Links("http://127.0.0.1:8080", files, FfmpegPackager(files))
    expected = Page[Content](items=[_reference(r, links) for r in rows], next_cursor=cursor).model_dump_json()
    assert page_json([content_fields(vars(r), links) for r in rows], cursor) == expected.encode()
