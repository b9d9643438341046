"""Request and response bodies of the economy endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from api.models import Id, Line, QueryModel, RequestModel, ResponseModel

Token = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_\-]+$")]
CatalogId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")]
RoomId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")]
Period = Literal["day", "week", "month", "all"]

# Requests -----------------------------------------------------------------------------------------------


class TopUpRequest(RequestModel):
    coins: int = Field(ge=1, le=1_000_000, description="Coins to buy at the top-up price.")
    payment_token: Token = Field(description="A card token (sandbox: Stripe test tokens such as tok_visa).")


class PurchaseRequest(RequestModel):
    package_id: CatalogId
    payment_token: Token


class CoinTransferRequest(RequestModel):
    to_user_id: Id
    amount: int = Field(ge=1, le=1_000_000_000, description="Coins to send.")
    note: Annotated[Line, Field(max_length=140)] | None = None


class WithdrawRequest(RequestModel):
    diamonds: int = Field(ge=1, le=1_000_000_000_000)
    method: Annotated[Line, Field(min_length=1, max_length=64)] = "bank_transfer"


class PayoutDecision(RequestModel):
    status: Literal["paid", "failed"]
    reason: Annotated[Line, Field(max_length=500)] | None = None


class GiftSendRequest(RequestModel):
    gift_id: CatalogId
    receiver_id: Id
    quantity: int = Field(1, ge=1, le=999)
    livestream_id: RoomId | None = None
    combo_id: RoomId | None = Field(None, description="Groups repeated sends of a streakable gift.")


class PeriodQuery(QueryModel):
    period: Period = "week"


class StatsQuery(QueryModel):
    period: Period = "week"
    bucket: Literal["hour", "day", "week"] = "day"


class RankingQuery(QueryModel):
    period: Literal["day", "week", "all"] = "week"
    limit: int = Field(20, ge=1, le=100)


class TransactionsQuery(QueryModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=512)
    currency: Literal["coins", "diamonds"] | None = None


class PayoutsQuery(QueryModel):
    status: Literal["pending", "paid", "failed"] | None = None
    limit: int = Field(50, ge=1, le=200)


# Responses ----------------------------------------------------------------------------------------------


class Wallet(ResponseModel):
    user_id: str
    coins: int
    diamonds: int


class Transaction(ResponseModel):
    id: int
    transfer_id: str
    kind: str
    currency: str
    amount: int = Field(description="Positive: into this wallet; negative: out of it.")
    balance_after: int
    counterparty: str = Field(description="A user id, or system:<account> for the platform.")
    memo: dict[str, Any]
    reverses_id: str | None
    created_at: datetime


class PurchaseReceipt(ResponseModel):
    payment_id: str
    provider: str
    reference: str
    status: str
    coins: int
    amount_cents: int
    currency: str
    transfer_id: str | None
    balance: int


class TransferReceipt(ResponseModel):
    transfer_id: str
    from_user_id: str
    to_user_id: str
    amount: int
    balance: int
    created_at: datetime


class Payout(ResponseModel):
    id: str
    user_id: str
    diamonds: int
    method: str
    status: str
    failure: str | None
    created_at: datetime
    updated_at: datetime


class CoinPackage(ResponseModel):
    id: str
    name: str
    coins: int
    bonus_coins: int
    total_coins: int
    price_cents: int
    price_currency: str


class Gift(ResponseModel):
    id: str
    name: str
    category: str
    coin_price: int
    diamond_value: int
    animation_url: str
    streakable: bool
    active_from: datetime | None
    active_until: datetime | None


class GiftReceipt(ResponseModel):
    transfer_id: str
    gift_id: str
    sender_id: str
    receiver_id: str
    quantity: int
    coins: int
    diamonds: int
    balance: int = Field(description="The sender's coins after the gift.")
    livestream_id: str | None
    combo_id: str | None
    combo_count: int | None
    created_at: datetime


class PopularGift(ResponseModel):
    gift: Gift
    coins_spent: int
    sends: int


class Earnings(ResponseModel):
    period: str
    since: datetime | None
    diamonds_balance: int
    earned: int
    by_source: dict[str, int]
    pending_payouts: int
    paid_out: int


class StatsBucket(ResponseModel):
    start: datetime
    diamonds: int
    gifts: int
    supporters: int


class Stats(ResponseModel):
    period: str
    bucket: str
    since: datetime | None
    total_diamonds: int
    total_gifts: int
    buckets: list[StatsBucket]


class Supporter(ResponseModel):
    rank: int
    user_id: str
    username: str
    display_name: str
    coins: int
    gifts: int


class Level(ResponseModel):
    level: int
    name: str
    min_xp: int
    badge: str
    badge_icon_url: str


class XpBreakdown(ResponseModel):
    coins_spent: int
    coins_received: int
    activity: int


class MyLevel(ResponseModel):
    user_id: str
    xp: int
    level: Level | None
    next_level: Level | None
    xp_to_next: int | None
    progress: float = Field(description="0..1 from the current level to the next.")
    breakdown: XpBreakdown
    badges: list[Level]
