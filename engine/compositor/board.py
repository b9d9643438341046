"""The PK board: what the PK overlay shows (names, scores, countdown), kept by the room domain.

The rooms package updates it from its PK events (``pk.started`` carries the hosts and ``ends_at``,
``pk.score`` the totals); the compositor only reads it while drawing, once per output frame, so an update
shows on the next frame without any message passing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PkPhase(StrEnum):
    COUNTDOWN = "countdown"  # the battle starts at ``deadline_ms``
    ACTIVE = "active"  # the battle ends at ``deadline_ms``
    ENDED = "ended"  # results on screen


@dataclass(slots=True)
class PkBoard:
    name_a: str = ""
    name_b: str = ""
    score_a: int = 0
    score_b: int = 0
    phase: PkPhase = PkPhase.ACTIVE
    deadline_ms: int | None = None  # Unix ms, like the room's PkView.starts_at / ends_at
    winner: str | None = None  # "a", "b" or "draw" once ended
    version: int = field(default=0)  # bumped by every change, so drawings can be cached by version

    def start(self, name_a: str, name_b: str, deadline_ms: int | None, phase: PkPhase = PkPhase.ACTIVE) -> None:
        self.name_a, self.name_b = name_a, name_b
        self.score_a = self.score_b = 0
        self.phase, self.deadline_ms, self.winner = phase, deadline_ms, None
        self.version += 1

    def set_scores(self, score_a: int, score_b: int) -> None:
        if score_a < 0 or score_b < 0:
            raise ValueError("PK scores are never negative")
        self.score_a, self.score_b = score_a, score_b
        self.version += 1

    def end(self, winner: str | None) -> None:
        self.phase, self.deadline_ms, self.winner = PkPhase.ENDED, None, winner
        self.version += 1

    def share_a(self) -> float:
        """Side a's share of the bar: half each until someone scores (the app's bar)."""
        total = self.score_a + self.score_b
        return 0.5 if total == 0 else self.score_a / total

    def seconds_left(self, now_ms: int) -> int | None:
        if self.deadline_ms is None or self.phase is PkPhase.ENDED:
            return None
        return max(0, -(-(self.deadline_ms - now_ms) // 1000))  # rounded up: 0.2 s left still shows 0:01
