"""The local provider: no network, no downloaded model. Everything it says, it measured or counted.

Captions are written from :mod:`api.ai.vision`'s measurements and the creator's own words (it does not
claim to recognise objects or actions: it cannot), hashtags come from the platform's own corpus, moderation
is the rule set in :mod:`api.ai.textcheck`, and recommendations are item-to-item co-occurrence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from api.ai import cooccurrence, hashtags, textcheck, vision
from api.ai.cooccurrence import ItemScore
from api.ai.hashtags import Document, TagScore
from api.ai.provider import Caption
from api.ai.textcheck import Verdict
from api.ai.vision import Image, VideoFacts


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def write_caption(facts: VideoFacts, creator_text: str) -> str:
    """A caption from measured facts, led by the creator's words. Pure: the same facts give the same text."""
    light = (
        "A dark"
        if facts.brightness < 60
        else "A dimly lit"
        if facts.brightness < 110
        else "A bright"
        if facts.brightness > 170
        else "A well-lit"
    )
    pace = "fast-moving" if facts.motion > 12 else "lively" if facts.motion > 4 else "calm"
    seconds = f"{facts.duration_s:.0f}-second " if facts.duration_s >= 1 else ""
    sentence = f"{light}, {pace} {seconds}clip"
    colours = [name for name, _ in facts.colours]
    if colours:
        sentence += f" in {_join(colours)} tones"
    if facts.max_faces == 1:
        sentence += ", with one person on camera"
    elif facts.max_faces > 1:
        sentence += f", with up to {facts.max_faces} people on camera"
    if facts.scene_changes:
        cuts = "one scene change" if facts.scene_changes == 1 else f"{facts.scene_changes} scene changes"
        sentence += f" and {cuts}"
    sentence += "."
    words = creator_text.strip()
    if words:
        return f"{words.rstrip('.!?')}. {sentence}" if words[-1] not in ".!?" else f"{words} {sentence}"
    return sentence


class LocalAi:
    name = "local"

    async def caption(self, video: Path, creator_text: str) -> Caption:
        def work() -> VideoFacts:
            samples, duration, width, height = vision.sample_frames(video)
            return vision.analyse(samples, duration, width, height)

        facts = await asyncio.to_thread(work)  # decoding and OpenCV release the GIL; keep the loop free
        return Caption(write_caption(facts, creator_text), facts.as_dict())

    async def moderate_text(self, text: str) -> Verdict:
        return textcheck.check_text(text)

    async def moderate_image(self, image: Image) -> Verdict:
        return await asyncio.to_thread(textcheck.check_image, image)

    async def suggest_hashtags(self, text: str, corpus: Sequence[Document], limit: int) -> list[TagScore]:
        return hashtags.suggest(text, corpus, datetime.now(UTC), limit)

    async def recommend(
        self, history: Sequence[str], interactions: Iterable[tuple[str, str]], limit: int
    ) -> list[ItemScore]:
        return cooccurrence.recommend(history, interactions, limit)

    async def close(self) -> None:
        return None
