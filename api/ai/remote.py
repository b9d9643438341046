"""The adapter for an external model service, selected with ``MIXILLO_AI_PROVIDER=remote``.

The service speaks JSON over HTTP (``POST {base}/v1/...``); the request and response of each call are the
models below. Video never leaves as a file: frames are sampled here (PyAV) and sent as JPEG, which keeps
requests small and the service stateless. Any failure (connection, timeout, 5xx, a body that does not match)
is an :class:`~api.ai.provider.AiUnavailable` (503), never a made-up answer.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import cv2
from pydantic import BaseModel, ValidationError

from api.ai import vision
from api.ai.cooccurrence import ItemScore
from api.ai.hashtags import Document, TagScore
from api.ai.provider import AiUnavailable, Caption
from api.ai.textcheck import Verdict
from api.ai.vision import Image

M = TypeVar("M", bound=BaseModel)
MAX_CORPUS = 500
MAX_INTERACTIONS = 5000


class CaptionReply(BaseModel):
    caption: str
    facts: dict[str, Any] = {}


class VerdictReply(BaseModel):
    flagged: bool
    score: float
    labels: list[str] = []


class TagReply(BaseModel):
    tag: str
    score: float


class TagsReply(BaseModel):
    hashtags: list[TagReply]


class ItemReply(BaseModel):
    item_id: str
    score: float
    reason: str = "remote"


class ItemsReply(BaseModel):
    items: list[ItemReply]


def jpeg_base64(image: Image) -> str:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return base64.b64encode(encoded.tobytes()).decode()


class RemoteAi:
    name = "remote"

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def _call(self, path: str, body: dict[str, Any], reply: type[M]) -> M:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(f"{self._base}{path}", json=body) as response:
                if response.status != 200:
                    raise AiUnavailable(f"the model service answered {response.status}")
                return reply.model_validate(await response.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError, ValidationError) as exc:
            raise AiUnavailable(f"the model service failed: {type(exc).__name__}") from None

    async def caption(self, video: Path, creator_text: str) -> Caption:
        samples, duration, width, height = await asyncio.to_thread(vision.sample_frames, video, 4)
        frames = [await asyncio.to_thread(jpeg_base64, s.frame) for s in samples]
        reply = await self._call(
            "/v1/caption",
            {
                "frames": frames,
                "text": creator_text,
                "duration_s": duration,
                "width": width,
                "height": height,
            },
            CaptionReply,
        )
        return Caption(reply.caption, reply.facts)

    async def moderate_text(self, text: str) -> Verdict:
        reply = await self._call("/v1/moderate/text", {"text": text}, VerdictReply)
        return Verdict(reply.flagged, reply.score, reply.labels)

    async def moderate_image(self, image: Image) -> Verdict:
        reply = await self._call("/v1/moderate/image", {"image": jpeg_base64(image)}, VerdictReply)
        return Verdict(reply.flagged, reply.score, reply.labels)

    async def suggest_hashtags(self, text: str, corpus: Sequence[Document], limit: int) -> list[TagScore]:
        docs = [{"text": d.text, "tags": list(d.tags), "at": d.at.isoformat()} for d in corpus[:MAX_CORPUS]]
        reply = await self._call("/v1/hashtags", {"text": text, "limit": limit, "corpus": docs}, TagsReply)
        return [TagScore(t.tag.lstrip("#").lower(), t.score, "remote") for t in reply.hashtags[:limit]]

    async def recommend(
        self, history: Sequence[str], interactions: Iterable[tuple[str, str]], limit: int
    ) -> list[ItemScore]:
        pairs = [list(p) for _, p in zip(range(MAX_INTERACTIONS), interactions, strict=False)]
        reply = await self._call(
            "/v1/recommend", {"history": list(history), "interactions": pairs, "limit": limit}, ItemsReply
        )
        return [ItemScore(i.item_id, i.score, i.reason) for i in reply.items[:limit]]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
