"""The live-room REST endpoints (the seed's ``/api/livestreams``, ``/api/multi-host``, ``/api/pk-battles``,
``/api/live-shopping``): each is a thin call into ``rooms`` (the same calls the ``/live`` namespace makes),
with the domain's errors rendered as problems by :func:`api.live.problems.room_errors`."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from api import idempotency
from api.live.models import (
    Answer,
    Event,
    GiftResult,
    GoLive,
    Guest,
    GuestMute,
    LiveOrder,
    LiveOrderResult,
    Livestream,
    LivestreamCreate,
    LivestreamPage,
    LivestreamQuery,
    PinProduct,
    PkBattle,
    PkInvite,
    Provider,
    Ranking,
    RankingQuery,
    Rankings,
    RoomGift,
    Seats,
    ShopAnalytics,
    ShopSession,
    ShopSessionCreate,
    StageTicket,
)
from api.live.orders import CHECKOUT, Checkout
from api.live.problems import room_errors
from api.problems import BadRequest, Forbidden, NotFound
from api.routing import Access, Routes, client_ip, optional_principal, principal
from api.state import CATALOG, MEDIA_BUS, ROOMS, SETTINGS
from rooms.actor import Actor
from rooms.events import ProductCard, RoomSnapshot
from rooms.lives import Livestream as DomainLivestream
from rooms.service import RoomService

routes = Routes()
LIVES, HOSTS, PK, SHOP = ("livestreams",), ("multi-host",), ("pk-battles",), ("live-shopping",)


def _service(request: web.Request) -> RoomService:
    return request.app[ROOMS]


def _actor(request: web.Request) -> Actor:
    who = principal(request)
    return Actor(who.user_id, f"rest:{who.session_id}")


def _viewer(request: web.Request) -> Actor:
    """A REST viewer: the signed-in user, or an anonymous viewer named by the client's address."""
    who = optional_principal(request)
    return Actor(who.user_id, f"rest:{who.session_id}") if who else Actor.anonymous(f"rest:{client_ip(request)}")


def _key(request: web.Request) -> str:
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        raise BadRequest(f"send an {idempotency.HEADER} header: a retry with it is charged once",
                         slug="missing-idempotency-key")
    return idempotency.check_key(key)


def _stream(stream: DomainLivestream) -> Livestream:
    return Livestream.model_validate(dataclasses.asdict(stream))


def _sid(request: web.Request) -> str:
    return request.match_info["stream_id"]


# Livestreams -----------------------------------------------------------------------------------------------


@routes.get("/api/livestreaming/providers", response=list[Provider], access=Access.PUBLIC, tags=LIVES)
async def live_providers(request: web.Request) -> web.Response:
    """How a live is published and played: WHIP ingest, WHEP, HLS and LL-HLS playback."""
    base = request.app[SETTINGS].base_url
    providers = [
        Provider(id="whip", role="ingest", protocol="WHIP (RFC 9725)", url_template=f"{base}/whip/{{stream_id}}",
                 latency="sub-second"),
        Provider(id="whep", role="playback", protocol="WHEP (WebRTC)", url_template=f"{base}/whep/{{stream_id}}",
                 latency="sub-second"),
        Provider(id="hls", role="playback", protocol="HLS (RFC 8216)",
                 url_template=f"{base}/hls/live/{{stream_id}}/master.m3u8", latency="several seconds"),
        Provider(id="ll-hls", role="playback", protocol="Low-Latency HLS (RFC 8216bis)",
                 url_template=f"{base}/hls/live/{{stream_id}}/master.m3u8", latency="about two seconds"),
    ]
    return web.json_response([p.model_dump(mode="json") for p in providers])


@routes.get("/api/livestreams", query=LivestreamQuery, response=LivestreamPage, access=Access.PUBLIC, tags=LIVES)
@room_errors
async def live_now(request: web.Request, query: LivestreamQuery) -> LivestreamPage:
    """Lives on air now, newest first."""
    lives = await _service(request).lives.live(limit=query.limit + 1, before=query.cursor)
    more = len(lives) > query.limit
    lives = lives[: query.limit]
    return LivestreamPage(items=[_stream(s) for s in lives], next_cursor=lives[-1].id if more else None)


@routes.post("/api/livestreams", body=LivestreamCreate, response=Livestream, status=201, tags=LIVES,
             idempotent=True, errors=(422,))
