"""The Engine: owns the Routers (one per live stream) and their sessions, reaps vanished peers, and is
the small interface the protocol edges (WHIP, WHEP) and the room service call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceServer
from aiortc.sdp import SessionDescription

from engine.consumer import PacketSource
from engine.errors import (
    BadOffer,
    PublisherExists,
    SessionNotFound,
    StreamEnded,
    StreamNotLive,
)
from engine.events import CloseReason, EngineEvent, SessionClosed, SessionRole
from engine.peer import Peer
from engine.ports import UdpPortRange
from engine.router import HOST, PROGRAM, Router

log = logging.getLogger(__name__)

__all__ = ["HOST", "PROGRAM", "Engine", "EngineConfig", "Session"]


@dataclass(frozen=True)
class EngineConfig:
    ice_servers: tuple[RTCIceServer, ...] = ()
    connect_timeout_s: float = 15.0  # answered but never connected
    media_timeout_s: float = 10.0  # connected but silent (no RTP from a publisher / RTCP from a viewer)
    reap_interval_s: float = 1.0
    udp_ports: tuple[int, int] | None = None  # (low, high) for ICE host candidates; None: ephemeral


@dataclass
class Session:
    """What an edge needs back from publish/subscribe."""

    id: str
    etag: str
    answer: str
    stream_id: str
    publisher: str
    role: SessionRole
    extra: dict[str, Any] = field(default_factory=dict)


def offer_kinds(offer: str) -> list[str]:
    """The offer's audio/video sections, in order; BadOffer if it does not parse."""
    try:
        parsed = SessionDescription.parse(offer)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BadOffer(f"the SDP offer does not parse: {exc}") from None
    return [m.kind for m in parsed.media if m.kind in ("audio", "video")]


