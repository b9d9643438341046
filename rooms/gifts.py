"""``GiftDesk``: a gift is charged through the ledger first, and announced only after the charge succeeded.

The order is the whole point (ARCHITECTURE.md, money rules): validate → :meth:`GiftCharger.charge` with the
client's idempotency key → claim the announcement of that transfer once → streak and supporter totals →
append ``gift.sent`` → PK score. A charge that raises is never announced (its error goes back to the client
unchanged: 402 for insufficient coins, and so on), and nothing is announced without a charge. A client that
retries with the same key gets the ledger's original transfer back (the ledger is idempotent), and this
desk announces a transfer at most once, so a retry never shows a gift twice.

Claims are kept for ``CLAIM_WINDOW_MS`` (scored by claim time, trimmed at most once a ``TRIM_EVERY_MS`` per
room), so the board holds a live's last two minutes of gifts, not all of them: at 2,000 gifts/s a whole
hour would be 7.2 million claims, about a gigabyte in the memory store. A retry of a transfer charged longer
ago than the window is answered with its charge and no event: it was announced back then (or lost in the
window below).

Known window: a process that dies between claiming a transfer's announcement and appending its event
leaves that charged gift unannounced (a retry is answered with the charge and no event). The claim and
the append are three store calls apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from rooms.actor import Actor, Role, require_id
from rooms.directory import RoomDirectory
from rooms.errors import Invalid
from rooms.events import GiftSent, RankedUser, RoomEvent
from rooms.store import SEATS, SUPPORTERS

log = logging.getLogger(__name__)

ANNOUNCED = "gift_transfers"  # board: transfer ids whose announcement was claimed (score: claim time, ms)
TRIMMED = "gift_claims_trimmed_at"  # room field: when ANNOUNCED was last trimmed (ms)
# A client retries a gift within seconds (a reconnect); two minutes is far beyond that, and keeps the board
# at 240,000 claims at 2,000 gifts/s (~32 MB in the memory store, whose trim scans them in ~5 ms a minute).
CLAIM_WINDOW_MS = 2 * 60 * 1000
TRIM_EVERY_MS = 60 * 1000
STREAKS = "gift_streaks"  # board: "<sender>:<combo id>" -> gifts in the streak


@dataclass(frozen=True, slots=True)
class GiftCharge:
    """The ledger's answer to a successful charge (a subset of its ``GiftReceipt``)."""

    transfer_id: str
    gift_id: str
    quantity: int
    coins: int
    diamonds: int
    balance: int
    charged_at_ms: int | None = None  # when the ledger made the transfer (a retry gets the original's time)


class GiftCharger(Protocol):
    """The ledger's ``gifts/send`` domain function. Idempotent on ``key``: the same key returns the same
    transfer. Raises (insufficient coins, unknown gift, ...) when nothing was charged."""

    async def charge(
        self, *, sender_id: str, receiver_id: str, gift_id: str, quantity: int, key: str, livestream_id: str,
        combo_id: str | None,
    ) -> GiftCharge: ...


class PkScorer(Protocol):
    """Counts a charged gift toward the room's PK battle, if one is active and the receiver fights in it."""

    async def score_gift(self, room_id: str, *, receiver_id: str, sender_id: str, coins: int,
                         transfer_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class GiftOutcome:
    charge: GiftCharge
    event: RoomEvent | None  # None when this transfer was announced by an earlier call (a retried key)


class GiftDesk:
    def __init__(self, directory: RoomDirectory, charger: GiftCharger, pk: PkScorer | None = None) -> None:
        self._directory = directory
        self._charger = charger
        self._pk = pk

    async def send(
        self, room_id: str, actor: Actor, *, receiver_id: str, gift_id: str, key: str, quantity: int = 1,
        combo_id: str | None = None,
    ) -> GiftOutcome:
        room = self._directory.room(room_id)
        require_id(receiver_id, "receiver_id")
        require_id(gift_id, "gift_id")
        standing = await room.require(actor, Role.HOST, Role.MODERATOR, Role.VIEWER,
                                      scores=[(SEATS, receiver_id)])
        (seated,) = standing.scores
        sender = actor.user_id
        assert sender is not None
        if not key or len(key) > 255:
            raise Invalid("a gift needs an idempotency key of 1 to 255 characters", slug="bad-idempotency-key")
        if not 1 <= quantity <= 999:
            raise Invalid("quantity is 1 to 999", slug="bad-quantity")
        if combo_id is not None and not 1 <= len(combo_id) <= 64:
            raise Invalid("a combo id has 1 to 64 characters", slug="bad-combo-id")
        if receiver_id == sender:
            raise Invalid("a gift cannot be sent to yourself", slug="gift-to-self")
        store = room.store
        if receiver_id != standing.host and seated is None:
            raise Invalid("gifts go to the host or a co-host on stage", slug="not-a-gift-receiver")

        charge = await self._charger.charge(
            sender_id=sender, receiver_id=receiver_id, gift_id=gift_id, quantity=quantity, key=key,
            livestream_id=room_id, combo_id=combo_id,
        )
        # The charge succeeded: from here on, the gift is announced (exactly once per transfer).
        now = room.clock.now_ms()
        if charge.charged_at_ms is not None and charge.charged_at_ms < now - CLAIM_WINDOW_MS:
            return GiftOutcome(charge, None)  # a late retry: its claim may be trimmed, it was announced then
        if not await store.claim(room_id, ANNOUNCED, charge.transfer_id, now):
            return GiftOutcome(charge, None)
        trimmed = standing.fields.get(TRIMMED)
        if now - int(trimmed or 0) >= TRIM_EVERY_MS and await store.put(room_id, TRIMMED, str(now), expect=trimmed):
            await store.trim(room_id, ANNOUNCED, now - CLAIM_WINDOW_MS)  # one node wins each minute's trim
        streak = (await store.add(room_id, STREAKS, f"{sender}:{combo_id}", charge.quantity)
                  if combo_id is not None else charge.quantity)
        total = await store.support(room_id, sender, charge.coins)
        event = await room.append(GiftSent(
            transfer_id=charge.transfer_id, gift_id=charge.gift_id, sender_id=sender, receiver_id=receiver_id,
            quantity=charge.quantity, coins=charge.coins, combo_id=combo_id, combo_count=streak,
            supporter_total=total,
        ))
        if self._pk is not None:
            try:
                await self._pk.score_gift(room_id, receiver_id=receiver_id, sender_id=sender, coins=charge.coins,
                                          transfer_id=charge.transfer_id)
            except Exception:  # the gift is charged and shown; a PK scoring failure must not hide it
                log.exception("PK scoring of transfer %s in room %s", charge.transfer_id, room_id)
        return GiftOutcome(charge, event)

    async def top_supporters(self, room_id: str, count: int = 10) -> list[RankedUser]:
        await self._directory.room(room_id).standing(None)
        top = await self._directory.store.top(room_id, SUPPORTERS, count)
        return [RankedUser(user_id=user, score=coins) for user, coins in top]
