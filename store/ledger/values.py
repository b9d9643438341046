"""The ledger's values: currencies, accounts, legs, transfer requests and their results."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from store.ledger.errors import InvalidTransfer

MAX_AMOUNT = 10**15  # far above any real purchase; keeps sums of many entries inside 64 bits


class Currency(StrEnum):
    COINS = "coins"
    DIAMONDS = "diamonds"


class System(StrEnum):
    """The platform's own accounts."""

    CLEARING = "clearing"  # coins: issued against card payments; its (negative) balance is coins sold
    REVENUE = "revenue"  # coins: spent on gifts, now the platform's
    EARNINGS = "earnings"  # diamonds: issued to creators for gifts they received (negative)
    PAYOUTS = "payouts"  # diamonds: withdrawn by creators, payout pending
    SETTLED = "settled"  # diamonds: paid out


@dataclass(frozen=True, slots=True)
class Account:
    owner: str  # a user id, or "system:<name>"
    currency: Currency
    id: str = field(init=False, compare=False, repr=False)  # "<owner>:<currency>", the row's primary key

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.owner}:{self.currency.value}")

    @classmethod
    def user(cls, user_id: str, currency: Currency) -> Account:
        return cls(user_id, currency)

    @classmethod
    def system(cls, name: System, currency: Currency) -> Account:
        return cls(f"system:{name.value}", currency)

    @classmethod
    def parse(cls, account_id: str) -> Account:
        owner, _, currency = account_id.rpartition(":")
        return cls(owner, Currency(currency))

    @property
    def is_system(self) -> bool:
        return self.owner.startswith("system:")

    @property
    def user_id(self) -> str | None:
        return None if self.is_system else self.owner


@dataclass(frozen=True, slots=True)
class Leg:
    debit: Account
    credit: Account
    amount: int


@dataclass(frozen=True, slots=True)
class Record:
    """A row of another table written in the same transaction as the transfer (only when it takes effect).

    ``values`` may use the placeholders in :data:`TRANSFER_ID` and :data:`CREATED_AT`.
    """

    table: sa.Table
    values: Mapping[str, Any]


TRANSFER_ID = "$transfer_id"
CREATED_AT = "$created_at"


@dataclass(frozen=True, slots=True)
class TransferRequest:
    key: str
    kind: str
    legs: tuple[Leg, ...]
    memo: Mapping[str, Any] = field(default_factory=dict)
    reverses: str | None = None
    records: tuple[Record, ...] = ()

    def fingerprint(self) -> str:
        document = {
            "kind": self.kind,
            "legs": [[leg.debit.id, leg.credit.id, leg.amount] for leg in self.legs],
            "memo": dict(self.memo),
            "reverses": self.reverses,
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def validate(self) -> None:
        if not 1 <= len(self.key) <= 255:
            raise InvalidTransfer("an idempotency key is 1-255 characters")
        if not self.legs:
            raise InvalidTransfer("a transfer has at least one leg")
        for leg in self.legs:
            if type(leg.amount) is not int or not 0 < leg.amount <= MAX_AMOUNT:
                raise InvalidTransfer(f"a leg amount is a whole number from 1 to {MAX_AMOUNT}")
            if leg.debit.currency is not leg.credit.currency:
                raise InvalidTransfer("both sides of a leg hold the same currency")
            if leg.debit == leg.credit:
                raise InvalidTransfer("a leg moves value between two different accounts")


@dataclass(frozen=True, slots=True)
class Posted:
    """A transfer in the ledger: the one just made, or (``replayed``) the one an earlier request made."""

    transfer_id: str
    key: str
    kind: str
    created_at: datetime
    legs: tuple[Leg, ...]
    balances: Mapping[str, int]  # account id -> balance right after this transfer
    replayed: bool = False

    def balance(self, account: Account) -> int:
        return self.balances[account.id]


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    transfer_id: str
    kind: str
    account_id: str
    counter_account_id: str
    currency: Currency
    side: str
    amount: int
    balance_after: int
    memo: Mapping[str, Any]
    created_at: datetime
    reverses_id: str | None

    @property
    def signed_amount(self) -> int:
        return self.amount if self.side == "C" else -self.amount
