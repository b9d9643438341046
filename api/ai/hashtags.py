"""Hashtags from the platform's own writing: which tags go with which words, and which tags are rising.

A corpus is a list of documents (text, tags, time). Suggestion scores each tag by how often it appears in
documents that share words with the input, weighted by recency (half-life a week, so trends rise and fade)
and discounted by the tag's overall frequency (so "#fyp" does not win every time). Analysis reports a tag's
use counts in the last week against the week before, and the tags it most often appears with.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

HALF_LIFE = timedelta(days=7)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "its",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "were",
        "will",
        "with",
        "you",
        "your",
        "me",
        "just",
        "new",
        "get",
        "got",
        "out",
        "up",
        "all",
        "more",
        "now",
        "very",
        "can",
        "do",
        "did",
        "not",
        "no",
        "yes",
    ]
)
TAG = re.compile(r"#(\w{1,50})")
WORD = re.compile(r"[^\W\d_][\w']{2,}")


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    tags: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class TagScore:
    tag: str
    score: float
    source: str  # corpus | your-words


@dataclass(frozen=True, slots=True)
class TagStats:
    tag: str
    uses: int
    last_7d: int
    previous_7d: int
    trend: str  # rising | falling | steady | new | unused
    related: list[str]


def normalise(tag: str) -> str:
    return tag.lstrip("#").lower()


def words_of(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(TAG.sub(" ", text))} - STOPWORDS


def tags_of(text: str) -> list[str]:
    return [t.lower() for t in TAG.findall(text)]


def suggest(text: str, corpus: Sequence[Document], now: datetime, limit: int = 10) -> list[TagScore]:
    words = words_of(text)
    present = set(tags_of(text))
    scores: defaultdict[str, float] = defaultdict(float)
    frequency: Counter[str] = Counter()
    for doc in corpus:
        tags = [normalise(t) for t in doc.tags]
        frequency.update(tags)
        shared = words & (words_of(doc.text) | set(tags))
        if not shared:
            continue
        recency = 0.5 ** (max(0.0, (now - doc.at).total_seconds()) / HALF_LIFE.total_seconds())
        for tag in tags:
            scores[tag] += len(shared) * recency
    ranked = [
        TagScore(tag, round(score / math.log2(2 + frequency[tag]), 4), "corpus")
        for tag, score in scores.items()
        if tag not in present
    ]
    ranked.sort(key=lambda s: (-s.score, s.tag))
    out = ranked[:limit]
    # With little corpus to go on, the caller's own strongest words are honest suggestions too.
    for word in sorted(words, key=lambda w: (-len(w), w)):
        if len(out) >= limit:
            break
        if word not in present and all(s.tag != word for s in out):
            out.append(TagScore(word, 0.0, "your-words"))
    return out


def analyse(tags: Sequence[str], corpus: Sequence[Document], now: datetime) -> list[TagStats]:
    week, fortnight = now - timedelta(days=7), now - timedelta(days=14)
    results = []
    for raw in tags:
        tag = normalise(raw)
        uses = recent = before = 0
        related: Counter[str] = Counter()
        for doc in corpus:
            doc_tags = {normalise(t) for t in doc.tags}
            if tag not in doc_tags:
                continue
            uses += 1
            if doc.at >= week:
                recent += 1
            elif doc.at >= fortnight:
                before += 1
            related.update(doc_tags - {tag})
        if uses == 0:
            trend = "unused"
        elif before == 0:
            trend = "new" if recent else "steady"
        elif recent >= before * 1.25:
            trend = "rising"
        elif recent <= before * 0.75:
            trend = "falling"
        else:
            trend = "steady"
        results.append(
            TagStats(
                tag,
                uses,
                recent,
                before,
                trend,
                [t for t, _ in sorted(related.items(), key=lambda kv: (-kv[1], kv[0]))[:5]],
            )
        )
    return results
