"""Content: publishing uploads, reading, views, likes and comments (:class:`Contents`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.problems import Conflict, Forbidden, NotFound, Unprocessable
from api.social import activity, graph, text
from api.social.feed_cache import FeedCache
from api.social.media import MediaFiles, Probe, discard
from api.social.notifications import Kind, Notice, Notifications
from api.social.settings import UserSettings
from api.social.vod import VodJobs
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.social import (
    comments,
    content_hashtags,
    content_likes,
    content_mentions,
    content_views,
    contents,
    sounds,
)
from store.types import utcnow


class Category(StrEnum):
    COMEDY = "comedy"
    MUSIC = "music"
    DANCE = "dance"
    SPORTS = "sports"
    FOOD = "food"
    GAMING = "gaming"
    BEAUTY = "beauty"
    EDUCATION = "education"
    PETS = "pets"
    TRAVEL = "travel"
    OTHER = "other"


def content_query(viewer_id: graph.Viewer) -> sa.Select[Any]:
    liked: sa.ColumnElement[bool] = (
        sa.exists().where(content_likes.c.content_id == contents.c.id, content_likes.c.user_id == viewer_id)
        if viewer_id is not None
        else sa.false()
    )
    return sa.select(
        contents,
        users.c.username.label("creator_username"),
        users.c.display_name.label("creator_display_name"),
        liked.label("liked"),
    ).select_from(contents.join(users, users.c.id == contents.c.creator_id))


def visible(viewer_id: graph.Viewer) -> sa.ColumnElement[bool]:
    return sa.and_(contents.c.status == "ready", graph.can_see(contents.c.creator_id, viewer_id))


class Contents:
    def __init__(
        self,
        db: Database,
        files: MediaFiles,
        uploads: Path,
        jobs: VodJobs,
        notifications: Notifications,
        max_video_s: float,
    ) -> None:
        self._db = db
        self._files = files
        self._uploads = uploads
        self._jobs = jobs
        self._notifications = notifications
        self._max_video_s = max_video_s
        self.observer: activity.Observer = activity.Unobserved()
        self.feed_cache = FeedCache(size=0)  # the feed's, set by api.social.domain.Social
        uploads.mkdir(parents=True, exist_ok=True)

    @property
    def jobs(self) -> VodJobs:
        return self._jobs

    async def publish(
        self,
        user_id: str,
        upload: Path,
        media: Probe,
        caption: str,
        category: Category | None,
        sound_id: str | None,
    ) -> Any:
        """Turn a probed upload into content; on any error nothing is left behind (row or file)."""
        if media.kind == "audio":
            raise Unprocessable(
                "content must be a video or an image; upload audio as a sound",
                slug="unsupported-content-type",
            )
        if media.kind == "video" and media.duration_s > self._max_video_s:
            raise Unprocessable(f"videos may be at most {self._max_video_s:g} seconds long", slug="video-too-long")
        content_id = new_id()
        prefix = f"content/{content_id}"
        now = utcnow()
        source = self._uploads / f"{content_id}.{media.extension}"
        image_key = f"{prefix}/original.{media.extension}" if media.kind == "image" else None
        try:
            async with self._db.write() as conn:
                if (
                    sound_id is not None
                    and (await conn.execute(sa.select(sounds.c.id).where(sounds.c.id == sound_id))).first() is None
                ):
                    raise NotFound("no such sound", slug="sound-not-found")
                await conn.execute(
                    contents.insert().values(
                        id=content_id,
                        creator_id=user_id,
                        kind=media.kind,
                        caption=caption,
                        category=category.value if category else None,
                        sound_id=sound_id,
                        status="ready" if image_key else "pending",
                        media_prefix=prefix,
                        source_key=source.name if not image_key else None,
                        image_key=image_key,
                        poster_key=image_key,
                        width=media.width,
                        height=media.height,
                        duration_s=media.duration_s if media.kind == "video" else None,
                        trend=activity.decayed_log(1.0, now),
                        created_at=now,
                    )
                )
                for tag in text.hashtags(caption):
                    await conn.execute(content_hashtags.insert().values(content_id=content_id, tag=tag))
                if sound_id is not None:
                    await conn.execute(
                        sounds.update().where(sounds.c.id == sound_id).values(use_count=sounds.c.use_count + 1)
                    )
                await graph.bump(conn, user_id, content_count=1)
                notices = await self._mentions(conn, user_id, content_id, caption)
                # Move the file last: if it fails, the transaction rolls back and no row remains.
                if image_key:
                    self._files.put_file(upload, image_key)
                else:
                    self._files.move(upload, source)
        except BaseException:
            discard(upload, source)
            self._files.delete_prefix(prefix)
            raise
        if image_key:  # ready now: in the feeds of the creator's followers (a video is, once packaged)
            self.feed_cache.forget_creator(user_id)
        else:
            self._jobs.start(content_id, source, prefix)
        await self._notifications.deliver(notices)
        return await self.get(content_id, user_id)

    async def _mentions(
        self, conn: AsyncConnection, user_id: str, content_id: str, caption: str
    ) -> list[Notice | None]:
        found = await graph.user_ids_by_name(conn, text.mentions(caption))
        name = await graph.username(conn, user_id)
        notices = []
        for mentioned in found.values():
            await conn.execute(content_mentions.insert().values(content_id=content_id, user_id=mentioned))
            notices.append(
                await self._notifications.add(
                    conn,
                    Kind.MENTION,
                    mentioned,
                    actor_id=user_id,
                    subject_id=content_id,
                    text=f"@{name} mentioned you in a post",
                    data={"content_id": content_id},
                )
            )
        return notices

    async def get(self, content_id: str, viewer_id: str | None) -> Any:
        """The content if the viewer may see it; the creator sees their own while it is still processing."""
        query = content_query(viewer_id).where(contents.c.id == content_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                raise NotFound("no such content")
            own = row.creator_id == viewer_id
            if not own and (row.status != "ready" or not await graph.visible(conn, row.creator_id, viewer_id)):
                raise NotFound("no such content")
            return row

    async def _visible_for_write(self, conn: AsyncConnection, content_id: str, user_id: str) -> Any:
        """The post's id and creator if the user may see it (so neither blocked the other), and the user's name
        for notices: one statement, as every statement of a write costs a trip to the database's thread."""
        actor = sa.select(users.c.username).where(users.c.id == user_id).scalar_subquery()
        row = (
            await conn.execute(
                sa.select(contents.c.id, contents.c.creator_id, actor.label("actor_name")).where(
                    contents.c.id == content_id, visible(user_id)
                )
            )
        ).first()
        if row is None:
            raise NotFound("no such content")
        return row

    async def view(self, content_id: str, user_id: str) -> bool:
        """Count a view, once per user per hour; True if this one counted."""
        hour = int(utcnow().timestamp() // 3600)
        async with self._db.write() as conn:
            row = await self._visible_for_write(conn, content_id, user_id)
            if not await graph.insert_ignore(
                conn, content_views, {"content_id": content_id, "user_id": user_id, "hour": hour}
            ):
                return False
            await activity.record(
                conn,
                user_id,
                activity.Verb.VIEW,
                content_id=content_id,
                creator_id=row.creator_id,
                counters={"view_count": 1},
            )
        self.observer.saw(activity.Verb.VIEW, user_id, row.creator_id, content_id)
        return True

    async def like(self, content_id: str, user_id: str) -> int:
        async with self._db.write() as conn:
            row = await self._visible_for_write(conn, content_id, user_id)
            if not await graph.insert_ignore(
                conn, content_likes, {"content_id": content_id, "user_id": user_id, "created_at": utcnow()}
            ):
                raise Conflict("you already like this", slug="already-liked")
            await graph.bump(conn, row.creator_id, like_count=1)
            count = await activity.record(
                conn,
                user_id,
                activity.Verb.LIKE,
                content_id=content_id,
                creator_id=row.creator_id,
                counters={"like_count": 1},
            )
            notice = await self._notifications.add(
                conn,
                Kind.LIKE,
                row.creator_id,
                actor_id=user_id,
                subject_id=content_id,
                text=f"@{row.actor_name or 'someone'} liked your post",
                data={"content_id": content_id},
                unblocked=True,  # the post is visible to the liker
            )
        await self._notifications.deliver([notice])
        self.observer.saw(activity.Verb.LIKE, user_id, row.creator_id, content_id)
        return int(count or 0)

    async def unlike(self, content_id: str, user_id: str) -> int:
        async with self._db.write() as conn:
            row = await self._visible_for_write(conn, content_id, user_id)
            gone = await conn.execute(
                content_likes.delete().where(
                    content_likes.c.content_id == content_id, content_likes.c.user_id == user_id
                )
            )
            if not gone.rowcount:
                raise NotFound("you do not like this", slug="not-liked")
            await conn.execute(
                contents.update().where(contents.c.id == content_id).values(like_count=contents.c.like_count - 1)
            )
            await graph.bump(conn, row.creator_id, like_count=-1)
            count = (await conn.execute(sa.select(contents.c.like_count).where(contents.c.id == content_id))).scalar()
            return int(count or 0)

    async def comment(self, content_id: str, user_id: str, body: str) -> Any:
        comment_id = new_id()
        async with self._db.write() as conn:
            row = await self._visible_for_write(conn, content_id, user_id)
            await conn.execute(
                comments.insert().values(
                    id=comment_id, content_id=content_id, user_id=user_id, body=body, created_at=utcnow()
                )
            )
            await activity.record(
                conn,
                user_id,
                activity.Verb.COMMENT,
                content_id=content_id,
                creator_id=row.creator_id,
                counters={"comment_count": 1},
            )
            name = row.actor_name or "someone"
            notices = [
                await self._notifications.add(
                    conn,
                    Kind.COMMENT,
                    row.creator_id,
                    actor_id=user_id,
                    subject_id=content_id,
                    text=f"@{name} commented: {body[:80]}",
                    data={"content_id": content_id, "comment_id": comment_id},
                    unblocked=True,  # the post is visible to the commenter
                )
            ]
            for mentioned in (await graph.user_ids_by_name(conn, text.mentions(body))).values():
                notices.append(
                    await self._notifications.add(
                        conn,
                        Kind.MENTION,
                        mentioned,
                        actor_id=user_id,
                        subject_id=content_id,
                        text=f"@{name} mentioned you in a comment",
                        data={"content_id": content_id},
                    )
                )
            created = (await conn.execute(self._comment_query().where(comments.c.id == comment_id))).one()
        await self._notifications.deliver(notices)
        self.observer.saw(activity.Verb.COMMENT, user_id, row.creator_id, content_id)
        return created

    @staticmethod
    def _comment_query() -> sa.Select[Any]:
        return sa.select(comments, users.c.username).select_from(comments.join(users, users.c.id == comments.c.user_id))

    async def comments(self, content_id: str, viewer_id: str | None, limit: int, after: str | None) -> list[Any]:
        await self.get(content_id, viewer_id)
        query = self._comment_query().where(comments.c.content_id == content_id, comments.c.removed_at.is_(None))
        if viewer_id is not None:
            query = query.where(~graph.blocked_between(comments.c.user_id, viewer_id))
        if after is not None:
            query = query.where(comments.c.id > after)
        async with self._db.read() as conn:
            return list(await conn.execute(query.order_by(comments.c.id).limit(limit + 1)))

    async def by_ids(self, ids: Sequence[str], viewer_id: str | None) -> list[Any]:
        if not ids:
            return []
        async with self._db.read() as conn:
            rows = {
                r.id: r
                for r in await conn.execute(content_query(viewer_id).where(contents.c.id.in_(ids), visible(viewer_id)))
            }
        return [rows[i] for i in ids if i in rows]

    async def of_creator(
        self, creator_id: str, viewer_id: str | None, limit: int, after: tuple[datetime, str] | None
    ) -> list[Any]:
        query = content_query(viewer_id).where(contents.c.creator_id == creator_id)
        query = query.where(contents.c.status == "ready") if creator_id != viewer_id else query
        async with self._db.read() as conn:
            if not await graph.visible(conn, creator_id, viewer_id):
                return []
            if after is not None:
                query = query.where(
                    sa.or_(
                        contents.c.created_at < after[0],
                        sa.and_(contents.c.created_at == after[0], contents.c.id < after[1]),
                    )
                )
            query = query.order_by(contents.c.created_at.desc(), contents.c.id.desc()).limit(limit + 1)
            return list(await conn.execute(query))

    async def liked_by(
        self, user_id: str, viewer_id: str | None, limit: int, after: tuple[datetime, str] | None
    ) -> list[Any]:
        """Posts ``user_id`` liked, most recent like first; others see them only if the user's
        ``privacy.show_activity`` allows, and only the posts they may see."""
        async with self._db.read() as conn:
            blocked = viewer_id is not None and await graph.is_blocked(conn, user_id, viewer_id)
            if blocked or not await graph.user_exists(conn, user_id):
                raise NotFound("no such user")
            if viewer_id != user_id and not (await UserSettings.load(conn, user_id)).privacy.show_activity:
                raise Forbidden("this user keeps their likes private", slug="activity-private")
            likes = content_likes.alias("likes")  # content_query's own "liked by me" subquery uses the table
            liked_at = likes.c.created_at
            query = (
                content_query(viewer_id)
                .add_columns(liked_at.label("liked_at"))
                .join(likes, likes.c.content_id == contents.c.id)
                .where(likes.c.user_id == user_id, visible(viewer_id))
            )
            if after is not None:
                query = query.where(
                    sa.or_(liked_at < after[0], sa.and_(liked_at == after[0], contents.c.id < after[1]))
                )
            query = query.order_by(liked_at.desc(), contents.c.id.desc()).limit(limit + 1)
            return list(await conn.execute(query))

    async def purge_view_marks(self) -> int:
        """Forget which user viewed what in past hours: the marks only enforce "once per hour"."""
        hour = int(utcnow().timestamp() // 3600)
        async with self._db.write() as conn:
            gone = await conn.execute(content_views.delete().where(content_views.c.hour < hour))
            return int(gone.rowcount or 0)
