"""Activity: the log of what users do that ranks things, and the per-user views of it.

Every like, view, comment, share, follow and sound use appends a row with a weight; trending sums those rows
over a window, and content also keeps a running decayed score (``contents.trend``) updated here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.problems import NotFound, Unprocessable
from api.social import graph
from store.database import Database
from store.ids import new_id
from store.schema.social import activities, content_hashtags, content_likes, contents, sounds
from store.types import utcnow

# Scores halve every HALF_LIFE; EPOCH only fixes the origin of the log2 scale.
HALF_LIFE = timedelta(hours=12)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Verb(StrEnum):
    VIEW = "view"
    LIKE = "like"
    COMMENT = "comment"
    SHARE = "share"
    WATCH_COMPLETE = "watch_complete"
    FOLLOW = "follow"
    SOUND_USE = "sound_use"
    PROFILE_VISIT = "profile_visit"
    UNFOLLOW = "unfollow"  # never logged or weighted here; only observers (follower growth) hear of it


WEIGHTS = {
    Verb.VIEW: 1.0,
    Verb.LIKE: 3.0,
    Verb.COMMENT: 5.0,
    Verb.SHARE: 8.0,
    Verb.WATCH_COMPLETE: 2.0,
    Verb.FOLLOW: 6.0,
    Verb.SOUND_USE: 4.0,
    Verb.PROFILE_VISIT: 0.5,
}
TRACKABLE = (Verb.SHARE, Verb.WATCH_COMPLETE, Verb.PROFILE_VISIT)


class Observer(Protocol):
    """Told of each activity after it commits (creator analytics). Must not block: it is called on the request
    path, so an implementation buffers and does its own I/O later."""

    def saw(self, verb: Verb, user_id: str, creator_id: str, content_id: str | None) -> None: ...


class Unobserved:
    def saw(self, verb: Verb, user_id: str, creator_id: str, content_id: str | None) -> None:
        """Nobody is listening (the social domains on their own)."""


def decayed_log(weight: float, at: datetime) -> float:
    """log2 of ``weight`` scaled to the common origin: ``weight * 2**((at - EPOCH) / HALF_LIFE)``."""
    return math.log2(weight) + (at - EPOCH) / HALF_LIFE


def add_log2(a: float, b: float) -> float:
    """log2(2**a + 2**b) without overflow."""
    high, low = max(a, b), min(a, b)
    return high + math.log2(1.0 + 2.0 ** (low - high))


async def record(
    conn: AsyncConnection,
    user_id: str,
    verb: Verb,
    *,
    content_id: str | None = None,
    creator_id: str | None = None,
    sound_id: str | None = None,
    counters: dict[str, int] | None = None,
) -> int | None:
    """Log the activity; for content, also raise its trend and add ``counters`` (e.g. ``like_count=1``) in the
    same UPDATE, and return the first counter's new value."""
    now = utcnow()
    weight = WEIGHTS[verb]
    await conn.execute(
        activities.insert().values(
            id=new_id(),
            user_id=user_id,
            verb=verb.value,
            content_id=content_id,
            creator_id=creator_id,
            sound_id=sound_id,
            weight=weight,
            created_at=now,
        )
    )
    if content_id is None:
        return None
    query = sa.select(contents.c.trend).where(contents.c.id == content_id)
    if conn.dialect.name == "postgresql":
        # NO KEY UPDATE: inserts that reference this row (likes, views, activity) hold KEY SHARE locks on it,
        # which a plain FOR UPDATE would wait on and deadlock with (PostgreSQL docs, "Row-Level Locks").
        query = query.with_for_update(key_share=True)
    old = (await conn.execute(query)).scalar()
    if old is None:
        return None
    values: dict[str, Any] = {name: contents.c[name] + delta for name, delta in (counters or {}).items()}
    values["trend"] = add_log2(float(old), decayed_log(weight, now))
    update = contents.update().where(contents.c.id == content_id).values(**values)
    if not counters:
        await conn.execute(update)
        return None
    first = next(iter(counters))
    return int((await conn.execute(update.returning(contents.c[first]))).scalar_one())


class Activity:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.observer: Observer = Unobserved()

    async def track(
        self, user_id: str, verb: Verb, content_id: str | None, creator_id: str | None, sound_id: str | None
    ) -> None:
        if verb not in TRACKABLE:
            raise Unprocessable(f"'{verb.value}' is recorded by its own endpoint", slug="untrackable-verb")
        async with self._db.write() as conn:
            if content_id is not None:
                row = (
                    await conn.execute(
                        sa.select(contents.c.creator_id).where(
                            contents.c.id == content_id,
                            contents.c.status == "ready",
                            graph.can_see(contents.c.creator_id, user_id),
                        )
                    )
                ).first()
                if row is None:
                    raise NotFound("no such content")
                creator_id = row.creator_id
            elif creator_id is not None:
                if not await graph.user_exists(conn, creator_id) or await graph.is_blocked(conn, user_id, creator_id):
                    raise NotFound("no such user")
            elif sound_id is not None:
                if (await conn.execute(sa.select(sounds.c.id).where(sounds.c.id == sound_id))).first() is None:
                    raise NotFound("no such sound")
            else:
                raise Unprocessable(
                    "name what the activity is about: content_id, creator_id or sound_id",
                    slug="activity-subject-missing",
                )
            await record(conn, user_id, verb, content_id=content_id, creator_id=creator_id, sound_id=sound_id)
        if creator_id is not None:
            self.observer.saw(verb, user_id, creator_id, content_id)

    async def mine(self, user_id: str, limit: int, before: str | None) -> list[Any]:
        query = sa.select(activities).where(activities.c.user_id == user_id)
        if before is not None:
            query = query.where(activities.c.id < before)
        async with self._db.read() as conn:
            return list(await conn.execute(query.order_by(activities.c.id.desc()).limit(limit + 1)))

    async def recommendations(self, user_id: str, limit: int) -> list[str]:
        """Content ids: ready, visible, not mine, not liked yet, sharing hashtags with what I engaged with in
        the last 30 days, best trend first; topped up with the trending rest."""
        since = utcnow() - timedelta(days=30)
        async with self._db.read() as conn:
            engaged = (
                sa.select(content_hashtags.c.tag)
                .join(activities, activities.c.content_id == content_hashtags.c.content_id)
                .where(activities.c.user_id == user_id, activities.c.created_at >= since)
                .distinct()
            )
            liked = sa.select(content_likes.c.content_id).where(content_likes.c.user_id == user_id)
            base = sa.select(contents.c.id).where(
                contents.c.status == "ready",
                contents.c.creator_id != user_id,
                contents.c.id.not_in(liked),
                graph.can_see(contents.c.creator_id, user_id),
            )
            related = base.where(
                contents.c.id.in_(sa.select(content_hashtags.c.content_id).where(content_hashtags.c.tag.in_(engaged)))
            )
            order = (contents.c.trend.desc(), contents.c.id)
            ids: list[str] = list((await conn.execute(related.order_by(*order).limit(limit))).scalars())
            if len(ids) < limit:
                rest = base.where(contents.c.id.not_in(ids)) if ids else base
                ids += list((await conn.execute(rest.order_by(*order).limit(limit - len(ids)))).scalars())
        return ids
