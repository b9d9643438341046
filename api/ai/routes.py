"""``/api/ai-captions``, ``/api/ai-hashtags``, ``/api/ai``: the seed's AI endpoints."""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
from aiohttp import web
from pydantic import Field

from api.ai.vision import VideoError
from api.models import Id, Paragraphs, QueryModel, RequestModel, ResponseModel
from api.problems import BadRequest, Forbidden, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from api.routing import Limit, Routes, principal
from api.safety.targets import TargetKind
from api.state import AI, SETTINGS

routes = Routes()
AI_TAGS = ("ai",)
VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime", "video/x-matroska", "application/octet-stream")


class CaptionQuery(QueryModel):
    content_id: Id
    text: str = Field("", max_length=500, description="The creator's own words, which lead the caption.")


class CaptionView(ResponseModel):
    content_id: str
    owner_id: str
    caption: str
    hashtags: list[str]
    facts: dict[str, Any]
    provider: str
    created_at: datetime


def _caption(row: Any) -> CaptionView:
    return CaptionView(
        content_id=row.content_id,
        owner_id=row.owner_id,
        caption=row.caption,
        hashtags=row.hashtags.split(),
        facts=json.loads(row.facts),
        provider=row.provider,
        created_at=row.created_at,
    )


@routes.post(
    "/api/ai-captions/generate",
    query=CaptionQuery,
    response=CaptionView,
    status=201,
    tags=AI_TAGS,
    request_content={t: {"schema": {"type": "string", "format": "binary"}} for t in VIDEO_TYPES[:3]},
    errors=(403, 413, 415, 422, 503),
)
async def generate_caption(request: web.Request, query: CaptionQuery) -> CaptionView:
    """Write a caption for a video (the request body) from what is in it and the creator's words."""
    if request.content_type not in VIDEO_TYPES:
        raise UnsupportedMediaType(
            "send the video itself as the body (video/mp4, video/webm, ...)", accept=", ".join(VIDEO_TYPES)
        )
    limit = request.app[SETTINGS].upload_limit_bytes
    tmp_dir = request.app[SETTINGS].data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_dir, suffix=".video") as handle:
        size = 0
        async for chunk in request.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the video is larger than {limit} bytes")
            handle.write(chunk)
        handle.flush()
        if size == 0:
            raise BadRequest("the request body is empty; send the video", slug="empty-body")
        try:
            row = await request.app[AI].generate_caption(
                principal(request).user_id, query.content_id, Path(handle.name), query.text
            )
        except VideoError as exc:
            raise Unprocessable(str(exc), slug="unreadable-video") from None
    return _caption(row)


@routes.get("/api/ai-captions/{content_id}", response=CaptionView, tags=AI_TAGS, errors=(404,))
async def get_caption(request: web.Request) -> CaptionView:
    """The caption generated for a content item."""
    return _caption(await request.app[AI].get_caption(request.match_info["content_id"]))


class SuggestRequest(RequestModel):
    text: Annotated[Paragraphs, Field(min_length=1, max_length=2200)]
    limit: Annotated[int, Field(ge=1, le=30)] = 10


class Suggestion(ResponseModel):
    tag: str
    score: float
    source: str


class Suggestions(ResponseModel):
    hashtags: list[Suggestion]


@routes.post("/api/ai-hashtags/suggest", body=SuggestRequest, response=Suggestions, tags=AI_TAGS, limit=Limit.NONE)
async def suggest_hashtags(request: web.Request, body: SuggestRequest) -> Suggestions:
    """Hashtags that go with the text, from what the platform's creators tag such words with."""
    found = await request.app[AI].suggest_hashtags(body.text, body.limit)
    return Suggestions(hashtags=[Suggestion(tag=t.tag, score=t.score, source=t.source) for t in found])


class AnalyzeRequest(RequestModel):
    hashtags: Annotated[list[Annotated[str, Field(pattern=r"^#?\w{1,50}$")]], Field(min_length=1, max_length=30)]


class TagReport(ResponseModel):
    tag: str
    uses: int
    last_7d: int
    previous_7d: int
    trend: str
    related: list[str]


class Analysis(ResponseModel):
    hashtags: list[TagReport]


@routes.post("/api/ai-hashtags/analyze", body=AnalyzeRequest, response=Analysis, tags=AI_TAGS, limit=Limit.NONE)
async def analyze_hashtags(request: web.Request, body: AnalyzeRequest) -> Analysis:
    """How often each hashtag is used, whether it is rising, and what it appears with."""
    stats = await request.app[AI].analyse_hashtags(body.hashtags)
    return Analysis(hashtags=[TagReport.model_validate(s, from_attributes=True) for s in stats])


class ModerateTarget(RequestModel):
    type: TargetKind
    id: Id


class ModerateRequest(RequestModel):
    text: Annotated[Paragraphs, Field(max_length=10_000)] | None = None
    image_base64: Annotated[str, Field(max_length=700_000)] | None = Field(None, description="A JPEG or PNG.")
    target: ModerateTarget | None = Field(None, description="Administrators: queue the target if flagged.")


class ModerationVerdict(ResponseModel):
    flagged: bool
    score: float
    labels: list[str]
    matches: list[str]
    queued: bool


@routes.post(
    "/api/ai/moderate", body=ModerateRequest, response=ModerationVerdict, tags=AI_TAGS, errors=(403, 404, 422, 503)
)
async def ai_moderate(request: web.Request, body: ModerateRequest) -> ModerationVerdict:
    """Check text and/or an image against the moderation rules (or the configured model service)."""
    who = principal(request)
    if body.text is None and body.image_base64 is None:
        raise Unprocessable("send text, an image, or both", slug="nothing-to-check")
    if body.target is not None and not who.is_admin:
        raise Forbidden("only administrators queue targets from here", slug="not-admin")
    image = None
    if body.image_base64 is not None:
        try:
            raw = np.frombuffer(base64.b64decode(body.image_base64, validate=True), np.uint8)
        except (binascii.Error, ValueError):
            raise Unprocessable("image_base64 is not base64", slug="bad-image") from None
        decoded = cv2.imdecode(raw, cv2.IMREAD_COLOR)
        if decoded is None:
            raise Unprocessable("image_base64 is not a JPEG or PNG image", slug="bad-image")
        image = np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    target = (body.target.type, body.target.id) if body.target else None
    verdict, queued = await request.app[AI].moderate(body.text, image, target)
    return ModerationVerdict(
        flagged=verdict.flagged, score=verdict.score, labels=verdict.labels, matches=verdict.matches, queued=queued
    )


class RecommendRequest(RequestModel):
    limit: Annotated[int, Field(ge=1, le=50)] = 20


class Recommended(ResponseModel):
    item_id: str
    score: float
    reason: str


class Recommendations(ResponseModel):
    items: list[Recommended]


@routes.post("/api/ai/recommend", body=RecommendRequest, response=Recommendations, tags=AI_TAGS, limit=Limit.NONE)
async def ai_recommend(request: web.Request, body: RecommendRequest) -> Recommendations:
    """Items for the caller, from what people with overlapping activity also engaged with."""
    found = await request.app[AI].recommend(principal(request).user_id, body.limit)
    return Recommendations(items=[Recommended(item_id=i.item_id, score=i.score, reason=i.reason) for i in found])
