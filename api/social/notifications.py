"""Notifications: written in the transaction of the change that causes them, delivered after it commits.

Other domains call :meth:`Notifications.gift_received`, :meth:`order_status`, :meth:`pk_invite` and
:meth:`went_live`; the social services add theirs through :meth:`add` inside their own transaction and hand
the result to :meth:`deliver`. A notification is skipped when the recipient is the actor, when either blocked
the other, or when the recipient turned that kind off in their settings.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.events import DomainEvent, EventPublisher
from api.problems import NotFound
from api.social.graph import is_blocked, username
from api.social.push import PushError, PushMessage, PushProvider
from api.social.settings import SettingsDocument
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.social import follows, notifications, push_devices, user_settings
from store.types import utcnow

log = logging.getLogger(__name__)


class Kind(StrEnum):
    FOLLOW = "follow"
    LIKE = "like"
    COMMENT = "comment"
    MENTION = "mention"
    MESSAGE = "message"
    GIFT = "gift"
    ORDER = "order"
    PK_INVITE = "pk_invite"
    LIVE = "live"
    STORY_REACTION = "story_reaction"
    SUPPORT = "support"  # an agent replied to the user's ticket
    MODERATION = "moderation"  # a warning, a removal or a ban
    SCHEDULE = "schedule"  # the user's own scheduled post or live came due


# Which settings toggle silences each kind; kinds not listed are about the user's own account and always arrive.
_TOGGLE = {
    Kind.FOLLOW: "follows",
    Kind.LIKE: "likes",
    Kind.COMMENT: "comments",
    Kind.MENTION: "mentions",
    Kind.MESSAGE: "messages",
    Kind.GIFT: "gifts",
    Kind.ORDER: "orders",
    Kind.PK_INVITE: "pk_invites",
    Kind.LIVE: "live",
    Kind.STORY_REACTION: "likes",
}


_RECIPIENT_ID = sa.bindparam("user_id", type_=sa.String)
_RECIPIENT = (
    sa.select(user_settings.c.document, push_devices.c.token)
    .select_from(
        users.outerjoin(user_settings, user_settings.c.user_id == users.c.id).outerjoin(
            push_devices, push_devices.c.user_id == users.c.id
        )
    )
    .where(users.c.id == _RECIPIENT_ID)
)


@dataclass(frozen=True, slots=True)
class Notice:
    row: dict[str, Any]
    devices: tuple[str, ...]  # push tokens to send it to (none when the recipient turned push off)


class Notifications:
    def __init__(self, db: Database, events: EventPublisher, push: PushProvider) -> None:
        self._db = db
        self._events = events
        self._push = push
        self._tasks: set[asyncio.Task[None]] = set()

    async def add(
        self,
        conn: AsyncConnection,
        kind: Kind,
        user_id: str,
        *,
        actor_id: str | None = None,
        subject_id: str | None = None,
        text: str,
        data: dict[str, Any] | None = None,
        unblocked: bool = False,
    ) -> Notice | None:
        """Store a notice for ``user_id`` unless it is their own act, a block stands between them and the actor,
        or they turned this kind off. ``unblocked``: the caller already checked, in ``conn``'s transaction, that
        neither blocked the other (it saves a statement)."""
        if actor_id is not None and (
            actor_id == user_id or (not unblocked and await is_blocked(conn, actor_id, user_id))
        ):
            return None
        # The recipient's settings and push devices in one statement: each statement of a write transaction is
        # a trip to the database's thread. One row per device, or one with no token.
        found = list(await conn.execute(_RECIPIENT, {"user_id": user_id}))
        document = found[0].document if found else None
        toggles = (SettingsDocument.model_validate_json(document) if document else SettingsDocument()).notifications
        toggle = _TOGGLE.get(kind)
        if toggle is not None and not getattr(toggles, toggle):
            return None
        row = {
            "id": new_id(),
            "user_id": user_id,
            "kind": kind.value,
            "actor_id": actor_id,
            "subject_id": subject_id,
            "text": text[:300],
            "data": json.dumps(data or {}),
            "created_at": utcnow(),
            "read_at": None,
        }
        await conn.execute(notifications.insert().values(**row))
        # Read in the transaction already open, rather than in a new one later.
        devices = tuple(r.token for r in found if r.token is not None) if toggles.push else ()
        return Notice(row, devices)

    async def deliver(self, notices: Sequence[Notice | None]) -> None:
        """After commit: publish each notice to its recipient's sockets and queue its push."""
        for notice in notices:
            if notice is None:
                continue
            row = notice.row
            payload = {**row, "data": json.loads(row["data"]), "created_at": row["created_at"].isoformat()}
            await self._events.publish(DomainEvent("notification", (row["user_id"],), payload))
            if notice.devices:
                task = asyncio.create_task(self._push_to_devices(row, notice.devices))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _push_to_devices(self, row: dict[str, Any], tokens: Sequence[str]) -> None:
        for token in tokens:
            message = PushMessage(token, "Mixillo", row["text"], {"kind": row["kind"], "id": row["id"]})
            try:
                await self._push.send(message)
            except PushError as exc:
                log.info("push to a device failed: %s", exc)
                if exc.unregistered:
                    async with self._db.write() as conn:
                        await conn.execute(push_devices.delete().where(push_devices.c.token == token))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._push.close()

    # Entry points for other domains ---------------------------------------------------------------------

    async def notify(
        self,
        kind: Kind,
        user_id: str,
        *,
        actor_id: str | None = None,
        subject_id: str | None = None,
        text: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        async with self._db.write() as conn:
            notice = await self.add(conn, kind, user_id, actor_id=actor_id, subject_id=subject_id, text=text, data=data)
        await self.deliver([notice])

    async def gift_received(self, user_id: str, sender_id: str, gift_name: str, room_id: str | None) -> None:
        async with self._db.read() as conn:
            name = await username(conn, sender_id)
        await self.notify(
            Kind.GIFT,
            user_id,
            actor_id=sender_id,
            subject_id=room_id,
            text=f"@{name} sent you {gift_name}",
            data={"gift": gift_name},
        )

    async def order_status(self, user_id: str, order_id: str, status: str) -> None:
        await self.notify(
            Kind.ORDER, user_id, subject_id=order_id, text=f"Your order is {status}", data={"status": status}
        )

    async def pk_invite(self, user_id: str, inviter_id: str, battle_id: str) -> None:
        async with self._db.read() as conn:
            name = await username(conn, inviter_id)
        await self.notify(
            Kind.PK_INVITE,
            user_id,
            actor_id=inviter_id,
            subject_id=battle_id,
            text=f"@{name} invited you to a PK battle",
        )

    async def went_live(self, creator_id: str, room_id: str, title: str) -> int:
        """Tell every follower of ``creator_id`` that a live room started; returns how many were told."""
        async with self._db.write() as conn:
            name = await username(conn, creator_id)
            fans = await conn.execute(sa.select(follows.c.follower_id).where(follows.c.followee_id == creator_id))
            notices = [
                await self.add(
                    conn,
                    Kind.LIVE,
                    fan,
                    actor_id=creator_id,
                    subject_id=room_id,
                    text=f"@{name} is live: {title}",
                    data={"room_id": room_id},
                )
                for fan in list[str](fans.scalars().all())
            ]
        await self.deliver(notices)
        return sum(1 for n in notices if n is not None)

    async def notify_live(self, host_id: str, stream_id: str, title: str) -> None:
        """``rooms.lives.Followers``: the live-room domain calls this when a live starts."""
        await self.went_live(host_id, stream_id, title)

    # The recipient's own list ---------------------------------------------------------------------------

    async def page(self, user_id: str, limit: int, before: str | None, unread_only: bool) -> list[Any]:
        query = sa.select(notifications).where(notifications.c.user_id == user_id)
        if before is not None:
            query = query.where(notifications.c.id < before)
        if unread_only:
            query = query.where(notifications.c.read_at.is_(None))
        async with self._db.read() as conn:
            return list(await conn.execute(query.order_by(notifications.c.id.desc()).limit(limit + 1)))

    async def unread_count(self, user_id: str) -> int:
        async with self._db.read() as conn:
            count = await conn.execute(
                sa.select(sa.func.count()).where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
            )
            return int(count.scalar() or 0)

    async def mark_read(self, user_id: str, notification_id: str) -> None:
        mine = sa.and_(notifications.c.id == notification_id, notifications.c.user_id == user_id)
        async with self._db.write() as conn:
            if (await conn.execute(sa.select(notifications.c.id).where(mine))).first() is None:
                raise NotFound("no such notification")
            await conn.execute(
                notifications.update().where(mine, notifications.c.read_at.is_(None)).values(read_at=utcnow())
            )

    async def mark_all_read(self, user_id: str) -> int:
        async with self._db.write() as conn:
            done = await conn.execute(
                notifications.update()
                .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
                .values(read_at=utcnow())
            )
            return int(done.rowcount or 0)

    async def delete(self, user_id: str, notification_id: str) -> None:
        async with self._db.write() as conn:
            gone = await conn.execute(
                notifications.delete().where(notifications.c.id == notification_id, notifications.c.user_id == user_id)
            )
            if not gone.rowcount:
                raise NotFound("no such notification")

    async def register_device(self, user_id: str, token: str, platform: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(push_devices.delete().where(push_devices.c.token == token))
            await conn.execute(
                push_devices.insert().values(token=token, user_id=user_id, platform=platform, created_at=utcnow())
            )

    async def unregister_device(self, user_id: str, token: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                push_devices.delete().where(push_devices.c.token == token, push_devices.c.user_id == user_id)
            )
