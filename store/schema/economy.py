"""The coin economy's catalog and records: coin packages, gifts, gift sends, payments, payouts, levels.

Catalogs (packages, gifts, levels) are data seeded by ``mixillo seed-demo``, not constants. ``gift_sends``,
``payments`` and ``payouts`` describe what a ledger transfer was for; a gift send is written in the same
transaction as its transfer, so the two can never disagree.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from store.schema import metadata
from store.types import UtcDateTime

coin_packages = Table(
    "coin_packages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("coins", BigInteger, nullable=False),
    Column("bonus_coins", BigInteger, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("price_currency", String(3), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    CheckConstraint("coins > 0 AND bonus_coins >= 0 AND price_cents > 0", name="positive"),
)

gifts = Table(
    "gifts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("coin_price", BigInteger, nullable=False),
    Column("diamond_value", BigInteger, nullable=True),  # null: the configured creator share of the price
    Column("animation_url", String(512), nullable=False),
    Column("streakable", Boolean, nullable=False),
    Column("active_from", UtcDateTime, nullable=True),
    Column("active_until", UtcDateTime, nullable=True),
    Column("position", Integer, nullable=False),
    CheckConstraint("coin_price > 0", name="price_positive"),
)

gift_sends = Table(
    "gift_sends",
    metadata,
    Column("transfer_id", String(26), ForeignKey("ledger_transfers.id"), primary_key=True),
    Column("gift_id", String(32), ForeignKey("gifts.id"), nullable=False),
    Column("sender_id", String(26), ForeignKey("users.id"), nullable=False),
    Column("receiver_id", String(26), ForeignKey("users.id"), nullable=False),
    Column("livestream_id", String(64), nullable=True),
    Column("combo_id", String(64), nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("coins", BigInteger, nullable=False),
    Column("diamonds", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_gift_sends_receiver_id_created_at", "receiver_id", "created_at"),
    Index("ix_gift_sends_sender_id_created_at", "sender_id", "created_at"),
    Index("ix_gift_sends_created_at", "created_at"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=False, index=True),
    Column("provider", String(16), nullable=False),
    Column("provider_ref", String(255), nullable=True),
    Column("package_id", String(32), nullable=True),
    Column("coins", BigInteger, nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),  # pending, succeeded, failed
    Column("failure", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=False, index=True),
    Column("diamonds", BigInteger, nullable=False),
    Column("method", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending, paid, failed
    Column("transfer_id", String(26), ForeignKey("ledger_transfers.id"), nullable=False, unique=True),
    Column("settlement_id", String(26), ForeignKey("ledger_transfers.id"), nullable=True),
    Column("failure", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

levels = Table(
    "levels",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("name", String(64), nullable=False),
    Column("min_xp", BigInteger, nullable=False, unique=True),
    Column("badge", String(64), nullable=False),
    Column("badge_icon_url", String(512), nullable=False),
)
