"""Profiles and the social graph: profile documents, follow and unfollow, followers and following, blocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.problems import BadRequest, Conflict, Forbidden, NotFound
from api.social import activity, graph
from api.social.feed_cache import FeedCache
from api.social.notifications import Kind, Notifications
from store.database import Database
from store.schema.accounts import users
from store.schema.social import blocks, follows, profiles
from store.types import utcnow

_PROFILE_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.role,
    users.c.created_at,
    sa.func.coalesce(profiles.c.bio, "").label("bio"),
    profiles.c.avatar_url,
    profiles.c.website,
    sa.func.coalesce(profiles.c.is_private, False).label("is_private"),
    sa.func.coalesce(profiles.c.follower_count, 0).label("follower_count"),
    sa.func.coalesce(profiles.c.following_count, 0).label("following_count"),
    sa.func.coalesce(profiles.c.content_count, 0).label("content_count"),
    sa.func.coalesce(profiles.c.like_count, 0).label("like_count"),
)


def profile_query() -> sa.Select[Any]:
    return sa.select(*_PROFILE_COLUMNS).select_from(users.outerjoin(profiles, profiles.c.user_id == users.c.id))


async def _bump_pair(conn: AsyncConnection, follower_id: str, followee_id: str, delta: int) -> None:
    """Change both counters of a follow, locking the two profile rows in id order so that two users
    following each other at the same moment cannot deadlock."""
    changes = {follower_id: {"following_count": delta}, followee_id: {"follower_count": delta}}
    for user_id in sorted(changes):
        await graph.bump(conn, user_id, **changes[user_id])


class Profiles:
    def __init__(self, db: Database, notifications: Notifications) -> None:
        self._db = db
        self._notifications = notifications
        self.observer: activity.Observer = activity.Unobserved()
        self.feed_cache = FeedCache(size=0)  # the feed's, set by api.social.domain.Social

    async def follower_ids(self, user_id: str) -> list[str]:
        """Everyone following ``user_id`` (the scheduler's live reminders go to them)."""
        async with self._db.read() as conn:
            found = await conn.execute(sa.select(follows.c.follower_id).where(follows.c.followee_id == user_id))
            return list(found.scalars())

    async def get(self, user_id: str, viewer_id: str | None) -> tuple[Any, bool, bool]:
        """The profile row, whether the viewer follows it, and whether the viewer may see its content."""
        async with self._db.read() as conn:
            row = (await conn.execute(profile_query().where(users.c.id == user_id))).first()
            if row is None or (viewer_id is not None and await graph.is_blocked(conn, user_id, viewer_id)):
                raise NotFound("no such user")
            following = viewer_id is not None and await graph.is_following(conn, viewer_id, user_id)
            can_see = await graph.visible(conn, user_id, viewer_id)
        return row, following, can_see

    async def update(self, user_id: str, changes: dict[str, Any]) -> Any:
        now = utcnow()
        async with self._db.write() as conn:
            await graph.ensure_profile(conn, user_id)
            if "display_name" in changes:
                await conn.execute(
                    users.update()
                    .where(users.c.id == user_id)
                    .values(display_name=changes.pop("display_name"), updated_at=now)
                )
            await conn.execute(profiles.update().where(profiles.c.user_id == user_id).values(**changes, updated_at=now))
            return (await conn.execute(profile_query().where(users.c.id == user_id))).one()

    async def follow(self, follower_id: str, followee_id: str) -> None:
        if follower_id == followee_id:
            raise BadRequest("you cannot follow yourself", slug="follow-self")
        async with self._db.write() as conn:
            if not await graph.user_exists(conn, followee_id):
                raise NotFound("no such user")
            if await graph.is_blocked(conn, follower_id, followee_id):
                raise Forbidden("you cannot follow this user", slug="blocked")
            if not await graph.insert_ignore(
                conn,
                follows,
                {"follower_id": follower_id, "followee_id": followee_id, "created_at": utcnow()},
            ):
                raise Conflict("you already follow this user", slug="already-following")
            await _bump_pair(conn, follower_id, followee_id, 1)
            await activity.record(conn, follower_id, activity.Verb.FOLLOW, creator_id=followee_id)
            name = await graph.username(conn, follower_id)
            notice = await self._notifications.add(
                conn,
                Kind.FOLLOW,
                followee_id,
                actor_id=follower_id,
                subject_id=follower_id,
                text=f"@{name} started following you",
            )
        self.feed_cache.forget_users(follower_id, followee_id)
        await self._notifications.deliver([notice])
        self.observer.saw(activity.Verb.FOLLOW, follower_id, followee_id, None)

    async def unfollow(self, follower_id: str, followee_id: str) -> None:
        async with self._db.write() as conn:
            gone = await conn.execute(
                follows.delete().where(follows.c.follower_id == follower_id, follows.c.followee_id == followee_id)
            )
            if not gone.rowcount:
                raise NotFound("you do not follow this user", slug="not-following")
            await _bump_pair(conn, follower_id, followee_id, -1)
        self.feed_cache.forget_users(follower_id, followee_id)
        self.observer.saw(activity.Verb.UNFOLLOW, follower_id, followee_id, None)

    async def block(self, blocker_id: str, blocked_id: str) -> None:
        if blocker_id == blocked_id:
            raise BadRequest("you cannot block yourself", slug="block-self")
        async with self._db.write() as conn:
            if not await graph.user_exists(conn, blocked_id):
                raise NotFound("no such user")
            if not await graph.insert_ignore(
                conn, blocks, {"blocker_id": blocker_id, "blocked_id": blocked_id, "created_at": utcnow()}
            ):
                raise Conflict("you already blocked this user", slug="already-blocked")
            # A block ends the follow in both directions.
            for a, b in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
                gone = await conn.execute(
                    follows.delete().where(follows.c.follower_id == a, follows.c.followee_id == b)
                )
                if gone.rowcount:
                    await _bump_pair(conn, a, b, -1)
        self.feed_cache.forget_users(blocker_id, blocked_id)

    async def unblock(self, blocker_id: str, blocked_id: str) -> None:
        async with self._db.write() as conn:
            gone = await conn.execute(
                blocks.delete().where(blocks.c.blocker_id == blocker_id, blocks.c.blocked_id == blocked_id)
            )
            if not gone.rowcount:
                raise NotFound("you have not blocked this user", slug="not-blocked")
        self.feed_cache.forget_users(blocker_id, blocked_id)

    async def connections(
        self,
        user_id: str,
        viewer_id: str | None,
        direction: str,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[Any]:
        """Followers (``direction="followers"``) or followed accounts of ``user_id``, newest first."""
        mine, other = (
            (follows.c.followee_id, follows.c.follower_id)
            if direction == "followers"
            else (follows.c.follower_id, follows.c.followee_id)
        )
        async with self._db.read() as conn:
            blocked = viewer_id is not None and await graph.is_blocked(conn, user_id, viewer_id)
            if blocked or not await graph.user_exists(conn, user_id):
                raise NotFound("no such user")
            if not await graph.visible(conn, user_id, viewer_id):
                raise Forbidden("this account is private", slug="private-account")
            query = (
                sa.select(follows.c.created_at.label("followed_at"), *_PROFILE_COLUMNS)
                .select_from(
                    follows.join(users, users.c.id == other).outerjoin(profiles, profiles.c.user_id == users.c.id)
                )
                .where(mine == user_id)
            )
            if viewer_id is not None:
                query = query.where(~graph.blocked_between(other, viewer_id))
            if after is not None:
                at, last = after
                query = query.where(
                    sa.or_(follows.c.created_at < at, sa.and_(follows.c.created_at == at, other > last))
                )
            query = query.order_by(follows.c.created_at.desc(), other).limit(limit + 1)
            return list(await conn.execute(query))
