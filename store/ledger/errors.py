"""The ledger's refusals: each means the ledger is unchanged."""

from __future__ import annotations

from store.errors import StoreError


class LedgerError(StoreError):
    """A transfer was refused; the ledger is unchanged."""


class InvalidTransfer(LedgerError):
    pass


class InsufficientFunds(LedgerError):
    def __init__(self, account_id: str, balance: int, needed: int) -> None:
        super().__init__(f"account {account_id} holds {balance}, the transfer needs {needed}")
        self.account_id, self.balance, self.needed = account_id, balance, needed


class IdempotencyKeyReused(LedgerError):
    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different transfer")
        self.key = key


class AlreadyReversed(LedgerError):
    pass


class UnknownTransfer(LedgerError):
    pass


class LedgerClosed(LedgerError):
    pass
