"""JWT access tokens (RFC 7519, HS256) and the opaque refresh tokens they are renewed with."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

import jwt

from api.problems import Unauthorized
from store.ids import new_id

ISSUER = "mixillo"
ACCESS_AUDIENCE = "mixillo:api"
LEEWAY_S = 10


class Role(StrEnum):
    USER = "user"
    CREATOR = "creator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: str
    role: Role
    session_id: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class AccessTokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user_id: str, role: Role, session_id: str, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER,
            "aud": ACCESS_AUDIENCE,
            "sub": user_id,
            "role": role.value,
            "sid": session_id,
            "iat": issued,
            "exp": issued + self.ttl_s,
            "jti": new_id(),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=ACCESS_AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired", slug="token-expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("the access token is not valid", slug="invalid-token") from None
        try:
            return Principal(str(claims["sub"]), Role(claims["role"]), str(claims.get("sid", "")))
        except (KeyError, ValueError):
            raise Unauthorized("the access token is not valid", slug="invalid-token") from None


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the digest that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # The token has 256 bits of entropy, so a fast unsalted digest is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()
