"""Safety: user reports, moderation cases and their audited actions, support tickets, AI captions."""

from sqlalchemy import (
    Boolean,
    Column,
    Float,
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

# One case per reported or flagged thing; reports and AI flags accumulate on it. A case enters the admin
# queue when its report count reaches the threshold or AI moderation flags it.
moderation_cases = Table(
    "moderation_cases",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(26), nullable=False),
    Column("owner_id", String(26), nullable=True),
    Column("status", String(12), nullable=False),  # open | actioned | dismissed
    Column("queued", Boolean, nullable=False),
    Column("queued_reason", String(24), nullable=True),  # report-threshold | ai-flag | severe-reason
    Column("report_count", Integer, nullable=False),
    Column("ai_score", Float, nullable=True),
    Column("ai_labels", String(200), nullable=True),
    Column("resolution", String(12), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("target_kind", "target_id", name="uq_moderation_cases_target_kind"),
    Index("ix_moderation_cases_queued_status", "queued", "status"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("reporter_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("case_id", String(26), ForeignKey("moderation_cases.id", ondelete="CASCADE"), nullable=False),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(26), nullable=False),
    Column("reason", String(24), nullable=False),
    Column("details", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("reporter_id", "target_kind", "target_id", name="uq_reports_reporter_id"),
    Index("ix_reports_case_id", "case_id"),
)

# Append-only audit trail of what moderators did.
moderation_actions = Table(
    "moderation_actions",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("case_id", String(26), ForeignKey("moderation_cases.id", ondelete="SET NULL"), nullable=True),
    Column("admin_id", String(26), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(26), nullable=False),
    Column("action", String(12), nullable=False),
    Column("reason", String(300), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_moderation_actions_target_kind_target_id", "target_kind", "target_id"),
)

support_tickets = Table(
    "support_tickets",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("subject", String(150), nullable=False),
    Column("category", String(16), nullable=False),
    Column("priority", String(8), nullable=False),
    Column("status", String(10), nullable=False),  # open | pending | resolved | closed
    Column("unread_for_user", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Index("ix_support_tickets_user_id_id", "user_id", "id"),
    Index("ix_support_tickets_status", "status"),
)

support_messages = Table(
    "support_messages",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("ticket_id", String(26), ForeignKey("support_tickets.id", ondelete="CASCADE"), nullable=False),
    Column("author_id", String(26), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("author_role", String(8), nullable=False),  # user | agent
    Column("body", Text, nullable=False),
    Column("attachments", Text, nullable=False),  # JSON list of URLs
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_support_messages_ticket_id", "ticket_id"),
)

ai_captions = Table(
    "ai_captions",
    metadata,
    Column("content_id", String(26), primary_key=True),
    Column("owner_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("caption", Text, nullable=False),
    Column("hashtags", String(400), nullable=False),
    Column("facts", Text, nullable=False),  # JSON: what the analysis measured
    Column("provider", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
