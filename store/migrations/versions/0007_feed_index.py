"""The feed's followed phase reads its candidates from an index alone: creator, status, time, id.

Revision ID: 0007_feed_index
Revises: 0006_moderation
"""

from alembic import op

revision = "0007_feed_index"
down_revision = "0006_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contents_creator_status_created", "contents", ["creator_id", "status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_contents_creator_status_created", table_name="contents")
