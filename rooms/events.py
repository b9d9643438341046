"""Room events and the room snapshot: pure, versioned wire schemas (pydantic), no I/O.

Every room event is an envelope ``{"seq", "v", "room", "at", "data"}``: ``seq`` is the room's monotonic
sequence number (assigned by the :class:`~rooms.store.RoomStore` in the same atomic step that appends the
event to the replay buffer), ``v`` the schema version, ``at`` milliseconds since the epoch and ``data`` one
payload discriminated by its ``type``. Payloads carry absolute values (viewer count, score totals, combo
counts), so a client that applies an event twice, or applies events newer than a snapshot on top of a
snapshot that already saw them, ends in the same state.

The store splices ``"seq":N,`` in front of an encoded draft (:func:`stamp`), which is how a Lua script can
number an event without parsing JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RankedUser(_Model):
    user_id: str
    score: int


class PinnedMessage(_Model):
    message_id: str
    user_id: str
    text: str
    pinned_by: str
    pinned_at: int


class ProductCard(_Model):
    """What the commerce side tells the room about a product when the host pins it."""

    product_id: str
    seller_id: str
    title: str
    price: int  # minor units
    currency: str
    image_url: str | None = None


class PinnedProduct(_Model):
    session_id: str
    product: ProductCard
    pinned_at: int


class PkSide(_Model):
    room_id: str
    host_id: str
    score: int = 0
    mvp: RankedUser | None = None


PkState = Literal["invited", "rejected", "expired", "countdown", "active", "ended"]


class PkView(_Model):
    battle_id: str
    state: PkState
    a: PkSide
    b: PkSide
    duration_s: int
    expires_at: int | None = None
    starts_at: int | None = None
    ends_at: int | None = None
    winner: Literal["a", "b", "draw"] | None = None

    def time_left_ms(self, now_ms: int) -> int:
        """Milliseconds until the next timed transition (invite expiry, start, end), never negative."""
        due = {"invited": self.expires_at, "countdown": self.starts_at, "active": self.ends_at}.get(self.state)
        return max(0, due - now_ms) if due is not None else 0


class Seat(_Model):
    user_id: str
    since: int
    muted: bool = False


class Mute(_Model):
    user_id: str
    until: int | None  # None: for the rest of the live


# Payloads ------------------------------------------------------------------------------------------------


class ViewerJoined(_Model):
    type: Literal["viewer.joined"] = "viewer.joined"
    user_id: str
    viewers: int


class ViewerLeft(_Model):
    type: Literal["viewer.left"] = "viewer.left"
    user_id: str
    viewers: int


class ViewerCount(_Model):
    """In a crowded room, joins and leaves are not announced one by one; the count is, once per window."""

    type: Literal["viewer.count"] = "viewer.count"
    viewers: int
    top_viewers: list[RankedUser]


class ChatMessage(_Model):
    type: Literal["chat.message"] = "chat.message"
    message_id: str
    user_id: str
    text: str


class ChatPinned(_Model):
    type: Literal["chat.pinned"] = "chat.pinned"
    message: PinnedMessage | None  # None: unpinned


class SlowModeChanged(_Model):
    type: Literal["chat.slow_mode"] = "chat.slow_mode"
    interval_s: int  # 0: off


class UserMuted(_Model):
    type: Literal["moderation.muted"] = "moderation.muted"
    user_id: str
    until: int | None
    by: str


class UserUnmuted(_Model):
    type: Literal["moderation.unmuted"] = "moderation.unmuted"
    user_id: str
    by: str


class UserKicked(_Model):
    """The edge disconnects the user's sockets from the room; they may come back after ``until``."""

    type: Literal["moderation.kicked"] = "moderation.kicked"
    user_id: str
    until: int | None  # None: banned for the rest of the live
    by: str


class ModeratorChanged(_Model):
    type: Literal["moderation.moderator"] = "moderation.moderator"
    user_id: str
    moderator: bool


class LikesBatch(_Model):
    type: Literal["likes"] = "likes"
    count: int  # taps in this batch
    total: int  # taps in the live so far


class GiftSent(_Model):
    type: Literal["gift.sent"] = "gift.sent"
    transfer_id: str
    gift_id: str
    sender_id: str
    receiver_id: str
    quantity: int
    coins: int
    combo_id: str | None
    combo_count: int  # gifts in this streak so far, this one included
    supporter_total: int  # the sender's coins in this live so far


class PkInvited(_Model):
    type: Literal["pk.invited"] = "pk.invited"
    battle: PkView


class PkCancelled(_Model):
    type: Literal["pk.cancelled"] = "pk.cancelled"
    battle: PkView  # state says why: rejected or expired


class PkCountdown(_Model):
    type: Literal["pk.countdown"] = "pk.countdown"
    battle: PkView


class PkStarted(_Model):
    type: Literal["pk.started"] = "pk.started"
    battle: PkView


class PkScore(_Model):
    """Scores only rise; two gifts counted at once may announce in either order, so keep the larger."""

    type: Literal["pk.score"] = "pk.score"
    battle_id: str
    score_a: int
    score_b: int


class PkEnded(_Model):
    type: Literal["pk.ended"] = "pk.ended"
    battle: PkView


# "pk_started": a pending invitation or request withdrawn because the live's PK battle was accepted.
CohostReason = Literal["accepted", "kicked", "left", "rejected", "expired", "room_ended", "pk_started"]


