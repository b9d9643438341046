"""Mobile push behind one small interface: :class:`PushProvider`.

:class:`RecordingPush` (the default) keeps what would have been sent, for the console and for tests.
:class:`FcmPush` sends through Firebase Cloud Messaging's HTTP v1 API: it signs a JWT with the service
account's key and trades it for an OAuth 2.0 access token (JWT bearer grant, RFC 7523 §2.1; Google's
"Using OAuth 2.0 for Server to Server Applications"), then POSTs one message per device token to
``https://fcm.googleapis.com/v1/projects/{project}/messages:send``
(https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import jwt

log = logging.getLogger(__name__)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True, slots=True)
class PushMessage:
    device_token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


class PushError(Exception):
    """A push could not be sent; ``unregistered`` means the device token is dead and should be forgotten."""

    def __init__(self, message: str, *, unregistered: bool = False) -> None:
        super().__init__(message)
        self.unregistered = unregistered


class PushProvider(Protocol):
    async def send(self, message: PushMessage) -> None: ...

    async def close(self) -> None: ...


class RecordingPush:
    """Sends nothing; remembers the last messages it was given."""

    def __init__(self, keep: int = 1000) -> None:
        self.sent: deque[PushMessage] = deque(maxlen=keep)

    async def send(self, message: PushMessage) -> None:
        self.sent.append(message)

    async def close(self) -> None:
        return None


class HttpTransport(Protocol):
    async def post(self, url: str, *, headers: dict[str, str], data: bytes) -> tuple[int, dict[str, Any]]: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, *, headers: dict[str, str], data: bytes) -> tuple[int, dict[str, Any]]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(url, headers=headers, data=data) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = {}
            return response.status, body if isinstance(body, dict) else {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str
    token_uri: str

    @classmethod
    def from_file(cls, path: Path) -> ServiceAccount:
        raw = json.loads(path.read_text())
        try:
            return cls(
                raw["project_id"],
                raw["client_email"],
                raw["private_key"],
                raw.get("token_uri", "https://oauth2.googleapis.com/token"),
            )
        except KeyError as exc:
            raise ValueError(f"{path}: service account file lacks {exc.args[0]!r}") from None


def grant_assertion(account: ServiceAccount, now: int) -> str:
    """The signed JWT of the bearer grant (claims per Google's server-to-server OAuth 2.0 guide)."""
    claims = {
        "iss": account.client_email,
        "scope": FCM_SCOPE,
        "aud": account.token_uri,
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, account.private_key, algorithm="RS256")


def fcm_body(message: PushMessage) -> bytes:
    payload = {
        "message": {
            "token": message.device_token,
            "notification": {"title": message.title, "body": message.body},
            "data": message.data,
        }
    }
    return json.dumps(payload).encode()


class FcmPush:
    def __init__(self, account: ServiceAccount, transport: HttpTransport | None = None) -> None:
        self._account = account
        self._transport = transport or AiohttpTransport()
        self._token: str | None = None
        self._token_expires = 0.0
        self.endpoint = f"https://fcm.googleapis.com/v1/projects/{account.project_id}/messages:send"

    async def _access_token(self) -> str:
        now = time.time()
        if self._token is not None and now < self._token_expires - 60:
            return self._token
        form = f"grant_type={JWT_BEARER}&assertion={grant_assertion(self._account, int(now))}"
        status, body = await self._transport.post(
            self._account.token_uri,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            data=form.encode(),
        )
        token = body.get("access_token")
        if status != 200 or not isinstance(token, str):
            raise PushError(f"FCM token exchange failed with HTTP {status}: {body.get('error')}")
        self._token = token
        self._token_expires = now + float(body.get("expires_in", 3600))
        return token

    async def send(self, message: PushMessage) -> None:
        token = await self._access_token()
        status, body = await self._transport.post(
            self.endpoint,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            data=fcm_body(message),
        )
        if status == 200:
            return
        error = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
        details = error.get("details", [])
        codes = {d.get("errorCode") for d in details if isinstance(d, dict)}
        if status == 401:  # the cached token was revoked early: fetch a new one next time
            self._token = None
        # FCM answers 404 UNREGISTERED for an app instance that is gone (v1 error codes reference).
        raise PushError(
            f"FCM send failed with HTTP {status}: {error.get('status')}",
            unregistered=status == 404 or "UNREGISTERED" in codes,
        )

    async def close(self) -> None:
        await self._transport.close()
