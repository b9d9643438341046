"""``Idempotency-Key`` with Stripe's semantics (https://docs.stripe.com/api/idempotent_requests).

The first request with a key runs and its response is stored. The same key with the same body gets the
stored response again; with a different body it is a 422. A retry that arrives while the first request is
still running waits for it (bounded), then gets its response, or a 409 if it is still not done. A request
that fails with a server error stores nothing, so it can be retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from api.problems import BadRequest, Conflict, Unprocessable
from store.database import Database
from store.ids import new_id
from store.schema.accounts import idempotency_keys as t
from store.types import utcnow

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0"):
        digest.update(part)
    try:  # the same JSON document with other whitespace or key order is the same request
        digest.update(json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode())
    except ValueError:
        digest.update(body)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise BadRequest(f"{HEADER} must be 1-255 printable characters", slug="invalid-idempotency-key")
    return key


class IdempotencyKeys:
    def __init__(self, db: Database, wait_s: float = 10.0, lease_s: float = 60.0) -> None:
        self._db = db
        self._wait_s = wait_s
        # A claim still "running" after this long belongs to a process that died (SIGKILL, power loss):
        # it is taken over, or the key would answer 409 until it expires. Effects below this layer carry
        # their own idempotency (the ledger's keys), so a takeover cannot apply a transfer twice.
        self._lease = timedelta(seconds=lease_s)

    async def begin(self, scope: str, key: str, method: str, path: str, fp: str) -> StoredResponse | None:
        """Claim ``key``: None if this request should run, or the response of the request that did."""
        deadline = asyncio.get_running_loop().time() + self._wait_s
        while True:
            try:
                async with self._db.write() as conn:
                    await conn.execute(
                        t.insert().values(
                            id=new_id(), scope=scope, key=key, method=method, path=path,
                            fingerprint=fp, state="running", created_at=utcnow(),
                        )
                    )
                return None
            except IntegrityError:
                pass
            async with self._db.read() as conn:
                row = (
                    await conn.execute(sa.select(t).where(t.c.scope == scope, t.c.key == key))
                ).one_or_none()
            if row is None:  # released between our insert and our read: try to claim it again
                continue
            if row.fingerprint != fp:
                raise Unprocessable(
                    "this Idempotency-Key was already used with a different request",
                    slug="idempotency-key-reused",
                )
            if row.state == "done":
                return StoredResponse(row.response_status, row.response_body)
            if row.created_at < utcnow() - self._lease:
                async with self._db.write() as conn:
                    await conn.execute(t.delete().where(t.c.id == row.id, t.c.state == "running"))
                continue
            if asyncio.get_running_loop().time() >= deadline:
                raise Conflict(
                    "a request with this Idempotency-Key is still in progress", slug="idempotency-in-progress"
                )
            await asyncio.sleep(0.02)

    async def finish(self, scope: str, key: str, response: StoredResponse) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                t.update()
                .where(t.c.scope == scope, t.c.key == key)
                .values(state="done", response_status=response.status, response_body=response.body,
                        completed_at=utcnow())
            )

    async def release(self, scope: str, key: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(t.delete().where(t.c.scope == scope, t.c.key == key, t.c.state == "running"))

    async def purge_expired(self) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(t.delete().where(t.c.created_at < utcnow() - RETENTION))
            return result.rowcount or 0
