"""``PkReferee``: the task that performs PK battles' timed transitions (invitation expiry, start, end), and
checkpoints the live scores of battles in progress.

Every node may run one; the transitions are compare-and-set UPDATEs (see :mod:`rooms.pk`), so each happens
exactly once whichever referee gets there first, and a battle whose end fell while no node was running is
ended by the first referee that starts. The referee sleeps until the next due time it knows of, capped at
``interval_s`` (another node may have scheduled something sooner), and :meth:`nudge` wakes it when this
node schedules a transition. The application starts it and closes it; closing cancels the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from rooms.pk import PkBattles

log = logging.getLogger(__name__)


class PkReferee:
    def __init__(self, battles: PkBattles, *, interval_s: float = 1.0) -> None:
        self._battles = battles
        self.interval_s = interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        battles.on_schedule(self.nudge)

    async def tick(self) -> int:
        """Perform every transition due now, then re-announce states whose events may have been lost.
        Returns how many transitions this referee performed."""
        performed = 0
        for battle_id in await self._battles.due():
            try:
                performed += await self._battles.advance(battle_id)
            except Exception:  # one battle's failure must not stop the others' clocks
                log.exception("advancing PK battle %s", battle_id)
        for battle_id in await self._battles.unannounced():
            try:
                await self._battles.announce(battle_id)
            except Exception:
                log.exception("announcing PK battle %s", battle_id)
        try:
            await self._battles.keep()
        except Exception:
            log.exception("checkpointing PK scores")
        return performed

    def nudge(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pk-referee")

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
                due = await self._battles.next_due_ms()
            except Exception:  # the database may be briefly away; keep the clock running
                log.exception("PK referee tick")
                due = None
            delay = self.interval_s
            if due is not None:
                delay = min(delay, max(0.0, (due - self._battles.clock.now_ms()) / 1000))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
