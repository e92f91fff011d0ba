"""The OpenAPI document, told the truth: the error bodies the app really sends, the codes each operation can
answer, and the Bearer key that authenticated operations need.

FastAPI documents its own 422 body and nothing else. This module post-processes `app.openapi()` once, in
one place, from what the routes are made of:

- every error body is `ErrorResponse` (`{"detail": str}`, from the exception handlers in assist/app.py);
  422 is `ValidationErrorResponse` (`detail`, and `errors` [{field, msg, type}] when the request failed
  schema validation; a domain 422 such as an empty rule pack has `detail` only);
- an operation that depends on the caller's key (`assist.deps.current_key`) declares the `bearerAuth`
  scheme and answers 401 (and 403 when it admits only some roles, `require_roles`) and 503 before the
  service is ready; the health, metrics, demo and page routes declare none;
- every /v1 operation answers 422 (at least for an unknown or repeated query parameter); a path with an
  id answers 404; an operation with a body answers 400 when the body cannot be decoded
  (FastAPI's "There was an error parsing the body"); a file upload answers 413 and 415;
- the codes that only the code knows (a conflict, an id in the body) come from `EXTRA_CODES` below, which
  a test keeps in step with the routes.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from assist.security.web import API_PREFIX

logger = logging.getLogger(__name__)

SECURITY_SCHEME = "bearerAuth"

# Codes the routes' signatures do not show: (method, path) → {code: why}.
EXTRA_CODES: dict[tuple[str, str], dict[int, str]] = {
    ("POST", "/v1/calls/{call_id}/utterances"): {409: "the call has ended"},
    ("POST", "/v1/documents"): {404: "`replaces` names no document"},
    ("POST", "/v1/documents/{document_id}/retire"): {409: "the document is already retired"},
    ("POST", "/v1/documents/{document_id}/review"): {409: "the document is not waiting for review"},
    ("POST", "/v1/rules"): {409: "a rule with this id is in force; PATCH it instead"},
    ("PATCH", "/v1/rules/{rule_id}"): {409: "the change would leave no rule in force"},
    ("DELETE", "/v1/rules/{rule_id}"): {409: "the change would leave no rule in force"},
    ("POST", "/v1/rules/import"): {409: "the pack would leave no rule in force"},
}

ERROR_DESCRIPTIONS = {
    400: "The body could not be decoded (not UTF-8 JSON, or a broken multipart form)",
    401: "Missing, unknown or revoked API key",
    403: "The key's role may not do this",
    404: "Not found",
    409: "Conflict with the current state",
    413: "The upload is over the size limit (ASSIST_MAX_UPLOAD_MB)",
    415: "Unsupported file type",
    422: "Invalid request: `detail` says why; `errors` lists the fields when the request failed validation",
    429: "Too many requests: slow down and retry later",
    503: "The service is still starting (models, indexes or guard not loaded yet)",
}

ERROR_SCHEMAS: dict[str, Any] = {
    "ErrorResponse": {
        "title": "ErrorResponse",
        "description": "Every error: what went wrong, naming the bad value.",
        "type": "object",
        "properties": {"detail": {"title": "Detail", "type": "string"}},
        "required": ["detail"],
    },
    "ValidationErrorItem": {
        "title": "ValidationErrorItem",
        "description": "One invalid field of a request.",
        "type": "object",
        "properties": {
            "field": {"title": "Field", "type": "string", "description": "dotted path, e.g. `text` or `rule.id`"},
            "msg": {"title": "Msg", "type": "string"},
            "type": {"title": "Type", "type": "string", "description": "pydantic's error type"},
        },
        "required": ["field", "msg", "type"],
    },
    "ValidationErrorResponse": {
        "title": "ValidationErrorResponse",
        "description": "A 422: `detail` joins the reasons; `errors` is present when the request failed validation.",
        "type": "object",
        "properties": {
            "detail": {"title": "Detail", "type": "string"},
            "errors": {
                "title": "Errors",
                "type": "array",
                "items": {"$ref": "#/components/schemas/ValidationErrorItem"},
            },
        },
        "required": ["detail"],
    },
}

_FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def api_routes(routes: list[Any]) -> Iterator[Any]:
    """The API routes among `routes`, included routers flattened (FastAPI ≥ 0.160 keeps them nested)."""
    from fastapi import routing

    iter_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:  # older FastAPI copies every included route into app.routes
        yield from (r for r in routes if isinstance(r, APIRoute))
        return
    for ctx in iter_contexts(routes):
        if isinstance(ctx.original_route, APIRoute):
            yield ctx  # proxies the route's attributes with the include's prefix and dependencies


def _error(code: int, description: str | None = None) -> dict[str, Any]:
    schema = "ValidationErrorResponse" if code == 422 else "ErrorResponse"
    out: dict[str, Any] = {
        "description": description or ERROR_DESCRIPTIONS.get(code, "Error"),
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if code == 401:
        out["headers"] = {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}
    if code == 429:
        out["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
    return out


def route_error_codes(route: Any, method: str) -> dict[int, str | None]:
    """The error codes `route` can answer to `method`, with a specific description where there is one."""
    from assist.deps import current_key

    calls = list(_calls(route.dependant))
    codes: dict[int, str | None] = {}
    if current_key in calls:
        codes[401] = None
        codes[429] = None  # the rate limits of assist/security/gate.py: per address, key and call starts
        codes[503] = None
        if any(getattr(c, "__qualname__", "").startswith("require_roles.") for c in calls):
            codes[403] = None
    if route.dependant.path_params:
        codes[404] = None
    if route.dependant.body_params or "requestBody" in (route.openapi_extra or {}):
        codes[400] = None  # a body that cannot be decoded (not UTF-8 JSON, a broken multipart form)
    if any(isinstance(p.field_info, params.File) for p in route.dependant.body_params):
        codes.update({413: None, 415: None})
    if route.path_format.startswith(API_PREFIX + "/"):
        codes[422] = None  # at least an unknown or repeated query parameter (assist.security.web.strict_query)
    codes.update(EXTRA_CODES.get((method, route.path_format), {}))
    return dict(sorted(codes.items()))


def authenticated(route: Any) -> bool:
    """Whether the route needs the caller's key."""
    from assist.deps import current_key

    return current_key in set(_calls(route.dependant))


def describe(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """A copy of FastAPI's document with the error bodies, error codes and security of `routes`."""
    doc = copy.deepcopy(schema)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(copy.deepcopy(ERROR_SCHEMAS))
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`assist keys create --role …`), sent as `Authorization: Bearer <key>`.",
    }
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            op = doc.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            responses = op.setdefault("responses", {})
            for code, why in route_error_codes(route, method).items():
                responses.setdefault(str(code), _error(code, why))
            for code_s, resp in list(responses.items()):
                if not code_s.isdigit() or int(code_s) < 400:
                    continue
                code = int(code_s)
                if code == 422 or "content" not in resp:  # FastAPI's 422, or a code a route declared bare
                    responses[code_s] = _error(code, resp.get("description") if code != 422 else None)
            if authenticated(route):
                op["security"] = [{SECURITY_SCHEME: []}]
    text = json.dumps(doc.get("paths", {}))
    for name in _FASTAPI_422_SCHEMAS:
        if f'"#/components/schemas/{name}"' not in text:
            schemas.pop(name, None)
    return doc


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) serve the described document, built once."""
    build = app.openapi  # FastAPI's: builds the raw document into app.openapi_schema when it is None

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(build(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
