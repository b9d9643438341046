"""Creator tools: scheduled posts and lives, analytics time buckets and the activity they are built from."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from store.schema import metadata
from store.types import UtcDateTime

# One row per scheduled post or live. ``run_at`` is when the scheduler acts (the due time of a post; the
# reminder time before a live); a worker claims a row by moving it from pending to running with a
# compare-and-set UPDATE, so each row runs once however many workers or restarts there are.
scheduled_items = Table(
    "scheduled_items",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("owner_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # post | live
    Column("status", String(12), nullable=False),  # pending | running | done | failed | cancelled
    Column("title", String(150), nullable=False),
    Column("payload", Text, nullable=False),  # JSON: caption, media, hashtags, ...
    Column("due_at", UtcDateTime, nullable=False),
    Column("run_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("result_ref", String(64), nullable=True),
    Column("error", String(300), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_scheduled_items_status_run_at", "status", "run_at"),
    Index("ix_scheduled_items_owner_id_due_at", "owner_id", "due_at"),
)

# Hourly counters per creator and per content item ('' = the creator's profile as a whole), kept up to date
# by an UPSERT for every recorded event so the analytics endpoints only sum a few rows.
analytics_buckets = Table(
    "analytics_buckets",
    metadata,
    Column("creator_id", String(26), nullable=False),
    Column("content_id", String(26), nullable=False),
    Column("metric", String(24), nullable=False),
    Column("bucket", UtcDateTime, nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("creator_id", "content_id", "metric", "bucket", name="pk_analytics_buckets"),
)

# The raw events, kept for item-to-item recommendations (who interacted with what).
activity_log = Table(
    "activity_log",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("actor_id", String(26), nullable=True),
    Column("creator_id", String(26), nullable=False),
    Column("item_id", String(26), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_activity_log_actor_id", "actor_id"),
    Index("ix_activity_log_item_id", "item_id"),
)
