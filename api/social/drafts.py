"""Posts held back for later: an upload the creator scheduled stays hidden until the scheduler publishes it.

A held post has status ``scheduled``; like ``removed``, every reader shows only ``ready`` content, so a held post
is in no feed, search or profile until it is published, and packaging a held video does not make it visible
(``VodJobs`` keeps the status). Publishing is a compare-and-set on ``status = 'scheduled'``, so however many
times a due item runs, its post is published once.
"""

from __future__ import annotations

import sqlalchemy as sa

from api.problems import Conflict, NotFound
from api.social import text
from api.social.feed_cache import FeedCache
from api.social.moderation import status_after_restore
from store.database import Database
from store.schema.social import content_hashtags, contents

HELD = "scheduled"
_HOLDABLE = ("pending", "processing", "ready")


class Drafts:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.feed_cache = FeedCache(size=0)  # the feed's, set at composition (api.commerce.setup)

    async def hold(self, owner_id: str, content_id: str) -> None:
        """Hide the owner's upload until :meth:`publish`; 404 if it is not theirs, 409 if it cannot be held."""
        mine = sa.and_(contents.c.id == content_id, contents.c.creator_id == owner_id)
        async with self._db.write() as conn:
            held = await conn.execute(
                contents.update().where(mine, contents.c.status.in_(_HOLDABLE)).values(status=HELD)
            )
            status = None
            if held.rowcount != 1:
                status = (await conn.execute(sa.select(contents.c.status).where(mine))).scalar_one_or_none()
        if held.rowcount == 1:
            self.feed_cache.forget_creator(owner_id)  # after the commit, so no read can put the post back
            return
        if status is None:
            raise NotFound("no such upload of yours", slug="content-not-found")
        raise Conflict(f"a {status} post cannot be scheduled", slug="content-not-schedulable", content_status=status)

    async def release(self, content_id: str) -> None:
        """Give up the hold (the schedule was cancelled): the upload becomes what its media makes it."""
        release = (
            contents.update()
            .where(contents.c.id == content_id, contents.c.status == HELD)
            .values(status=status_after_restore())
            .returning(contents.c.creator_id)
        )
        async with self._db.write() as conn:
            creator = (await conn.execute(release)).scalar_one_or_none()
        if creator is not None:
            self.feed_cache.forget_creator(creator)

    async def publish(self, owner_id: str, content_id: str, caption: str | None) -> str:
        """Publish a held upload, with ``caption`` (and its hashtags) if given; a second call changes nothing."""
        mine = sa.and_(contents.c.id == content_id, contents.c.creator_id == owner_id)
        values: dict[str, object] = {"status": status_after_restore()}
        if caption:
            values["caption"] = caption
        async with self._db.write() as conn:
            published = await conn.execute(contents.update().where(mine, contents.c.status == HELD).values(**values))
            if published.rowcount == 1 and caption:
                await conn.execute(content_hashtags.delete().where(content_hashtags.c.content_id == content_id))
                for tag in text.hashtags(caption):
                    await conn.execute(content_hashtags.insert().values(content_id=content_id, tag=tag))
            elif published.rowcount != 1 and (await conn.execute(sa.select(contents.c.id).where(mine))).first() is None:
                raise NotFound("the scheduled upload is gone", slug="content-not-found")
        self.feed_cache.forget_creator(owner_id)
        return content_id
