"""The double-entry coin ledger: accounts, transfers (the unit of atomicity and idempotency), entries.

A transfer holds one or more legs; each leg moves an amount of one currency from a debit account to a credit
account and is written as two entries (one debit, one credit) with the account's balance after it. Rows are
only ever inserted; a correction is a new transfer that reverses an old one (``reverses_id``, unique, so a
transfer is reversed at most once). ``ledger_accounts.balance`` is a cache of the entries, updated in the
same transaction; ``mixillo ledger-check`` proves it equal to them.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from store.schema import metadata
from store.types import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY (its rowid), not a BIGINT one.
EntryId = BigInteger().with_variant(Integer(), "sqlite")

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", String(64), primary_key=True),  # "<owner>:<currency>", see store.ledger.account_id
    Column("owner", String(40), nullable=False),  # a user id, or "system:<name>"
    Column("user_id", String(26), ForeignKey("users.id", ondelete="RESTRICT"), nullable=True, index=True),
    Column("currency", String(16), nullable=False),
    Column("kind", String(8), nullable=False),  # user (never below zero) or system
    Column("balance", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("kind <> 'user' OR balance >= 0", name="user_balance_not_negative"),
)

ledger_transfers = Table(
    "ledger_transfers",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("reverses_id", String(26), ForeignKey("ledger_transfers.id"), nullable=True, unique=True),
    Column("memo", Text, nullable=False),  # JSON object: what the transfer was for (gift id, stream, ...)
    Column("created_at", UtcDateTime, nullable=False),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", EntryId, primary_key=True, autoincrement=True),
    Column("transfer_id", String(26), ForeignKey("ledger_transfers.id"), nullable=False, index=True),
    Column("leg", SmallInteger, nullable=False),
    Column("account_id", String(64), ForeignKey("ledger_accounts.id"), nullable=False),
    Column("counter_account_id", String(64), nullable=False),
    Column("currency", String(16), nullable=False),
    Column("side", String(1), nullable=False),  # D or C
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("side IN ('D', 'C')", name="side_debit_or_credit"),
    Index("ix_ledger_entries_account_id_id", "account_id", "id"),
)
