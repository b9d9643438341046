"""RFC 9457 problem details: the one error root of ``api`` and the middleware that renders every error.

Every error a client can see is ``application/problem+json`` with a stable ``type`` URI. Errors raised by the
routing layer of aiohttp (unknown route, wrong method, oversize body) are mapped to the same shape, and an
unexpected exception becomes a 500 whose traceback is logged with the request id and never sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://mixillo.live/problems/"
PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """Root of every error that crosses HTTP. Each subclass carries its status and problem type."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        slug: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.status_code = status or self.status
        self.type_slug = slug or self.slug
        self.headers = dict(headers or {})
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type_slug,
            "title": self.title,
            "status": self.status_code,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="mixillo"'}
        headers.update(kw.pop("headers", {}) or {})
        super().__init__(detail, headers=headers, **kw)


class PaymentRequired(ApiError):
    status, slug, title = 402, "insufficient-funds", "Insufficient funds"


class Forbidden(ApiError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ApiError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(ApiError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(ApiError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(ApiError):
    status, slug, title = 410, "gone", "Gone"


class PreconditionFailed(ApiError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(ApiError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(ApiError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(ApiError):
    status, slug, title = 422, "validation-error", "Request is not valid"

    def __init__(self, detail: str | None = None, *, errors: Sequence[Mapping[str, str]] = (), **kw: Any) -> None:
        super().__init__(detail, errors=list(errors), **kw)


class TooManyRequests(ApiError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after: float, detail: str | None = None) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(detail, headers={"Retry-After": str(seconds)}, retry_after=seconds)


class ServiceUnavailable(ApiError):
    status, slug, title = 503, "unavailable", "Service unavailable"


class InternalError(ApiError):
    status, slug, title = 500, "internal-error", "Internal server error"


def pointer(loc: Sequence[int | str]) -> str:
    """A JSON pointer (RFC 6901) as a URI fragment, the form RFC 9457 §3's example uses."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "#/" + "/".join(parts)


def from_validation(exc: ValidationError, where: str) -> Unprocessable:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        errors.append({"pointer": pointer(err["loc"]), "in": where, "detail": err["msg"]})
    return Unprocessable(f"{len(errors)} invalid field(s) in the request {where}", errors=errors)


_HTTP_MAP: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def problem_response(error: ApiError, request: web.Request | None = None) -> web.Response:
    body = error.body(request.path if request is not None else None)
    response = web.Response(
        status=error.status_code,
        body=json.dumps(body).encode(),
        content_type=PROBLEM_JSON,
        headers=error.headers,
    )
    return response


def from_http_exception(exc: web.HTTPException) -> ApiError:
    cls = _HTTP_MAP.get(exc.status)
    if cls is None:
        return ApiError(exc.reason, slug=f"http-{exc.status}", status=exc.status)
    if exc.status == 405 and isinstance(exc, web.HTTPMethodNotAllowed):
        return MethodNotAllowed(
            f"{exc.method} is not allowed here", headers={"Allow": ", ".join(sorted(exc.allowed_methods))}
        )
    if exc.status == 413:
        return PayloadTooLarge("the request body is larger than this endpoint accepts")
    if exc.status == 404:
        return NotFound("no such resource")
    return cls(exc.text if exc.text and not exc.text.startswith(str(exc.status)) else None)


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except ApiError as error:
        return problem_response(error, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.content_type == PROBLEM_JSON:
            raise
        return problem_response(from_http_exception(exc), request)
    except ValidationError as exc:  # a model built from request data outside the routing layer
        return problem_response(from_validation(exc, "body"), request)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(InternalError("the server hit an unexpected error; it has been logged"), request)
