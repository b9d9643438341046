"""``Room``: one live's audience side: presence, chat and its moderation, likes, pins, snapshot and replay.

A ``Room`` is a handle over the :class:`~rooms.store.RoomStore`; it keeps no state of its own except the
likes tapped on this node since the last flush, so any node can serve any viewer. Every change is appended
to the room's log (which numbers it) and then handed to the edge's sink for broadcast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from rooms.actor import Actor, Role, require_id
from rooms.clock import Clock
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound, Throttled, Unauthenticated, UnknownRoom
from rooms.events import (
    ChatMessage,
    ChatPinned,
    LikesBatch,
    ModeratorChanged,
    Mute,
    Payload,
    PinnedMessage,
    PinnedProduct,
    PkSide,
    PkView,
    RankedUser,
    Resume,
    RoomEnded,
    RoomEvent,
    RoomSnapshot,
    Seat,
    SlowModeChanged,
    UserKicked,
    UserMuted,
    UserUnmuted,
    ViewerCount,
    ViewerJoined,
    ViewerLeft,
    decode,
    encode_draft,
)
from rooms.moderation import TextModerator
from rooms.store import BANS, FOREVER, MODERATORS, MUTES, PK_SCORES, SEAT_MUTES, SEATS, VIEWERS, RoomStore
from store.ids import new_id

log = logging.getLogger(__name__)

EventSink = Callable[[RoomEvent], Awaitable[None]]

# Fields of a room in the store.
STATUS, HOST, SLOW_MODE, PINNED_MESSAGE, PINNED_PRODUCT, PK = (
    "status", "host", "slow_mode_s", "pinned_message", "pinned_product", "pk",
)
LIKES = "likes"
PIN_SEARCH = 512  # how many recent events a pinned message is looked up in


@dataclass(frozen=True, slots=True)
class RoomConfig:
    chat_max_chars: int = 300
    chat_per_s: float = 1.0  # sustained chat rate per user
    chat_burst: int = 5
    slow_mode_max_s: int = 600
    kick_ban_s: int = 300  # a kicked viewer may come back after this long
    top_viewers: int = 10
    like_window_s: float = 1.0
    like_max_taps: int = 50  # taps one request may carry
    announce_viewers_below: int = 200  # above this many viewers, joins and leaves become a count per window
    cohost_seats: int = 8
    cohost_invite_ttl_s: int = 60


@dataclass(slots=True)
class Node:
    """What this process keeps about rooms: its id in presence, the taps not yet announced (by room), and
    the rooms it has had viewers in (where viewers of a dead node come back, so where to reap it)."""

    id: str
    likes: dict[str, int] = field(default_factory=dict)
    served: set[str] = field(default_factory=set)
    crowds: set[str] = field(default_factory=set)  # rooms whose viewer count changed unannounced
    # Per room: the lock that keeps this node's broadcasts in log order, and how many appends hold or await it.
    appending: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @asynccontextmanager
    async def in_order(self, room: str) -> AsyncIterator[None]:
        """Number-then-broadcast one event of ``room`` at a time on this node. The log numbers concurrent
        appends atomically, but they can return out of order (two round trips to Redis), and broadcasting in
        return order would show a client seq 7 before seq 6. Events appended on other nodes still interleave
        by ``seq`` only at the client, which orders and detects gaps by it (``rooms.events.seq_gaps``)."""
        lock, users = self.appending.get(room, (asyncio.Lock(), 0))
        self.appending[room] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.appending[room]
            if users == 1:
                del self.appending[room]
            else:
                self.appending[room] = (lock, users - 1)


@dataclass(slots=True)
class Standing:
    """A room's state as one action needs it: read once per action."""

    status: str
    host: str
    moderator: bool
    scores: list[int | None] = field(default_factory=list)  # what the action asked for, in order
    fields: dict[str, str] = field(default_factory=dict)

    def role(self, actor: Actor) -> Role:
        if actor.user_id is None:
            return Role.ANONYMOUS
        if actor.user_id == self.host:
            return Role.HOST
        return Role.MODERATOR if self.moderator else Role.VIEWER


