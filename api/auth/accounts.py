"""Accounts: registration, password login, refresh-token rotation with reuse detection, logout.

Refresh tokens follow the OAuth 2.0 Security Best Current Practice (RFC 9700 §4.14.2): each one is used once
and replaced; a token presented again after it was rotated means it leaked (or the client is confused), so
the whole family descended from that login is revoked and its holder must sign in again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.passwords import Passwords
from api.auth.tokens import AccessTokens, Role, hash_refresh_token, new_refresh_token
from api.problems import ApiError, Conflict, Forbidden, Unauthorized
from store.database import Database
from store.ids import new_id
from store.schema.accounts import refresh_tokens, users
from store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Issued:
    user: Any  # the users row
    access_token: str
    refresh_token: str


class Accounts:
    def __init__(self, db: Database, passwords: Passwords, tokens: AccessTokens, refresh_ttl_s: int) -> None:
        self._db = db
        self._passwords = passwords
        self._tokens = tokens
        self.refresh_ttl = timedelta(seconds=refresh_ttl_s)

    async def register(
        self, username: str, email: str, password: str, display_name: str | None, role: Role
    ) -> Issued:
        password_hash = await self._passwords.hash(password)
        now = utcnow()
        user_id = new_id()
        try:
            async with self._db.write() as conn:
                taken = (
                    await conn.execute(
                        sa.select(users.c.username, users.c.email).where(
                            sa.or_(users.c.username == username, users.c.email == email)
                        )
                    )
                ).first()
                if taken is not None:
                    field = "username" if taken.username == username else "email"
                    raise Conflict(f"that {field} is already registered", slug=f"{field}-taken")
                await conn.execute(
                    users.insert().values(
                        id=user_id, username=username, email=email, password_hash=password_hash,
                        role=role.value, display_name=display_name or username, status="active",
                        created_at=now, updated_at=now,
                    )
                )
                return await self._start_session(conn, user_id)
        except IntegrityError:  # lost a race with an identical registration on another connection
            raise Conflict("that username or email is already registered", slug="account-taken") from None

    async def create(self, username: str, email: str, password: str, role: Role, display_name: str) -> str:
        """Create an account without starting a session (seeding, administration)."""
        issued = await self.register(username, email, password, display_name, role)
        await self.logout(issued.refresh_token)
        return str(issued.user.id)

    async def login(self, login: str, password: str) -> Issued:
        key = login.strip().lower()
        column = users.c.email if "@" in key else users.c.username
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(users).where(column == key))).first()
        if not await self._passwords.verify(row.password_hash if row else None, password) or row is None:
            raise Unauthorized("wrong username, email or password", slug="invalid-credentials")
        if row.status == "banned":
            raise Forbidden("this account is banned", slug="account-banned")
        async with self._db.write() as conn:
            if self._passwords.needs_rehash(row.password_hash):
                new_hash = await self._passwords.hash(password)
                await conn.execute(users.update().where(users.c.id == row.id).values(password_hash=new_hash))
            return await self._start_session(conn, row.id)

    async def refresh(self, token: str) -> Issued:
        # Revocations must commit, so the transaction returns the error instead of raising it inside.
        outcome = await self._db.run(lambda conn: self._rotate(conn, hash_refresh_token(token)))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _rotate(self, conn: AsyncConnection, digest: str) -> Issued | ApiError:
        now = utcnow()
        row = (await conn.execute(sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == digest))).first()
        if row is None:
            return Unauthorized("unknown refresh token", slug="invalid-refresh-token")
        if row.revoked_at is not None:
            return Unauthorized("this session has ended; sign in again", slug="session-revoked")
        # Compare-and-set: of two concurrent refreshes with one token, exactly one wins; the other is reuse.
        claimed = await conn.execute(
            refresh_tokens.update()
            .where(refresh_tokens.c.id == row.id, refresh_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:
            await self._revoke_family(conn, row.family_id, "reuse-detected")
            log.warning("refresh token reuse detected; session family %s revoked", row.family_id)
            reuse = "this refresh token was already used; the session is revoked, sign in again"
            return Unauthorized(reuse, slug="refresh-token-reused")
        if row.expires_at <= now:
            return Unauthorized("the refresh token has expired; sign in again", slug="refresh-token-expired")
        user = (await conn.execute(sa.select(users).where(users.c.id == row.user_id))).one()
        if user.status == "banned":
            await self._revoke_family(conn, row.family_id, "banned")
            return Forbidden("this account is banned", slug="account-banned")
        return await self._issue(conn, user, row.family_id)

    async def logout(self, token: str) -> None:
        digest = hash_refresh_token(token)
        async with self._db.write() as conn:
            row = (await conn.execute(sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == digest))).first()
            if row is None:
                raise Unauthorized("unknown refresh token", slug="invalid-refresh-token")
            await self._revoke_family(conn, row.family_id, "logout")

    async def revoke_all(self, user_id: str, reason: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                refresh_tokens.update()
                .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason=reason)
            )

    async def get(self, user_id: str) -> Any:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).first()
        if row is None:
            raise Unauthorized("the account no longer exists", slug="account-gone")
        return row

    async def _start_session(self, conn: AsyncConnection, user_id: str) -> Issued:
        user = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one()
        return await self._issue(conn, user, new_id())

    async def _issue(self, conn: AsyncConnection, user: Any, family_id: str) -> Issued:
        now = utcnow()
        token, digest = new_refresh_token()
        await conn.execute(
            refresh_tokens.insert().values(
                id=new_id(), family_id=family_id, user_id=user.id, token_hash=digest,
                created_at=now, expires_at=now + self.refresh_ttl,
            )
        )
        access = self._tokens.issue(user.id, Role(user.role), family_id)
        return Issued(user=user, access_token=access, refresh_token=token)

    async def _revoke_family(self, conn: AsyncConnection, family_id: str, reason: str) -> None:
        await conn.execute(
            refresh_tokens.update()
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
