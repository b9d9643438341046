"""The social graph and everything users post, say and see: profiles, follows, blocks, settings, content,
stories, sounds, messages, notifications, activity.

Counters (followers, likes, views, uses) are kept on the rows they describe and changed in the same
transaction as the row that causes them, so lists and profiles never count on every read.
``contents.trend`` is a time-decayed score kept in log2 form (see ``api.social.activity``): ordering by it is
ordering by the decayed score at any moment, so a feed can page over it with a stable keyset.
"""

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from store.schema import metadata
from store.types import UtcDateTime

_USER = "users.id"

profiles = Table(
    "profiles",
    metadata,
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), primary_key=True),
    Column("bio", String(300), nullable=False, server_default=""),
    Column("avatar_url", String(512), nullable=True),
    Column("website", String(512), nullable=True),
    Column("is_private", Boolean, nullable=False, server_default="0"),
    Column("follower_count", Integer, nullable=False, server_default="0"),
    Column("following_count", Integer, nullable=False, server_default="0"),
    Column("content_count", Integer, nullable=False, server_default="0"),
    Column("like_count", Integer, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
)

follows = Table(
    "follows",
    metadata,
    Column("follower_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("followee_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("follower_id", "followee_id", name="pk_follows"),
    Index("ix_follows_followee_created", "followee_id", "created_at"),
    Index("ix_follows_follower_created", "follower_id", "created_at"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("blocked_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("blocker_id", "blocked_id", name="pk_blocks"),
    Index("ix_blocks_blocked", "blocked_id"),
)

user_settings = Table(
    "user_settings",
    metadata,
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), primary_key=True),
    Column("document", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

sounds = Table(
    "sounds",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("creator_id", String(26), ForeignKey(_USER, ondelete="SET NULL"), nullable=True, index=True),
    Column("title", String(120), nullable=False),
    Column("artist", String(120), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("file_key", String(255), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("use_count", Integer, nullable=False, server_default="0"),
    Column("favorite_count", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_sounds_use_count", "use_count", "id"),
)

sound_favorites = Table(
    "sound_favorites",
    metadata,
    Column("sound_id", String(26), ForeignKey("sounds.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("sound_id", "user_id", name="pk_sound_favorites"),
    Index("ix_sound_favorites_user_created", "user_id", "created_at"),
)

contents = Table(
    "contents",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("creator_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # video | image
    Column("caption", Text, nullable=False, server_default=""),
    Column("category", String(32), nullable=True),
    Column("sound_id", String(26), ForeignKey("sounds.id", ondelete="SET NULL"), nullable=True),
    Column("status", String(12), nullable=False),  # pending | processing | ready | failed | removed | scheduled
    Column("error", String(255), nullable=True),
    Column("media_prefix", String(128), nullable=False),
    Column("source_key", String(255), nullable=True),
    Column("playlist_key", String(255), nullable=True),
    Column("poster_key", String(255), nullable=True),
    Column("image_key", String(255), nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("view_count", Integer, nullable=False, server_default="0"),
    Column("like_count", Integer, nullable=False, server_default="0"),
    Column("comment_count", Integer, nullable=False, server_default="0"),
    Column("trend", Float, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_contents_creator_created", "creator_id", "created_at", "id"),
    # The feed's followed phase: a followee's ready posts by time, without reading their rows (0007).
    Index("ix_contents_creator_status_created", "creator_id", "status", "created_at", "id"),
    Index("ix_contents_trend", "trend", "id"),
)

content_hashtags = Table(
    "content_hashtags",
    metadata,
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="CASCADE"), nullable=False),
    Column("tag", String(64), nullable=False),
    PrimaryKeyConstraint("content_id", "tag", name="pk_content_hashtags"),
    Index("ix_content_hashtags_tag", "tag"),
)

content_mentions = Table(
    "content_mentions",
    metadata,
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("content_id", "user_id", name="pk_content_mentions"),
)

content_likes = Table(
    "content_likes",
    metadata,
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("content_id", "user_id", name="pk_content_likes"),
    Index("ix_content_likes_user", "user_id"),
)

# One row per (content, viewer, hour since the epoch): the primary key is the "once per user per hour" rule.
content_views = Table(
    "content_views",
    metadata,
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("hour", Integer, nullable=False),
    PrimaryKeyConstraint("content_id", "user_id", "hour", name="pk_content_views"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime, nullable=True),  # hidden by moderation (restorable)
    Index("ix_comments_content_id", "content_id", "id"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="SET NULL"), nullable=True),
    Column("background", String(16), nullable=True),
    Column("view_count", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_stories_user_expires", "user_id", "expires_at"),
    Index("ix_stories_expires", "expires_at"),
)

story_views = Table(
    "story_views",
    metadata,
    Column("story_id", String(26), ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("viewer_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("viewed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("story_id", "viewer_id", name="pk_story_views"),
)

story_reactions = Table(
    "story_reactions",
    metadata,
    Column("story_id", String(26), ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("emoji", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("story_id", "user_id", name="pk_story_reactions"),
)

story_mentions = Table(
    "story_mentions",
    metadata,
    Column("story_id", String(26), ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("story_id", "user_id", name="pk_story_mentions"),
)

# A 1:1 conversation: ``user_a`` < ``user_b``, so the pair has exactly one row.
conversations = Table(
    "conversations",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_a", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("user_b", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_message_at", UtcDateTime, nullable=False),
    UniqueConstraint("user_a", "user_b", name="uq_conversations_user_a"),
    Index("ix_conversations_user_b", "user_b"),
)

conversation_members = Table(
    "conversation_members",
    metadata,
    Column("conversation_id", String(26), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("last_read_id", String(26), nullable=True),
    Column("unread_count", Integer, nullable=False, server_default="0"),
    Column("last_message_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("conversation_id", "user_id", name="pk_conversation_members"),
    Index("ix_conversation_members_user_last", "user_id", "last_message_at", "conversation_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("conversation_id", String(26), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("sender_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=True),
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="SET NULL"), nullable=True),
    Column("story_id", String(26), ForeignKey("stories.id", ondelete="SET NULL"), nullable=True),
    Column("media_url", String(512), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime, nullable=True),
    Column("removed_at", UtcDateTime, nullable=True),  # hidden by moderation (restorable, unlike deleted_at)
    Index("ix_messages_conversation_id", "conversation_id", "id"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("actor_id", String(26), ForeignKey(_USER, ondelete="SET NULL"), nullable=True),
    Column("subject_id", String(64), nullable=True),
    Column("text", String(300), nullable=False),
    Column("data", Text, nullable=False, server_default="{}"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    Index("ix_notifications_user_id", "user_id", "id"),
    Index("ix_notifications_user_read", "user_id", "read_at"),
)

push_devices = Table(
    "push_devices",
    metadata,
    Column("token", String(512), primary_key=True),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False, index=True),
    Column("platform", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Everything users do that ranks things: views, likes, comments, shares, follows, sound uses, tracked events.
activities = Table(
    "activities",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=False),
    Column("verb", String(24), nullable=False),
    Column("content_id", String(26), ForeignKey("contents.id", ondelete="CASCADE"), nullable=True),
    Column("creator_id", String(26), ForeignKey(_USER, ondelete="CASCADE"), nullable=True),
    Column("sound_id", String(26), ForeignKey("sounds.id", ondelete="CASCADE"), nullable=True),
    Column("weight", Float, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_activities_created_at", "created_at"),
    Index("ix_activities_user_id", "user_id", "id"),
)
