"""Configuration: one typed object, defaults in code, read from the environment.

Every setting has a default that runs the service on one machine with no external servers. Each field's
environment variable is its ``env`` name below; ``config.sample.env`` documents them all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator


class ConfigError(Exception):
    """A setting has a value the service cannot start with; the message names the variable."""


def _env(name: str) -> dict[str, Any]:
    return {"json_schema_extra": {"env": name}}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", **_env("MIXILLO_HOST"))
    port: int = Field(8080, ge=0, le=65535, **_env("MIXILLO_PORT"))
    data_dir: Path = Field(Path("./var"), **_env("MIXILLO_DATA_DIR"))
    database_url: str | None = Field(None, **_env("DATABASE_URL"))
    redis_url: str | None = Field(None, **_env("REDIS_URL"))
    jwt_secret: SecretStr | None = Field(None, **_env("MIXILLO_JWT_SECRET"))
    public_url: str | None = Field(None, **_env("MIXILLO_PUBLIC_URL"))
    log_level: str = Field("INFO", **_env("MIXILLO_LOG_LEVEL"))
    log_json: bool = Field(True, **_env("MIXILLO_LOG_JSON"))
    # The event loop `mixillo serve` runs on: uvloop (libuv; its transports and callbacks are C) or CPython's
    # own. Measured in docs/performance.md, "Live rooms": uvloop took ~12% off the server's CPU per gift.
    event_loop: Literal["uvloop", "asyncio"] = Field("uvloop", **_env("MIXILLO_EVENT_LOOP"))
    # Accept permessage-deflate on Socket.IO WebSockets (RFC 7692; signaling/frames.py): ~7x fewer bytes for a
    # batch of room events, at ~60-85 KiB more server memory per connection (aiohttp keeps a zlib state each).
    socketio_deflate: bool = Field(True, **_env("MIXILLO_SOCKETIO_DEFLATE"))

    access_token_ttl_s: int = Field(900, ge=30, le=3600, **_env("MIXILLO_ACCESS_TOKEN_TTL"))
    refresh_token_ttl_s: int = Field(30 * 86400, ge=300, **_env("MIXILLO_REFRESH_TOKEN_TTL"))
    body_limit_bytes: int = Field(1 << 20, ge=1024, **_env("MIXILLO_BODY_LIMIT"))
    upload_limit_bytes: int = Field(200 << 20, ge=1024, **_env("MIXILLO_UPLOAD_LIMIT"))

    # Requests per minute; bursts up to the same number are allowed (token bucket).
    rate_auth_per_ip: int = Field(30, ge=1, **_env("MIXILLO_RATE_AUTH_PER_IP"))
    rate_write_per_user: int = Field(600, ge=1, **_env("MIXILLO_RATE_WRITE_PER_USER"))
    rate_write_per_ip: int = Field(1200, ge=1, **_env("MIXILLO_RATE_WRITE_PER_IP"))
    trust_forwarded_for: bool = Field(False, **_env("MIXILLO_TRUST_FORWARDED_FOR"))
    # Seconds after which an Idempotency-Key still "running" is deemed abandoned by a crashed process.
    idempotency_lease_s: float = Field(60.0, gt=0, **_env("MIXILLO_IDEMPOTENCY_LEASE"))

    # The composed program of lives with guests (engine/compositor): picture size (even sides), frame rate,
    # and the codec and bit rate of the encoded program WHEP viewers of ``program`` receive.
    compositor_width: int = Field(720, ge=64, le=1920, multiple_of=2, **_env("MIXILLO_COMPOSITOR_WIDTH"))
    compositor_height: int = Field(1280, ge=64, le=1920, multiple_of=2, **_env("MIXILLO_COMPOSITOR_HEIGHT"))
    compositor_fps: int = Field(30, ge=10, le=60, **_env("MIXILLO_COMPOSITOR_FPS"))
    compositor_codec: Literal["H264", "VP8"] = Field("H264", **_env("MIXILLO_COMPOSITOR_CODEC"))
    compositor_bit_rate: int = Field(2_500_000, ge=200_000, le=20_000_000, **_env("MIXILLO_COMPOSITOR_BIT_RATE"))
    content_max_video_s: float = Field(600, gt=0, **_env("MIXILLO_CONTENT_MAX_VIDEO_SECONDS"))
    sound_max_duration_s: float = Field(300, gt=0, **_env("MIXILLO_SOUND_MAX_SECONDS"))
    fcm_service_account: Path | None = Field(None, **_env("MIXILLO_FCM_SERVICE_ACCOUNT"))
    # Rendered first feed pages kept per viewer (0: no cache), and how old one may get (api.social.feed_cache).
    feed_cache_size: int = Field(10_000, ge=0, **_env("MIXILLO_FEED_CACHE_SIZE"))
    feed_cache_ttl_s: float = Field(5.0, gt=0, le=60, **_env("MIXILLO_FEED_CACHE_TTL_SECONDS"))

    s3_bucket: str | None = Field(None, **_env("MIXILLO_S3_BUCKET"))
    s3_endpoint_url: str | None = Field(None, **_env("MIXILLO_S3_ENDPOINT_URL"))
    s3_region: str = Field("us-east-1", **_env("MIXILLO_S3_REGION"))
    s3_access_key_id: str | None = Field(None, **_env("MIXILLO_S3_ACCESS_KEY_ID"))
    s3_secret_access_key: SecretStr | None = Field(None, **_env("MIXILLO_S3_SECRET_ACCESS_KEY"))
    s3_public_base_url: str | None = Field(None, **_env("MIXILLO_S3_PUBLIC_BASE_URL"))
    s3_path_style: bool = Field(True, **_env("MIXILLO_S3_PATH_STYLE"))

    # Issue 5: shop, creator tools, safety, AI.
    report_queue_threshold: int = Field(3, ge=1, le=1000, **_env("MIXILLO_REPORT_QUEUE_THRESHOLD"))
    scheduler_poll_s: float = Field(5.0, gt=0, le=300, **_env("MIXILLO_SCHEDULER_POLL"))
    scheduler_lease_s: int = Field(300, ge=5, **_env("MIXILLO_SCHEDULER_LEASE"))
    live_reminder_lead_s: int = Field(900, ge=0, le=7 * 86400, **_env("MIXILLO_LIVE_REMINDER_LEAD"))
    analytics_flush_s: float = Field(1.0, gt=0, le=60, **_env("MIXILLO_ANALYTICS_FLUSH"))
    ai_provider: Literal["local", "remote"] = Field("local", **_env("MIXILLO_AI_PROVIDER"))
    ai_remote_url: str | None = Field(None, **_env("MIXILLO_AI_REMOTE_URL"))
    ai_remote_timeout_s: float = Field(10.0, gt=0, le=120, **_env("MIXILLO_AI_REMOTE_TIMEOUT"))
    order_payment_timeout_s: int = Field(300, ge=10, **_env("MIXILLO_ORDER_PAYMENT_TIMEOUT"))
    # Coin economy.
    payment_provider: Literal["sandbox", "stripe"] = Field("sandbox", **_env("MIXILLO_PAYMENT_PROVIDER"))
    stripe_secret_key: SecretStr | None = Field(None, **_env("STRIPE_SECRET_KEY"))
    stripe_webhook_secret: SecretStr | None = Field(None, **_env("STRIPE_WEBHOOK_SECRET"))
    stripe_api_base: str = Field("https://api.stripe.com", **_env("MIXILLO_STRIPE_API_BASE"))
    creator_share_percent: int = Field(50, ge=0, le=100, **_env("MIXILLO_CREATOR_SHARE_PERCENT"))
    min_withdraw_diamonds: int = Field(1000, ge=1, **_env("MIXILLO_MIN_WITHDRAW_DIAMONDS"))
    topup_cents_per_100_coins: int = Field(142, ge=1, **_env("MIXILLO_TOPUP_CENTS_PER_100_COINS"))
    ledger_max_batch: int = Field(512, ge=1, le=5000, **_env("MIXILLO_LEDGER_MAX_BATCH"))
    # Live rooms (rooms/): replay buffer, chat limits, likes window, co-host seats, PK battle timers.
    room_replay_buffer: int = Field(512, ge=16, le=100_000, **_env("MIXILLO_ROOM_REPLAY_BUFFER"))
    room_chat_max_chars: int = Field(300, ge=1, le=5000, **_env("MIXILLO_ROOM_CHAT_MAX_CHARS"))
    room_chat_per_minute: int = Field(60, ge=1, **_env("MIXILLO_ROOM_CHAT_PER_MINUTE"))
    room_chat_burst: int = Field(5, ge=1, **_env("MIXILLO_ROOM_CHAT_BURST"))
    room_like_window_ms: int = Field(1000, ge=50, le=60_000, **_env("MIXILLO_ROOM_LIKE_WINDOW_MS"))
    room_cohost_seats: int = Field(8, ge=1, le=32, **_env("MIXILLO_ROOM_COHOST_SEATS"))
    room_cohost_invite_ttl_s: int = Field(60, ge=5, **_env("MIXILLO_ROOM_COHOST_INVITE_TTL"))
    room_batch_tick_ms: int = Field(50, ge=5, le=1000, **_env("MIXILLO_ROOM_BATCH_TICK_MS"))
    pk_invite_ttl_s: int = Field(30, ge=5, **_env("MIXILLO_PK_INVITE_TTL"))
    pk_countdown_s: int = Field(5, ge=0, le=60, **_env("MIXILLO_PK_COUNTDOWN"))
    pk_duration_s: int = Field(300, ge=30, le=3600, **_env("MIXILLO_PK_DURATION"))

    # Media engine (WHIP/WHEP). ICE servers: comma-separated stun:/turn:/turns: URLs; the TURN credentials
    # apply to every turn(s): URL and go to clients in WHIP/WHEP Link headers (RFC 9725 §4.6).
    ice_servers: str = Field("", **_env("MIXILLO_ICE_SERVERS"))
    turn_username: str | None = Field(None, **_env("MIXILLO_TURN_USERNAME"))
    turn_credential: SecretStr | None = Field(None, **_env("MIXILLO_TURN_CREDENTIAL"))
    media_public_ip: str | None = Field(None, **_env("MIXILLO_MEDIA_PUBLIC_IP"))
    media_udp_port_min: int | None = Field(None, ge=1024, le=65535, **_env("MIXILLO_MEDIA_UDP_PORT_MIN"))
    media_udp_port_max: int | None = Field(None, ge=1024, le=65535, **_env("MIXILLO_MEDIA_UDP_PORT_MAX"))
    media_token_ttl_s: int = Field(6 * 3600, ge=60, **_env("MIXILLO_MEDIA_TOKEN_TTL"))
    media_anonymous_whep: bool = Field(True, **_env("MIXILLO_MEDIA_ANONYMOUS_WHEP"))
    media_timeout_s: float = Field(10.0, ge=2, le=25, **_env("MIXILLO_MEDIA_TIMEOUT"))

    @field_validator("ice_servers")
    @classmethod
    def _ice(cls, value: str) -> str:
        for url in filter(None, (u.strip() for u in value.split(","))):
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"{url!r} is not a stun:, stuns:, turn: or turns: URL")
        return value

    @field_validator("media_public_ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value:
            import ipaddress

            ipaddress.ip_address(value)
        return value or None

    hls_segment_seconds: float = Field(2.0, ge=1.0, le=10.0, **_env("MIXILLO_HLS_SEGMENT_SECONDS"))
    hls_part_seconds: float = Field(0.5, ge=0.2, le=1.0, **_env("MIXILLO_HLS_PART_SECONDS"))
    hls_live_window: int = Field(6, ge=3, le=60, **_env("MIXILLO_HLS_LIVE_WINDOW"))
    hls_recording: bool = Field(True, **_env("MIXILLO_HLS_RECORDING"))

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("database_url", "redis_url", "ai_remote_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError("must be a URL such as scheme://host/name")
        return value or None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the environment; ``overrides`` (command-line flags) win over it."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            extra = field.json_schema_extra
            env_name = extra.get("env") if isinstance(extra, dict) else None
            if isinstance(env_name, str) and environ.get(env_name, "") != "":
                values[name] = environ[env_name]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = str(first["loc"][0]) if first["loc"] else "?"
            raise ConfigError(f"{cls.env_name(field_name)}: {first['msg']}") from None

    @classmethod
    def env_name(cls, field_name: str) -> str:
        field = cls.model_fields.get(field_name)
        extra = field.json_schema_extra if field else None
        env_name = extra.get("env") if isinstance(extra, dict) else None
        return env_name if isinstance(env_name, str) else field_name

    # Derived values ------------------------------------------------------------------------------------

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'mixillo.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def secret(self) -> str:
        """The JWT signing secret: the configured one, or one generated once and kept in the data dir."""
        if self.jwt_secret is not None:
            value = self.jwt_secret.get_secret_value()
            if len(value) < 32:
                raise ConfigError("MIXILLO_JWT_SECRET: must be at least 32 characters")
            return value
        path = self.data_dir / "jwt_secret"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value
