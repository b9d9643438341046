"""Direct messages: 1:1 conversations created on first send, text and media references, soft delete by the
sender, read receipts and unread counts, announced to both sides' sockets as domain events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.events import DomainEvent, EventPublisher
from api.problems import Forbidden, NotFound, Unprocessable
from api.social import graph
from api.social.notifications import Kind, Notifications
from api.social.settings import UserSettings, WhoCanMessage
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.social import contents, conversation_members, conversations, messages
from store.types import utcnow


def message_payload(row: Any) -> dict[str, Any]:
    deleted = row.deleted_at is not None or row.removed_at is not None  # by its sender, or by moderation
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "sender_id": row.sender_id,
        "text": None if deleted else row.text,
        "content_id": None if deleted else row.content_id,
        "story_id": None if deleted else row.story_id,
        "media_url": None if deleted else row.media_url,
        "created_at": row.created_at.isoformat(),
        "deleted": deleted,
    }


class Messaging:
    def __init__(self, db: Database, events: EventPublisher, notifications: Notifications) -> None:
        self._db = db
        self._events = events
        self._notifications = notifications

    async def send(
        self,
        sender_id: str,
        recipient_id: str,
        *,
        text: str | None = None,
        content_id: str | None = None,
        story_id: str | None = None,
        media_url: str | None = None,
    ) -> Any:
        if sender_id == recipient_id:
            raise Unprocessable("you cannot message yourself", slug="message-self")
        if not (text or content_id or media_url):
            raise Unprocessable("a message needs text, a content_id or a media_url", slug="empty-message")
        async with self._db.write() as conn:
            row = await self.send_in(
                conn,
                sender_id,
                recipient_id,
                text=text,
                content_id=content_id,
                story_id=story_id,
                media_url=media_url,
            )
            name = await graph.username(conn, sender_id)
            notice = await self._notifications.add(
                conn,
                Kind.MESSAGE,
                recipient_id,
                actor_id=sender_id,
                subject_id=row.conversation_id,
                text=f"@{name}: {(text or 'sent you a post')[:80]}",
                data={"conversation_id": row.conversation_id},
            )
        await self._events.publish(DomainEvent("message:new", (recipient_id, sender_id), message_payload(row)))
        await self._notifications.deliver([notice])
        return row

    async def send_in(
        self,
        conn: AsyncConnection,
        sender_id: str,
        recipient_id: str,
        *,
        text: str | None,
        content_id: str | None,
        story_id: str | None,
        media_url: str | None,
    ) -> Any:
        """Check who may message whom and write the message, inside the caller's transaction."""
        if not await graph.user_exists(conn, recipient_id):
            raise NotFound("no such user")
        if await graph.is_blocked(conn, sender_id, recipient_id):
            raise Forbidden("you cannot message this user", slug="blocked")
        rule = (await UserSettings.load(conn, recipient_id)).privacy.who_can_message
        if rule is WhoCanMessage.NOBODY or (
            rule is WhoCanMessage.FOLLOWERS and not await graph.is_following(conn, sender_id, recipient_id)
        ):
            raise Forbidden("this user does not accept messages from you", slug="messages-not-allowed")
        if (
            content_id is not None
            and (
                await conn.execute(
                    sa.select(contents.c.id).where(
                        contents.c.id == content_id,
                        contents.c.status == "ready",
                        graph.can_see(contents.c.creator_id, sender_id),
                    )
                )
            ).first()
            is None
        ):
            raise NotFound("no such content", slug="content-not-found")
        now = utcnow()
        a, b = sorted((sender_id, recipient_id))
        # Two first messages racing each other create one conversation: the pair is unique, the loser's
        # insert does nothing, and both then read the winner's row.
        created = await graph.insert_ignore(
            conn,
            conversations,
            {"id": new_id(), "user_a": a, "user_b": b, "created_at": now, "last_message_at": now},
        )
        conversation_id: str = (
            await conn.execute(
                sa.select(conversations.c.id).where(conversations.c.user_a == a, conversations.c.user_b == b)
            )
        ).scalar_one()
        if created:
            for member in (a, b):
                await conn.execute(
                    conversation_members.insert().values(
                        conversation_id=conversation_id, user_id=member, unread_count=0, last_message_at=now
                    )
                )
        message_id = new_id()
        await conn.execute(
            messages.insert().values(
                id=message_id,
                conversation_id=conversation_id,
                sender_id=sender_id,
                text=text,
                content_id=content_id,
                story_id=story_id,
                media_url=media_url,
                created_at=now,
            )
        )
        await conn.execute(
            conversations.update().where(conversations.c.id == conversation_id).values(last_message_at=now)
        )
        members = conversation_members.c
        await conn.execute(
            conversation_members.update().where(members.conversation_id == conversation_id).values(last_message_at=now)
        )
        await conn.execute(
            conversation_members.update()
            .where(members.conversation_id == conversation_id, members.user_id == recipient_id)
            .values(unread_count=members.unread_count + 1)
        )
        await conn.execute(
            conversation_members.update()
            .where(members.conversation_id == conversation_id, members.user_id == sender_id)
            .values(last_read_id=message_id, unread_count=0)
        )
        return (await conn.execute(sa.select(messages).where(messages.c.id == message_id))).one()

    async def conversations(self, user_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Any]:
        me = conversation_members.alias("me")
        peer_id = sa.case((conversations.c.user_a == user_id, conversations.c.user_b), else_=conversations.c.user_a)
        last = (
            sa.select(messages.c.id)
            .where(messages.c.conversation_id == conversations.c.id)
            .order_by(messages.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            sa.select(
                conversations.c.id,
                conversations.c.created_at,
                me.c.last_message_at,
                me.c.unread_count,
                peer_id.label("peer_id"),
                users.c.username.label("peer_username"),
                users.c.display_name.label("peer_display_name"),
                last.label("last_message_id"),
            )
            .select_from(
                me.join(conversations, conversations.c.id == me.c.conversation_id).join(users, users.c.id == peer_id)
            )
            .where(me.c.user_id == user_id)
        )
        if after is not None:
            query = query.where(
                sa.or_(
                    me.c.last_message_at < after[0],
                    sa.and_(me.c.last_message_at == after[0], conversations.c.id < after[1]),
                )
            )
        query = query.order_by(me.c.last_message_at.desc(), conversations.c.id.desc()).limit(limit + 1)
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
            ids = [r.last_message_id for r in rows if r.last_message_id]
            lasts = (
                {m.id: m for m in await conn.execute(sa.select(messages).where(messages.c.id.in_(ids)))} if ids else {}
            )
        return [(r, lasts.get(r.last_message_id)) for r in rows]

    async def _member(self, conn: AsyncConnection, conversation_id: str, user_id: str) -> Any:
        row = (
            await conn.execute(
                sa.select(conversation_members).where(
                    conversation_members.c.conversation_id == conversation_id,
                    conversation_members.c.user_id == user_id,
                )
            )
        ).first()
        if row is None:
            raise NotFound("no such conversation")
        return row

    async def messages(self, conversation_id: str, user_id: str, limit: int, before: str | None) -> list[Any]:
        """Newest first; deleted messages stay in place with their contents removed."""
        async with self._db.read() as conn:
            await self._member(conn, conversation_id, user_id)
            query = sa.select(messages).where(messages.c.conversation_id == conversation_id)
            if before is not None:
                query = query.where(messages.c.id < before)
            return list(await conn.execute(query.order_by(messages.c.id.desc()).limit(limit + 1)))

    async def delete(self, message_id: str, user_id: str) -> None:
        async with self._db.write() as conn:
            row = (await conn.execute(sa.select(messages).where(messages.c.id == message_id))).first()
            if row is None or row.deleted_at is not None:
                raise NotFound("no such message")
            if row.sender_id != user_id:
                raise Forbidden("only the sender can delete a message", slug="not-sender")
            await conn.execute(
                messages.update()
                .where(messages.c.id == message_id)
                .values(deleted_at=utcnow(), text=None, content_id=None, story_id=None, media_url=None)
            )
            peer = (
                await conn.execute(
                    sa.select(conversation_members.c.user_id).where(
                        conversation_members.c.conversation_id == row.conversation_id,
                        conversation_members.c.user_id != user_id,
                    )
                )
            ).scalar()
        audience = tuple(u for u in (peer, user_id) if u)
        await self._events.publish(
            DomainEvent("message:deleted", audience, {"id": message_id, "conversation_id": row.conversation_id})
        )

    async def mark_read(self, conversation_id: str, user_id: str) -> str | None:
        """Read everything so far; the peer gets a read receipt naming the last message read."""
        async with self._db.write() as conn:
            await self._member(conn, conversation_id, user_id)
            last = (
                await conn.execute(
                    sa.select(messages.c.id)
                    .where(messages.c.conversation_id == conversation_id)
                    .order_by(messages.c.id.desc())
                    .limit(1)
                )
            ).scalar()
            await conn.execute(
                conversation_members.update()
                .where(
                    conversation_members.c.conversation_id == conversation_id,
                    conversation_members.c.user_id == user_id,
                )
                .values(last_read_id=last, unread_count=0)
            )
            peer = (
                await conn.execute(
                    sa.select(conversation_members.c.user_id).where(
                        conversation_members.c.conversation_id == conversation_id,
                        conversation_members.c.user_id != user_id,
                    )
                )
            ).scalar()
        if peer is not None:
            await self._events.publish(
                DomainEvent(
                    "message:read",
                    (peer,),
                    {
                        "conversation_id": conversation_id,
                        "reader_id": user_id,
                        "last_read_id": last,
                        "read_at": datetime.now(UTC).isoformat(),
                    },
                )
            )
        return last

    async def peer_read_up_to(self, conversation_id: str, user_id: str) -> str | None:
        async with self._db.read() as conn:
            return (
                await conn.execute(
                    sa.select(conversation_members.c.last_read_id).where(
                        conversation_members.c.conversation_id == conversation_id,
                        conversation_members.c.user_id != user_id,
                    )
                )
            ).scalar()

    async def unread_total(self, user_id: str) -> int:
        async with self._db.read() as conn:
            total = await conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(conversation_members.c.unread_count), 0)).where(
                    conversation_members.c.user_id == user_id
                )
            )
            return int(total.scalar() or 0)