class Engine:
    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.routers: dict[str, Router] = {}
        self.ended: set[str] = set()
        self._sessions: dict[str, Peer] = {}
        self._listeners: list[Callable[[EngineEvent], None]] = []
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False
        self._ports = UdpPortRange(*self.config.udp_ports) if self.config.udp_ports else None

    # --- lifetime ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._ports is not None:
            self._ports.install(asyncio.get_running_loop())
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_forever(), name="engine-reaper")

    async def close(self) -> None:
        self._closing = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for router in list(self.routers.values()):
            await self._close_router(router, CloseReason.ENGINE_SHUTDOWN)
        if self._ports is not None:
            self._ports.uninstall()

    # --- events -----------------------------------------------------------------------------------------

    def on_event(self, listener: Callable[[EngineEvent], None]) -> Callable[[], None]:
        """Register a listener (called synchronously on the loop); returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: EngineEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("engine event listener failed")

    # --- sessions ---------------------------------------------------------------------------------------

    def _router(self, stream_id: str) -> Router:
        router = self.routers.get(stream_id)
        if router is None:
            router = self.routers[stream_id] = Router(stream_id, self._emit)
        return router

    async def publish(
        self, stream_id: str, offer: str, *, publisher: str = HOST, replace: bool = False
    ) -> Session:
        if stream_id in self.ended:
            raise StreamEnded(f"stream {stream_id} has ended")
        if publisher == PROGRAM:
            raise PublisherExists("the program feed is produced by the compositor")
        kinds = offer_kinds(offer)
        router = self._router(stream_id)
        if publisher in router.publishers and not replace:
            raise PublisherExists(f"{stream_id}/{publisher} already has a publisher")
        peer = Peer(SessionRole.PUBLISH, stream_id, publisher, self.config.ice_servers, self._emit)
        try:
            answer = await peer.answer_publish(offer, kinds, router.last_codecs.get(publisher, {}))
            previous = router.publishers.get(publisher)
            if previous is not None:
                if not replace:
                    raise PublisherExists(f"{stream_id}/{publisher} already has a publisher")
                await self.close_session(previous.id, CloseReason.REPLACED)
            if stream_id in self.ended or router.closed:
                raise StreamEnded(f"stream {stream_id} has ended")
        except BaseException:
            await peer.close(CloseReason.CLIENT_REQUEST)
            self._forget_router_if_empty(router)
            raise
        router = self._router(stream_id)  # the replaced publisher may have been the last peer
        router.add_publisher(peer)
        self._sessions[peer.id] = peer
        return Session(peer.id, peer.etag, answer, stream_id, publisher, SessionRole.PUBLISH)

    async def subscribe(self, stream_id: str, offer: str, *, publisher: str = HOST) -> Session:
        kinds = offer_kinds(offer)
        router = self.routers.get(stream_id)
        producers = router.producers(publisher) if router is not None else {}
        if not producers:
            raise StreamNotLive(f"{stream_id}/{publisher} is not live")
        peer = Peer(SessionRole.SUBSCRIBE, stream_id, publisher, self.config.ice_servers, self._emit)
        try:
            answer = await peer.answer_subscribe(offer, kinds, producers)
        except BaseException:
            await peer.close(CloseReason.CLIENT_REQUEST)
            raise
        router = self._router(stream_id)
        router.add_subscriber(peer)
        self._sessions[peer.id] = peer
        return Session(peer.id, peer.etag, answer, stream_id, publisher, SessionRole.SUBSCRIBE)

    def publish_program(self, stream_id: str, producers: Mapping[str, PacketSource]) -> None:
        """The compositor's feed of ``stream_id`` starts: ``program`` viewers switch to it."""
        if stream_id in self.ended:
            raise StreamEnded(f"stream {stream_id} has ended")
        self._router(stream_id).set_program(producers)

    def unpublish_program(self, stream_id: str) -> None:
        """The compositor stopped: ``program`` viewers go back to the host's own stream."""
        router = self.routers.get(stream_id)
        if router is not None:
            router.set_program({})
            self._forget_router_if_empty(router)

    def session(self, session_id: str) -> Peer:
        peer = self._sessions.get(session_id)
        if peer is None or peer.closed:
            raise SessionNotFound("no such session (it may have ended)")
        return peer

    async def add_candidates(
        self, session_id: str, candidates: list[tuple[str | None, int | None, str]], end: bool
    ) -> None:
        await self.session(session_id).add_candidates(candidates, end)

    async def close_session(self, session_id: str, reason: CloseReason = CloseReason.CLIENT_REQUEST) -> None:
        peer = self.session(session_id)
        await self._close_peer(peer, reason)

    async def _close_peer(self, peer: Peer, reason: CloseReason) -> None:
        self._sessions.pop(peer.id, None)
        await peer.close(reason)
        router = self.routers.get(peer.stream_id)
        if router is not None:
            router.remove(peer, reason)
            self._forget_router_if_empty(router)
        self._emit(SessionClosed(peer.stream_id, peer.id, peer.role, reason))

    def _forget_router_if_empty(self, router: Router) -> None:
        if router.empty and self.routers.get(router.stream_id) is router:
            del self.routers[router.stream_id]

    async def end_stream(self, stream_id: str) -> None:
        """The stream is over for good: close its Router; publishing to it again is refused."""
        self.ended.add(stream_id)
        router = self.routers.get(stream_id)
        if router is not None:
            await self._close_router(router, CloseReason.STREAM_ENDED)

    async def _close_router(self, router: Router, reason: CloseReason) -> None:
        for peer in await router.close(reason):
            self._sessions.pop(peer.id, None)
            self._emit(SessionClosed(peer.stream_id, peer.id, peer.role, reason))
        self.routers.pop(router.stream_id, None)

    # --- reaping ----------------------------------------------------------------------------------------

    def _verdict(self, peer: Peer, now: float) -> CloseReason | None:
        state = peer.state
        if state in ("failed", "closed"):
            return CloseReason.PEER_GONE
        if peer.connected_at is None:
            return (
                CloseReason.CONNECT_TIMEOUT if now - peer.created_at > self.config.connect_timeout_s else None
            )
        silent = now - peer.last_activity() > self.config.media_timeout_s
        if peer.role is SessionRole.PUBLISH and silent:
            return CloseReason.PEER_GONE
        if peer.role is SessionRole.SUBSCRIBE and silent and peer.sending():
            return CloseReason.PEER_GONE
        return None

    async def reap(self) -> int:
        """One pass of the reaper; returns how many sessions it closed."""
        now = time.monotonic()
        doomed = [(p, r) for p in list(self._sessions.values()) if (r := self._verdict(p, now)) is not None]
        for peer, reason in doomed:
            log.info(
                "reaping session",
                extra={"session_id": peer.id, "stream_id": peer.stream_id, "reason": reason.value},
            )
            await self._close_peer(peer, reason)
        return len(doomed)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.reap_interval_s)
            try:
                await self.reap()
            except Exception:
                log.exception("reaper pass failed")

    # --- stats ------------------------------------------------------------------------------------------

    def sessions(self) -> list[Peer]:
        return list(self._sessions.values())

    def stats(self, stream_id: str | None = None) -> list[dict[str, Any]]:
        return [p.stats() for p in self._sessions.values() if stream_id is None or p.stream_id == stream_id]