class Room:
    def __init__(
        self, room_id: str, store: RoomStore, clock: Clock, sink: EventSink, config: RoomConfig,
        moderator: TextModerator, node: Node | None = None,
    ) -> None:
        self.id = room_id
        self.store = store
        self.clock = clock
        self.config = config
        self._sink = sink
        self._moderator = moderator
        self._node = node or Node("")

    # Events -----------------------------------------------------------------------------------------------

    async def append(self, data: Payload) -> RoomEvent:
        """Number the event in the room's log, then hand it to the edge for broadcast."""
        async with self._node.in_order(self.id):
            event = decode(await self.store.append(self.id, encode_draft(self.id, self.clock.now_ms(), data)))
            try:
                await self._sink(event)
            except Exception:  # the event is in the log: clients that missed it get it when they resume
                log.exception("broadcasting event %d of room %s", event.seq, self.id)
        return event

    async def append_once(self, data: Payload, *, board: str, member: str,
                          fields: Mapping[str, str] | None = None) -> RoomEvent | None:
        """Like :meth:`append`, but only if ``member`` is not yet on ``board`` (claimed in the same atomic step,
        with ``fields`` set): a once-only announcement. None if it was claimed before."""
        async with self._node.in_order(self.id):
            raw = await self.store.append_once(self.id, encode_draft(self.id, self.clock.now_ms(), data),
                                               board=board, member=member, fields=fields)
            if raw is None:
                return None
            event = decode(raw)
            try:
                await self._sink(event)
            except Exception:  # the event is in the log: clients that missed it get it when they resume
                log.exception("broadcasting event %d of room %s", event.seq, self.id)
        return event

    async def events_since(self, seq: int) -> list[RoomEvent] | None:
        """The events after ``seq``, or None when the gap is too old for the replay buffer (send a snapshot)."""
        missed = await self.store.since(self.id, seq)
        return None if missed is None else [decode(raw) for raw in missed]

    async def resume(self, last_seq: int) -> Resume:
        """What a reconnecting client missed since ``last_seq``, or a snapshot when the buffer lost some."""
        await self.standing(None)
        missed = await self.events_since(last_seq)
        if missed is None:
            return Resume(events=None, snapshot=await self.snapshot())
        return Resume(events=missed, snapshot=None)

    # Authorization ----------------------------------------------------------------------------------------

    async def standing(self, actor: Actor | None, *, live: bool = False,
                       scores: Sequence[tuple[str, str]] = ()) -> Standing:
        """The room's status and host, whether ``actor`` moderates it, and the ``scores`` asked for, read in
        one step."""
        user = actor.user_id if actor is not None else None
        asked = [(MODERATORS, user), *scores] if user is not None else list(scores)
        fields, found = await self.store.read(self.id, asked)
        if STATUS not in fields:
            raise UnknownRoom(f"no room {self.id!r}")
        moderator = user is not None and user != fields[HOST] and found[0] is not None
        standing = Standing(fields[STATUS], fields[HOST], moderator, found[1:] if user is not None else found, fields)
        if live and standing.status != "live":
            raise Conflict("the live has ended", slug="room-ended")
        return standing

    async def require(self, actor: Actor, *roles: Role, scores: Sequence[tuple[str, str]] = ()) -> Standing:
        """The room must be live, ``actor`` must hold one of ``roles`` and not be kicked or banned from it.
        ``Standing.scores`` answers ``scores``, in order."""
        if actor.user_id is None:
            raise Unauthenticated("sign in to do this; anonymous viewers may only watch and read")
        standing = await self.standing(actor, live=True, scores=[*scores, (BANS, actor.user_id)])
        *asked, banned_until = standing.scores
        if standing.role(actor) not in roles:
            names = " or ".join(r.value for r in roles)
            raise NotAllowed(f"only the {names} may do this", slug="not-room-staff")
        if banned_until is not None and banned_until > self.clock.now_ms() and standing.role(actor) is not Role.HOST:
            raise NotAllowed("you were removed from this live", slug="banned",
                             until=None if banned_until == FOREVER else banned_until)
        standing.scores = asked
        return standing

    async def _require_staff_over(self, actor: Actor, target: str) -> Standing:
        require_id(target, "user_id")
        standing = await self.require(actor, Role.HOST, Role.MODERATOR, scores=[(MODERATORS, target)])
        if target == standing.host:
            raise NotAllowed("nobody moderates the host", slug="target-is-host")
        if standing.role(actor) is Role.MODERATOR and standing.scores[0] is not None:
            raise NotAllowed("only the host moderates a moderator", slug="target-is-moderator")
        return standing

    # Presence ---------------------------------------------------------------------------------------------

    async def join(self, actor: Actor) -> RoomSnapshot:
        """A connection enters; returns the snapshot the client starts from. A signed-in viewer's first
        connection is announced while the room has fewer than ``announce_viewers_below`` viewers; anonymous
        viewers, and everyone in a crowded room, show up in the next ``viewer.count`` instead."""
        bans = [(BANS, actor.user_id)] if actor.user_id is not None else []
        standing = await self.standing(actor, live=True, scores=bans)
        if actor.user_id is not None and actor.user_id != standing.host:
            until = standing.scores[0]
            if until is not None and until > self.clock.now_ms():
                raise NotAllowed("you cannot join this live", slug="banned", until=None if until == FOREVER else until)
        first, count = await self.store.enter(self.id, actor.viewer, ranked=actor.user_id is not None,
                                              node=self._node.id)
        self._node.served.add(self.id)
        if first and actor.user_id is not None and count < self.config.announce_viewers_below:
            await self.append(ViewerJoined(user_id=actor.user_id, viewers=count))
        elif first:
            self._node.crowds.add(self.id)
        return await self.snapshot()

    async def leave(self, actor: Actor) -> None:
        last, count = await self.store.exit(self.id, actor.viewer, node=self._node.id)
        if last and actor.user_id is not None and count < self.config.announce_viewers_below:
            await self.append(ViewerLeft(user_id=actor.user_id, viewers=count))
        elif last:
            self._node.crowds.add(self.id)

    async def flush_viewers(self) -> RoomEvent | None:
        """Announce the viewer count if joins or leaves on this node went unannounced since the last one."""
        if self.id not in self._node.crowds:
            return None
        self._node.crowds.discard(self.id)
        count = await self.store.viewers(self.id)
        top = await self.store.top(self.id, VIEWERS, self.config.top_viewers)
        return await self.append(ViewerCount(viewers=count, top_viewers=[RankedUser(user_id=u, score=s)
                                                                         for u, s in top]))

    # Chat -------------------------------------------------------------------------------------------------

    async def chat(self, actor: Actor, text: str) -> RoomEvent:
        standing = await self.require(actor, Role.HOST, Role.MODERATOR, Role.VIEWER,
                                      scores=[(MUTES, actor.user_id or "")])
        assert actor.user_id is not None
        text = text.strip()
        if not text:
            raise Invalid("a message needs some text", slug="empty-message")
        if len(text) > self.config.chat_max_chars:
            raise Invalid(f"a message has at most {self.config.chat_max_chars} characters", slug="message-too-long")
        now = self.clock.now_ms()
        until = standing.scores[0]
        if until is not None and until > now:
            raise NotAllowed("you are muted in this live", slug="muted", until=None if until == FOREVER else until)
        staff = standing.role(actor) in (Role.HOST, Role.MODERATOR)
        wait = await self.store.throttle(
            self.id, f"chat:{actor.user_id}", per_s=self.config.chat_per_s, burst=self.config.chat_burst, now_ms=now
        )
        if wait > 0:
            raise Throttled("you are sending messages too fast", retry_after=wait)
        slow = int(standing.fields.get(SLOW_MODE, 0))
        if slow and not staff:
            key = f"slow:{slow}:{actor.user_id}"
            wait = await self.store.throttle(self.id, key, per_s=1 / slow, burst=1, now_ms=now)
            if wait > 0:
                raise Throttled(f"slow mode: one message every {slow} s", retry_after=wait, slug="slow-mode")
        verdict = await self._moderator.review(text, room=self.id, user_id=actor.user_id)
        if not verdict.allowed:
            raise Invalid("the message was not allowed", slug="message-rejected", reason=verdict.reason)
        return await self.append(ChatMessage(message_id=new_id(), user_id=actor.user_id, text=verdict.text))

    async def set_slow_mode(self, actor: Actor, interval_s: int) -> RoomEvent:
        await self.require(actor, Role.HOST, Role.MODERATOR)
        if not 0 <= interval_s <= self.config.slow_mode_max_s:
            raise Invalid(f"slow mode is 0 (off) to {self.config.slow_mode_max_s} s", slug="bad-slow-mode")
        await self.store.put(self.id, SLOW_MODE, str(interval_s) if interval_s else None)
        return await self.append(SlowModeChanged(interval_s=interval_s))

    async def pin_message(self, actor: Actor, message_id: str) -> RoomEvent:
        """Pin a recent chat message (one still in the replay buffer), replacing any pinned one."""
        require_id(message_id, "message_id")
        await self.require(actor, Role.HOST, Role.MODERATOR)
        assert actor.user_id is not None
        for raw in reversed(await self.store.recent(self.id, PIN_SEARCH)):
            data = decode(raw).data
            if isinstance(data, ChatMessage) and data.message_id == message_id:
                pin = PinnedMessage(message_id=message_id, user_id=data.user_id, text=data.text,
                                    pinned_by=actor.user_id, pinned_at=self.clock.now_ms())
                await self.store.put(self.id, PINNED_MESSAGE, pin.model_dump_json())
                return await self.append(ChatPinned(message=pin))
        raise NotFound(f"no recent message {message_id!r}", slug="unknown-message")

    async def unpin_message(self, actor: Actor) -> RoomEvent:
        await self.require(actor, Role.HOST, Role.MODERATOR)
        await self.store.put(self.id, PINNED_MESSAGE, None)
        return await self.append(ChatPinned(message=None))

    # Moderation -------------------------------------------------------------------------------------------

    async def mute(self, actor: Actor, user_id: str, duration_s: int | None = None) -> RoomEvent:
        await self._require_staff_over(actor, user_id)
        assert actor.user_id is not None
        if duration_s is not None and duration_s <= 0:
            raise Invalid("a mute lasts a positive number of seconds, or the rest of the live", slug="bad-duration")
        until = None if duration_s is None else self.clock.now_ms() + duration_s * 1000
        await self.store.put_score(self.id, MUTES, user_id, FOREVER if until is None else until)
        return await self.append(UserMuted(user_id=user_id, until=until, by=actor.user_id))

    async def unmute(self, actor: Actor, user_id: str) -> RoomEvent:
        await self._require_staff_over(actor, user_id)
        assert actor.user_id is not None
        if not await self.store.remove(self.id, MUTES, user_id):
            raise Conflict(f"{user_id!r} is not muted", slug="not-muted")
        return await self.append(UserUnmuted(user_id=user_id, by=actor.user_id))

    async def kick(self, actor: Actor, user_id: str, *, ban: bool = False) -> RoomEvent:
        """Remove a viewer; they may come back after ``kick_ban_s``, or never in this live with ``ban``. The
        edge disconnects their sockets from the room when it sees the event."""
        await self._require_staff_over(actor, user_id)
        assert actor.user_id is not None
        until = None if ban else self.clock.now_ms() + self.config.kick_ban_s * 1000
        await self.store.put_score(self.id, BANS, user_id, FOREVER if until is None else until)
        event = await self.append(UserKicked(user_id=user_id, until=until, by=actor.user_id))
        last, count = await self.store.exit(self.id, user_id, every_connection=True)
        if last:
            await self.append(ViewerLeft(user_id=user_id, viewers=count))
        return event

    async def unban(self, actor: Actor, user_id: str) -> None:
        await self._require_staff_over(actor, user_id)
        await self.store.remove(self.id, BANS, user_id)

    async def set_moderator(self, actor: Actor, user_id: str, moderator: bool) -> RoomEvent:
        require_id(user_id, "user_id")
        standing = await self.require(actor, Role.HOST)
        if user_id == standing.host:
            raise Invalid("the host is not a moderator of their own live", slug="target-is-host")
        if moderator:
            await self.store.put_score(self.id, MODERATORS, user_id, self.clock.now_ms())
        else:
            await self.store.remove(self.id, MODERATORS, user_id)
        return await self.append(ModeratorChanged(user_id=user_id, moderator=moderator))

    # Likes ------------------------------------------------------------------------------------------------

    async def like(self, actor: Actor, taps: int = 1) -> None:
        """Count taps on this node; :meth:`flush_likes` announces them as one event per window."""
        await self.require(actor, Role.HOST, Role.MODERATOR, Role.VIEWER)
        if not 1 <= taps <= self.config.like_max_taps:
            raise Invalid(f"1 to {self.config.like_max_taps} taps at a time", slug="bad-taps")
        likes = self._node.likes
        likes[self.id] = likes.get(self.id, 0) + taps

    async def flush_likes(self) -> RoomEvent | None:
        taps = self._node.likes.pop(self.id, 0)
        if not taps:
            return None
        total = await self.store.incr(self.id, LIKES, taps)
        return await self.append(LikesBatch(count=taps, total=total))

    # Lifecycle --------------------------------------------------------------------------------------------

    async def end(self, actor: Actor) -> RoomEvent:
        await self.require(actor, Role.HOST, Role.MODERATOR)
        assert actor.user_id is not None
        return await self._close(actor.user_id)

    async def terminate(self, by: str) -> RoomEvent:
        """End the room on the platform's authority (a moderator's removal, a ban): no room role needed."""
        return await self._close(by)

    async def _close(self, by: str) -> RoomEvent:
        await self.flush_likes()  # the last taps are shown before the end
        if not await self.store.put(self.id, STATUS, "ended", expect="live"):
            raise Conflict("the live has ended", slug="room-ended")
        return await self.append(RoomEnded(by=by))

    # Snapshot ---------------------------------------------------------------------------------------------

    async def snapshot(self) -> RoomSnapshot:
        now = self.clock.now_ms()
        seq = await self.store.last_seq(self.id)  # before the state: see RoomSnapshot
        fields = await self.store.fields(self.id)
        if STATUS not in fields:
            raise UnknownRoom(f"no room {self.id!r}")
        pk = await self.pk_view(fields.get(PK))
        seat_mutes = {user for user, _ in await self.store.top(self.id, SEAT_MUTES)}
        mutes = [Mute(user_id=user, until=None if until == FOREVER else until)
                 for user, until in await self.store.top(self.id, MUTES) if until > now]
        status = "live" if fields[STATUS] == "live" else "ended"
        return RoomSnapshot(
            room=self.id, seq=seq, at=now, status=status, host_id=fields[HOST],
            viewers=await self.store.viewers(self.id),
            top_viewers=[RankedUser(user_id=u, score=s)
                         for u, s in await self.store.top(self.id, VIEWERS, self.config.top_viewers)],
            likes=(await self.store.counters(self.id)).get(LIKES, 0),
            slow_mode_s=int(fields.get(SLOW_MODE, 0)),
            pinned_message=PinnedMessage.model_validate_json(fields[PINNED_MESSAGE])
            if PINNED_MESSAGE in fields else None,
            pinned_product=PinnedProduct.model_validate_json(fields[PINNED_PRODUCT])
            if PINNED_PRODUCT in fields else None,
            pk=pk, pk_time_left_ms=pk.time_left_ms(now) if pk else 0,
            seats=[Seat(user_id=u, since=s, muted=u in seat_mutes)
                   for u, s in sorted(await self.store.top(self.id, SEATS), key=lambda item: (item[1], item[0]))],
            mutes=sorted(mutes, key=lambda m: m.user_id),
            moderators=sorted(u for u, _ in await self.store.top(self.id, MODERATORS)),
        )

    async def pk_view(self, raw: str | None = None) -> PkView | None:
        """The room's PK battle as last announced, with the current scores."""
        if raw is None:
            raw = await self.store.get(self.id, PK)
        if raw is None:
            return None
        view = PkView.model_validate_json(raw)
        score_a = await self.store.score(self.id, PK_SCORES, f"{view.battle_id}:a")
        score_b = await self.store.score(self.id, PK_SCORES, f"{view.battle_id}:b")
        return view.model_copy(update={
            "a": _with_score(view.a, score_a), "b": _with_score(view.b, score_b),
        })


def _with_score(side: PkSide, score: int | None) -> PkSide:
    return side if score is None or score <= side.score else side.model_copy(update={"score": score})
