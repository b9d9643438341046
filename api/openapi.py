"""The OpenAPI 3.1 document, generated from the declared endpoints and their pydantic models.

OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what pydantic emits, so the models' schemas go into
``components.schemas`` unchanged. Nothing here is maintained by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from api.problems import PROBLEM_JSON
from api.routing import Access, Endpoint, Limit

REF = "#/components/schemas/{model}"

_STATUS_TEXT = {
    400: "Malformed request", 401: "Not signed in or token invalid", 402: "Insufficient funds",
    403: "Not allowed", 404: "Not found", 409: "Conflict with the current state", 410: "Gone",
    412: "Precondition failed", 413: "Body too large", 415: "Unsupported media type",
    422: "Invalid fields", 429: "Rate limited",
}


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string"},
                        "in": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    }


def _models(endpoints: Iterable[Endpoint]) -> list[type[BaseModel]]:
    seen: dict[type[BaseModel], None] = {}
    for ep in endpoints:
        for model in (ep.body, ep.response):
            if isinstance(model, type) and issubclass(model, BaseModel):
                seen.setdefault(model)
    return list(seen)


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def build(endpoints: list[Endpoint], *, title: str, version: str, server_url: str | None = None) -> dict[str, Any]:
    models = _models(endpoints)
    refs, defs = models_json_schema(
        [(m, "validation") for m in models if any(ep.body is m for ep in endpoints)]
        + [(m, "serialization") for m in models if any(ep.response is m for ep in endpoints)],
        ref_template=REF,
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Problem"] = _problem_schema()

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return refs[(model, mode)]  # type: ignore[index]

    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        op: dict[str, Any] = {"operationId": ep.operation_id, "summary": ep.summary, "tags": list(ep.tags)}
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in ep.path_params
        ]
        if ep.query is not None:
            params += _query_parameters(ep.query)
        if ep.idempotent:
            params.append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Retry-safe key: the same key and body return the first response again.",
                "schema": {"type": "string", "maxLength": 255},
            })
        if params:
            op["parameters"] = params
        if ep.body is not None:
            content = {"application/json": {"schema": ref(ep.body, "validation")}}
            op["requestBody"] = {"required": True, "content": content}
        elif ep.request_content is not None:
            op["requestBody"] = {"required": True, "content": ep.request_content}
        responses: dict[str, Any] = {}
        if ep.response is not None and isinstance(ep.response, type) and issubclass(ep.response, BaseModel):
            content = {"application/json": {"schema": ref(ep.response, "serialization")}}
            responses[str(ep.status)] = {"description": "Success", "content": content}
        elif ep.response is not None:
            schema = TypeAdapter(ep.response).json_schema(ref_template=REF)
            schemas.update(schema.pop("$defs", {}))
            responses[str(ep.status)] = {"description": "Success", "content": {"application/json": {"schema": schema}}}
        else:
            responses[str(ep.status)] = {"description": "Success"}
        statuses = set(ep.errors)
        if ep.body is not None or ep.query is not None:
            statuses |= {400, 422} | ({415} if ep.body is not None else set())
        if ep.access is not Access.PUBLIC:
            statuses.add(401)
        if ep.access in (Access.ADMIN, Access.CREATOR):
            statuses.add(403)
        if ep.limit is not Limit.NONE:
            statuses.add(429)
        problem = {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}}
        for status in sorted(statuses):
            responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Error"), "content": problem}
        op["responses"] = responses
        if ep.access is not Access.PUBLIC:
            op["security"] = [{"bearer": []}]
        paths.setdefault(_openapi_path(ep.path), {})[ep.method.lower()] = op

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def _openapi_path(path: str) -> str:
    return re.sub(r"{(\w+):[^}]*}", r"{\1}", path)


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mixillo Live API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/docs.css"></head>
<body><header><h1>Mixillo Live API</h1><p>Generated from <a href="/api/openapi.json">/api/openapi.json</a>.</p>
<input id="filter" placeholder="Filter endpoints" autofocus></header><main id="ops"></main>
<script src="/static/docs.js"></script></body></html>
"""


async def docs_page(_request: web.Request) -> web.Response:
    return web.Response(text=DOCS_PAGE, content_type="text/html")
