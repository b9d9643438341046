"""WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) endpoints: thin edges over the media engine.

Each handler validates the request, calls the :class:`~engine.engine.Engine`, and maps its errors to
problem+json statuses. Endpoint and session URLs:

* ``POST /whip/{stream}``: publish (RFC 9725 §4.2).
* ``POST /whep/{stream}`` (or ``/whep/{stream}/{publisher}``, or ``?publisher=``): play the host, a co-host,
  or ``program`` (the compositor's feed).
* ``PATCH`` (trickle ICE, §4.3.1), ``DELETE`` (end, §4.2) and ``OPTIONS`` on
  ``/whip/{stream}/sessions/{id}`` and ``/whep/{stream}/sessions/{id}``.

Session URLs are capability URLs (RFC 9725 §4.5 allows either): the session id is 128 random bits; a
bearer token, if sent on them, must still be valid. ICE restart (``If-Match: "*"``) is not possible on
aiortc (aioice cannot renew credentials on a live agent), so it is answered 422 as §4.3.1 prescribes for a
session that supports trickle ICE but not ICE restarts; a client reconnects with a new POST.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from api.problems import (
    ApiError,
    BadRequest,
    Conflict,
    Gone,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from api.state import ENGINE, MEDIA_BUS, MEDIA_TOKENS
from engine.engine import Session
from engine.errors import EngineError, PublisherBarred, StreamEnded
from engine.events import SessionRole
from signaling.sdp import IceServer, SdpError, announce_address, check_offer, ice_server_links, parse_sdpfrag
from signaling.tokens import MediaIdentity, require

SDP = "application/sdp"
SDPFRAG = "application/trickle-ice-sdpfrag"
MAX_SDP_BYTES = 64 * 1024  # a real offer is 2-10 KB; anything near this is not an offer


class NotAcceptable(ApiError):
    status, slug, title = 406, "unsupported-media", "Media not acceptable"


class PreconditionRequired(ApiError):
    status, slug, title = 428, "precondition-required", "Precondition required"


@dataclass(frozen=True)
class SignalingConfig:
    ice_servers: list[IceServer] = field(default_factory=list)
    public_ip: str | None = None
    anonymous_whep: bool = True


SIGNALING = web.AppKey("signaling", SignalingConfig)

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch, Accept-Post",
}
_STATUS = {400: BadRequest, 404: NotFound, 406: NotAcceptable, 409: Conflict, 410: Gone}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _edge(handler: Handler) -> Handler:
    """Engine and SDP errors become problems; every response, errors too, carries the CORS headers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except EngineError as exc:
            cls = _STATUS.get(exc.status)
            error = (
                cls(str(exc), slug=exc.slug) if cls
                else ApiError(str(exc), slug=exc.slug, status=exc.status)
            )
            error.headers.update(_CORS)
            raise error from None
        except SdpError as exc:
            error = NotAcceptable(str(exc)) if exc.unsupported else BadRequest(str(exc), slug="bad-sdp")
            error.headers.update(_CORS)
            raise error from None
        except ApiError as exc:
            exc.headers.update(_CORS)
            raise
        response.headers.update(_CORS)
        return response

    wrapped.__name__ = handler.__name__
    return wrapped


def _identity(request: web.Request) -> MediaIdentity | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer <media token>'", slug="invalid-media-token")
    return request.app[MEDIA_TOKENS].verify(token.strip())


async def _read_body(request: web.Request, content_type: str) -> str:
    if request.content_type != content_type:
        raise UnsupportedMediaType(f"send the body as {content_type}", accept=content_type)
    if request.content_length is not None and request.content_length > MAX_SDP_BYTES:
        raise PayloadTooLarge(f"an SDP body may be at most {MAX_SDP_BYTES} bytes")
    raw = await request.content.read(MAX_SDP_BYTES + 1)
    if len(raw) > MAX_SDP_BYTES:
        raise PayloadTooLarge(f"an SDP body may be at most {MAX_SDP_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the SDP is not UTF-8 text", slug="bad-sdp") from None


def _created(request: web.Request, session: Session, kind: str) -> web.Response:
    config = request.app[SIGNALING]
    answer = session.answer
    if config.public_ip:
        answer = announce_address(answer, config.public_ip)
    response = web.Response(status=201, text=answer, content_type=SDP)
    response.headers["Location"] = f"/{kind}/{session.stream_id}/sessions/{session.id}"
    response.headers["ETag"] = session.etag
    response.headers["Accept-Patch"] = SDPFRAG
    for link in ice_server_links(config.ice_servers):
        response.headers.add("Link", link)
    return response


