"""First feed pages, rendered, per viewer: a bounded LRU with a short time to live and exact local invalidation.

Most feed reads are a viewer opening the app or pulling to refresh: the first page. A hit skips the database and
the JSON encoding. What makes an entry wrong, and what drops it (the services call these after their commit):

- the viewer follows, unfollows, blocks, unblocks or is blocked: :meth:`FeedCache.forget_users` drops both
  users' pages (their followed phase and what they may see changed);
- a creator's posts change what others may see (a post becomes ready, is held or removed by moderation, the
  account turns private): :meth:`FeedCache.forget_creator` drops the pages of every viewer who follows that
  creator and of every viewer whose page shows one of their posts;
- an account turns public again or moderation restores a post: it may now belong in anyone's page, so
  :meth:`FeedCache.clear` (both are rare).

The staleness bound is ``ttl_s``: counters (likes, views, comments), names, the trending phase's order, and a
new post of a creator the viewer does not follow (it may enter their trending phase) may be that old. A page
being filled while an invalidation happens is not stored (``epoch``), so a read that started before a commit
cannot put back what the commit invalidated.

Invalidation is local to the process. With several nodes (``REDIS_URL``), a change made on another node is not
seen here, so the cache is built with ``recheck=True``: the route re-checks, in one statement, that every post
of a cached page is still ready and visible to the viewer (blocks, private accounts) before serving it; only
new posts and counters may then be up to ``ttl_s`` old.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

Viewer = str | None


@dataclass(frozen=True, slots=True)
class CachedPage:
    body: bytes  # the rendered JSON response
    content_ids: tuple[str, ...]
    creators: frozenset[str]  # whose changes drop this page: followed creators and creators on the page
    expires: float


class FeedCache:
    def __init__(
        self,
        *,
        size: int = 10_000,
        ttl_s: float = 5.0,
        recheck: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self.recheck = recheck
        self._clock = clock
        self._pages: OrderedDict[tuple[Viewer, Hashable], CachedPage] = OrderedDict()
        self._variants: dict[Viewer, set[Hashable]] = {}  # a viewer's cached pages (limits, public URLs)
        self._watchers: dict[str, set[Viewer]] = {}  # creator -> viewers whose pages depend on them
        self.epoch = 0  # bumped by every invalidation
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def get(self, viewer: Viewer, variant: Hashable) -> CachedPage | None:
        key = (viewer, variant)
        page = self._pages.get(key)
        if page is None or page.expires <= self._clock():
            if page is not None:
                self._drop(key)
            self.misses += 1
            return None
        self._pages.move_to_end(key)
        self.hits += 1
        return page

    def put(
        self,
        viewer: Viewer,
        variant: Hashable,
        body: bytes,
        content_ids: Iterable[str],
        creators: Iterable[str],
        epoch: int,
    ) -> None:
        """Store a page read after ``epoch`` was taken; skipped if anything was invalidated since."""
        if not self.enabled or epoch != self.epoch:
            return
        key = (viewer, variant)
        if key in self._pages:
            self._drop(key)
        page = CachedPage(body, tuple(content_ids), frozenset(creators), self._clock() + self.ttl_s)
        self._pages[key] = page
        self._variants.setdefault(viewer, set()).add(variant)
        for creator in page.creators:
            self._watchers.setdefault(creator, set()).add(viewer)
        while len(self._pages) > self.size:
            self._drop(next(iter(self._pages)))

    def forget_users(self, *user_ids: str) -> None:
        """The follow or block graph around these users changed: drop their pages."""
        self.epoch += 1
        for user_id in user_ids:
            self._forget_viewer(user_id)

    def forget_creator(self, creator_id: str) -> None:
        """What others may see of this creator changed: drop every page that follows or shows them."""
        self.epoch += 1
        for viewer in self._watchers.pop(creator_id, set()):
            self._forget_viewer(viewer)

    def clear(self) -> None:
        self.epoch += 1
        self._pages.clear()
        self._variants.clear()
        self._watchers.clear()

    def __len__(self) -> int:
        return len(self._pages)

    def _forget_viewer(self, viewer: Viewer) -> None:
        for variant in list(self._variants.get(viewer, ())):
            self._drop((viewer, variant))

    def _drop(self, key: tuple[Viewer, Hashable]) -> None:
        page = self._pages.pop(key)
        viewer, variant = key
        variants = self._variants.get(viewer)
        if variants is not None:
            variants.discard(variant)
            if not variants:
                del self._variants[viewer]
        for creator in page.creators:
            watchers = self._watchers.get(creator)
            if watchers is None:
                continue
            # Another cached page of the same viewer may still depend on this creator.
            if not any(creator in self._pages[(viewer, v)].creators for v in self._variants.get(viewer, ())):
                watchers.discard(viewer)
                if not watchers:
                    del self._watchers[creator]
