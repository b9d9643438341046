"""``LedgerGiftCharger``: the room domain's :class:`~rooms.gifts.GiftCharger` over the coin economy's
``gifts/send`` path (one ledger transfer, idempotent on the client's key)."""

from __future__ import annotations

from dataclasses import dataclass

from api.economy.economy import Economy
from api.economy.keys import ledger_key
from api.economy.models import GiftReceipt
from rooms.gifts import GiftCharge


@dataclass(frozen=True, slots=True)
class LedgerCharge(GiftCharge):
    """A charge with the ledger's whole receipt, for ``POST /api/gifts/send`` (which answers with it)."""

    receipt: GiftReceipt | None = None


class LedgerGiftCharger:
    def __init__(self, economy: Economy) -> None:
        self._gifting = economy.gifting

    async def charge(
        self, *, sender_id: str, receiver_id: str, gift_id: str, quantity: int, key: str, livestream_id: str,
        combo_id: str | None,
    ) -> GiftCharge:
        r = await self._gifting.send(
            sender_id, receiver_id, gift_id, quantity=quantity, key=ledger_key("gift", sender_id, key),
            livestream_id=livestream_id, combo_id=combo_id,
        )
        return LedgerCharge(r.transfer_id, r.gift_id, r.quantity, r.coins, r.diamonds, r.balance,
                            charged_at_ms=int(r.created_at.timestamp() * 1000), receipt=r)
