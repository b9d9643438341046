"""Coin ledger (accounts, transfers, entries) and the economy's catalogs and records.

Revision ID: 0002_ledger
Revises: 0001_accounts
"""

import sqlalchemy as sa
from alembic import op

from store.types import UtcDateTime

revision = "0002_ledger"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None

EntryId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(26), nullable=True),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind <> 'user' OR balance >= 0", name="ck_ledger_accounts_user_balance_not_negative"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_ledger_accounts_user_id_users", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
    )
    op.create_index("ix_ledger_accounts_user_id", "ledger_accounts", ["user_id"])
    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("reverses_id", sa.String(26), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["ledger_transfers.id"], name="fk_ledger_transfers_reverses_id_ledger_transfers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_transfers"),
        sa.UniqueConstraint("idempotency_key", name="uq_ledger_transfers_idempotency_key"),
        sa.UniqueConstraint("reverses_id", name="uq_ledger_transfers_reverses_id"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", EntryId, autoincrement=True, nullable=False),
        sa.Column("transfer_id", sa.String(26), nullable=False),
        sa.Column("leg", sa.SmallInteger(), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("counter_account_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_ledger_entries_amount_positive"),
        sa.CheckConstraint("side IN ('D', 'C')", name="ck_ledger_entries_side_debit_or_credit"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name="fk_ledger_entries_account_id_ledger_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfers.id"], name="fk_ledger_entries_transfer_id_ledger_transfers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
    )
    op.create_index("ix_ledger_entries_transfer_id", "ledger_entries", ["transfer_id"])
    op.create_index("ix_ledger_entries_account_id_id", "ledger_entries", ["account_id", "id"])

    op.create_table(
        "coin_packages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("bonus_coins", sa.BigInteger(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "coins > 0 AND bonus_coins >= 0 AND price_cents > 0", name="ck_coin_packages_positive"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_coin_packages"),
    )
    op.create_table(
        "gifts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("coin_price", sa.BigInteger(), nullable=False),
        sa.Column("diamond_value", sa.BigInteger(), nullable=True),
        sa.Column("animation_url", sa.String(512), nullable=False),
        sa.Column("streakable", sa.Boolean(), nullable=False),
        sa.Column("active_from", UtcDateTime(), nullable=True),
        sa.Column("active_until", UtcDateTime(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("coin_price > 0", name="ck_gifts_price_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_gifts"),
    )
    op.create_table(
        "gift_sends",
        sa.Column("transfer_id", sa.String(26), nullable=False),
        sa.Column("gift_id", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(26), nullable=False),
        sa.Column("receiver_id", sa.String(26), nullable=False),
        sa.Column("livestream_id", sa.String(64), nullable=True),
        sa.Column("combo_id", sa.String(64), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["gift_id"], ["gifts.id"], name="fk_gift_sends_gift_id_gifts"),
        sa.ForeignKeyConstraint(["receiver_id"], ["users.id"], name="fk_gift_sends_receiver_id_users"),
        sa.ForeignKeyConstraint(["sender_id"], ["users.id"], name="fk_gift_sends_sender_id_users"),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfers.id"], name="fk_gift_sends_transfer_id_ledger_transfers"
        ),
        sa.PrimaryKeyConstraint("transfer_id", name="pk_gift_sends"),
    )
    op.create_index("ix_gift_sends_receiver_id_created_at", "gift_sends", ["receiver_id", "created_at"])
    op.create_index("ix_gift_sends_sender_id_created_at", "gift_sends", ["sender_id", "created_at"])
    op.create_index("ix_gift_sends_created_at", "gift_sends", ["created_at"])
    op.create_table(
        "payments",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("user_id", sa.String(26), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("provider_ref", sa.String(255), nullable=True),
        sa.Column("package_id", sa.String(32), nullable=True),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_payments_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
    )
    op.create_index("ix_payments_user_id", "payments", ["user_id"])
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("user_id", sa.String(26), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("transfer_id", sa.String(26), nullable=False),
        sa.Column("settlement_id", sa.String(26), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["ledger_transfers.id"], name="fk_payouts_settlement_id_ledger_transfers"
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfers.id"], name="fk_payouts_transfer_id_ledger_transfers"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_payouts_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_payouts"),
        sa.UniqueConstraint("transfer_id", name="uq_payouts_transfer_id"),
    )
    op.create_index("ix_payouts_user_id", "payouts", ["user_id"])
    op.create_table(
        "levels",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("min_xp", sa.BigInteger(), nullable=False),
        sa.Column("badge", sa.String(64), nullable=False),
        sa.Column("badge_icon_url", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("level", name="pk_levels"),
        sa.UniqueConstraint("min_xp", name="uq_levels_min_xp"),
    )


def downgrade() -> None:
    for table in (
        "levels",
        "payouts",
        "payments",
        "gift_sends",
        "gifts",
        "coin_packages",
        "ledger_entries",
        "ledger_transfers",
        "ledger_accounts",
    ):
        op.drop_table(table)
