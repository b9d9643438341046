"""``EngineMediaControl``: the room domain's :class:`~rooms.media.MediaControl` over this process's media
engine (``engine.Engine``), each live's media (``engine.live.LiveStudio``: the program and its HLS ladder)
and media tokens (``signaling.tokens``).

Ingest is WHIP (RFC 9725) at ``/whip/<stream>``; playback is WHEP at ``/whep/<stream>`` and HLS at
``/hls/live/<stream>/master.m3u8`` (``transcode.service.LIVE_PREFIX`` under ``signaling.hls``'s ``/hls/``).
The LL-HLS URL is the same master playlist: its media playlists carry ``EXT-X-PART`` and blocking reload
(RFC 8216bis §4.4.3.7), which an LL-HLS player uses and a plain HLS player ignores.

Going live starts the live's ``LiveMedia`` on this node, the live's home (``Hosted``: guests' tickets and
playback URLs point here), the ladder following the host's slot, published now or later; a co-host on stage
takes a seat in its program, whichever node admitted them, and leaves it when taken off stage.

The engine is per process, but the room's host may act through any node: admitting a guest, a kick, a mute,
the end and the PK picture are media commands (``api.live.commands``) sent over the ``MediaBus`` to every
node, each of which executes them for what it holds (:meth:`EngineMediaControl.execute`; closing something
absent is nothing). A guest taken off stage is barred from the slot until a new invitation mints them a new
token: in every node's engine (``Engine.barred``) and in the bus's shared state, which every WHIP edge
reads, so the old token publishes nowhere, a node started later included.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from api.live.commands import Admit, End, Hosted, Kick, MediaCommand, Mute, PkPicture
from api.live.mediabus import MediaBus
from engine.compositor.errors import CompositorError, LayoutError
from engine.engine import Engine
from engine.events import CloseReason, EngineEvent, ProducerOpened
from engine.live import LiveStudio
from rooms.errors import Conflict
from rooms.events import PkEnded, PkScore, PkStarted, RoomEvent
from rooms.media import Ingest, Playback
from signaling.tokens import MediaGrant, MediaTokens

log = logging.getLogger(__name__)

HOST_SLOT = "host"
Names = Callable[[str], Awaitable[str]]  # user id -> the name the program shows (username)
Pictures = Callable[[RoomEvent], Awaitable[None]]  # a pk.* event onto this node's programs (PkStage.apply)


async def _ids(user_id: str) -> str:
    return user_id


class EngineMediaControl:
    def __init__(self, engine: Engine, studio: LiveStudio, tokens: MediaTokens, base_url: str, bus: MediaBus,
                 names: Names = _ids, pictures: Pictures | None = None) -> None:
        self._engine = engine
        self._names = names
        self._bus = bus
        self._pictures = pictures
        self._muted: set[tuple[str, str]] = set()  # (stream, guest) whose audio the room muted
        engine.on_event(self._on_event)  # the engine is the app's, as this adapter is: they end together
        self._studio = studio
        self._tokens = tokens
        self._base = base_url.rstrip("/")

    def start(self) -> None:
        """Execute the commands every node sends (this one's included) until the bus closes."""
        self._bus.start(self.execute, self.reconcile)

    # --- MediaControl -----------------------------------------------------------------------------------

    async def host_ingest(self, room_id: str, host_id: str) -> Ingest:
        # idempotent: a restarted go-live keeps its ladder
        self._studio.start(room_id, host_id, await self._names(host_id))
        await self._bus.send(Hosted(room_id, self._base))  # guests publish here, viewers play from here
        # replace: a host whose connection dropped publishes again over its stale session
        grant = MediaGrant(stream_id=room_id, publisher=HOST_SLOT, can_publish=True, room_admin=True, replace=True)
        return Ingest(whip_url=f"{self._base}/whip/{room_id}", publish_token=self._tokens.mint(host_id, grant))

    async def playback(self, room_id: str) -> Playback:
        base = await self.home(room_id)
        hls = f"{base}/hls/live/{room_id}/master.m3u8"
        return Playback(whep_url=f"{base}/whep/{room_id}", hls_url=hls, ll_hls_url=hls)

    async def home(self, room_id: str) -> str:
        """The base URL of the node holding the live's media (this one, if none is known)."""
        return (await self._bus.state(room_id)).home or self._base

    async def end_stream(self, room_id: str) -> None:
        await self._bus.send(End(room_id))

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
        await self._bus.send(Admit(room_id, user_id))  # back on stage: their new token publishes again
        grant = MediaGrant(stream_id=room_id, publisher=user_id, can_publish=True, replace=True)
        return self._tokens.mint(user_id, grant)

    async def close_guest(self, room_id: str, user_id: str) -> None:
        if user_id != HOST_SLOT:
            await self._bus.send(Kick(room_id, user_id))

    async def mute_guest(self, room_id: str, user_id: str, muted: bool) -> None:
        await self._bus.send(Mute(room_id, user_id, muted))

    async def picture(self, event: RoomEvent) -> None:
        """A PK phase or score onto the programs of the lives it concerns, on whichever node holds them."""
        if isinstance(event.data, PkStarted | PkScore | PkEnded):
            await self._bus.send(PkPicture(event))

    # --- this node's share of a command -----------------------------------------------------------------

    async def execute(self, command: MediaCommand) -> None:
        if isinstance(command, Kick):
            await self._kick(command.stream, command.user)
        elif isinstance(command, Mute):
            self._mute(command.stream, command.user, command.muted)
        elif isinstance(command, Admit):
            self._engine.barred.discard((command.stream, command.user))
            await self._seat(command.stream, command.user)
        elif isinstance(command, End):
            await self._end(command.stream)
        elif isinstance(command, PkPicture) and self._pictures is not None:
            await self._pictures(command.event)

    async def _seat(self, room_id: str, user_id: str) -> None:
        """A guest admitted through another node takes their seat in the program here, if it is here (the
        node that admitted them could not refuse it: a picture that cannot take them is logged)."""
        live = self._studio.get(room_id)
        if live is None or user_id in live.program.names:
            return
        try:
            await live.join(user_id, await self._names(user_id))
        except CompositorError:
            log.warning("guest %s admitted through another node has no seat in the program of %s", user_id,
                        room_id, exc_info=True)

    async def reconcile(self) -> None:
        """Bring what this node holds in line with the bus's state (after commands it may have missed)."""
        held = set(self._engine.routers) | set(self._studio.lives) | {s for s, _ in self._muted}
        for stream in held:
            state = await self._bus.state(stream)
            if state.ended:
                await self._end(stream)
                continue
            self._engine.barred -= {bar for bar in self._engine.barred if bar[0] == stream}
            self._engine.barred |= {(stream, slot) for slot in state.barred}
            router, live = self._engine.routers.get(stream), self._studio.get(stream)
            for slot in state.barred:
                if slot in (router.publishers if router is not None else {}) or (
                        live is not None and slot in live.program.names):
                    await self._kick(stream, slot)
            for slot in state.muted:
                self._mute(stream, slot, True)
            for _, slot in {m for m in self._muted if m[0] == stream and m[1] not in state.muted}:
                self._mute(stream, slot, False)

    async def _end(self, room_id: str) -> None:
        try:
            await self._studio.end(room_id)  # the program, then the ladder (its playlists become the recording)
        finally:
            await self._engine.end_stream(room_id)  # refused for good from here: its bars are moot
            self._engine.barred -= {bar for bar in self._engine.barred if bar[0] == room_id}
            self._muted -= {mute for mute in self._muted if mute[0] == room_id}

    async def _kick(self, room_id: str, user_id: str) -> None:
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

    def _mute(self, room_id: str, user_id: str, muted: bool) -> None:
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