@room_errors
async def create_live(request: web.Request, body: LivestreamCreate) -> Livestream:
    """Create a live (title, cover, category); start it to go on air."""
    return _stream(await _service(request).lives.create(
        _actor(request), title=body.title, category=body.category, cover_url=body.cover_url))


@routes.get("/api/livestreams/{stream_id}", response=Livestream, access=Access.PUBLIC, tags=LIVES, errors=(404,))
@room_errors
async def get_live(request: web.Request) -> Livestream:
    """One live."""
    return _stream(await _service(request).lives.get(_sid(request)))


@routes.post("/api/livestreams/{stream_id}/start", response=GoLive, tags=LIVES, errors=(403, 404, 409))
@room_errors
async def start_live(request: web.Request) -> GoLive:
    """Go on air (the host): the WHIP URL and publish token, and the playback URLs."""
    go = await _service(request).lives.start(_actor(request), _sid(request))
    return GoLive.model_validate({"stream": dataclasses.asdict(go.stream), "ingest": dataclasses.asdict(go.ingest),
                                  "playback": dataclasses.asdict(go.playback)})


@routes.post("/api/livestreams/{stream_id}/end", response=Livestream, tags=LIVES, errors=(403, 404, 409))
@room_errors
async def end_live(request: web.Request) -> Livestream:
    """End the live (the host or a room moderator): ingest closes, guests leave, the shop closes."""
    return _stream(await _service(request).lives.end(_actor(request), _sid(request)))


@routes.post("/api/livestreams/{stream_id}/join", response=RoomSnapshot, access=Access.PUBLIC, tags=LIVES,
             errors=(403, 404, 409))
@room_errors
async def join_live(request: web.Request) -> RoomSnapshot:
    """Enter the live's audience; the room's snapshot (follow it live over Socket.IO ``/live``)."""
    return await _service(request).rooms.room(_sid(request)).join(_viewer(request))


@routes.post("/api/livestreams/{stream_id}/leave", access=Access.PUBLIC, status=204, tags=LIVES, errors=(404,))
@room_errors
async def leave_live(request: web.Request) -> None:
    """Leave the live's audience."""
    await _service(request).rooms.room(_sid(request)).leave(_viewer(request))


async def _gift(request: web.Request, room_id: str, body: RoomGift) -> GiftResult:
    outcome = await _service(request).gifts.send(
        room_id, _actor(request), receiver_id=body.receiver_id, gift_id=body.gift_id, key=_key(request),
        quantity=body.quantity, combo_id=body.combo_id)
    charge = outcome.charge
    return GiftResult(transfer_id=charge.transfer_id, gift_id=charge.gift_id, quantity=charge.quantity,
                      coins=charge.coins, diamonds=charge.diamonds, balance=charge.balance, event=outcome.event)


@routes.post("/api/livestreams/{stream_id}/gift", body=RoomGift, response=GiftResult, status=201, tags=LIVES,
             idempotent=True, errors=(402, 403, 404, 409, 422))
@room_errors
async def gift_live(request: web.Request, body: RoomGift) -> GiftResult:
    """Send a gift in the live: charged through the ledger first (``Idempotency-Key`` required), then shown."""
    return await _gift(request, _sid(request), body)


# Multi-host ------------------------------------------------------------------------------------------------


@routes.post("/api/multi-host/{stream_id}/invite", body=Guest, response=Event, tags=HOSTS, errors=(403, 404, 409))
@room_errors
async def invite_cohost(request: web.Request, body: Guest) -> Event:
    """The host invites a viewer on stage (they have the invitation's time-to-live to answer)."""
    return Event(event=await _service(request).stage.invite(_actor(request), _sid(request), body.user_id))


@routes.post("/api/multi-host/{stream_id}/request", response=Event, tags=HOSTS, errors=(403, 404, 409))
@room_errors
async def request_stage(request: web.Request) -> Event:
    """A viewer asks the host to come on stage."""
    return Event(event=await _service(request).stage.request(_actor(request), _sid(request)))


@routes.post("/api/multi-host/{stream_id}/accept", body=Answer, response=StageTicket, tags=HOSTS,
             errors=(403, 404, 409))
