"""What can be reported and moderated, behind one small interface per kind of thing.

Reports and moderation name a target by kind and id. Each kind registers a :class:`Target` that says whether
an id exists (and who owns it) and hides or restores it. Users, products and livestreams are registered here;
content, comments and messages by the social domain (:mod:`api.social.moderation`), at composition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

import sqlalchemy as sa

from api.problems import NotFound, Unprocessable
from store.database import Database
from store.schema.accounts import users
from store.schema.rooms import livestreams
from store.types import utcnow


class TargetKind(StrEnum):
    CONTENT = "content"
    USER = "user"
    COMMENT = "comment"
    MESSAGE = "message"
    LIVESTREAM = "livestream"
    PRODUCT = "product"


class Target(Protocol):
    async def owner_of(self, target_id: str) -> str | None:
        """The owner's user id, or None when there is no such thing."""

    async def set_removed(self, target_id: str, removed: bool) -> None:
        """Hide the thing everywhere (feeds, search, listings) or bring it back."""


Visible = Callable[[str, str], Awaitable[bool]]
"""Whether a user (second argument) may see the target (first): only what one can see can be reported by one."""


class Targets:
    def __init__(self) -> None:
        self._kinds: dict[TargetKind, Target] = {}
        self._visible: dict[TargetKind, Visible] = {}

    def register(self, kind: TargetKind, target: Target, visible: Visible | None = None) -> None:
        self._kinds[kind] = target
        if visible is not None:
            self._visible[kind] = visible

    def kind(self, kind: TargetKind) -> Target:
        found = self._kinds.get(kind)
        if found is None:
            raise Unprocessable(
                f"{kind.value} reports are not available on this server", slug="target-kind-unavailable"
            )
        return found

    async def known_owner(self, target_id: str) -> str | None:
        """The owner of a post, live or product with this id, whichever kind it is; None if none has it."""
        for kind in (TargetKind.CONTENT, TargetKind.LIVESTREAM, TargetKind.PRODUCT):
            target = self._kinds.get(kind)
            owner = await target.owner_of(target_id) if target is not None else None
            if owner is not None:
                return owner
        return None

    async def owner_of(self, kind: TargetKind, target_id: str) -> str:
        owner = await self.kind(kind).owner_of(target_id)
        if owner is None:
            raise NotFound(f"no such {kind.value}", slug="target-not-found")
        return owner

    async def reportable_owner(self, kind: TargetKind, target_id: str, reporter_id: str) -> str:
        """The owner, if ``reporter_id`` may see the target; otherwise the same 404 as a target that does not
        exist, so a report cannot probe for private posts or other people's messages."""
        owner = await self.owner_of(kind, target_id)
        visible = self._visible.get(kind)
        if visible is not None and not await visible(target_id, reporter_id):
            raise NotFound(f"no such {kind.value}", slug="target-not-found")
        return owner


class UserTarget:
    """A user account: removing one suspends it (status 'banned', which login and refresh refuse)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def owner_of(self, target_id: str) -> str | None:
        async with self._db.read() as conn:
            found = await conn.execute(sa.select(users.c.id).where(users.c.id == target_id))
            return found.scalar_one_or_none()

    async def set_removed(self, target_id: str, removed: bool) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                users.update()
                .where(users.c.id == target_id)
                .values(status="banned" if removed else "active", updated_at=utcnow())
            )


class LivestreamTarget:
    """A live: removing it ends it at once (status 'ended', and ``end_stream`` stops its media), so it
    leaves the live listings and no one can watch it. Restoring records the decision; an ended live is not put
    back on air (its viewers and media are gone), but nothing stops the host going live again."""

    def __init__(self, db: Database, end_stream: Callable[[str], Awaitable[None]]) -> None:
        self._db = db
        self._end_stream = end_stream

    async def owner_of(self, target_id: str) -> str | None:
        async with self._db.read() as conn:
            found = await conn.execute(sa.select(livestreams.c.host_id).where(livestreams.c.id == target_id))
            return found.scalar_one_or_none()

    async def set_removed(self, target_id: str, removed: bool) -> None:
        if removed:
            await self._end(livestreams.c.id == target_id)

    async def end_all_of(self, host_id: str) -> None:
        """End every live of ``host_id`` (their account was banned)."""
        await self._end(livestreams.c.host_id == host_id)

    async def _end(self, which: sa.ColumnElement[bool]) -> None:
        async with self._db.write() as conn:
            ended = await conn.execute(
                livestreams.update()
                .where(which, livestreams.c.status != "ended")
                .values(status="ended", ended_at=utcnow())
                .returning(livestreams.c.id)
            )
            ids = list(ended.scalars())
        for stream_id in ids:
            await self._end_stream(stream_id)
