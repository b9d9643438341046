"""Users, their refresh tokens, and stored idempotent responses."""

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from store.schema import metadata
from store.types import UtcDateTime

users = Table(
    "users",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Opaque refresh tokens are stored as SHA-256 digests. Every rotation inserts a new row in the same family;
# presenting a row that was already used revokes the whole family (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("family_id", String(26), nullable=False, index=True),
    Column("user_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_reason", String(32), nullable=True),
)

# Stripe-style idempotency: one row per (scope, key), holding the fingerprint of the first request and,
# once it finished, its response.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("scope", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
    Index("ix_idempotency_keys_created_at", "created_at"),
)
