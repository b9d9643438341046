"""``LiveNamespace``: the Socket.IO ``/live`` namespace (Socket.IO protocol v5, python-socketio), the
real-time edge of the room domain on the app's one Socket.IO server (``signaling.socketio``).

A client connects with ``auth={"token": <access token>}`` or without auth (an anonymous viewer: it may
join and read, nothing more). Every client event carries one JSON object, validated by its pydantic model
(``api.live.models``), and is answered through the Socket.IO acknowledgement with ``{"ok": true, ...}`` or
``{"ok": false, "error": <RFC 9457 problem fields>}``. The actions are the same ``rooms`` calls the REST
endpoints make. Room events go to the Socket.IO room ``live:<room>`` as ``<event type>`` with the event
envelope (``seq``, ``v``, ``room``, ``at``, ``data``); a client that reconnects joins with its last ``seq``
and gets the events it missed, or a snapshot when the gap is older than the replay buffer. A client that
joins with ``batch: true`` gets them instead as one ``events`` event per tick carrying the tick's envelopes,
``seq`` ascending (``api.live.batches``).

Floods: each socket has a token bucket (in process: a socket lives on one node); an event over it gets a
429 ack, and a socket that keeps flooding is disconnected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from api.auth.tokens import AccessTokens
from api.live.batches import BATCH_EVENT, EventBatches
from api.live.models import (
    ChatPayload,
    GiftPayload,
    JoinPayload,
    KickPayload,
    LikePayload,
    ModeratorPayload,
    MutePayload,
    PinPayload,
    RoomPayload,
    SlowModePayload,
)
from api.live.problems import problem_body
from api.problems import ApiError, InternalError, PayloadTooLarge, TooManyRequests, Unauthorized
from rooms.actor import Actor
from rooms.errors import RoomError
from rooms.events import RoomEvent, UserKicked
from rooms.service import RoomService
from signaling.frames import PreparedFrames

log = logging.getLogger(__name__)

NAMESPACE = "/live"
MAX_PAYLOAD = 8 * 1024  # bytes of JSON one event may carry (chat is capped far lower by the room)
Ack = dict[str, Any]


def room_channel(room_id: str) -> str:
    return f"live:{room_id}"


def batch_channel(room_id: str) -> str:
    """The Socket.IO room of the clients that take a room's events in batches."""
    return f"live:{room_id}:batch"


def sockets_board(user_id: str) -> str:
    """The room board listing a user's sockets in that room (any node), so a kick reaches all of them."""
    return f"sockets:{user_id}"


@dataclass(frozen=True, slots=True)
class FloodPolicy:
    per_s: float = 20.0
    burst: int = 40
    strikes: int = 20  # events refused for flooding before the socket is disconnected


@dataclass(slots=True)
class _Client:
    actor: Actor
    rooms: set[str] = field(default_factory=set)
    tokens: float = 0.0
    at: float = 0.0
    strikes: int = 0

    def take(self, policy: FloodPolicy) -> bool:
        now = time.monotonic()
        self.tokens = min(float(policy.burst), self.tokens + (now - self.at) * policy.per_s)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.strikes += 1
        return False


class LiveNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, tokens: AccessTokens, flood: FloodPolicy | None = None, *, batch_tick_s: float = 0.05) -> None:
        super().__init__(NAMESPACE)
        self._tokens = tokens
        self._flood = flood or FloodPolicy()
        self.batches = EventBatches(self._emit_batch, batch_tick_s)
        self._clients: dict[str, _Client] = {}
        self._removals: set[asyncio.Task[None]] = set()
        self._service: RoomService | None = None

    def bind(self, service: RoomService) -> None:
        self._service = service

    @property
    def service(self) -> RoomService:
        if self._service is None:
            raise RuntimeError("the /live namespace has no room service")
        return self._service

    # The room domain's event sink ------------------------------------------------------------------------

    async def publish(self, event: RoomEvent) -> None:
        channel = room_channel(event.room)
        manager = self.server.manager
        # In a storm most sockets take batches: the per-event room may be empty, and then building its
        # event (a dump and a JSON encode per room event) is work for nobody.
        if not isinstance(manager, PreparedFrames) or manager.reaches(NAMESPACE, channel):
            await self.emit(event.type, event.model_dump(mode="json"), room=channel)
        await self.batches.publish(event)
        if isinstance(event.data, UserKicked):
            # Not awaited here: the room broadcasts its events one at a time (Node.in_order), and the
            # disconnects make the kicked sockets leave the room, which appends events of its own.
            removal = asyncio.create_task(self._remove(event.room, event.data.user_id))
            self._removals.add(removal)
            removal.add_done_callback(self._removed)

    async def _emit_batch(self, room_id: str, envelopes: list[dict[str, Any]]) -> None:
        await self.emit(BATCH_EVENT, envelopes, room=batch_channel(room_id))

    def _removed(self, task: asyncio.Task[None]) -> None:
        self._removals.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("disconnecting a kicked user's sockets", exc_info=task.exception())

    async def close(self) -> None:
        """Stop the kicks' disconnects still under way, send the batches still gathering and stop their
        ticks (on shutdown, after the room service)."""
        for removal in list(self._removals):
            removal.cancel()
        await asyncio.gather(*self._removals, return_exceptions=True)
        await self.batches.close()

    async def _remove(self, room_id: str, user_id: str) -> None:
        """Disconnect the kicked user's sockets in the room, on whichever node they are."""
        for sid, _ in await self.service.store.top(room_id, sockets_board(user_id)):
            await self.service.store.remove(room_id, sockets_board(user_id), sid)
            await self.disconnect(sid)

    # Connection --------------------------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is None:
            self._clients[sid] = _Client(Actor.anonymous(sid), tokens=self._flood.burst, at=time.monotonic())
            return
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("auth.token must be an access token")
        try:
            who = self._tokens.verify(token)
        except Unauthorized as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.detail or "invalid token") from None
        self._clients[sid] = _Client(Actor(who.user_id, sid), tokens=self._flood.burst, at=time.monotonic())

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        client = self._clients.pop(sid, None)
        if client is None:
            return
        for room_id in sorted(client.rooms):
            await self._depart(sid, client, room_id)

    async def _depart(self, sid: str, client: _Client, room_id: str) -> None:
        client.rooms.discard(room_id)
        try:
            await self.service.rooms.room(room_id).leave(client.actor)
            if client.actor.user_id is not None:
                await self.service.store.remove(room_id, sockets_board(client.actor.user_id), sid)
        except Exception:  # the room may have ended and been forgotten
            log.debug("leaving room %s on disconnect", room_id, exc_info=True)

    # Dispatch ----------------------------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        handler = _HANDLERS.get(event)
        if handler is None:
            return await super().trigger_event(event, *args)
        sid, payload = args[0], (args[1] if len(args) > 1 else None)
        client = self._clients.get(sid)
        if client is None:
            return _error(Unauthorized("connect to /live first"))
        if not client.take(self._flood):
            if client.strikes >= self._flood.strikes:
                log.info("disconnecting socket %s for flooding", sid)
                await self.disconnect(sid)
            return _error(TooManyRequests(1 / self._flood.per_s, "slow down: too many events from this socket"))
        model, action = handler
        try:
            if len(json.dumps(payload)) > MAX_PAYLOAD:
                raise PayloadTooLarge(f"an event carries at most {MAX_PAYLOAD} bytes of JSON")
            body = model.model_validate(payload)
            return {"ok": True, **await action(self, sid, client, body)}
        except (RoomError, ApiError, ValidationError) as exc:
            return {"ok": False, "error": problem_body(exc)}
        except Exception:
            log.exception("/live %s from %s", event, sid)
            return _error(InternalError("the server hit an unexpected error; it has been logged"))

    # Actions (the same domain calls as REST) ---------------------------------------------------------------

    async def _join(self, sid: str, client: _Client, body: JoinPayload) -> Ack:
        room = self.service.rooms.room(body.room)
        if body.room in client.rooms:  # joined already on this socket: presence is counted once
            if body.last_seq is None:
                return {"snapshot": (await room.snapshot()).model_dump(mode="json")}
            return {"resume": (await room.resume(body.last_seq)).model_dump(mode="json")}
        # Enter the broadcast room first: an event appended meanwhile arrives twice at worst (events carry
        # absolute values and a seq, so the client drops what it has), never not at all.
        channel = batch_channel(body.room) if body.batch else room_channel(body.room)
        await self.enter_room(sid, channel)
        try:
            snapshot = await room.join(client.actor)
        except BaseException:
            await self.leave_room(sid, channel)
            raise
        client.rooms.add(body.room)
        if client.actor.user_id is not None:
            await self.service.store.put_score(body.room, sockets_board(client.actor.user_id), sid, 1)
        if body.last_seq is None:
            return {"snapshot": snapshot.model_dump(mode="json")}
        resume = await room.resume(body.last_seq)
        return {"resume": resume.model_dump(mode="json")}

    async def _leave(self, sid: str, client: _Client, body: RoomPayload) -> Ack:
        await self.leave_room(sid, room_channel(body.room))
        await self.leave_room(sid, batch_channel(body.room))
        if body.room in client.rooms:
            await self._depart(sid, client, body.room)
        return {}

    async def _chat(self, sid: str, client: _Client, body: ChatPayload) -> Ack:
        event = await self.service.rooms.room(body.room).chat(client.actor, body.text)
        return {"seq": event.seq, "message_id": getattr(event.data, "message_id", None)}

    async def _like(self, sid: str, client: _Client, body: LikePayload) -> Ack:
        await self.service.rooms.room(body.room).like(client.actor, body.taps)
        return {}

    async def _gift(self, sid: str, client: _Client, body: GiftPayload) -> Ack:
        outcome = await self.service.gifts.send(
            body.room, client.actor, receiver_id=body.receiver_id, gift_id=body.gift_id, key=body.key,
            quantity=body.quantity, combo_id=body.combo_id)
        charge = outcome.charge
        return {"transfer_id": charge.transfer_id, "coins": charge.coins, "balance": charge.balance,
                "seq": outcome.event.seq if outcome.event is not None else None}

    async def _pin(self, sid: str, client: _Client, body: PinPayload) -> Ack:
        room = self.service.rooms.room(body.room)
        if body.message_id is None:
            event = await room.unpin_message(client.actor)
        else:
            event = await room.pin_message(client.actor, body.message_id)
        return {"seq": event.seq}

    async def _mute(self, sid: str, client: _Client, body: MutePayload) -> Ack:
        room = self.service.rooms.room(body.room)
        if body.muted:
            event = await room.mute(client.actor, body.user_id, body.duration_s)
        else:
            event = await room.unmute(client.actor, body.user_id)
        return {"seq": event.seq}

    async def _kick(self, sid: str, client: _Client, body: KickPayload) -> Ack:
        event = await self.service.kick(client.actor, body.room, body.user_id, ban=body.ban)
        return {"seq": event.seq}

    async def _slow_mode(self, sid: str, client: _Client, body: SlowModePayload) -> Ack:
        event = await self.service.rooms.room(body.room).set_slow_mode(client.actor, body.interval_s)
        return {"seq": event.seq}

    async def _moderator(self, sid: str, client: _Client, body: ModeratorPayload) -> Ack:
        event = await self.service.rooms.room(body.room).set_moderator(client.actor, body.user_id, body.moderator)
        return {"seq": event.seq}


def _error(error: ApiError) -> Ack:
    return {"ok": False, "error": error.body()}


Action = Callable[[LiveNamespace, str, _Client, Any], Awaitable[Ack]]
_HANDLERS: dict[str, tuple[type[BaseModel], Action]] = {
    "join": (JoinPayload, LiveNamespace._join),
    "leave": (RoomPayload, LiveNamespace._leave),
    "chat": (ChatPayload, LiveNamespace._chat),
    "like": (LikePayload, LiveNamespace._like),
    "gift": (GiftPayload, LiveNamespace._gift),
    "pin": (PinPayload, LiveNamespace._pin),
    "mute": (MutePayload, LiveNamespace._mute),
    "kick": (KickPayload, LiveNamespace._kick),
    "slow_mode": (SlowModePayload, LiveNamespace._slow_mode),
    "moderator": (ModeratorPayload, LiveNamespace._moderator),
}
