"""Social domains: profiles, follows, blocks, settings, sounds, content, stories, messaging, notifications,
activity; and the full-text search indexes (SQLite FTS5 tables kept by triggers, PostgreSQL GIN tsvector
expression indexes).

Revision ID: 0005_social
Revises: 0004_commerce
"""

import sqlalchemy as sa
from alembic import op

from store.types import UtcDateTime

revision = "0005_social"
down_revision = "0004_commerce"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("blocker_id", sa.String(length=26), nullable=False),
        sa.Column("blocked_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["blocked_id"], ["users.id"], name="fk_blocks_blocked_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["blocker_id"], ["users.id"], name="fk_blocks_blocker_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name="pk_blocks"),
    )
    op.create_index("ix_blocks_blocked", "blocks", ["blocked_id"], unique=False)
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_a", sa.String(length=26), nullable=False),
        sa.Column("user_b", sa.String(length=26), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_message_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_a"], ["users.id"], name="fk_conversations_user_a_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_b"], ["users.id"], name="fk_conversations_user_b_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        sa.UniqueConstraint("user_a", "user_b", name="uq_conversations_user_a"),
    )
    op.create_index("ix_conversations_user_b", "conversations", ["user_b"], unique=False)
    op.create_table(
        "follows",
        sa.Column("follower_id", sa.String(length=26), nullable=False),
        sa.Column("followee_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["followee_id"], ["users.id"], name="fk_follows_followee_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["follower_id"], ["users.id"], name="fk_follows_follower_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("follower_id", "followee_id", name="pk_follows"),
    )
    op.create_index("ix_follows_followee_created", "follows", ["followee_id", "created_at"], unique=False)
    op.create_index("ix_follows_follower_created", "follows", ["follower_id", "created_at"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=True),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("data", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_notifications_actor_id_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_notifications_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index("ix_notifications_user_id", "notifications", ["user_id", "id"], unique=False)
    op.create_index("ix_notifications_user_read", "notifications", ["user_id", "read_at"], unique=False)
    op.create_table(
        "profiles",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("bio", sa.String(length=300), server_default="", nullable=False),
        sa.Column("avatar_url", sa.String(length=512), nullable=True),
        sa.Column("website", sa.String(length=512), nullable=True),
        sa.Column("is_private", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("follower_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("following_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("content_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("like_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_profiles_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_profiles"),
    )
    op.create_table(
        "push_devices",
        sa.Column("token", sa.String(length=512), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_push_devices_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token", name="pk_push_devices"),
    )
    op.create_index("ix_push_devices_user_id", "push_devices", ["user_id"], unique=False)
    op.create_table(
        "sounds",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("creator_id", sa.String(length=26), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("artist", sa.String(length=120), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("file_key", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("use_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("favorite_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["users.id"], name="fk_sounds_creator_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sounds"),
    )
    op.create_index("ix_sounds_creator_id", "sounds", ["creator_id"], unique=False)
    op.create_index("ix_sounds_use_count", "sounds", ["use_count", "id"], unique=False)
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_settings_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_settings"),
    )
    op.create_table(
        "contents",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("creator_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("caption", sa.Text(), server_default="", nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("sound_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("media_prefix", sa.String(length=128), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=True),
        sa.Column("playlist_key", sa.String(length=255), nullable=True),
        sa.Column("poster_key", sa.String(length=255), nullable=True),
        sa.Column("image_key", sa.String(length=255), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("like_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("trend", sa.Float(), server_default="0", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["users.id"], name="fk_contents_creator_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sound_id"], ["sounds.id"], name="fk_contents_sound_id_sounds", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_contents"),
    )
    op.create_index("ix_contents_creator_created", "contents", ["creator_id", "created_at", "id"], unique=False)
    op.create_index("ix_contents_trend", "contents", ["trend", "id"], unique=False)
    op.create_table(
        "conversation_members",
        sa.Column("conversation_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("last_read_id", sa.String(length=26), nullable=True),
        sa.Column("unread_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_message_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_members_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_conversation_members_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name="pk_conversation_members"),
    )
    op.create_index(
        "ix_conversation_members_user_last",
        "conversation_members",
        ["user_id", "last_message_at", "conversation_id"],
        unique=False,
    )
    op.create_table(
        "sound_favorites",
        sa.Column("sound_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sound_id"], ["sounds.id"], name="fk_sound_favorites_sound_id_sounds", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sound_favorites_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sound_id", "user_id", name="pk_sound_favorites"),
    )
    op.create_index("ix_sound_favorites_user_created", "sound_favorites", ["user_id", "created_at"], unique=False)
    op.create_table(
        "activities",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("verb", sa.String(length=24), nullable=False),
        sa.Column("content_id", sa.String(length=26), nullable=True),
        sa.Column("creator_id", sa.String(length=26), nullable=True),
        sa.Column("sound_id", sa.String(length=26), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["contents.id"], name="fk_activities_content_id_contents", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name="fk_activities_creator_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["sound_id"], ["sounds.id"], name="fk_activities_sound_id_sounds", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_activities_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_activities"),
    )
    op.create_index("ix_activities_created_at", "activities", ["created_at"], unique=False)
    op.create_index("ix_activities_user_id", "activities", ["user_id", "id"], unique=False)
    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("content_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["contents.id"], name="fk_comments_content_id_contents", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_comments_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
    )
    op.create_index("ix_comments_content_id", "comments", ["content_id", "id"], unique=False)
    op.create_table(
        "content_hashtags",
        sa.Column("content_id", sa.String(length=26), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name="fk_content_hashtags_content_id_contents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("content_id", "tag", name="pk_content_hashtags"),
    )
    op.create_index("ix_content_hashtags_tag", "content_hashtags", ["tag"], unique=False)
    op.create_table(
        "content_likes",
        sa.Column("content_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["contents.id"], name="fk_content_likes_content_id_contents", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_content_likes_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("content_id", "user_id", name="pk_content_likes"),
    )
    op.create_index("ix_content_likes_user", "content_likes", ["user_id"], unique=False)
    op.create_table(
        "content_mentions",
        sa.Column("content_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name="fk_content_mentions_content_id_contents",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_content_mentions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("content_id", "user_id", name="pk_content_mentions"),
    )
    op.create_table(
        "content_views",
        sa.Column("content_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["contents.id"], name="fk_content_views_content_id_contents", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_content_views_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("content_id", "user_id", "hour", name="pk_content_views"),
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("content_id", sa.String(length=26), nullable=True),
        sa.Column("background", sa.String(length=16), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["contents.id"], name="fk_stories_content_id_contents", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_stories_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    op.create_index("ix_stories_expires", "stories", ["expires_at"], unique=False)
    op.create_index("ix_stories_user_expires", "stories", ["user_id", "expires_at"], unique=False)
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("conversation_id", sa.String(length=26), nullable=False),
        sa.Column("sender_id", sa.String(length=26), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("content_id", sa.String(length=26), nullable=True),
        sa.Column("story_id", sa.String(length=26), nullable=True),
        sa.Column("media_url", sa.String(length=512), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["content_id"], ["contents.id"], name="fk_messages_content_id_contents", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_messages_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["sender_id"], ["users.id"], name="fk_messages_sender_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], name="fk_messages_story_id_stories", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id", "id"], unique=False)
    op.create_table(
        "story_mentions",
        sa.Column("story_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_mentions_story_id_stories", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_story_mentions_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id", "user_id", name="pk_story_mentions"),
    )
    op.create_table(
        "story_reactions",
        sa.Column("story_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("emoji", sa.String(length=8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_reactions_story_id_stories", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_story_reactions_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id", "user_id", name="pk_story_reactions"),
    )
    op.create_table(
        "story_views",
        sa.Column("story_id", sa.String(length=26), nullable=False),
        sa.Column("viewer_id", sa.String(length=26), nullable=False),
        sa.Column("viewed_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_views_story_id_stories", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["viewer_id"], ["users.id"], name="fk_story_views_viewer_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id", "viewer_id", name="pk_story_views"),
    )

    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)
    else:
        for statement in POSTGRES_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_users", "search_contents", "search_sounds", "search_products"):
            op.execute(f"DROP TABLE IF EXISTS {name}")
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        for index in ("ix_users_search", "ix_contents_search", "ix_sounds_search", "ix_products_search"):
            op.execute(f"DROP INDEX IF EXISTS {index}")
    op.drop_table("story_views")
    op.drop_table("story_reactions")
    op.drop_table("story_mentions")
    op.drop_table("messages")
    op.drop_table("stories")
    op.drop_table("content_views")
    op.drop_table("content_mentions")
    op.drop_table("content_likes")
    op.drop_table("content_hashtags")
    op.drop_table("comments")
    op.drop_table("activities")
    op.drop_table("sound_favorites")
    op.drop_table("conversation_members")
    op.drop_table("contents")
    op.drop_table("user_settings")
    op.drop_table("sounds")
    op.drop_table("push_devices")
    op.drop_table("profiles")
    op.drop_table("notifications")
    op.drop_table("follows")
    op.drop_table("conversations")
    op.drop_table("blocks")


# Full-text search. SQLite: one FTS5 table per searchable table, holding the row id (unindexed) and its text,
# kept in step by triggers, so rows written by any module (accounts included) are searchable at once
# (https://www.sqlite.org/fts5.html). PostgreSQL: GIN indexes over the same to_tsvector('simple', ...)
# expressions the queries use, so the planner can use them
# (https://www.postgresql.org/docs/current/textsearch-tables.html#TEXTSEARCH-TABLES-INDEX).
_FTS = "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'"
_SOURCES = {
    # fts table: (source table, indexed columns)
    "search_users": ("users", ("username", "display_name")),
    "search_contents": ("contents", ("caption",)),
    "search_sounds": ("sounds", ("title", "artist")),
    "search_products": ("products", ("title", "description", "category")),
}


def _sqlite_search() -> list[str]:
    statements = []
    for fts, (table, columns) in _SOURCES.items():
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        statements += [
            f"CREATE VIRTUAL TABLE {fts} USING fts5(ref_id UNINDEXED, {cols}, {_FTS})",
            f"INSERT INTO {fts} (ref_id, {cols}) SELECT id, {cols} FROM {table}",
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts} (ref_id, {cols}) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE ref_id = old.id; "
            f"INSERT INTO {fts} (ref_id, {cols}) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN DELETE FROM {fts} WHERE ref_id = old.id; END",
        ]
    return statements


SQLITE_SEARCH = _sqlite_search()
SQLITE_TRIGGERS = [f"{fts}_{suffix}" for fts in _SOURCES for suffix in ("ai", "au", "ad")]
POSTGRES_SEARCH = [
    "CREATE INDEX ix_users_search ON users USING gin (to_tsvector('simple', username || ' ' || display_name))",
    "CREATE INDEX ix_contents_search ON contents USING gin (to_tsvector('simple', caption))",
    "CREATE INDEX ix_sounds_search ON sounds USING gin (to_tsvector('simple', title || ' ' || artist))",
    "CREATE INDEX ix_products_search ON products USING gin "
    "(to_tsvector('simple', title || ' ' || description || ' ' || category))",
]
