"""``AiChatModerator``: the room domain's :class:`~rooms.moderation.TextModerator` over the AI provider's
text moderation: a flagged chat message is refused with the provider's labels as the reason."""

from __future__ import annotations

from api.ai.provider import AiProvider
from rooms.moderation import Verdict


class AiChatModerator:
    def __init__(self, provider: AiProvider) -> None:
        self._provider = provider

    async def review(self, text: str, *, room: str, user_id: str) -> Verdict:
        verdict = await self._provider.moderate_text(text)
        if verdict.flagged:
            return Verdict(False, text, ",".join(verdict.labels) or "flagged")
        return Verdict(True, text)
