"""Who may see and reach whom: follows, blocks and private accounts, as SQL predicates every domain reuses.

A block works both ways for visibility: neither side sees the other's profile, content or stories, and
neither can follow or message the other. A private account's content is seen by its followers and itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from store.schema.accounts import users
from store.schema.social import blocks, follows, profiles
from store.types import utcnow

# A viewer's user id, a bound parameter standing for one (prebuilt statements), or None (signed out).
Viewer = str | sa.BindParameter[str] | None


async def insert_ignore(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any]) -> bool:
    """Insert a row unless one with the same primary key exists; True if it was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    result = await conn.execute(statement)
    return bool(result.rowcount)


async def ensure_profile(conn: AsyncConnection, user_id: str) -> None:
    """Profiles are created lazily, on the first write that touches one (accounts own registration)."""
    await insert_ignore(conn, profiles, {"user_id": user_id, "updated_at": utcnow()})


async def bump(conn: AsyncConnection, user_id: str, **deltas: int) -> None:
    """Add to a profile's counters."""
    values = {name: getattr(profiles.c, name) + delta for name, delta in deltas.items()}
    update = profiles.update().where(profiles.c.user_id == user_id).values(**values)
    if not (await conn.execute(update)).rowcount:
        await ensure_profile(conn, user_id)
        await conn.execute(update)


def blocked_between(a: Any, b: Any) -> sa.ColumnElement[bool]:
    """Either of the two blocked the other."""
    return sa.exists().where(
        sa.or_(
            sa.and_(blocks.c.blocker_id == a, blocks.c.blocked_id == b),
            sa.and_(blocks.c.blocker_id == b, blocks.c.blocked_id == a),
        )
    )


def follows_expr(follower: Any, followee: Any) -> sa.ColumnElement[bool]:
    return sa.exists().where(follows.c.follower_id == follower, follows.c.followee_id == followee)


def is_private(user: Any) -> sa.ColumnElement[bool]:
    return sa.exists().where(profiles.c.user_id == user, profiles.c.is_private.is_(True))


def can_see(owner: Any, viewer_id: Viewer) -> sa.ColumnElement[bool]:
    """The viewer may see what ``owner`` posts: not blocked either way, and public or followed (or self)."""
    if viewer_id is None:
        return ~is_private(owner)
    return sa.and_(
        ~blocked_between(owner, viewer_id),
        sa.or_(owner == viewer_id, ~is_private(owner), follows_expr(viewer_id, owner)),
    )


async def is_blocked(conn: AsyncConnection, a: str, b: str) -> bool:
    return bool((await conn.execute(sa.select(blocked_between(a, b)))).scalar())


async def is_following(conn: AsyncConnection, follower: str, followee: str) -> bool:
    return bool((await conn.execute(sa.select(follows_expr(follower, followee)))).scalar())


async def visible(conn: AsyncConnection, owner: str, viewer_id: str | None) -> bool:
    return bool((await conn.execute(sa.select(can_see(owner, viewer_id)))).scalar())


async def user_ids_by_name(conn: AsyncConnection, names: Iterable[str]) -> dict[str, str]:
    wanted = list(names)
    if not wanted:
        return {}
    rows = await conn.execute(sa.select(users.c.username, users.c.id).where(users.c.username.in_(wanted)))
    return {r.username: r.id for r in rows}


async def username(conn: AsyncConnection, user_id: str) -> str:
    name = (await conn.execute(sa.select(users.c.username).where(users.c.id == user_id))).scalar()
    return str(name or "someone")


async def user_exists(conn: AsyncConnection, user_id: str) -> bool:
    found = await conn.execute(sa.select(users.c.id).where(users.c.id == user_id, users.c.status != "banned"))
    return found.first() is not None
