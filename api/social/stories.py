"""Stories: posts that expire after 24 hours. Only the owner sees who viewed them; viewers react once each
with one of five emoji; a reply becomes a direct message to the owner; a mention notifies."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from api.events import DomainEvent, EventPublisher
from api.problems import BadRequest, Conflict, Forbidden, NotFound
from api.social import graph, text
from api.social.messaging import Messaging, message_payload
from api.social.notifications import Kind, Notice, Notifications
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.social import contents, follows, stories, story_mentions, story_reactions, story_views
from store.types import utcnow

LIFETIME = timedelta(hours=24)


class Reaction(StrEnum):
    HEART = "❤️"
    LAUGH = "😂"
    WOW = "😮"
    SAD = "😢"
    FIRE = "🔥"


def story_query() -> sa.Select[Any]:
    return sa.select(stories, users.c.username).select_from(stories.join(users, users.c.id == stories.c.user_id))


class Stories:
    def __init__(
        self, db: Database, notifications: Notifications, messaging: Messaging, events: EventPublisher
    ) -> None:
        self._db = db
        self._notifications = notifications
        self._messaging = messaging
        self._events = events

    async def create(self, user_id: str, body: str, content_id: str | None, background: str | None) -> Any:
        if not body and content_id is None:
            raise BadRequest("a story needs text or a content_id", slug="empty-story")
        story_id = new_id()
        now = utcnow()
        async with self._db.write() as conn:
            if (
                content_id is not None
                and (
                    await conn.execute(
                        sa.select(contents.c.id).where(
                            contents.c.id == content_id,
                            contents.c.creator_id == user_id,
                            contents.c.status == "ready",
                        )
                    )
                ).first()
                is None
            ):
                raise NotFound("no such content of yours is ready", slug="content-not-found")
            await conn.execute(
                stories.insert().values(
                    id=story_id,
                    user_id=user_id,
                    text=body,
                    content_id=content_id,
                    background=background,
                    created_at=now,
                    expires_at=now + LIFETIME,
                )
            )
            name = await graph.username(conn, user_id)
            notices: list[Notice | None] = []
            for mentioned in (await graph.user_ids_by_name(conn, text.mentions(body))).values():
                await conn.execute(story_mentions.insert().values(story_id=story_id, user_id=mentioned))
                notices.append(
                    await self._notifications.add(
                        conn,
                        Kind.MENTION,
                        mentioned,
                        actor_id=user_id,
                        subject_id=story_id,
                        text=f"@{name} mentioned you in a story",
                        data={"story_id": story_id},
                    )
                )
            row = (await conn.execute(story_query().where(stories.c.id == story_id))).one()
        await self._notifications.deliver(notices)
        return row

    async def page(
        self, viewer_id: str, owner_id: str | None, limit: int, after: tuple[datetime, str] | None
    ) -> list[Any]:
        """Live stories of one owner, or of the viewer and everyone they follow; newest first."""
        query = story_query().where(stories.c.expires_at > utcnow(), graph.can_see(stories.c.user_id, viewer_id))
        if owner_id is not None:
            query = query.where(stories.c.user_id == owner_id)
        else:
            followed = sa.select(follows.c.followee_id).where(follows.c.follower_id == viewer_id)
            query = query.where(sa.or_(stories.c.user_id == viewer_id, stories.c.user_id.in_(followed)))
        if after is not None:
            query = query.where(
                sa.or_(
                    stories.c.created_at < after[0],
                    sa.and_(stories.c.created_at == after[0], stories.c.id < after[1]),
                )
            )
        query = query.order_by(stories.c.created_at.desc(), stories.c.id.desc()).limit(limit + 1)
        async with self._db.read() as conn:
            return list(await conn.execute(query))

    async def _live(self, story_id: str, viewer_id: str) -> Any:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    story_query().where(
                        stories.c.id == story_id,
                        stories.c.expires_at > utcnow(),
                        graph.can_see(stories.c.user_id, viewer_id),
                    )
                )
            ).first()
        if row is None:
            raise NotFound("no such story (it may have expired)")
        return row

    async def delete(self, story_id: str, user_id: str) -> None:
        async with self._db.write() as conn:
            owner = (await conn.execute(sa.select(stories.c.user_id).where(stories.c.id == story_id))).scalar()
            if owner is None:
                raise NotFound("no such story")
            if owner != user_id:
                raise Forbidden("only the owner can delete a story", slug="not-owner")
            await conn.execute(stories.delete().where(stories.c.id == story_id))

    async def view(self, story_id: str, viewer_id: str) -> bool:
        story = await self._live(story_id, viewer_id)
        if story.user_id == viewer_id:
            return False
        async with self._db.write() as conn:
            counted = await graph.insert_ignore(
                conn, story_views, {"story_id": story_id, "viewer_id": viewer_id, "viewed_at": utcnow()}
            )
            if counted:
                await conn.execute(
                    stories.update().where(stories.c.id == story_id).values(view_count=stories.c.view_count + 1)
                )
        return counted

    async def viewers(self, story_id: str, owner_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Any]:
        async with self._db.read() as conn:
            owner = (await conn.execute(sa.select(stories.c.user_id).where(stories.c.id == story_id))).scalar()
            if owner is None:
                raise NotFound("no such story")
            if owner != owner_id:
                raise Forbidden("only the owner sees who viewed a story", slug="not-owner")
            query = (
                sa.select(
                    story_views.c.viewer_id,
                    story_views.c.viewed_at,
                    users.c.username,
                    users.c.display_name,
                    story_reactions.c.emoji,
                )
                .select_from(
                    story_views.join(users, users.c.id == story_views.c.viewer_id).outerjoin(
                        story_reactions,
                        sa.and_(
                            story_reactions.c.story_id == story_id,
                            story_reactions.c.user_id == story_views.c.viewer_id,
                        ),
                    )
                )
                .where(story_views.c.story_id == story_id)
            )
            if after is not None:
                query = query.where(
                    sa.or_(
                        story_views.c.viewed_at < after[0],
                        sa.and_(story_views.c.viewed_at == after[0], story_views.c.viewer_id > after[1]),
                    )
                )
            query = query.order_by(story_views.c.viewed_at.desc(), story_views.c.viewer_id).limit(limit + 1)
            return list(await conn.execute(query))

    async def react(self, story_id: str, user_id: str, emoji: Reaction) -> None:
        story = await self._live(story_id, user_id)
        if story.user_id == user_id:
            raise BadRequest("you cannot react to your own story", slug="react-own-story")
        async with self._db.write() as conn:
            if not await graph.insert_ignore(
                conn,
                story_reactions,
                {"story_id": story_id, "user_id": user_id, "emoji": emoji.value, "created_at": utcnow()},
            ):
                raise Conflict("you already reacted to this story", slug="already-reacted")
            await graph.insert_ignore(
                conn, story_views, {"story_id": story_id, "viewer_id": user_id, "viewed_at": utcnow()}
            )
            name = await graph.username(conn, user_id)
            notice = await self._notifications.add(
                conn,
                Kind.STORY_REACTION,
                story.user_id,
                actor_id=user_id,
                subject_id=story_id,
                text=f"@{name} reacted {emoji.value} to your story",
                data={"story_id": story_id},
            )
        await self._notifications.deliver([notice])

    async def reply(self, story_id: str, user_id: str, body: str) -> Any:
        """A reply is a direct message to the owner that refers to the story."""
        story = await self._live(story_id, user_id)
        if story.user_id == user_id:
            raise BadRequest("you cannot reply to your own story", slug="reply-own-story")
        async with self._db.write() as conn:
            row = await self._messaging.send_in(
                conn, user_id, story.user_id, text=body, content_id=None, story_id=story_id, media_url=None
            )
            name = await graph.username(conn, user_id)
            notice = await self._notifications.add(
                conn,
                Kind.MESSAGE,
                story.user_id,
                actor_id=user_id,
                subject_id=row.conversation_id,
                text=f"@{name} replied to your story: {body[:80]}",
                data={"conversation_id": row.conversation_id},
            )
        await self._events.publish(DomainEvent("message:new", (story.user_id, user_id), message_payload(row)))
        await self._notifications.deliver([notice])
        return row

    async def purge_expired(self) -> int:
        """Delete stories past their expiry (their views, reactions and mentions go with them)."""
        async with self._db.write() as conn:
            gone = await conn.execute(stories.delete().where(stories.c.expires_at <= utcnow()))
            return int(gone.rowcount or 0)
