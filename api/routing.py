"""Declared endpoints: one place applies the HTTP conventions to every REST route.

An endpoint declares its method, path, request and response models, who may call it, and whether it is
rate-limited or idempotent. :class:`Routes` turns each declaration into an aiohttp handler that
authenticates, rate-limits, validates (415 for a wrong content type, 400 for malformed JSON, 422 with a list
of invalid fields), honours ``Idempotency-Key``, and serialises the response model. The same declarations
produce the OpenAPI document (``api.openapi``), so the document cannot drift from the code.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api import idempotency
from api.auth.tokens import Principal, Role
from api.problems import (
    ApiError,
    BadRequest,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    from_validation,
)
from api.state import ACCESS_TOKENS, IDEMPOTENCY, RATE_LIMITER, SETTINGS

Handler = Callable[..., Awaitable[Any]]

PRINCIPAL = web.RequestKey("principal", Principal)
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Access(StrEnum):
    PUBLIC = "public"  # no token needed; a valid token is still read
    USER = "user"  # any signed-in account
    CREATOR = "creator"  # creators and admins
    ADMIN = "admin"


class Limit(StrEnum):
    NONE = "none"
    AUTH = "auth"  # per client IP, tight: credential guessing
    WRITE = "write"  # per user and per IP


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    access: Access = Access.USER
    limit: Limit = Limit.NONE
    idempotent: bool = False
    request_content: dict[str, Any] | None = None  # OpenAPI for a non-JSON body the handler reads itself
    errors: tuple[int, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)(?::[^}]*)?}", self.path)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


@dataclass
class Routes:
    """A table of endpoints, like ``aiohttp.web.RouteTableDef`` with the API's conventions attached."""

    endpoints: list[Endpoint] = field(default_factory=list)

    def route(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            opts = dict(options)
            summary = opts.pop("summary", None) or (inspect.getdoc(handler) or handler.__name__).split("\n")[0]
            tags = tuple(opts.pop("tags", ()))
            if "limit" not in opts:
                opts["limit"] = Limit.WRITE if method in _WRITE_METHODS else Limit.NONE
            self.endpoints.append(Endpoint(method, path, handler, summary, tags, **opts))
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)

    def install(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, _wrap(endpoint), name=endpoint.operation_id)


def principal(request: web.Request) -> Principal:
    """The signed-in caller; only for endpoints that require an account."""
    found = request.get(PRINCIPAL)
    if not isinstance(found, Principal):
        raise Unauthorized("sign in to use this endpoint")
    return found


def optional_principal(request: web.Request) -> Principal | None:
    found = request.get(PRINCIPAL)
    return found if isinstance(found, Principal) else None


def client_ip(request: web.Request) -> str:
    if request.app[SETTINGS].trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.remote or "unknown"


def authenticate(request: web.Request) -> Principal | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use an 'Authorization: Bearer <access token>' header", slug="invalid-token")
    return request.app[ACCESS_TOKENS].verify(token.strip())


def _authorize(endpoint: Endpoint, who: Principal | None) -> None:
    if endpoint.access is Access.PUBLIC:
        return
    if who is None:
        raise Unauthorized("sign in to use this endpoint")
    if endpoint.access is Access.ADMIN and who.role is not Role.ADMIN:
        raise Forbidden("this endpoint is for administrators")
    if endpoint.access is Access.CREATOR and who.role not in (Role.CREATOR, Role.ADMIN):
        raise Forbidden("this endpoint is for creator accounts")


async def _rate_limit(request: web.Request, endpoint: Endpoint, who: Principal | None) -> None:
    if endpoint.limit is Limit.NONE:
        return
    settings = request.app[SETTINGS]
    limiter = request.app[RATE_LIMITER]
    ip = client_ip(request)
    if endpoint.limit is Limit.AUTH:
        checks = [(f"auth:ip:{ip}", settings.rate_auth_per_ip)]
    else:
        checks = [(f"write:ip:{ip}", settings.rate_write_per_ip)]
        if who is not None:
            checks.append((f"write:user:{who.user_id}", settings.rate_write_per_user))
    for key, per_minute in checks:
        wait = await limiter.take(key, per_minute)
        if wait > 0:
            raise TooManyRequests(wait, "slow down: too many requests from this client")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _parse_body(model: type[BaseModel], raw: bytes, content_type: str) -> BaseModel:
    if not _is_json(content_type):
        raise UnsupportedMediaType("send the body as application/json", accept="application/json")
    if not raw.strip():
        raise BadRequest("the request body is empty; a JSON object is expected", slug="malformed-json")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise BadRequest("the request body is not valid JSON", slug="malformed-json") from None
        raise from_validation(exc, "body") from None


def _parse_query(model: type[BaseModel], request: web.Request) -> BaseModel:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise from_validation(exc, "query") from None


def _render(endpoint: Endpoint, result: Any) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if result is None:
        return web.Response(status=204)
    if isinstance(result, BaseModel):
        return web.Response(
            status=endpoint.status, body=result.model_dump_json().encode(), content_type="application/json"
        )
    raise TypeError(f"{endpoint.operation_id} returned {type(result).__name__}, not a model")


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        who = authenticate(request)
        if who is not None:
            request[PRINCIPAL] = who
        _authorize(endpoint, who)
        await _rate_limit(request, endpoint, who)

        kwargs: dict[str, Any] = {}
        raw = b""
        if endpoint.body is not None:
            raw = await request.read()
            kwargs["body"] = _parse_body(endpoint.body, raw, request.content_type)
        if endpoint.query is not None:
            kwargs["query"] = _parse_query(endpoint.query, request)

        key = request.headers.get(idempotency.HEADER)
        if not (endpoint.idempotent and key is not None):
            return _render(endpoint, await endpoint.handler(request, **kwargs))

        keys = request.app[IDEMPOTENCY]
        scope = f"user:{who.user_id}" if who else f"ip:{client_ip(request)}"
        key = idempotency.check_key(key)
        fp = idempotency.fingerprint(request.method, request.path, raw)
        stored = await keys.begin(scope, key, request.method, request.path, fp)
        if stored is not None:
            return web.Response(
                status=stored.status,
                body=stored.body.encode(),
                content_type="application/problem+json" if stored.status >= 400 else "application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = _render(endpoint, await endpoint.handler(request, **kwargs))
        except ApiError as exc:
            # A client error is the request's outcome and is replayed; a server error may succeed on retry.
            if exc.status_code < 500:
                text = json.dumps(exc.body(request.path))
                await keys.finish(scope, key, idempotency.StoredResponse(exc.status_code, text))
            else:
                await keys.release(scope, key)
            raise
        except BaseException:
            await keys.release(scope, key)
            raise
        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, bytes | bytearray) or body is None:
            text = bytes(body or b"").decode()
            await keys.finish(scope, key, idempotency.StoredResponse(response.status, text))
        return response

    handle.__name__ = endpoint.operation_id
    return handle

