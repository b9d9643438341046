"""The compositor's time: a monotonic clock it sleeps on, and the wall clock the room's PK deadlines use.

Injectable so tests step time frame by frame instead of sleeping (rooms.clock does the same for the room
domain); the running service uses :class:`LoopClock`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``now() >= deadline`` (at once if it already is)."""
        ...

    def wall_ms(self) -> int:
        """Unix time in milliseconds, the unit of the room's PK ``ends_at``."""
        ...


class LoopClock:
    """The event loop's monotonic clock, so sleeps and ``now()`` agree exactly."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.now()
        if delay > 0:
            await asyncio.sleep(delay)

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000
