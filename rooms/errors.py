"""The one error root of ``rooms``. Each error carries the HTTP status and problem slug the edges render.

``rooms`` does not import ``api``; the REST edge turns a :class:`RoomError` into an ``ApiError`` with the
same status, slug and detail, and the Socket.IO edge puts them in the error acknowledgement.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RoomError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"

    def __init__(self, detail: str, *, slug: str | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.type_slug = slug or self.slug
        self.extensions = extensions


class Unauthenticated(RoomError):
    """Anonymous viewers may watch and read; everything else needs a signed-in user."""

    status, slug = 401, "unauthorized"


class NotAllowed(RoomError):
    status, slug = 403, "forbidden"


class UnknownRoom(RoomError):
    status, slug = 404, "unknown-room"


class NotFound(RoomError):
    status, slug = 404, "not-found"


class Conflict(RoomError):
    """The action does not fit the current state (room ended, battle no longer open, seat taken)."""

    status, slug = 409, "conflict"


class Invalid(RoomError):
    status, slug = 422, "invalid"


class Throttled(RoomError):
    status, slug = 429, "too-many-requests"

    def __init__(self, detail: str, *, retry_after: float, slug: str | None = None) -> None:
        super().__init__(detail, slug=slug, retry_after=round(retry_after, 3))
        self.retry_after = retry_after
