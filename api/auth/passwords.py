"""Password hashing with Argon2id.

Parameters are OWASP's minimum recommendation for Argon2id (Password Storage Cheat Sheet: m=19 MiB, t=2,
p=1), which is also what RFC 9106 §4 leaves to the deployment. Hashing takes tens of milliseconds of CPU, so
it runs in a worker thread (argon2-cffi releases the GIL) and never blocks the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1


class Passwords:
    def __init__(self, memory_kib: int = MEMORY_KIB, time_cost: int = TIME_COST) -> None:
        if memory_kib < MEMORY_KIB or time_cost < TIME_COST:
            raise ValueError("Argon2id parameters below OWASP's minimum")
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=PARALLELISM, type=Type.ID
        )
        # Verified against when the account does not exist, so a wrong username costs the same time as a
        # wrong password and does not reveal which accounts exist.
        self._dummy = self._hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
