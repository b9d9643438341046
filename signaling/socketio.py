"""The app's Socket.IO server (python-socketio ``AsyncServer`` on aiohttp, mounted at ``/socket.io/``).

A thin edge: a client connects with ``auth={"token": <JWT access token>}`` (Socket.IO protocol v5 CONNECT
payload); the token is verified like a REST bearer token and the socket joins its user's personal room
``user:<id>``. Domain events addressed to users are emitted to those rooms. Other namespaces (``/live``, the
live rooms) are added to the same server by their own modules.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiohttp import web

from api.auth.tokens import AccessTokens
from api.events import DomainEvent, EventPublisher
from api.problems import Unauthorized
from signaling.frames import FrameManager, FrameRedisManager, PreparedFrames

log = logging.getLogger(__name__)


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


class SocketServer:
    def __init__(
        self,
        tokens: AccessTokens,
        events: EventPublisher,
        *,
        redis_url: str | None = None,
        cors_allowed_origins: Any = "*",
        deflate: bool = True,
    ) -> None:
        self._tokens = tokens
        # With Redis, an emit reaches the room's sockets on every node (python-socketio's pub/sub manager).
        # Either way a room emit is one prepared WebSocket frame written to each local socket (frames.py).
        client_manager: PreparedFrames = FrameRedisManager(redis_url) if redis_url else FrameManager()
        client_manager.deflate = deflate  # read when the server attaches the manager, just below
        self._manager = client_manager
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=client_manager,
            cors_allowed_origins=cors_allowed_origins,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        events.subscribe(self.deliver)

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app, socketio_path="socket.io")
        app.on_shutdown.append(self._hang_up)

    async def _hang_up(self, app: web.Application) -> None:
        """Close every Engine.IO connection when the server stops. aiohttp's graceful shutdown waits for the
        running handlers, and a WebSocket's handler runs as long as its client stays: without this, a node
        with viewers took aiohttp's whole shutdown timeout (60 s) to stop. Each client is told (Engine.IO
        CLOSE), sees a disconnect and reconnects, with Redis to any other node. Not waiting for each CLOSE
        to be taken: a long-polling client that went away never takes it."""
        eio = self.sio.eio
        for socket in list(eio.sockets.values()):
            await socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("send auth={'token': <access token>}")
        try:
            who = self._tokens.verify(token)
        except Unauthorized as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.detail or "invalid token") from None
        await self.sio.save_session(sid, {"user_id": who.user_id, "role": who.role.value})
        await self.sio.enter_room(sid, user_room(who.user_id))

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        return None

    async def user_of(self, sid: str) -> str | None:
        session = await self.sio.get_session(sid)
        user = session.get("user_id") if isinstance(session, dict) else None
        return user if isinstance(user, str) else None

    async def deliver(self, event: DomainEvent) -> None:
        for user_id in dict.fromkeys(event.audience):
            await self.sio.emit(event.name, event.payload, room=user_room(user_id))

    async def close(self) -> None:
        await self.sio.shutdown()
        listener = getattr(self._manager, "thread", None)  # the pub/sub listener task, once started
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
