"""The coin ledger: double-entry transfers with idempotency keys, written by one group-committing writer.

Every movement of coins or diamonds is a :class:`TransferRequest`: one or more legs that succeed or fail
together, each leg debiting one account and crediting another by the same amount. A request carries an
idempotency key; the first request with a key takes effect, a retry with the same content gets the same
:class:`Posted` back (``replayed=True``), and the same key with other content is
:class:`IdempotencyKeyReused`.

Write path (group commit). Requests queue to one writer task that takes everything waiting (up to
``max_batch``) and applies it in a single write transaction: on SQLite ``BEGIN IMMEDIATE`` (the database
write lock, held from the first statement), on PostgreSQL with ``SELECT ... FOR UPDATE`` on the touched
accounts in id order (a fixed order, so two nodes cannot deadlock) and a retry on 40001/40P01. Inside the
transaction each request is checked in queue order against the running balances, so each gets its own
outcome (a user balance never goes below zero) while the batch pays for one commit. Nothing is acknowledged
before its commit, so a crash loses only unacknowledged requests, and those left no trace.

Balances are credit-normal: an account's balance is the sum of its credits minus the sum of its debits.
User accounts may not go below zero; system accounts (payment clearing, diamond issuance) may.
"""

from store.ledger.errors import (
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
    LedgerClosed,
    LedgerError,
    UnknownTransfer,
)
from store.ledger.values import (
    CREATED_AT,
    MAX_AMOUNT,
    TRANSFER_ID,
    Account,
    Currency,
    EntryView,
    Leg,
    Posted,
    Record,
    System,
    TransferRequest,
)
from store.ledger.writer import Ledger

__all__ = [
    "CREATED_AT",
    "MAX_AMOUNT",
    "TRANSFER_ID",
    "Account",
    "AlreadyReversed",
    "Currency",
    "EntryView",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InvalidTransfer",
    "Ledger",
    "LedgerClosed",
    "LedgerError",
    "Leg",
    "Posted",
    "Record",
    "System",
    "TransferRequest",
    "UnknownTransfer",
]
