"""Counting at the door: HTTP requests by route template and status, and the WebSocket connections open.

A pure ASGI middleware, outside the key check, so a request the gate refuses (401, 413, 429) is counted too.
The route is the template (``/v1/calls/{call_id}/end``), never the concrete path: one series per route, not
one per call. A path no route matches counts as ``(unmatched)``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from weakref import WeakKeyDictionary

from starlette.routing import Mount, compile_path

from assist.observability.metrics import HTTP_REQUESTS, OPEN_SOCKETS

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(unmatched)"


def route_template(scope: Scope) -> str:
    """The template of the route that served (or would serve) the request, else ``(unmatched)``."""
    route = scope.get("route")  # set by the router once it matched
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # Refused before routing (the key check, a body limit): the template of the route it was meant for.
    app = scope.get("app")
    if app is None:
        return UNMATCHED
    templates = _TEMPLATES.get(app)
    if templates is None:
        templates = _TEMPLATES[app] = [
            (compile_path(t)[0], t) for t in templates_of(getattr(getattr(app, "router", None), "routes", ()))
        ]
    wanted = str(scope.get("path", ""))
    return next((t for regex, t in templates if regex.match(wanted)), UNMATCHED)


_TEMPLATES: WeakKeyDictionary[Any, list[tuple[re.Pattern[str], str]]] = WeakKeyDictionary()


def templates_of(routes: Iterable[Any], prefix: str = "") -> list[str]:
    """The full path template of every route, through included routers (in routing order)."""
    out: list[str] = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:  # a router included with a prefix (FastAPI keeps it beside the routes)
            sub = str(getattr(getattr(r, "include_context", None), "prefix", "") or "")
            out += templates_of(inner.routes, prefix + sub)
        elif isinstance(getattr(r, "path", None), str):
            path = prefix + r.path
            out.append(path + "/{path:path}" if isinstance(r, Mount) else path)
    return out


class MetricsMiddleware:
    """Counts every HTTP request once it is answered, and keeps the open-socket gauge."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            OPEN_SOCKETS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                OPEN_SOCKETS.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app fails before it answers

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = str(scope.get("method", "")).upper()
            HTTP_REQUESTS.labels(
                method=method if method in METHODS else "OTHER", route=route_template(scope), status=str(status)
            ).inc()


def install_metrics(app: Any) -> None:
    """Put the counting middleware in front of everything added so far (the key check included)."""
    app.add_middleware(MetricsMiddleware)
