"""Live rooms: livestreams, PK battles (server-authoritative timers and results), live shopping sessions.

The rest of a room's state is short-lived and lives in the RoomStore (memory or Redis); what must survive a
restart or be agreed by several nodes is here. A battle's timed transitions are claimed with compare-and-set
UPDATEs (``WHERE state = 'active' AND ends_at <= now``), so exactly one node performs each.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table

from store.schema import metadata
from store.types import UtcDateTime

PK_STATES = ("invited", "rejected", "expired", "countdown", "active", "ended")

pk_battles = Table(
    "pk_battles",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("room_a", String(64), nullable=False),  # the inviter's live
    Column("host_a", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("room_b", String(64), nullable=False),  # the invitee's live
    Column("host_b", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),  # the invitation's end
    Column("starts_at", UtcDateTime, nullable=True),  # end of the countdown
    Column("ends_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),  # when a final state was reached
    # The next timed transition (expiry, start, end); NULL in a final state. What the referee scans.
    Column("due_at", UtcDateTime, nullable=True),
    # Set when a state is entered, cleared once its events were appended to both rooms (an outbox).
    Column("announce_at", UtcDateTime, nullable=True),
    Column("score_a", BigInteger, nullable=False),
    Column("score_b", BigInteger, nullable=False),
    Column("winner", String(4), nullable=True),  # a | b | draw
    # Checkpoints of the live scoreboard (kept in the RoomStore while the battle runs), final once ended.
    Column("mvp_a", String(26), nullable=True),
    Column("mvp_a_coins", BigInteger, nullable=True),
    Column("mvp_b", String(26), nullable=True),
    Column("mvp_b_coins", BigInteger, nullable=True),
    CheckConstraint("state IN ('invited', 'rejected', 'expired', 'countdown', 'active', 'ended')", name="state"),
    CheckConstraint("score_a >= 0 AND score_b >= 0", name="scores_not_negative"),
    CheckConstraint("duration_s > 0", name="duration_positive"),
    Index("ix_pk_battles_due_at", "due_at"),
    Index("ix_pk_battles_announce_at", "announce_at"),
    Index("ix_pk_battles_state_ended_at", "state", "ended_at"),
)

# A live shopping session: one per live. Its analytics are counted in the room store while the live runs
# (views and clicks are too many for a row per event) and written here when the session closes.
live_shopping_sessions = Table(
    "live_shopping_sessions",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("room_id", String(64), nullable=False, unique=True),
    Column("host_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("pin_views", BigInteger, nullable=False),
    Column("clicks", BigInteger, nullable=False),
    Column("orders", BigInteger, nullable=False),
    Column("revenue", BigInteger, nullable=False),  # minor units of ``currency``
    Column("currency", String(3), nullable=True),  # of the first order
    Index("ix_live_shopping_sessions_host_id", "host_id"),
)

# A live: created, then live (its room open), then ended. Final counts are written when it ends.
livestreams = Table(
    "livestreams",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("host_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(120), nullable=False),
    Column("cover_url", String(512), nullable=True),
    Column("category", String(32), nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("likes", BigInteger, nullable=False),
    Column("gift_coins", BigInteger, nullable=False),
    CheckConstraint("status IN ('created', 'live', 'ended')", name="status"),
    Index("ix_livestreams_status_id", "status", "id"),
    Index("ix_livestreams_host_id_id", "host_id", "id"),
)
