"""The feed: posts of followed creators first, newest first, then every other visible post by trend."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from api.social.content import content_query, visible
from api.social.feed_cache import FeedCache
from store.database import Database
from store.schema.social import contents, follows
from store.types import UtcDateTime

# Feed statements are built once with bound parameters: building and hashing a statement of this size
# costs more CPU than SQLite takes to run it.
_VIEWER = sa.bindparam("viewer", type_=sa.String)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_AT = sa.bindparam("at", type_=UtcDateTime)
_TREND = sa.bindparam("trend", type_=sa.Float)
_LAST = sa.bindparam("last", type_=sa.String)


@functools.cache
def _followed_phase(after: bool) -> sa.Select[Any]:
    followed = sa.select(follows.c.followee_id).where(follows.c.follower_id == _VIEWER)
    # Following implies visible: private accounts show to followers, and a block ends follows.
    newest = sa.select(contents.c.id).where(contents.c.creator_id.in_(followed), contents.c.status == "ready")
    if after:
        newest = newest.where(
            sa.or_(contents.c.created_at < _AT, sa.and_(contents.c.created_at == _AT, contents.c.id < _LAST))
        )
    # The followees' posts are merged and sorted by the database: pick the page's ids first, so the sort carries
    # two columns and the page's columns (creator's name, the viewer's like) are read for its rows only.
    page = newest.order_by(contents.c.created_at.desc(), contents.c.id.desc()).limit(_LIMIT)
    return (
        content_query(_VIEWER)
        .where(contents.c.id.in_(page.scalar_subquery()))
        .order_by(contents.c.created_at.desc(), contents.c.id.desc())
    )


@functools.cache
def _trending_phase(signed_in: bool, after: bool) -> sa.Select[Any]:
    viewer = _VIEWER if signed_in else None
    query = content_query(viewer).where(visible(viewer))
    if signed_in:
        followed = sa.select(follows.c.followee_id).where(follows.c.follower_id == _VIEWER)
        query = query.where(contents.c.creator_id.not_in(followed), contents.c.creator_id != _VIEWER)
    if after:
        query = query.where(
            sa.or_(contents.c.trend < _TREND, sa.and_(contents.c.trend == _TREND, contents.c.id < _LAST))
        )
    return query.order_by(contents.c.trend.desc(), contents.c.id.desc()).limit(_LIMIT)


@functools.cache
def _followees() -> sa.Select[Any]:
    return sa.select(follows.c.followee_id).where(follows.c.follower_id == _VIEWER)


@functools.cache
def _still_visible(signed_in: bool) -> sa.Select[Any]:
    ids: sa.BindParameter[list[str]] = sa.bindparam("ids", expanding=True)
    return sa.select(contents.c.id).where(contents.c.id.in_(ids), visible(_VIEWER if signed_in else None))


class Feed:
    """Two keyset-paged phases that never overlap (their creator sets are disjoint): ``f`` is content of
    creators the viewer follows, newest first; ``t`` is all other visible content, by trend.

    ``cache`` holds rendered first pages (:mod:`api.social.feed_cache`); the services that change what a feed
    shows invalidate it."""

    def __init__(self, db: Database, cache: FeedCache | None = None) -> None:
        self._db = db
        self.cache = cache if cache is not None else FeedCache(size=0)

    async def first_page(self, viewer_id: str | None, limit: int) -> tuple[list[Any], list[Any] | None, list[str]]:
        """The first page, its next cursor, and whom the viewer follows (whose new posts would change it)."""

        def read(conn: sa.Connection) -> tuple[list[Any], list[Any] | None, list[str]]:
            rows, cursor = _page(conn, viewer_id, limit, None)
            followed: list[str] = []
            if viewer_id is not None:
                followed = list(conn.execute(_followees(), {"viewer": viewer_id}).scalars())
            return rows, cursor, followed

        return await self._db.run_read(read, inline=True)

    async def still_visible(self, viewer_id: str | None, content_ids: list[str]) -> bool:
        """Every one of these posts is still ready and visible to the viewer (checked in one statement)."""
        if not content_ids:
            return True
        statement = _still_visible(viewer_id is not None)
        params = {"viewer": viewer_id, "ids": content_ids}
        found = await self._db.run_read(lambda conn: len(conn.execute(statement, params).all()), inline=True)
        return found == len(set(content_ids))

    async def page(
        self, viewer_id: str | None, limit: int, cursor: list[Any] | None
    ) -> tuple[list[Any], list[Any] | None]:
        # Both phases read one snapshot. Each walks an index and stops after the page, so the read runs inline
        # (store.database.Database.run_read): cheaper than a trip to a reader thread.
        return await self._db.run_read(lambda conn: _page(conn, viewer_id, limit, cursor), inline=True)


def _page(
    conn: sa.Connection, viewer_id: str | None, limit: int, cursor: list[Any] | None
) -> tuple[list[Any], list[Any] | None]:
    rows: list[Any] = []
    phase = cursor[0] if cursor else ("f" if viewer_id else "t")
    if phase not in ("f", "t"):
        phase = "t"
    if phase == "f" and viewer_id is not None:
        params: dict[str, Any] = {"viewer": viewer_id, "limit": limit + 1}
        if cursor:
            params.update(at=datetime.fromtimestamp(int(cursor[1]) / 1000, tz=UTC), last=str(cursor[2]))
        rows = list(conn.execute(_followed_phase(bool(cursor)), params).all())
        if len(rows) > limit:
            last = rows[limit - 1]
            return rows[:limit], ["f", int(last.created_at.timestamp() * 1000), last.id]
        cursor = None
    need = limit - len(rows)
    after = bool(cursor and cursor[0] == "t" and cursor[1] != "")
    params = {"viewer": viewer_id, "limit": need + 1}
    if after and cursor:
        params.update(trend=float(cursor[1]), last=str(cursor[2]))
    more = conn.execute(_trending_phase(viewer_id is not None, after), params).all()
    rows += more[:need]
    if len(more) > need:
        if need == 0:  # the page ended exactly at the end of the followed phase
            return rows, ["t", "", ""]
        last = rows[-1]
        return rows, ["t", last.trend, last.id]
    return rows, None
