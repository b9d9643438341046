"""Livestreams, PK battles, live shopping sessions.

Revision ID: 0003_rooms
Revises: 0002_ledger
"""

import sqlalchemy as sa
from alembic import op

from store.types import UtcDateTime

revision = "0003_rooms"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "livestreams",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("host_id", sa.String(26), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("cover_url", sa.String(512), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("gift_coins", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('created', 'live', 'ended')", name="ck_livestreams_status"),
        sa.ForeignKeyConstraint(["host_id"], ["users.id"], name="fk_livestreams_host_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_livestreams"),
    )
    op.create_index("ix_livestreams_status_id", "livestreams", ["status", "id"])
    op.create_index("ix_livestreams_host_id_id", "livestreams", ["host_id", "id"])
    op.create_table(
        "pk_battles",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("room_a", sa.String(64), nullable=False),
        sa.Column("host_a", sa.String(26), nullable=False),
        sa.Column("room_b", sa.String(64), nullable=False),
        sa.Column("host_b", sa.String(26), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=True),
        sa.Column("ends_at", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("announce_at", UtcDateTime(), nullable=True),
        sa.Column("score_a", sa.BigInteger(), nullable=False),
        sa.Column("score_b", sa.BigInteger(), nullable=False),
        sa.Column("winner", sa.String(4), nullable=True),
        sa.Column("mvp_a", sa.String(26), nullable=True),
        sa.Column("mvp_a_coins", sa.BigInteger(), nullable=True),
        sa.Column("mvp_b", sa.String(26), nullable=True),
        sa.Column("mvp_b_coins", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "state IN ('invited', 'rejected', 'expired', 'countdown', 'active', 'ended')", name="ck_pk_battles_state"
        ),
        sa.CheckConstraint("score_a >= 0 AND score_b >= 0", name="ck_pk_battles_scores_not_negative"),
        sa.CheckConstraint("duration_s > 0", name="ck_pk_battles_duration_positive"),
        sa.ForeignKeyConstraint(["host_a"], ["users.id"], name="fk_pk_battles_host_a_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["host_b"], ["users.id"], name="fk_pk_battles_host_b_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_pk_battles"),
    )
    op.create_index("ix_pk_battles_due_at", "pk_battles", ["due_at"])
    op.create_index("ix_pk_battles_announce_at", "pk_battles", ["announce_at"])
    op.create_index("ix_pk_battles_state_ended_at", "pk_battles", ["state", "ended_at"])
    op.create_table(
        "live_shopping_sessions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("host_id", sa.String(26), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("pin_views", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"], ["users.id"], name="fk_live_shopping_sessions_host_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_live_shopping_sessions"),
        sa.UniqueConstraint("room_id", name="uq_live_shopping_sessions_room_id"),
    )
    op.create_index("ix_live_shopping_sessions_host_id", "live_shopping_sessions", ["host_id"])


def downgrade() -> None:
    op.drop_table("live_shopping_sessions")
    op.drop_table("livestreams")
    op.drop_table("pk_battles")
