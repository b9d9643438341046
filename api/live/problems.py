"""The one place a :class:`rooms.errors.RoomError` becomes an RFC 9457 problem, for REST and Socket.IO alike.

The domain's errors already carry their HTTP status, problem slug and detail; :func:`problem` keeps them,
so a client sees the same problem from ``POST /api/livestreams/{id}/gift`` and from a ``gift`` event's ack.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError

from api.problems import ApiError, TooManyRequests, from_validation
from rooms.errors import RoomError, Throttled

P = ParamSpec("P")
R = TypeVar("R")


class RoomProblem(ApiError):
    """A room error as an API error: the status and slug are the domain's."""

    def __init__(self, error: RoomError) -> None:
        super().__init__(error.detail, slug=error.type_slug, status=error.status, **error.extensions)
        self.title = HTTPStatus(error.status).phrase  # type: ignore[misc]


def problem(error: RoomError) -> ApiError:
    if isinstance(error, Throttled):
        throttled = TooManyRequests(error.retry_after, error.detail)
        throttled.type_slug = error.type_slug if error.type_slug != Throttled.slug else throttled.type_slug
        return throttled
    return RoomProblem(error)


def problem_body(error: BaseException) -> dict[str, Any]:
    """The problem fields of an error a Socket.IO handler hit (what its error ack carries)."""
    if isinstance(error, RoomError):
        return problem(error).body()
    if isinstance(error, ApiError):
        return error.body()
    if isinstance(error, ValidationError):
        return from_validation(error, "payload").body()
    raise TypeError(f"{type(error).__name__} is not a client error")


def room_errors(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap a REST handler so the domain's errors render as problems (``api.problems`` renders ApiError)."""

    @functools.wraps(handler)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await handler(*args, **kwargs)
        except RoomError as exc:
            raise problem(exc) from None

    return wrapped
