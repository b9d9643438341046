"""``EngineMediaControl``: the room domain's :class:`~rooms.media.MediaControl` over this process's media
engine (``engine.Engine``), each live's media (``engine.live.LiveStudio``: the program and its HLS ladder)
and media tokens (``signaling.tokens``).

Ingest is WHIP (RFC 9725) at ``/whip/<stream>``; playback is WHEP at ``/whep/<stream>`` and HLS at
``/hls/live/<stream>/master.m3u8`` (``transcode.service.LIVE_PREFIX`` under ``signaling.hls``'s ``/hls/``).
The LL-HLS URL is the same master playlist: its media playlists carry ``EXT-X-PART`` and blocking reload
(RFC 8216bis §4.4.3.7), which an LL-HLS player uses and a plain HLS player ignores.

Going live starts the live's ``LiveMedia`` (the ladder follows the host's slot, published now or later); a
co-host on stage takes a seat in its program, and leaves it when taken off stage. The engine is per
process: these act on the node the host and guests publish to. A guest taken off stage is barred from the
slot (``Engine.barred``) until a new invitation mints them a new token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from engine.compositor.errors import CompositorError, LayoutError
from engine.engine import Engine
from engine.events import CloseReason, EngineEvent, ProducerOpened
from engine.live import LiveStudio
from rooms.errors import Conflict
from rooms.media import Ingest, Playback
from signaling.tokens import MediaGrant, MediaTokens

log = logging.getLogger(__name__)

HOST_SLOT = "host"
Names = Callable[[str], Awaitable[str]]  # user id -> the name the program shows (username)


async def _ids(user_id: str) -> str:
    return user_id


class EngineMediaControl:
    def __init__(self, engine: Engine, studio: LiveStudio, tokens: MediaTokens, base_url: str,
                 names: Names = _ids) -> None:
        self._engine = engine
        self._names = names
        self._muted: set[tuple[str, str]] = set()  # (stream, guest) whose audio the room muted
        engine.on_event(self._on_event)  # the engine is the app's, as this adapter is: they end together
        self._studio = studio
        self._tokens = tokens
        self._base = base_url.rstrip("/")

    async def host_ingest(self, room_id: str, host_id: str) -> Ingest:
        # idempotent: a restarted go-live keeps its ladder
        self._studio.start(room_id, host_id, await self._names(host_id))
        # replace: a host whose connection dropped publishes again over its stale session
        grant = MediaGrant(stream_id=room_id, publisher=HOST_SLOT, can_publish=True, room_admin=True, replace=True)
        return Ingest(whip_url=f"{self._base}/whip/{room_id}", publish_token=self._tokens.mint(host_id, grant))

    async def playback(self, room_id: str) -> Playback:
        hls = f"{self._base}/hls/live/{room_id}/master.m3u8"
        return Playback(whep_url=f"{self._base}/whep/{room_id}", hls_url=hls, ll_hls_url=hls)

    async def end_stream(self, room_id: str) -> None:
        try:
            await self._studio.end(room_id)  # the program, then the ladder (its playlists become the recording)
        finally:
            await self._engine.end_stream(room_id)  # refused for good from here: its bars are moot
            self._engine.barred -= {bar for bar in self._engine.barred if bar[0] == room_id}
            self._muted -= {mute for mute in self._muted if mute[0] == room_id}

    async def guest_token(self, room_id: str, user_id: str) -> str:
        live = self._studio.get(room_id)
        if live is not None:
            # refused (stage full for the layout): no seat, no token. The room domain refuses the known cases
            # first (a PK battle is host against host); one that still gets here is a 409, not a crash.
            try:
                await live.join(user_id, await self._names(user_id))
            except LayoutError as exc:
                raise Conflict(f"the live's picture cannot take another guest now: {exc}",
                               slug=LayoutError.slug) from exc
        self._engine.barred.discard((room_id, user_id))  # back on stage: their new token publishes again
        grant = MediaGrant(stream_id=room_id, publisher=user_id, can_publish=True, replace=True)
        return self._tokens.mint(user_id, grant)

    async def close_guest(self, room_id: str, user_id: str) -> None:
        if user_id == HOST_SLOT:
            return
        # Barred first: the guest's token stays valid until it expires, and must not publish again.
        self._engine.barred.add((room_id, user_id))
        self._muted.discard((room_id, user_id))
        router = self._engine.routers.get(room_id)
        peer = router.publishers.get(user_id) if router is not None else None
        if peer is not None:
            await self._engine.close_session(peer.id, CloseReason.KICKED)
        live = self._studio.get(room_id)
        if live is not None:
            try:
                await live.leave(user_id)
            except CompositorError:  # not in the program (never seated, or already gone)
                log.debug("guest %s was not in the program of %s", user_id, room_id)

    async def mute_guest(self, room_id: str, user_id: str, muted: bool) -> None:
        live = self._studio.get(room_id)
        if live is not None:
            live.mute(user_id, muted)  # out of the program's mix
        (self._muted.add if muted else self._muted.discard)((room_id, user_id))
        self._pause(room_id, user_id, muted)  # and out of the SFU: the guest's WHEP viewers hear nothing either

    def _pause(self, room_id: str, user_id: str, paused: bool) -> None:
        router = self._engine.routers.get(room_id)
        peer = router.publishers.get(user_id) if router is not None else None
        producer = peer.producers.get("audio") if peer is not None else None
        if producer is not None:
            producer.paused = paused

    def _on_event(self, event: EngineEvent) -> None:
        """A muted guest who publishes again (reconnect) stays muted."""
        if isinstance(event, ProducerOpened) and event.kind == "audio" and (
                (event.stream_id, event.publisher) in self._muted):
            self._pause(event.stream_id, event.publisher, True)
