"""The text moderation hook: where the AI provider plugs in to review chat before it is broadcast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    text: str  # what to broadcast when allowed (a provider may mask words)
    reason: str | None = None


class TextModerator(Protocol):
    async def review(self, text: str, *, room: str, user_id: str) -> Verdict: ...


class NoModeration:
    """What runs when no moderation provider is configured: every message passes unchanged."""

    async def review(self, text: str, *, room: str, user_id: str) -> Verdict:
        return Verdict(True, text)
