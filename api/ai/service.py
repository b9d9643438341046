"""The AI features as the API offers them: it gathers the platform's data, asks the provider, keeps results.

The hashtag corpus is the platform's own writing: product listings, scheduled posts and generated captions
here, plus whatever :class:`CorpusSource` other domains add (published posts). Recommendations use the
activity log that analytics keeps. Anything AI moderation flags on a known target goes to the moderation
queue by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from api.ai.cooccurrence import ItemScore
from api.ai.hashtags import Document, TagScore, TagStats, analyse, tags_of
from api.ai.provider import AiProvider
from api.ai.textcheck import Verdict
from api.ai.vision import Image
from api.problems import Forbidden, NotFound
from api.safety.moderation import Moderation
from api.safety.targets import TargetKind
from store.database import Database
from store.schema.commerce import products
from store.schema.creator import activity_log, scheduled_items
from store.schema.safety import ai_captions
from store.types import utcnow
from store.upsert import insert

CORPUS_DAYS = 90
CORPUS_LIMIT = 5000
INTERACTION_LIMIT = 50_000


class CorpusSource(Protocol):
    async def documents(self, since: datetime, limit: int) -> list[Document]: ...


class AiService:
    def __init__(self, db: Database, provider: AiProvider, moderation: Moderation) -> None:
        self._db = db
        self.provider = provider
        self._moderation = moderation
        self.sources: list[CorpusSource] = []

    # Captions --------------------------------------------------------------------------------------------

    async def generate_caption(self, owner_id: str, content_id: str, video: Path, creator_text: str) -> Any:
        known = await self._moderation.targets.known_owner(content_id)
        async with self._db.read() as conn:
            existing = (
                await conn.execute(sa.select(ai_captions.c.owner_id).where(ai_captions.c.content_id == content_id))
            ).scalar()
        if (known or existing or owner_id) != owner_id:
            raise Forbidden("that content belongs to someone else", slug="not-your-content")
        caption = await self.provider.caption(video, creator_text)
        tags = await self.provider.suggest_hashtags(f"{creator_text} {caption.text}", await self.corpus(), 5)
        values = {
            "content_id": content_id,
            "owner_id": owner_id,
            "caption": caption.text,
            "hashtags": " ".join(f"#{t.tag}" for t in tags)[:400],
            "facts": json.dumps(caption.facts),
            "provider": self.provider.name,
            "created_at": utcnow(),
        }
        stmt = insert(self._db.dialect, ai_captions).values(**values)
        async with self._db.write() as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["content_id"], set_={k: stmt.excluded[k] for k in values if k != "content_id"}
                )
            )
        return await self.get_caption(content_id)

    async def get_caption(self, content_id: str) -> Any:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(ai_captions).where(ai_captions.c.content_id == content_id))).first()
        if row is None:
            raise NotFound("no caption has been generated for that content", slug="caption-not-found")
        return row

    # Hashtags --------------------------------------------------------------------------------------------

    async def corpus(self) -> list[Document]:
        since = utcnow() - timedelta(days=CORPUS_DAYS)
        docs: list[Document] = []
        async with self._db.read() as conn:
            for r in await conn.execute(
                sa.select(products.c.title, products.c.description, products.c.created_at)
                .where(products.c.created_at >= since, products.c.status == "active")
                .order_by(products.c.created_at.desc())
                .limit(CORPUS_LIMIT)
            ):
                text = f"{r.title} {r.description}"
                docs.append(Document(text, tuple(tags_of(text)), r.created_at))
            for r in await conn.execute(
                sa.select(scheduled_items.c.payload, scheduled_items.c.due_at)
                .where(
                    scheduled_items.c.kind == "post",
                    scheduled_items.c.due_at >= since,
                    scheduled_items.c.status != "cancelled",
                )
                .order_by(scheduled_items.c.due_at.desc())
                .limit(CORPUS_LIMIT)
            ):
                payload = json.loads(r.payload)
                caption = str(payload.get("caption", ""))
                tags = tuple(str(t).lstrip("#").lower() for t in payload.get("hashtags", [])) + tuple(tags_of(caption))
                docs.append(Document(caption, tags, r.due_at))
            for r in await conn.execute(
                sa.select(ai_captions.c.caption, ai_captions.c.hashtags, ai_captions.c.created_at)
                .where(ai_captions.c.created_at >= since)
                .limit(CORPUS_LIMIT)
            ):
                docs.append(Document(r.caption, tuple(tags_of(r.hashtags)), r.created_at))
        for source in self.sources:
            docs.extend(await source.documents(since, CORPUS_LIMIT))
        return docs

    async def suggest_hashtags(self, text: str, limit: int) -> list[TagScore]:
        return await self.provider.suggest_hashtags(text, await self.corpus(), limit)

    async def analyse_hashtags(self, tags: Sequence[str]) -> list[TagStats]:
        return analyse(tags, await self.corpus(), utcnow())

    # Moderation ------------------------------------------------------------------------------------------

    async def moderate(
        self, text: str | None, image: Image | None, target: tuple[TargetKind, str] | None
    ) -> tuple[Verdict, bool]:
        verdicts = []
        if text:
            verdicts.append(await self.provider.moderate_text(text))
        if image is not None:
            verdicts.append(await self.provider.moderate_image(image))
        verdict = Verdict(
            flagged=any(v.flagged for v in verdicts),
            score=max((v.score for v in verdicts), default=0.0),
            labels=[label for v in verdicts for label in v.labels],
            matches=[m for v in verdicts for m in v.matches],
        )
        queued = False
        if verdict.flagged and target is not None:
            owner = await self._moderation.targets.owner_of(*target)
            await self._moderation.flag_by_ai(target[0], target[1], owner, verdict.score, verdict.labels)
            queued = True
        return verdict, queued

    async def screen(self, kind: str, target_id: str, owner_id: str, text: str) -> None:
        """The hook domains call after saving user text: a flag sends the thing to the moderation queue."""
        verdict = await self.provider.moderate_text(text)
        if verdict.flagged:
            await self._moderation.flag_by_ai(TargetKind(kind), target_id, owner_id, verdict.score, verdict.labels)

    # Recommendations -------------------------------------------------------------------------------------

    async def recommend(self, user_id: str, limit: int) -> list[ItemScore]:
        a = activity_log.c
        async with self._db.read() as conn:
            history: list[str] = list(
                (await conn.execute(sa.select(a.item_id).where(a.actor_id == user_id).distinct())).scalars()
            )
            pairs = [
                (r.actor_id, r.item_id)
                for r in await conn.execute(
                    sa.select(a.actor_id, a.item_id)
                    .where(a.actor_id.is_not(None))
                    .order_by(a.id.desc())
                    .limit(INTERACTION_LIMIT)
                )
            ]
        return await self.provider.recommend(history, pairs, limit)
