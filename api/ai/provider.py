"""The AI seam: one small interface, a local provider (:mod:`api.ai.local`) and a remote adapter
(:mod:`api.ai.remote`), chosen by ``MIXILLO_AI_PROVIDER``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from api.ai.cooccurrence import ItemScore
from api.ai.hashtags import Document, TagScore
from api.ai.textcheck import Verdict
from api.ai.vision import Image
from api.problems import ApiError


class AiUnavailable(ApiError):
    """The configured model service failed or timed out; the request can be retried."""

    status, slug, title = 503, "ai-unavailable", "AI service unavailable"


@dataclass(slots=True)
class Caption:
    text: str
    facts: dict[str, Any] = field(default_factory=dict)


class AiProvider(Protocol):
    name: str

    async def caption(self, video: Path, creator_text: str) -> Caption:
        """A caption for the video, from what is in it and the creator's own words."""

    async def moderate_text(self, text: str) -> Verdict: ...

    async def moderate_image(self, image: Image) -> Verdict: ...

    async def suggest_hashtags(self, text: str, corpus: Sequence[Document], limit: int) -> list[TagScore]: ...

    async def recommend(
        self, history: Sequence[str], interactions: Iterable[tuple[str, str]], limit: int
    ) -> list[ItemScore]: ...

    async def close(self) -> None: ...
