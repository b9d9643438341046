"""``Stage``: co-hosts. The host invites a viewer, or a viewer requests; the other side accepts or rejects
before the invitation expires; an accepted guest takes one of the seats (8 guests besides the host by
default) and gets a publish token for their own slot in the live. The host or a moderator mutes or kicks a
guest; a kick closes the guest's producers in the media engine at once, before the room hears about it.

The stage and PK battles exclude each other (as on TikTok LIVE): while the live is in a battle (invited,
counting down or on), nobody is invited, asks, or takes a seat; :class:`~rooms.pk.PkBattles` refuses a
battle while guests are on stage. Each side writes its own mark first and then reads the other's (the seat,
or the battle lock), so two racing requests cannot both pass; the loser undoes its mark and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from rooms.actor import Actor, Role, require_id
from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound
from rooms.events import (
    CohostDeclined,
    CohostInvited,
    CohostJoined,
    CohostLeft,
    CohostMuted,
    CohostReason,
    CohostRequested,
    RoomEvent,
    Seat,
)
from rooms.media import MediaControl
from rooms.pk import PK_LOCK
from rooms.room import Room, Standing
from rooms.store import BANS, SEAT_MUTES, SEATS, STAGE_INVITES, STAGE_REQUESTS


@dataclass(frozen=True, slots=True)
class StageTicket:
    """What the accepted guest needs to go on stage; the edge gives the token to the guest only."""

    seat: Seat
    publish_token: str
    event: RoomEvent


class Stage:
    def __init__(self, directory: RoomDirectory, media: MediaControl) -> None:
        self._directory = directory
        self._media = media

    def _room(self, room_id: str) -> Room:
        return self._directory.room(room_id)

    async def seats(self, room_id: str) -> list[Seat]:
        snapshot = await self._room(room_id).snapshot()
        return snapshot.seats

    @staticmethod
    def _check_no_battle(fields: dict[str, str]) -> None:
        if fields.get(PK_LOCK):
            raise Conflict("no guests on stage during a PK battle: wait until it ends", slug="pk-in-progress")

    async def _check_guest(self, room: Room, standing: Standing, user_id: str) -> None:
        host = standing.host
        require_id(user_id, "user_id")
        self._check_no_battle(standing.fields)
        if user_id == host:
            raise Invalid("the host is always on stage", slug="target-is-host")
        if await room.store.score(room.id, SEATS, user_id) is not None:
            raise Conflict(f"{user_id!r} is already on stage", slug="already-on-stage")
        banned = await room.store.score(room.id, BANS, user_id)
        if banned is not None and banned > room.clock.now_ms():
            raise NotAllowed(f"{user_id!r} is banned from this live", slug="banned")
        if await room.store.size(room.id, SEATS) >= room.config.cohost_seats:
            raise Conflict(f"all {room.config.cohost_seats} seats are taken", slug="stage-full")

    async def invite(self, actor: Actor, room_id: str, user_id: str) -> RoomEvent:
        room = self._room(room_id)
        standing = await room.require(actor, Role.HOST)
        await self._check_guest(room, standing, user_id)
        expires = room.clock.now_ms() + room.config.cohost_invite_ttl_s * 1000
        await room.store.put_score(room_id, STAGE_INVITES, user_id, expires)
        return await room.append(CohostInvited(user_id=user_id, expires_at=expires))

    async def request(self, actor: Actor, room_id: str) -> RoomEvent:
        room = self._room(room_id)
        standing = await room.require(actor, Role.MODERATOR, Role.VIEWER)
        assert actor.user_id is not None
        await self._check_guest(room, standing, actor.user_id)
        expires = room.clock.now_ms() + room.config.cohost_invite_ttl_s * 1000
        await room.store.put_score(room_id, STAGE_REQUESTS, actor.user_id, expires)
        return await room.append(CohostRequested(user_id=actor.user_id, expires_at=expires))

    async def _take(self, room: Room, board: str, user_id: str) -> int:
        """Consume a pending invitation or request (exactly one accept or reject wins it); its expiry."""
        expires = await room.store.score(room.id, board, user_id)
        if expires is None or not await room.store.remove(room.id, board, user_id):
            raise NotFound("there is no such invitation or request", slug="no-stage-invitation")
        if expires <= room.clock.now_ms():
            raise Conflict("the invitation or request has expired", slug="stage-invitation-expired")
        return expires

    def _pending(self, actor: Actor, host: str, user_id: str | None) -> tuple[str, str]:
        """(board, guest) for an answer: the guest answers the host's invitation, the host a request."""
        if actor.user_id == host:
            if user_id is None:
                raise Invalid("say whose request to answer", slug="missing-user")
            return STAGE_REQUESTS, require_id(user_id, "user_id")
        assert actor.user_id is not None
        return STAGE_INVITES, actor.user_id

    async def accept(self, actor: Actor, room_id: str, user_id: str | None = None) -> StageTicket:
        room = self._room(room_id)
        standing = await room.require(actor, Role.HOST, Role.MODERATOR, Role.VIEWER)
        board, guest = self._pending(actor, standing.host, user_id)
        self._check_no_battle(standing.fields)  # refused before anything is consumed
        expires = await self._take(room, board, guest)
        now = room.clock.now_ms()
        seated = False
        try:
            if not await room.store.put_score(room_id, SEATS, guest, now, limit=room.config.cohost_seats):
                raise Conflict(f"all {room.config.cohost_seats} seats are taken", slug="stage-full")
            seated = True
            # Seat first, then the battle lock: a battle invited meanwhile sees the seat, or we see its lock.
            fields, _ = await room.store.read(room_id)
            self._check_no_battle(fields)
            token = await self._media.guest_token(room_id, guest)
        except BaseException:
            # Refused or failed: nothing is half done, the invitation or request is still there to answer.
            if seated:
                await room.store.remove(room_id, SEATS, guest)
            await room.store.put_score(room_id, board, guest, expires)
            raise
        seat = Seat(user_id=guest, since=now)
        event = await room.append(CohostJoined(seat=seat, seats=await room.store.size(room_id, SEATS)))
        return StageTicket(seat, token, event)

    async def reject(self, actor: Actor, room_id: str, user_id: str | None = None) -> RoomEvent:
        room = self._room(room_id)
        standing = await room.require(actor, Role.HOST, Role.MODERATOR, Role.VIEWER)
        board, guest = self._pending(actor, standing.host, user_id)
        await self._take(room, board, guest)
        return await room.append(CohostDeclined(user_id=guest, reason="rejected"))

    async def kick(self, actor: Actor, room_id: str, user_id: str) -> RoomEvent:
        room = self._room(room_id)
        await room.require(actor, Role.HOST, Role.MODERATOR)
        return await self._off_stage(room, user_id, "kicked")

    async def leave(self, actor: Actor, room_id: str) -> RoomEvent:
        room = self._room(room_id)
        await room.require(actor, Role.MODERATOR, Role.VIEWER)
        assert actor.user_id is not None
        return await self._off_stage(room, actor.user_id, "left")

    async def remove(self, room_id: str, user_id: str) -> RoomEvent | None:
        """Take a guest off stage because they were removed from the live (the room already authorized the
        kick); nothing if they are not on stage."""
        room = self._room(room_id)
        if await room.store.score(room_id, SEATS, user_id) is None:
            return None
        try:
            return await self._off_stage(room, user_id, "kicked")
        except NotFound:  # a racing kick took them off first
            return None

    async def _off_stage(self, room: Room, user_id: str, reason: CohostReason) -> RoomEvent:
        if not await room.store.remove(room.id, SEATS, user_id):
            raise NotFound(f"{user_id!r} is not on stage", slug="not-on-stage")
        await room.store.remove(room.id, SEAT_MUTES, user_id)
        await self._media.close_guest(room.id, user_id)
        seats = await room.store.size(room.id, SEATS)
        return await room.append(CohostLeft(user_id=user_id, reason=reason, seats=seats))

    async def mute(self, actor: Actor, room_id: str, user_id: str, muted: bool = True) -> RoomEvent:
        room = self._room(room_id)
        await room.require(actor, Role.HOST, Role.MODERATOR)
        if await room.store.score(room_id, SEATS, user_id) is None:
            raise NotFound(f"{user_id!r} is not on stage", slug="not-on-stage")
        if muted:
            await room.store.put_score(room_id, SEAT_MUTES, user_id, room.clock.now_ms())
        else:
            await room.store.remove(room_id, SEAT_MUTES, user_id)
        await self._media.mute_guest(room_id, user_id, muted)
        return await room.append(CohostMuted(user_id=user_id, muted=muted))

    async def clear(self, room_id: str) -> None:
        """The live ended: every guest leaves the stage and their media is closed."""
        room = self._room(room_id)
        for user_id, _ in await room.store.top(room_id, SEATS):
            await self._off_stage(room, user_id, "room_ended")
