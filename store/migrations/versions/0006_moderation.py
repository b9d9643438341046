"""Moderation of social things: comments and direct messages can be hidden by moderation and restored.

Revision ID: 0006_moderation
Revises: 0005_social
"""

import sqlalchemy as sa
from alembic import op

from store.types import UtcDateTime

revision = "0006_moderation"
down_revision = "0005_social"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("removed_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("removed_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("removed_at")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("removed_at")
