"""Browser hardening: security headers on every HTTP response and an Origin check on every WebSocket handshake.

The pages keep an API key in `sessionStorage`, so a script injected into them, or a page framing them,
could act as the agent. `SecurityHeaders` is a pure ASGI middleware (not `BaseHTTPMiddleware`): it only
edits the `http.response.start` message, so streamed bodies pass through unbuffered and WebSockets are
untouched except for the handshake check.

- Content-Security-Policy: scripts, styles, fonts and connections only from the page's own origin (plus
  ws/wss of the same host for the call stream); no inline script or style, no plugin, no `<base>`, no
  framing. `img-src` also admits `data:` URLs: the pages' favicon is `data:,` and Swagger UI draws its
  icons as `data:image/svg+xml` backgrounds in its stylesheet; an image cannot run script.
- X-Frame-Options DENY (for browsers without `frame-ancestors`), X-Content-Type-Options nosniff,
  Referrer-Policy no-referrer, a Permissions-Policy that turns off devices the product never uses, and
  Cross-Origin-Opener-Policy same-origin.
- Cache-Control: no-store on `/v1` responses (transcripts, guard events and keys' data stay out of caches).
- Strict-Transport-Security only with `ASSIST_BEHIND_TLS` (sent over plain HTTP it would be ignored, and
  over a TLS proxy it must be the deployment's decision).
- WebSocket: a handshake whose `Origin` is not allowed (`ASSIST_ALLOWED_ORIGINS`, by default the origin of
  the request's own Host) is closed with 1008 before it is accepted, which servers answer with HTTP 403.
  No `Origin` at all means a non-browser client (the CLI's replay, the ASR connector): those authenticate
  with their key as before.

`strict_query` (an app-wide dependency) refuses, on /v1, a query parameter the operation does not take, and
one given twice where it takes one value, rather than silently ignoring it or keeping the last (HTTP
parameter pollution).
"""

from __future__ import annotations

import logging
import re
import types
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any, Union, get_args, get_origin

from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection

from assist.config import Settings, get_settings

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# WebSocket close code "policy violation": the handshake came from a page of another origin.
CLOSE_FOREIGN_ORIGIN = 1008
# A Host header fit to be written into a header value (no spaces, semicolons or commas).
_HOST = re.compile(r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$")
HSTS = "max-age=31536000; includeSubDomains"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
API_PREFIX = "/v1"


def content_security_policy(host: str | None, *, tls: bool) -> str:
    """The policy for a response to a request with this Host header (already checked by `_clean_host`)."""
    connect = ["'self'"]
    if host:
        connect += [f"wss://{host}"] if tls else [f"ws://{host}", f"wss://{host}"]
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _clean_host(headers: Headers) -> str | None:
    host = headers.get("host", "").strip().lower()
    return host if _HOST.match(host) else None


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """Whether a WebSocket handshake with this Origin header may proceed.

    Args:
        origin: the Origin header, None when the client sent none (not a browser).
        host: the request's Host header, checked by `_clean_host` (None when absent or malformed).
        settings: `allowed_origins` and `behind_tls`.
    """
    if origin is None:
        return True
    origin = origin.strip().lower()
    if settings.allowed_origins:
        return origin in settings.allowed_origins
    if host is None:
        return False
    schemes = ("https",) if settings.behind_tls else ("http", "https")
    return origin in {f"{scheme}://{host}" for scheme in schemes}


class SecurityHeaders:
    """Pure ASGI middleware: security headers on HTTP responses, the Origin check on WebSocket handshakes.

    Args:
        app: the wrapped ASGI app.
        settings: used until the app's lifespan puts its own settings on `app.state` (tests and tools
            pass them to `create_app`); falls back to `get_settings()`.
    """

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self._settings = settings

    def _settings_for(self, scope: Scope) -> Settings:
        app = scope.get("app")
        state_settings = getattr(getattr(app, "state", None), "settings", None)
        if isinstance(state_settings, Settings):
            return state_settings
        return self._settings or get_settings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if not origin_allowed(origin, _clean_host(headers), self._settings_for(scope)):
            logger.warning(
                "websocket from a foreign origin refused", extra={"origin": origin[:200] if origin else None}
            )
            # Closed before it is accepted: the server answers the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": CLOSE_FOREIGN_ORIGIN, "reason": "origin not allowed"})
            return
        await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = self._settings_for(scope)
        host = _clean_host(Headers(scope=scope))
        api = scope.get("path", "") == API_PREFIX or scope.get("path", "").startswith(API_PREFIX + "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", content_security_policy(host, tls=settings.behind_tls))
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if settings.behind_tls:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_sequence(a) for a in get_args(annotation))
    return origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset)


def _query_fields(dependant: Any) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


# Always allowed: the API key as a query parameter (assist.deps.key_from_connection reads it).
ALWAYS_ALLOWED_QUERY = frozenset({"token"})


def strict_query(conn: HTTPConnection) -> None:
    """Refuse, on /v1, a query parameter the operation does not take, or one given twice where it takes one.

    Starlette would ignore the first and keep the last of `?status=a&status=b`, so a proxy or a log that
    reads the first sees another request than the route does (HTTP parameter pollution); and a misspelt
    filter (`?stauts=pending`) would silently return everything. Bodies already refuse unknown fields.
    An app-wide dependency: a 422 that names the parameter.
    """
    if conn.scope.get("type") != "http" or not conn.url.path.startswith(API_PREFIX + "/"):
        return
    dependant = getattr(conn.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    fields = {f.alias: f for f in _query_fields(dependant)}
    counts = Counter(key for key, _ in conn.query_params.multi_items())
    errors: list[dict[str, Any]] = []
    for key, n in counts.items():
        field = fields.get(key)
        if field is None and key not in ALWAYS_ALLOWED_QUERY:
            takes = ", ".join(sorted(fields)) or "none"
            msg = f"unknown query parameter (this operation takes: {takes})"
            errors.append({"type": "extra_forbidden", "loc": ("query", key), "msg": msg, "input": None})
        elif n > 1 and (field is None or not _is_sequence(field.field_info.annotation)):
            values = conn.query_params.getlist(key)
            errors.append(
                {"type": "multiple_values", "loc": ("query", key), "msg": "given more than once", "input": values}
            )
    if errors:
        raise RequestValidationError(errors)


def install_security(app: Any, settings: Settings | None = None) -> None:
    """Add `SecurityHeaders` to a Starlette/FastAPI app (outermost, so every response gets the headers)."""
    app.add_middleware(SecurityHeaders, settings=settings)
