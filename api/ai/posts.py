"""Published posts as hashtag corpus documents (an :class:`~api.ai.service.CorpusSource`).

Only what anyone may see counts: ready posts of public accounts. A private account's or a removed post's
captions would otherwise leak into everyone's suggestions and tag statistics.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from api.ai.hashtags import Document, tags_of
from api.social import graph
from store.database import Database
from store.schema.social import contents


class PostCorpus:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def documents(self, since: datetime, limit: int) -> list[Document]:
        query = (
            sa.select(contents.c.caption, contents.c.created_at)
            .where(
                contents.c.created_at >= since,
                contents.c.status == "ready",
                contents.c.caption != "",
                graph.can_see(contents.c.creator_id, None),
            )
            .order_by(contents.c.created_at.desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [Document(r.caption, tuple(tags_of(r.caption)), r.created_at) for r in await conn.execute(query)]
