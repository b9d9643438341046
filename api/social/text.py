"""Pure text rules: hashtags and mentions in captions, search terms."""

from __future__ import annotations

import re

# A hashtag or mention starts after a non-word character (or at the start) so "mail@host" is no mention.
_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,64})")
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.]{3,32})")
_TERM = re.compile(r"\w+")


def hashtags(text: str) -> list[str]:
    """Distinct hashtags in order of first appearance, lower-cased."""
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(text):
        seen.setdefault(tag.lower(), None)
    return list(seen)


def mentions(text: str) -> list[str]:
    """Distinct mentioned usernames (lower-cased; usernames are stored lower-cased)."""
    seen: dict[str, None] = {}
    for name in _MENTION.findall(text):
        seen.setdefault(name.lower().rstrip("."), None)
    return list(seen)


def search_terms(query: str, limit: int = 8) -> list[str]:
    """The words of a search query: letters and digits only, so no query syntax reaches the index."""
    return [t.lower() for t in _TERM.findall(query)][:limit]
