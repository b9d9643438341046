"""JWT access tokens (RFC 7519, HS256) and the opaque refresh tokens they are renewed with."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
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
    def __init__(self, secret: str, ttl_s: int, cache_size: int = 10_000) -> None:
        self._secret = secret
        self.ttl_s = ttl_s
        self._cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

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

    def verify(self, token: str, *, now: float | None = None) -> Principal:
        # A token's claims never change, so a verified one is remembered until it expires: clients repeat
        # the same token on every request, and signature checking is most of an authenticated request's CPU.
        moment = time.time() if now is None else now
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if moment <= expires + LEEWAY_S:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires = self._decode(token)
        if moment > expires + LEEWAY_S:
            raise Unauthorized("the access token has expired", slug="token-expired")
        self._verified[token] = (principal, expires)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
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
            principal = Principal(str(claims["sub"]), Role(claims["role"]), str(claims.get("sid", "")))
            return principal, float(claims["exp"])
        except (KeyError, ValueError, TypeError):
            raise Unauthorized("the access token is not valid", slug="invalid-token") from None


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the digest that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # The token has 256 bits of entropy, so a fast unsalted digest is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()
