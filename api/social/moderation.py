"""The social things moderation can hide and restore: posts, comments and direct messages.

Each class is a :class:`api.safety.targets.Target` (owner lookup, ``set_removed``), registered by the
composition root. Hiding is one UPDATE, so it takes effect everywhere at once: every feed, search source,
listing and reader of content selects ``status = 'ready'``, and removed comments and messages are filtered
where they are listed. Restoring brings back exactly what was there; nothing is deleted.
"""

from __future__ import annotations

import sqlalchemy as sa

from api.social import graph
from api.social.feed_cache import FeedCache
from store.database import Database
from store.schema.social import comments, contents, conversation_members, messages
from store.types import utcnow

REMOVED = "removed"


def _post_visible(user_id: str) -> sa.ColumnElement[bool]:
    return sa.or_(
        contents.c.creator_id == user_id,
        sa.and_(contents.c.status == "ready", graph.can_see(contents.c.creator_id, user_id)),
    )


def status_after_restore() -> sa.ColumnElement[str]:
    """What a restored post goes back to, from its own columns: ready if its media is there (a packaged
    playlist or an image), failed if packaging failed, otherwise pending (packaging still to finish)."""
    c = contents.c
    return sa.case(
        (sa.or_(c.playlist_key.is_not(None), c.image_key.is_not(None)), "ready"),
        (c.error.is_not(None), "failed"),
        else_="pending",
    )


class ContentTarget:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.feed_cache = FeedCache(size=0)  # the feed's, set at composition (api.commerce.setup)

    async def owner_of(self, target_id: str) -> str | None:
        async with self._db.read() as conn:
            found = await conn.execute(sa.select(contents.c.creator_id).where(contents.c.id == target_id))
            return found.scalar_one_or_none()

    async def visible_to(self, target_id: str, user_id: str) -> bool:
        async with self._db.read() as conn:
            mine = sa.and_(contents.c.id == target_id, _post_visible(user_id))
            found = await conn.execute(sa.select(contents.c.id).where(mine))
            return found.first() is not None

    async def set_removed(self, target_id: str, removed: bool) -> None:
        update = contents.update().where(contents.c.id == target_id)
        async with self._db.write() as conn:
            if removed:
                update = update.values(status=REMOVED)
            else:
                update = update.where(contents.c.status == REMOVED).values(status=status_after_restore())
            creator = (await conn.execute(update.returning(contents.c.creator_id))).scalar_one_or_none()
        if creator is not None and removed:
            self.feed_cache.forget_creator(creator)
        elif creator is not None:  # back in any feed it may fit: rare enough to start the cache over
            self.feed_cache.clear()


class CommentTarget:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def owner_of(self, target_id: str) -> str | None:
        async with self._db.read() as conn:
            found = await conn.execute(sa.select(comments.c.user_id).where(comments.c.id == target_id))
            return found.scalar_one_or_none()

    async def visible_to(self, target_id: str, user_id: str) -> bool:
        """Whoever may see the post the comment is on."""
        async with self._db.read() as conn:
            found = await conn.execute(
                sa.select(comments.c.id)
                .join(contents, contents.c.id == comments.c.content_id)
                .where(comments.c.id == target_id, _post_visible(user_id))
            )
            return found.first() is not None

    async def set_removed(self, target_id: str, removed: bool) -> None:
        # Only a change of state moves the post's comment count, so repeating an action is harmless.
        state = comments.c.removed_at.is_(None) if removed else comments.c.removed_at.is_not(None)
        async with self._db.write() as conn:
            changed = await conn.execute(
                comments.update()
                .where(comments.c.id == target_id, state)
                .values(removed_at=utcnow() if removed else None)
                .returning(comments.c.content_id)
            )
            content_id = changed.scalar_one_or_none()
            if content_id is not None:
                await conn.execute(
                    contents.update()
                    .where(contents.c.id == content_id)
                    .values(comment_count=contents.c.comment_count + (-1 if removed else 1))
                )


class MessageTarget:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def owner_of(self, target_id: str) -> str | None:
        async with self._db.read() as conn:
            found = await conn.execute(sa.select(messages.c.sender_id).where(messages.c.id == target_id))
            return found.scalar_one_or_none()

    async def visible_to(self, target_id: str, user_id: str) -> bool:
        """The members of the message's conversation."""
        async with self._db.read() as conn:
            found = await conn.execute(
                sa.select(messages.c.id)
                .join(conversation_members, conversation_members.c.conversation_id == messages.c.conversation_id)
                .where(messages.c.id == target_id, conversation_members.c.user_id == user_id)
            )
            return found.first() is not None

    async def set_removed(self, target_id: str, removed: bool) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                messages.update().where(messages.c.id == target_id).values(removed_at=utcnow() if removed else None)
            )