class CohostInvited(_Model):
    type: Literal["cohost.invited"] = "cohost.invited"
    user_id: str
    expires_at: int


class CohostRequested(_Model):
    type: Literal["cohost.requested"] = "cohost.requested"
    user_id: str
    expires_at: int


class CohostJoined(_Model):
    type: Literal["cohost.joined"] = "cohost.joined"
    seat: Seat
    seats: int


class CohostLeft(_Model):
    type: Literal["cohost.left"] = "cohost.left"
    user_id: str
    reason: CohostReason
    seats: int


class CohostDeclined(_Model):
    type: Literal["cohost.declined"] = "cohost.declined"
    user_id: str
    reason: CohostReason


class CohostMuted(_Model):
    type: Literal["cohost.muted"] = "cohost.muted"
    user_id: str
    muted: bool


class ProductPinned(_Model):
    type: Literal["shop.pinned"] = "shop.pinned"
    pin: PinnedProduct | None  # None: unpinned


class OrderPlaced(_Model):
    type: Literal["shop.order"] = "shop.order"
    session_id: str
    order_id: str
    buyer_id: str
    product_id: str
    quantity: int
    orders: int  # orders in this session so far


class RoomEnded(_Model):
    type: Literal["room.ended"] = "room.ended"
    by: str


Payload = Annotated[
    ViewerJoined | ViewerLeft | ViewerCount | ChatMessage | ChatPinned | SlowModeChanged | UserMuted | UserUnmuted
    | UserKicked | ModeratorChanged | LikesBatch | GiftSent | PkInvited | PkCancelled | PkCountdown
    | PkStarted | PkScore | PkEnded | CohostInvited | CohostRequested | CohostJoined | CohostLeft
    | CohostDeclined | CohostMuted | ProductPinned | OrderPlaced | RoomEnded,
    Field(discriminator="type"),
]


class RoomEvent(_Model):
    seq: int = Field(ge=1)
    v: int = VERSION
    room: str
    at: int
    data: Payload

    @property
    def type(self) -> str:
        return self.data.type


class _Draft(_Model):
    v: int = VERSION
    room: str
    at: int
    data: Payload


_EVENT = TypeAdapter(RoomEvent)


def encode_draft(room: str, at: int, data: Payload) -> str:
    """An event without its sequence number, as the store receives it."""
    return _Draft(room=room, at=at, data=data).model_dump_json()


def stamp(draft: str, seq: int) -> str:
    """Number a draft: ``{"v":...}`` becomes ``{"seq":N,"v":...}`` (the same splice the Lua script does)."""
    if not draft.startswith("{") or len(draft) < 3:
        raise ValueError("an event draft is a JSON object")
    return f'{{"seq":{seq},{draft[1:]}'


def decode(raw: str | bytes) -> RoomEvent:
    return _EVENT.validate_json(raw)


def encode(event: RoomEvent) -> str:
    return event.model_dump_json()


class RoomSnapshot(_Model):
    """Everything a client needs to draw the room when it cannot replay: the state as of ``seq``.

    ``seq`` is read before the state, so events with a larger seq may already be reflected here; they carry
    absolute values, so applying them again is harmless.
    """

    v: int = VERSION
    room: str
    seq: int
    at: int
    status: Literal["live", "ended"]
    host_id: str
    viewers: int
    top_viewers: list[RankedUser]
    likes: int
    slow_mode_s: int
    pinned_message: PinnedMessage | None
    pinned_product: PinnedProduct | None
    pk: PkView | None
    pk_time_left_ms: int
    seats: list[Seat]
    mutes: list[Mute]
    moderators: list[str]


class Resume(_Model):
    """What a reconnecting client gets: the events it missed, or a snapshot when the gap is too old."""

    events: list[RoomEvent] | None
    snapshot: RoomSnapshot | None


# Batches ----------------------------------------------------------------------------------------------------
# A client that joins with ``batch: true`` gets a room's events of one tick as ONE Socket.IO event
# ``events`` whose argument is a JSON array of envelopes, ``seq`` ascending. The envelopes are the same as
# the per-event ones, so a client applies a batch as it would apply its events one by one, and detects a gap
# (an event it never got) by ``seq`` in the same way.

_BATCH = TypeAdapter(list[RoomEvent])


def batch(events: Sequence[RoomEvent]) -> list[RoomEvent]:
    """One tick's events, ``seq`` ascending and each seq once (two appends may reach the edge out of order)."""
    return sorted({event.seq: event for event in events}.values(), key=lambda event: event.seq)


def encode_batch(events: Sequence[RoomEvent]) -> bytes:
    """The JSON array a batch is on the wire (the argument of the ``events`` event)."""
    return _BATCH.dump_json(batch(events))


def decode_batch(raw: str | bytes) -> list[RoomEvent]:
    """A received batch; refuses one whose ``seq`` does not strictly ascend (it would hide a gap)."""
    events = _BATCH.validate_json(raw)
    if any(b.seq <= a.seq for a, b in pairwise(events)):
        raise ValueError("a batch's events ascend by seq")
    return events


def seq_gaps(last_seq: int, events: Sequence[RoomEvent]) -> list[int]:
    """The seqs a client that applied up to ``last_seq`` is missing before the last of ``events`` (resume
    with ``last_seq`` to get them); events at or below ``last_seq`` are duplicates and are ignored."""
    have = {event.seq for event in events if event.seq > last_seq}
    if not have:
        return []
    return [seq for seq in range(last_seq + 1, max(have)) if seq not in have]
