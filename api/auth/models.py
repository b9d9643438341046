"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from api.auth.tokens import Role
from api.models import Line, RequestModel, ResponseModel

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = rf"^[^@\s\x00-\x1f]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$"


def _lower(value: str) -> str:
    return value.lower()


Username = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.]+$"), AfterValidator(_lower)]
Email = Annotated[str, Field(max_length=254, pattern=_EMAIL), AfterValidator(_lower)]
# NIST SP 800-63B §5.1.1.2: at least 8 characters, allow long passphrases, no composition rules.
Password = Annotated[str, Field(min_length=8, max_length=256)]


class RegisterRequest(RequestModel):
    username: Username
    email: Email
    password: Password
    display_name: Annotated[Line, Field(min_length=1, max_length=64)] | None = None
    account_type: Literal["user", "creator"] = "user"


class LoginRequest(RequestModel):
    login: Annotated[str, Field(min_length=3, max_length=254, description="Username or email.")]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, Field(min_length=16, max_length=128)]


class LogoutRequest(RequestModel):
    refresh_token: Annotated[str, Field(min_length=16, max_length=128)]


class Account(ResponseModel):
    id: str
    username: str
    email: str
    display_name: str
    role: Role
    status: str
    created_at: datetime


class Session(ResponseModel):
    token_type: Literal["Bearer"] = "Bearer"
    access_token: str
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    refresh_expires_in: int
    user: Account
