"""A Router: one live room's media. It owns the room's Peers (publishers by slot, subscribers by session)
and wires each subscriber's Consumers to the Producers of the slot it chose. Closing it closes them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from engine.consumer import PacketSource
from engine.events import (
    CloseReason,
    EngineEvent,
    ProducerClosed,
    ProducerOpened,
    SubscriberPaused,
    SubscriberResumed,
)
from engine.peer import Peer

HOST = "host"  # the slot of the stream's own broadcaster; co-hosts publish under their own names
PROGRAM = "program"  # what viewers of the live watch: the host while solo, the compositor's feed while not


class Router:
    def __init__(self, stream_id: str, emit: Callable[[EngineEvent], None]) -> None:
        self.stream_id = stream_id
        self.publishers: dict[str, Peer] = {}
        self.subscribers: dict[str, Peer] = {}
        self.last_codecs: dict[
            str, dict[str, object]
        ] = {}  # slot -> kind -> codec, for a returning publisher
        self.program: dict[str, PacketSource] = {}  # the compositor's producers, while it composes
        self.closed = False
        self._emit = emit

    @property
    def empty(self) -> bool:
        return not self.publishers and not self.subscribers and not self.program

    def producers(self, slot: str) -> dict[str, PacketSource]:
        """What a viewer of ``slot`` is fed: ``program`` is the compositor's feed or, while solo, the host."""
        if slot == PROGRAM:
            return dict(self.program) if self.program else self.producers(HOST)
        return dict(self.publishers[slot].producers) if slot in self.publishers else {}

    def _follows(self, sub: Peer, slot: str) -> bool:
        """Whether ``sub`` is fed from the publisher in ``slot``."""
        return sub.publisher == slot or (sub.publisher == PROGRAM and slot == HOST and not self.program)

    def set_program(self, producers: Mapping[str, PacketSource]) -> None:
        """The compositor started (``producers``) or stopped (empty): move every ``program`` viewer over,
        each on the next keyframe of what it is switched to (its Consumer asks for one)."""
        self.program = dict(producers)
        feed = self.producers(PROGRAM)
        for sub in self.subscribers.values():
            if sub.publisher == PROGRAM:
                self._connect(sub, feed)

    def add_publisher(self, peer: Peer) -> None:
        self.publishers[peer.publisher] = peer
        self.last_codecs[peer.publisher] = {k: p.codec for k, p in peer.producers.items()}
        for producer in peer.producers.values():
            self._emit(ProducerOpened(self.stream_id, peer.publisher, producer.kind, producer.codec.mimeType))
        for sub in self.subscribers.values():
            if self._follows(sub, peer.publisher):
                self._connect(sub, peer.producers)
                self._emit(SubscriberResumed(self.stream_id, sub.publisher, sub.id))

    def add_subscriber(self, peer: Peer) -> None:
        self.subscribers[peer.id] = peer
        self._connect(peer, self.producers(peer.publisher))

    @staticmethod
    def _connect(sub: Peer, producers: Mapping[str, PacketSource]) -> None:
        for kind, consumer in sub.consumers.items():
            producer = producers.get(kind)
            if producer is not None:
                consumer.resume_from(producer)

    def remove(self, peer: Peer, reason: CloseReason) -> None:
        """Forget a closed Peer; a publisher's subscribers pause (they stay connected for its return)."""
        if self.subscribers.get(peer.id) is peer:
            del self.subscribers[peer.id]
            return
        if self.publishers.get(peer.publisher) is not peer:
            return
        del self.publishers[peer.publisher]
        for producer in peer.producers.values():
            self._emit(ProducerClosed(self.stream_id, peer.publisher, producer.kind, reason))
        for sub in self.subscribers.values():
            if self._follows(sub, peer.publisher):
                self._emit(SubscriberPaused(self.stream_id, sub.publisher, sub.id))

    def peers(self) -> list[Peer]:
        return [*self.publishers.values(), *self.subscribers.values()]

    async def close(self, reason: CloseReason) -> list[Peer]:
        """Close every Peer (and so every Producer and Consumer); returns them for the caller's index."""
        self.closed = True
        self.program = {}
        peers = self.peers()
        for peer in peers:
            await peer.close(reason)
            self.remove(peer, reason)
        return peers
