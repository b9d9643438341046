"""Domain events: what services announce after a change commits, for the real-time edge to deliver.

Services never talk Socket.IO; they publish a :class:`DomainEvent` addressed to users, and whoever delivers
(``signaling.socketio`` in one process; a Redis-backed publisher when there are many nodes) subscribes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    name: str  # e.g. "message:new", "notification"
    audience: tuple[str, ...]  # user ids the event is for
    payload: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[DomainEvent], Awaitable[None]]


class EventPublisher(Protocol):
    async def publish(self, event: DomainEvent) -> None: ...

    def subscribe(self, subscriber: Subscriber) -> None: ...


class LocalEvents:
    """In-process delivery: every subscriber gets every event; one failing subscriber does not stop others."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, event: DomainEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:
                log.exception("event subscriber failed on %s", event.name)
