"""Notices to users (a support agent replied, a scheduled live is about to start, a warning from moderation).

The shop and safety services only need "tell this user"; delivering it is the notifications domain's job.
:class:`Notifier` is that seam. :class:`MemoryInbox` is the in-process backend: a bounded inbox per user,
enough for one node and for tests; the composition root swaps in the notifications service when it exists.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from store.types import utcnow


@dataclass(frozen=True, slots=True)
class Notice:
    user_id: str
    kind: str  # support-reply | live-reminder | post-published | moderation-warning | ...
    title: str
    ref: str = ""  # the id of what the notice is about
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)


class Notifier(Protocol):
    async def notify(self, notice: Notice) -> None: ...


class MemoryInbox:
    def __init__(self, per_user: int = 200) -> None:
        self._inbox: defaultdict[str, deque[Notice]] = defaultdict(lambda: deque(maxlen=per_user))

    async def notify(self, notice: Notice) -> None:
        self._inbox[notice.user_id].append(notice)

    def notices(self, user_id: str) -> list[Notice]:
        return list(self._inbox.get(user_id, ()))
