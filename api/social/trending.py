"""Trending: activity in a window, each event weighted by kind and decayed linearly with its age (an event
at the start of the window counts 0, one now counts its full weight), summed per content, hashtag, sound
and creator. The feed uses the running exponential score on ``contents.trend`` instead
(``api.social.activity``), which needs no window and pages stably; these lists are recomputed per request."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from api.social import graph
from api.social.content import Category, content_query
from api.social.profiles import profile_query
from api.social.sounds import sound_query
from store.database import Database
from store.schema.accounts import users
from store.schema.social import activities, content_hashtags, contents, sounds
from store.types import utcnow


class Window(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


SPANS = {
    Window.HOUR: timedelta(hours=1),
    Window.DAY: timedelta(days=1),
    Window.WEEK: timedelta(days=7),
    Window.MONTH: timedelta(days=30),
}


class Trending:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def _score(window: Window) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[bool]]:
        span = SPANS[window]
        start = utcnow() - span
        start_ms = int(start.timestamp() * 1000)
        age = sa.type_coerce(activities.c.created_at, sa.BigInteger) - start_ms
        score = sa.func.sum(activities.c.weight * age / float(span.total_seconds() * 1000))
        return score, activities.c.created_at >= start

    async def content(self, viewer_id: str | None, window: Window, limit: int) -> list[Any]:
        score, recent = self._score(window)
        ranked = (
            sa.select(activities.c.content_id, score.label("score"))
            .where(recent, activities.c.content_id.is_not(None))
            .group_by(activities.c.content_id)
            .subquery()
        )
        query = (
            content_query(viewer_id)
            .join(ranked, ranked.c.content_id == contents.c.id)
            .add_columns(ranked.c.score)
            .where(contents.c.status == "ready", graph.can_see(contents.c.creator_id, viewer_id))
            .order_by(ranked.c.score.desc(), contents.c.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return list(await conn.execute(query))

    async def hashtags(self, window: Window, limit: int) -> list[Any]:
        score, recent = self._score(window)
        query = (
            sa.select(
                content_hashtags.c.tag,
                score.label("score"),
                sa.func.count(sa.distinct(content_hashtags.c.content_id)).label("content_count"),
            )
            .select_from(
                activities.join(content_hashtags, content_hashtags.c.content_id == activities.c.content_id).join(
                    contents, contents.c.id == activities.c.content_id
                )
            )
            .where(recent, graph.can_see(contents.c.creator_id, None))
            .group_by(content_hashtags.c.tag)
            .order_by(sa.desc("score"), content_hashtags.c.tag)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return list(await conn.execute(query))

    async def sounds(self, viewer_id: str | None, window: Window, limit: int) -> list[Any]:
        score, recent = self._score(window)
        sound = sa.func.coalesce(activities.c.sound_id, contents.c.sound_id)
        ranked = (
            sa.select(sound.label("sound_id"), score.label("score"))
            .select_from(activities.outerjoin(contents, contents.c.id == activities.c.content_id))
            .where(recent, sound.is_not(None))
            .group_by(sound)
            .subquery()
        )
        query = (
            sound_query(viewer_id)
            .join(ranked, ranked.c.sound_id == sounds.c.id)
            .add_columns(ranked.c.score)
            .order_by(ranked.c.score.desc(), sounds.c.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return list(await conn.execute(query))

    async def creators(self, viewer_id: str | None, window: Window, limit: int) -> list[Any]:
        score, recent = self._score(window)
        ranked = (
            sa.select(activities.c.creator_id, score.label("score"))
            .where(recent, activities.c.creator_id.is_not(None))
            .group_by(activities.c.creator_id)
            .subquery()
        )
        query = (
            profile_query()
            .join(ranked, ranked.c.creator_id == users.c.id)
            .add_columns(ranked.c.score)
            .where(users.c.status == "active")
            .order_by(ranked.c.score.desc(), users.c.id)
            .limit(limit)
        )
        if viewer_id is not None:
            query = query.where(~graph.blocked_between(users.c.id, viewer_id))
        async with self._db.read() as conn:
            return list(await conn.execute(query))

    async def categories(self, viewer_id: str | None, per_category: int) -> list[tuple[Category, int, list[Any]]]:
        visible = sa.and_(contents.c.status == "ready", graph.can_see(contents.c.creator_id, viewer_id))
        async with self._db.read() as conn:
            counts: dict[str, int] = dict(
                (
                    await conn.execute(
                        sa.select(contents.c.category, sa.func.count())
                        .where(visible, contents.c.category.is_not(None))
                        .group_by(contents.c.category)
                    )
                ).all()
            )
            result = []
            for category in Category:
                top = list(
                    await conn.execute(
                        content_query(viewer_id)
                        .where(visible, contents.c.category == category.value)
                        .order_by(contents.c.trend.desc(), contents.c.id.desc())
                        .limit(per_category)
                    )
                )
                result.append((category, int(counts.get(category.value, 0)), top))
        return result

    async def category(
        self, viewer_id: str | None, category: Category, limit: int, after: tuple[float, str] | None
    ) -> list[Any]:
        query = content_query(viewer_id).where(
            contents.c.status == "ready",
            contents.c.category == category.value,
            graph.can_see(contents.c.creator_id, viewer_id),
        )
        if after is not None:
            query = query.where(
                sa.or_(
                    contents.c.trend < after[0],
                    sa.and_(contents.c.trend == after[0], contents.c.id < after[1]),
                )
            )
        async with self._db.read() as conn:
            return list(
                await conn.execute(query.order_by(contents.c.trend.desc(), contents.c.id.desc()).limit(limit + 1))
            )
