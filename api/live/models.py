"""Request and response bodies of the live-room endpoints and the ``/live`` Socket.IO events.

REST bodies and Socket.IO payloads are the same models, so the two edges validate alike. Room events and
snapshots are ``rooms.events`` models, sent as they are.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.commerce.models import Address
from api.models import Line, QueryModel, RequestModel, ResponseModel
from rooms.events import PkView, RoomEvent, Seat

PlainId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ClientKey = Annotated[str, Field(min_length=1, max_length=255)]


# Livestreams ---------------------------------------------------------------------------------------------


class LivestreamCreate(RequestModel):
    title: Annotated[Line, Field(min_length=1, max_length=120)]
    category: Annotated[Line, Field(min_length=1, max_length=32)] = "general"
    cover_url: Annotated[str, Field(max_length=512, pattern=r"^https?://")] | None = None


class Livestream(ResponseModel):
    id: str
    host_id: str
    title: str
    cover_url: str | None
    category: str
    status: Literal["created", "live", "ended"]
    created_at: int = Field(description="Milliseconds since the epoch.")
    started_at: int | None
    ended_at: int | None
    likes: int
    gift_coins: int


class LivestreamPage(ResponseModel):
    items: list[Livestream]
    next_cursor: str | None


class LivestreamQuery(QueryModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: PlainId | None = Field(None, description="The `next_cursor` of the previous page.")


class RankingQuery(QueryModel):
    period: Literal["day", "week", "all"] = "week"
    limit: int = Field(50, ge=1, le=100)


class Ingest(ResponseModel):
    whip_url: str
    publish_token: str = Field(description="A media token for the host's slot: send it as the WHIP bearer.")


class Playback(ResponseModel):
    whep_url: str
    hls_url: str
    ll_hls_url: str = Field(description="The HLS master playlist; its media playlists carry LL-HLS parts.")


class GoLive(ResponseModel):
    stream: Livestream
    ingest: Ingest
    playback: Playback


class Provider(ResponseModel):
    id: Literal["whip", "whep", "hls", "ll-hls"]
    role: Literal["ingest", "playback"]
    protocol: str
    url_template: str
    latency: str


# Gifts -----------------------------------------------------------------------------------------------------


class RoomGift(RequestModel):
    receiver_id: PlainId
    gift_id: PlainId
    quantity: int = Field(1, ge=1, le=999)
    combo_id: PlainId | None = None


class GiftResult(ResponseModel):
    transfer_id: str
    gift_id: str
    quantity: int
    coins: int
    diamonds: int
    balance: int
    event: RoomEvent | None = Field(description="The gift.sent event; null when a retried key was announced before.")


# Multi-host ------------------------------------------------------------------------------------------------


class Guest(RequestModel):
    user_id: PlainId


class Answer(RequestModel):
    user_id: PlainId | None = Field(None, description="The host answering a request names the viewer.")


class GuestMute(RequestModel):
    user_id: PlainId
    muted: bool = True


class StageTicket(ResponseModel):
    seat: Seat
    event: RoomEvent
    whip_url: str | None = Field(description="Where the guest publishes (only in the guest's own answer).")
    publish_token: str | None = Field(description="The guest's media token (only in the guest's own answer).")


class Seats(ResponseModel):
    seats: list[Seat]


# PK battles ------------------------------------------------------------------------------------------------


class PkInvite(RequestModel):
    room_id: PlainId
    opponent_room_id: PlainId
    duration_s: int | None = Field(None, ge=1, le=86_400)


class Ranking(ResponseModel):
    host_id: str
    wins: int
    draws: int
    losses: int
    points: int


class Rankings(ResponseModel):
    period: Literal["day", "week", "all"]
    items: list[Ranking]


class PkBattle(ResponseModel):
    battle: PkView


# Live shopping ---------------------------------------------------------------------------------------------


class ShopSessionCreate(RequestModel):
    livestream_id: PlainId


class ShopSession(ResponseModel):
    id: str
    livestream_id: str
    host_id: str


class PinProduct(RequestModel):
    product_id: PlainId | None = Field(description="null unpins the card.")


class LiveOrder(RequestModel):
    product_id: PlainId
    quantity: int = Field(1, ge=1, le=99)
    shipping_address: Address
    payment_method: Literal["coins", "card"] = "coins"
    payment_token: Annotated[str, Field(min_length=1, max_length=255)] | None = None


class LiveOrderResult(ResponseModel):
    order_id: str
    total: int
    currency: str
    event: RoomEvent | None


class ShopAnalytics(ResponseModel):
    session_id: str
    pin_views: int
    clicks: int
    orders: int
    revenue: int
    currency: str | None
    closed: bool


class Event(ResponseModel):
    event: RoomEvent | None


# Socket.IO payloads ----------------------------------------------------------------------------------------


class JoinPayload(RequestModel):
    room: PlainId
    last_seq: int | None = Field(None, ge=0, description="Resume: the last seq this client applied.")
    batch: bool = Field(False, description="Take the room's events as one `events` event per tick (a list of "
                        "envelopes, seq ascending) instead of one Socket.IO event per room event.")


class RoomPayload(RequestModel):
    room: PlainId


class ChatPayload(RequestModel):
    room: PlainId
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class LikePayload(RequestModel):
    room: PlainId
    taps: int = Field(1, ge=1, le=1000)


class GiftPayload(RoomGift):
    room: PlainId
    key: ClientKey


class PinPayload(RequestModel):
    room: PlainId
    message_id: PlainId | None = Field(None, description="null unpins the message.")


class MutePayload(RequestModel):
    room: PlainId
    user_id: PlainId
    duration_s: int | None = Field(None, ge=1, le=86_400)
    muted: bool = True


class KickPayload(RequestModel):
    room: PlainId
    user_id: PlainId
    ban: bool = False


class SlowModePayload(RequestModel):
    room: PlainId
    interval_s: int = Field(ge=0, le=86_400, description="0 turns slow mode off.")


class ModeratorPayload(RequestModel):
    room: PlainId
    user_id: PlainId
    moderator: bool = True
