"""Item-to-item recommendations from co-occurrence (Linden, Smith and York, "Amazon.com recommendations:
item-to-item collaborative filtering", IEEE Internet Computing 2003).

Two items are similar when the same people interact with both; similarity is cosine over the sets of users
(co-count / sqrt(count_a * count_b)). A user's recommendations are the items most similar to what they
interacted with, excluding those. With no history, the most interacted-with items are returned, marked so.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ItemScore:
    item_id: str
    score: float
    reason: str  # similar-to:<item> | popular


def recommend(history: Sequence[str], interactions: Iterable[tuple[str, str]], limit: int) -> list[ItemScore]:
    """``interactions`` is (user, item) pairs; ``history`` the items the user in question interacted with."""
    by_user: defaultdict[str, set[str]] = defaultdict(set)
    for user, item in interactions:
        by_user[user].add(item)
    popularity: Counter[str] = Counter()
    for items in by_user.values():
        popularity.update(items)
    seen = set(history)
    if not seen:
        return [
            ItemScore(i, float(n), "popular")
            for i, n in sorted(popularity.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        ]
    co: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for items in by_user.values():
        mine = items & seen
        if not mine:
            continue
        for anchor in mine:
            co[anchor].update(items - seen)
    scores: defaultdict[str, float] = defaultdict(float)
    best: dict[str, tuple[float, str]] = {}
    for anchor, counts in co.items():
        for item, together in counts.items():
            similarity = together / math.sqrt(popularity[anchor] * popularity[item])
            scores[item] += similarity
            if similarity > best.get(item, (0.0, ""))[0]:
                best[item] = (similarity, anchor)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [ItemScore(item, round(score, 4), f"similar-to:{best[item][1]}") for item, score in ranked]