@room_errors
async def accept_cohost(request: web.Request, body: Answer) -> StageTicket:
    """Accept an invitation (the guest) or a request (the host, naming the viewer). The guest's publish
    token is only ever in the guest's own answer, or sent to the guest's sockets when the host accepts."""
    actor = _actor(request)
    ticket = await _service(request).stage.accept(actor, _sid(request), body.user_id)
    guest = ticket.seat.user_id == actor.user_id
    # Where the live's media is: its program seats the guest's stream from that node's engine.
    home = (await request.app[MEDIA_BUS].state(_sid(request))).home or request.app[SETTINGS].base_url
    whip = f"{home}/whip/{_sid(request)}"
    if not guest:
        await _deliver_ticket(request.app, ticket.seat.user_id, _sid(request), whip, ticket.publish_token)
    return StageTicket(seat=ticket.seat, event=ticket.event, whip_url=whip if guest else None,
                       publish_token=ticket.publish_token if guest else None)


async def _deliver_ticket(app: web.Application, user_id: str, stream_id: str, whip: str, token: str) -> None:
    from api.live.setup import deliver_to_user  # the Socket.IO server lives in setup's wiring

    await deliver_to_user(app, user_id, "cohost.ticket",
                          {"room": stream_id, "whip_url": whip, "publish_token": token})


@routes.post("/api/multi-host/{stream_id}/reject", body=Answer, response=Event, tags=HOSTS, errors=(403, 404))
@room_errors
async def reject_cohost(request: web.Request, body: Answer) -> Event:
    """Decline an invitation (the guest) or a request (the host)."""
    return Event(event=await _service(request).stage.reject(_actor(request), _sid(request), body.user_id))


@routes.post("/api/multi-host/{stream_id}/kick", body=Guest, response=Event, tags=HOSTS, errors=(403, 404))
@room_errors
async def kick_cohost(request: web.Request, body: Guest) -> Event:
    """Remove someone from the live (and the stage; their media closes at once)."""
    return Event(event=await _service(request).kick(_actor(request), _sid(request), body.user_id))


@routes.post("/api/multi-host/{stream_id}/mute", body=GuestMute, response=Event, tags=HOSTS, errors=(403, 404))
@room_errors
async def mute_cohost(request: web.Request, body: GuestMute) -> Event:
    """Mute (or unmute) a guest's audio."""
    return Event(event=await _service(request).stage.mute(_actor(request), _sid(request), body.user_id, body.muted))


@routes.get("/api/multi-host/{stream_id}/co-hosts", response=Seats, access=Access.PUBLIC, tags=HOSTS, errors=(404,))
@room_errors
async def cohosts(request: web.Request) -> Seats:
    """The guests on stage."""
    return Seats(seats=await _service(request).stage.seats(_sid(request)))


# PK battles ------------------------------------------------------------------------------------------------


@routes.post("/api/pk-battles", body=PkInvite, response=PkBattle, status=201, tags=PK, errors=(403, 404, 409))
@room_errors
async def invite_battle(request: web.Request, body: PkInvite) -> PkBattle:
    """The host of ``room_id`` challenges the host of ``opponent_room_id`` (30 s to answer)."""
    return PkBattle(battle=await _service(request).battles.invite(
        _actor(request), body.room_id, body.opponent_room_id, body.duration_s))


@routes.get("/api/pk-battles/leaderboard/rankings", query=RankingQuery, response=Rankings, access=Access.PUBLIC,
            tags=PK)
@room_errors
async def battle_rankings(request: web.Request, query: RankingQuery) -> Rankings:
    """Hosts ranked by PK results in the day, week or all time."""
    rows = await _service(request).battles.rankings(query.period, query.limit)
    return Rankings(period=query.period, items=[Ranking.model_validate(dataclasses.asdict(r)) for r in rows])


@routes.post("/api/pk-battles/{battle_id}/accept", response=PkBattle, tags=PK, errors=(403, 404, 409))
@room_errors
async def accept_battle(request: web.Request) -> PkBattle:
    """The invited host accepts: countdown, then the battle."""
    return PkBattle(battle=await _service(request).battles.accept(_actor(request), request.match_info["battle_id"]))


@routes.post("/api/pk-battles/{battle_id}/reject", response=PkBattle, tags=PK, errors=(403, 404, 409))
@room_errors
async def reject_battle(request: web.Request) -> PkBattle:
    """The invited host declines."""
    return PkBattle(battle=await _service(request).battles.reject(_actor(request), request.match_info["battle_id"]))


