"""``POST /api/gifts/send`` with a ``livestream_id``: the coin economy's endpoint hands the gift to the
room's :class:`~rooms.gifts.GiftDesk`, so a gift in a live is always charged and then announced (and a
retried key is charged and announced once), whichever endpoint the client used."""

from __future__ import annotations

from aiohttp import web

from api import idempotency
from api.economy.models import GiftReceipt, GiftSendRequest
from api.live.charger import LedgerCharge
from api.live.problems import problem
from api.state import ROOMS
from rooms.actor import Actor
from rooms.errors import RoomError
from store.ids import new_id


async def send_in_live(request: web.Request, sender_id: str, body: GiftSendRequest) -> GiftReceipt:
    # Without a client key every request is a new gift, as on the plain path (``ledger_key`` with no key).
    key = request.headers.get(idempotency.HEADER) or f"unkeyed:{new_id()}"
    assert body.livestream_id is not None
    try:
        outcome = await request.app[ROOMS].gifts.send(
            body.livestream_id, Actor(sender_id, "rest"), receiver_id=body.receiver_id, gift_id=body.gift_id,
            key=key, quantity=body.quantity, combo_id=body.combo_id)
    except RoomError as exc:
        raise problem(exc) from None
    charge = outcome.charge
    if not isinstance(charge, LedgerCharge) or charge.receipt is None:
        raise TypeError("the room service's charger is not the ledger")
    return charge.receipt
