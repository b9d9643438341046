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

    s3_bucket: str | None = Field(None, **_env("MIXILLO_S3_BUCKET"))
    s3_endpoint_url: str | None = Field(None, **_env("MIXILLO_S3_ENDPOINT_URL"))
    s3_region: str = Field("us-east-1", **_env("MIXILLO_S3_REGION"))
    s3_access_key_id: str | None = Field(None, **_env("MIXILLO_S3_ACCESS_KEY_ID"))
    s3_secret_access_key: SecretStr | None = Field(None, **_env("MIXILLO_S3_SECRET_ACCESS_KEY"))
    s3_public_base_url: str | None = Field(None, **_env("MIXILLO_S3_PUBLIC_BASE_URL"))
    s3_path_style: bool = Field(True, **_env("MIXILLO_S3_PATH_STYLE"))

    # Coin economy.
    payment_provider: Literal["sandbox", "stripe"] = Field("sandbox", **_env("MIXILLO_PAYMENT_PROVIDER"))
    stripe_secret_key: SecretStr | None = Field(None, **_env("STRIPE_SECRET_KEY"))
    stripe_webhook_secret: SecretStr | None = Field(None, **_env("STRIPE_WEBHOOK_SECRET"))
    stripe_api_base: str = Field("https://api.stripe.com", **_env("MIXILLO_STRIPE_API_BASE"))
    creator_share_percent: int = Field(50, ge=0, le=100, **_env("MIXILLO_CREATOR_SHARE_PERCENT"))
    min_withdraw_diamonds: int = Field(1000, ge=1, **_env("MIXILLO_MIN_WITHDRAW_DIAMONDS"))
    topup_cents_per_100_coins: int = Field(142, ge=1, **_env("MIXILLO_TOPUP_CENTS_PER_100_COINS"))
    ledger_max_batch: int = Field(512, ge=1, le=5000, **_env("MIXILLO_LEDGER_MAX_BATCH"))

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

    @field_validator("database_url", "redis_url")
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