@_edge
async def whip_publish(request: web.Request) -> web.StreamResponse:
    """RFC 9725 §4.2: an SDP offer in, 201 with the answer and the session's Location out."""
    stream_id = request.match_info["stream_id"]
    identity = _identity(request)
    if identity is None:
        raise Unauthorized("publishing needs 'Authorization: Bearer <media token>' (RFC 9725 §4.5)")
    grant = require(identity, stream_id, publish=True)
    offer = await _read_body(request, SDP)
    check_offer(offer, publish=True)
    bus = request.app.get(MEDIA_BUS)
    if bus is not None:
        # The room may have ended the live or barred the slot through another node, or before this node
        # started: its engine would not know, the bus's shared state does.
        state = await bus.state(stream_id)
        if state.ended:
            raise StreamEnded(f"stream {stream_id} has ended")
        if grant.publisher in state.barred:
            raise PublisherBarred(f"{stream_id}/{grant.publisher} was taken off stage")
    session = await request.app[ENGINE].publish(
        stream_id, offer, publisher=grant.publisher, replace=grant.replace or grant.room_admin
    )
    return _created(request, session, "whip")


@_edge
async def whep_play(request: web.Request) -> web.StreamResponse:
    """WHEP: the viewer's recvonly offer in, 201 with the answer out."""
    stream_id = request.match_info["stream_id"]
    publisher = request.match_info.get("publisher") or request.query.get("publisher") or "host"
    identity = _identity(request)
    if identity is not None:
        require(identity, stream_id, publish=False)
    elif not request.app[SIGNALING].anonymous_whep:
        raise Unauthorized("playback needs 'Authorization: Bearer <media token>'")
    offer = await _read_body(request, SDP)
    check_offer(offer, publish=False)
    session = await request.app[ENGINE].subscribe(stream_id, offer, publisher=publisher)
    return _created(request, session, "whep")


def _session(request: web.Request, role: SessionRole) -> str:
    session_id = request.match_info["session_id"]
    peer = request.app[ENGINE].session(session_id)  # SessionNotFound -> 404
    if peer.stream_id != request.match_info["stream_id"] or peer.role is not role:
        raise NotFound("no such session (it may have ended)", slug="session-not-found")
    if "Authorization" in request.headers:
        _identity(request)
    return session_id


def _session_handlers(role: SessionRole) -> tuple[Handler, Handler]:
    @_edge
    async def patch(request: web.Request) -> web.StreamResponse:
        """RFC 9725 §4.3.1: trickle ICE candidates; If-Match names the ICE session."""
        session_id = _session(request, role)
        peer = request.app[ENGINE].session(session_id)
        body = await _read_body(request, SDPFRAG)
        match = request.headers.get("If-Match")
        if match is None:
            raise PreconditionRequired("send If-Match with the session's ETag (RFC 9725 §4.3.1)")
        if match.strip() == "*":
            raise Unprocessable(
                "ICE restart is not supported by this server; end the session and POST a new offer",
                slug="ice-restart-unsupported",
            )
        if match.strip() != peer.etag:
            raise PreconditionFailed("the ETag does not match this session's ICE session", slug="stale-etag")
        fragment = parse_sdpfrag(body)
        await request.app[ENGINE].add_candidates(session_id, fragment.candidates, fragment.end_of_candidates)
        return web.Response(status=204)

    @_edge
    async def delete(request: web.Request) -> web.StreamResponse:
        """RFC 9725 §4.2: DELETE ends the session."""
        session_id = _session(request, role)
        await request.app[ENGINE].close_session(session_id)
        return web.Response(status=200)

    return patch, delete


@_edge
async def options_endpoint(request: web.Request) -> web.StreamResponse:
    """CORS preflight and RFC 9725 §4.1: OPTIONS on the endpoint advertises Accept-Post."""
    response = web.Response(status=204)
    response.headers["Accept-Post"] = SDP
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    return response


@_edge
async def options_session(request: web.Request) -> web.StreamResponse:
    response = web.Response(status=204)
    response.headers["Accept-Patch"] = SDPFRAG
    response.headers["Access-Control-Allow-Methods"] = "PATCH, DELETE, OPTIONS"
    return response


def install(app: web.Application, config: SignalingConfig) -> None:
    app[SIGNALING] = config
    whip_patch, whip_delete = _session_handlers(SessionRole.PUBLISH)
    whep_patch, whep_delete = _session_handlers(SessionRole.SUBSCRIBE)
    router = app.router
    router.add_route("POST", "/whip/{stream_id}", whip_publish)
    router.add_route("OPTIONS", "/whip/{stream_id}", options_endpoint)
    router.add_route("PATCH", "/whip/{stream_id}/sessions/{session_id}", whip_patch)
    router.add_route("DELETE", "/whip/{stream_id}/sessions/{session_id}", whip_delete)
    router.add_route("OPTIONS", "/whip/{stream_id}/sessions/{session_id}", options_session)
    router.add_route("POST", "/whep/{stream_id}", whep_play)
    router.add_route("OPTIONS", "/whep/{stream_id}", options_endpoint)
    router.add_route("POST", "/whep/{stream_id}/{publisher}", whep_play)
    router.add_route("OPTIONS", "/whep/{stream_id}/{publisher}", options_endpoint)
    router.add_route("PATCH", "/whep/{stream_id}/sessions/{session_id}", whep_patch)
    router.add_route("DELETE", "/whep/{stream_id}/sessions/{session_id}", whep_delete)
    router.add_route("OPTIONS", "/whep/{stream_id}/sessions/{session_id}", options_session)
