"""Per-user settings: one validated JSON document, enforced where it matters.

``privacy.private_account`` is mirrored onto ``profiles.is_private`` in the same transaction, because every
listing filters on it in SQL; the document stays the source of truth for the client.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from api.social.feed_cache import FeedCache
from api.social.graph import ensure_profile, insert_ignore
from store.database import Database
from store.schema.social import profiles, user_settings
from store.types import utcnow


class WhoCanMessage(StrEnum):
    EVERYONE = "everyone"
    FOLLOWERS = "followers"  # people who follow me
    NOBODY = "nobody"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Privacy(_Section):
    private_account: bool = False
    who_can_message: WhoCanMessage = WhoCanMessage.EVERYONE
    show_activity: bool = Field(True, description="Others may list the posts I liked.")


class NotificationToggles(_Section):
    follows: bool = True
    likes: bool = True
    comments: bool = True
    mentions: bool = True
    messages: bool = True
    gifts: bool = True
    orders: bool = True
    pk_invites: bool = True
    live: bool = True
    push: bool = Field(True, description="Also send enabled notifications to my devices.")


class SettingsDocument(_Section):
    privacy: Privacy = Field(default_factory=Privacy)
    notifications: NotificationToggles = Field(default_factory=NotificationToggles)
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")


class UserSettings:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.feed_cache = FeedCache(size=0)  # the feed's, set by api.social.domain.Social

    async def get(self, user_id: str) -> SettingsDocument:
        async with self._db.read() as conn:
            return await self.load(conn, user_id)

    @staticmethod
    async def load(conn: AsyncConnection, user_id: str) -> SettingsDocument:
        raw = (
            await conn.execute(sa.select(user_settings.c.document).where(user_settings.c.user_id == user_id))
        ).scalar()
        return SettingsDocument.model_validate_json(raw) if raw else SettingsDocument()

    async def replace(self, user_id: str, document: SettingsDocument) -> SettingsDocument:
        async with self._db.write() as conn:
            changed = await self._store(conn, user_id, document)
        self._privacy_changed(user_id, document, changed)
        return document

    async def update_section(self, user_id: str, section: str, changes: dict[str, Any]) -> SettingsDocument:
        """Change only the given fields of one section (``privacy`` or ``notifications``)."""
        async with self._db.write() as conn:
            # Lock the document so two section updates at once both apply (read, merge, write).
            default = SettingsDocument().model_dump_json()
            await insert_ignore(conn, user_settings, {"user_id": user_id, "document": default, "updated_at": utcnow()})
            query = sa.select(user_settings.c.document).where(user_settings.c.user_id == user_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            current = SettingsDocument.model_validate_json((await conn.execute(query)).scalar_one())
            merged = current.model_dump(mode="json")
            merged[section].update(changes)
            document = SettingsDocument.model_validate(merged, strict=False)
            changed = await self._store(conn, user_id, document)
        self._privacy_changed(user_id, document, changed)
        return document

    def _privacy_changed(self, user_id: str, document: SettingsDocument, changed: bool) -> None:
        if not changed:
            return
        if document.privacy.private_account:  # their posts leave the feeds of everyone but their followers
            self.feed_cache.forget_creator(user_id)
        else:  # their posts may join anyone's feed: rare enough to start the cache over
            self.feed_cache.clear()

    async def _store(self, conn: AsyncConnection, user_id: str, document: SettingsDocument) -> bool:
        """Write the document; True if the account turned private or public."""
        now = utcnow()
        raw = document.model_dump_json()
        if not await insert_ignore(conn, user_settings, {"user_id": user_id, "document": raw, "updated_at": now}):
            await conn.execute(
                user_settings.update().where(user_settings.c.user_id == user_id).values(document=raw, updated_at=now)
            )
        await ensure_profile(conn, user_id)
        private = document.privacy.private_account
        changed = await conn.execute(
            profiles.update()
            .where(profiles.c.user_id == user_id, profiles.c.is_private.is_distinct_from(private))
            .values(is_private=private, updated_at=now)
        )
        return bool(changed.rowcount)