@routes.get("/api/pk-battles/{battle_id}", response=PkBattle, access=Access.PUBLIC, tags=PK, errors=(404,))
@room_errors
async def get_battle(request: web.Request) -> PkBattle:
    """A battle: state, scores, time, winner and MVPs."""
    return PkBattle(battle=await _service(request).battles.get(request.match_info["battle_id"]))


@routes.post("/api/pk-battles/{battle_id}/gift", body=RoomGift, response=GiftResult, status=201, tags=PK,
             idempotent=True, errors=(402, 403, 404, 409, 422))
@room_errors
async def gift_battle(request: web.Request, body: RoomGift) -> GiftResult:
    """Gift a side's host in a battle: sent in that host's live, so it counts for their side."""
    battle = await _service(request).battles.get(request.match_info["battle_id"])
    side = next((s for s in (battle.a, battle.b) if s.host_id == body.receiver_id), None)
    if side is None:
        raise NotFound("the receiver is not a host in this battle", slug="not-a-battle-host")
    return await _gift(request, side.room_id, body)


# Live shopping ---------------------------------------------------------------------------------------------


@routes.post("/api/live-shopping/session", body=ShopSessionCreate, response=ShopSession, status=201, tags=SHOP,
             errors=(403, 404, 409))
@room_errors
async def open_shop(request: web.Request, body: ShopSessionCreate) -> ShopSession:
    """The live's shopping session (created on first call; one per live)."""
    session = await _service(request).shopping.open(_actor(request), body.livestream_id)
    return ShopSession(id=session.id, livestream_id=session.room_id, host_id=session.host_id)


@routes.post("/api/live-shopping/{session_id}/pin-product", body=PinProduct, response=Event, tags=SHOP,
             errors=(403, 404, 422))
@room_errors
async def pin_product(request: web.Request, body: PinProduct) -> Event:
    """Pin one of the host's products (replacing the pinned one), or unpin with ``product_id: null``."""
    shopping, session_id = _service(request).shopping, request.match_info["session_id"]
    if body.product_id is None:
        return Event(event=await shopping.unpin(_actor(request), session_id))
    try:
        product = await request.app[CATALOG].get(body.product_id)
    except NotFound:
        raise NotFound(f"no product {body.product_id!r}", slug="unknown-product") from None
    if product.status != "active":
        raise Forbidden("that product is not on sale", slug="product-not-on-sale")
    card = ProductCard(product_id=product.id, seller_id=product.seller_id, title=product.title,
                       price=product.price, currency=product.currency, image_url=product.image_url)
    return Event(event=await shopping.pin(_actor(request), session_id, card))


@routes.post("/api/live-shopping/{session_id}/orders", body=LiveOrder, response=LiveOrderResult, status=201,
             tags=SHOP, idempotent=True, errors=(402, 403, 404, 409, 422))
@room_errors
async def order_pinned(request: web.Request, body: LiveOrder) -> LiveOrderResult:
    """Order the pinned product (stock reserved and paid through commerce; ``Idempotency-Key`` required)."""
    token = CHECKOUT.set(Checkout(body.shipping_address, body.payment_method, body.payment_token))
    try:
        outcome = await _service(request).shopping.order(
            _actor(request), request.match_info["session_id"], product_id=body.product_id, key=_key(request),
            quantity=body.quantity)
    finally:
        CHECKOUT.reset(token)
    placed = outcome.order
    return LiveOrderResult(order_id=placed.order_id, total=placed.total, currency=placed.currency,
                           event=outcome.event)


@routes.get("/api/live-shopping/{session_id}/analytics", response=ShopAnalytics, tags=SHOP, errors=(403, 404))
@room_errors
async def shop_analytics(request: web.Request) -> ShopAnalytics:
    """Pin views, clicks, orders and revenue of the session (the host only)."""
    shopping = _service(request).shopping
    session = await shopping.session(request.match_info["session_id"])
    if session.host_id != principal(request).user_id:
        raise Forbidden("only the host sees their shop's analytics", slug="not-host")
    data: dict[str, Any] = dataclasses.asdict(await shopping.analytics(session.id))
    return ShopAnalytics.model_validate(data)
