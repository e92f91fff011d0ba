"""The FastAPI app: lifespan (load everything once), exception handlers (errors → HTTP in one place), routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from assist.calls.pg_hub import hub_for
from assist.compliance.holder import GuardHolder
from assist.config import Settings, get_settings
from assist.errors import AssistError, AuthError, RateLimitedError
from assist.protocols import Knowledge
from assist.security.web import strict_query
from assist.services import Overrides, Services, build_services

logger = logging.getLogger(__name__)


def sync_with_database(knowledge: Knowledge, guard_holder: GuardHolder, db_engine: Engine) -> dict[str, bool]:
    """Follow changes another process made (an `assist ingest`, a rule edited through another worker).

    Returns which parts were refreshed. Each part fails on its own: a bad rebuild is logged and the
    objects in force keep serving.
    """
    from sqlmodel import Session

    from assist.compliance.swap import refresh_if_stale

    changed = {"index": False, "rules": False}
    try:
        changed["index"] = knowledge.sync()
    except Exception:
        logger.exception("index sync failed; the index in force keeps serving")
    try:
        # not a guard handed in by a tool: one built from the database, or one that failed to load from it
        if guard_holder.rules_fingerprint is not None or guard_holder.seed_path is not None:
            with Session(db_engine) as session:
                changed["rules"] = refresh_if_stale(session=session, holder=guard_holder)
    except Exception:
        logger.exception("rules refresh failed; the guard in force keeps checking")
    try:  # background uploads whose server died (its lease expired): done or failed, by whichever server sees it
        from assist.knowledge.ingest_jobs import settle_expired

        settle_expired(db_engine)
    except Exception:
        logger.exception("could not settle ingest jobs with an expired lease")
    if any(changed.values()):
        logger.info("followed changes from the database", extra=changed)
    return changed


def follow_change(app: FastAPI, what: str) -> None:
    """A change another replica announced on the hub: follow that part now (the periodic sync stays as the
    fallback for a missed notice). "knowledge": the index catches up incrementally; "rules": the guard reloads."""
    from sqlmodel import Session

    from assist.compliance.swap import refresh_if_stale

    state = app.state
    if what == "knowledge":
        state.knowledge.sync()
    elif what == "rules":
        holder: GuardHolder = state.guard_holder
        if holder.rules_fingerprint is not None or holder.seed_path is not None:
            with Session(state.db_engine) as session:
                refresh_if_stale(session=session, holder=holder)
    logger.info("followed a change announced by another replica", extra={"what": what})


async def _sync_loop(app: FastAPI, interval_s: float) -> None:
    while True:
        await anyio.sleep(interval_s)
        await anyio.to_thread.run_sync(
            sync_with_database, app.state.knowledge, app.state.guard_holder, app.state.db_engine
        )


def _build_state(app: FastAPI, settings: Settings, overrides: Overrides) -> None:
    svc = build_services(settings, overrides=overrides)
    app.state.services = svc
    app.state.settings = svc.settings
    app.state.db_engine = svc.db_engine
    app.state.guard_holder = svc.guard_holder
    app.state.knowledge = svc.knowledge
    app.state.documents = svc.documents
    app.state.metrics = svc.metrics
    app.state.call_engine = svc.call_engine  # built now, at start, not on the first call
    app.state.aftercall = svc.aftercall
    # the fan-out: in this process on SQLite; LISTEN/NOTIFY across the replicas on PostgreSQL
    hub = app.state.call_hub = hub_for(svc.db_engine)
    hub.on_change = lambda what: follow_change(app, what)
    if hasattr(svc.knowledge, "on_change"):  # a KnowledgeBase (not a test's fake): announce its changes
        svc.knowledge.on_change = lambda: hub.announce("knowledge")
    from assist.security.gate import Security

    app.state.security = Security(svc.settings, svc.db_engine)


def _detail_of_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "body"
        msg = str(err.get("msg", "invalid value"))
        errors.append({"field": field, "msg": msg, "type": str(err.get("type", ""))})
        parts.append(f"{field}: {msg}")
    return "; ".join(parts) or "invalid request", errors


def add_exception_handlers(app: FastAPI) -> None:
    """Domain errors → their status code; validation → 422 with the field; anything else → 500, no trace."""

    @app.exception_handler(AssistError)
    async def _assist_error(_request: Request, exc: AssistError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": exc.retry_after_header}
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)}, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _detail_of_validation(exc)
        return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error", exc_info=exc, extra={"path": request.url.path, "method": request.method})
        return JSONResponse(status_code=500, content={"detail": "internal server error"})


def _lifespan(settings: Settings | None, parts: Overrides) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Build the services once at start (in a thread), follow other processes' changes while serving."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ready = False
        app.state.services = None
        s = settings or get_settings()
        await anyio.to_thread.run_sync(_build_state, app, s, parts)
        app.state.call_hub.start()
        app.state.ready = True
        logger.info("ready")
        async with anyio.create_task_group() as tg:
            if s.sync_interval_s > 0:
                tg.start_soon(_sync_loop, app, s.sync_interval_s)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                app.state.ready = False
                await anyio.to_thread.run_sync(app.state.call_hub.close)
                store = getattr(getattr(app.state, "call_engine", None), "store", None)
                if store is not None:
                    store.dispose()  # the turn locks' connections (PostgreSQL)
                services: Services | None = app.state.services
                if services is not None:
                    await anyio.to_thread.run_sync(services.close)  # the queued scorecards are stored
                if parts.db_engine is None:
                    app.state.db_engine.dispose()

    return lifespan


def create_app(settings: Settings | None = None, **overrides: Any) -> FastAPI:
    """Build the app. `overrides` (knowledge, guard, chat_model, redactor, db_engine) are for tests and tools.

    Args:
        settings: defaults to get_settings() at start-up.
        **overrides: ready-made objects used instead of building them in the lifespan (the fields of
            assist.services.Overrides; an unknown name is a TypeError now, not at start-up).
    """
    from assist.routes import audit, calls, documents, events, gaps, guard, health, qa, rules, suggestions, tickets

    app = FastAPI(
        title="Agent assist",
        summary="Cited answers, next steps and compliance alerts for financial contact centers, during the call.",
        version="0.1.0",
        lifespan=_lifespan(settings, Overrides(**overrides)),
        docs_url=None,  # /docs is served from local files by assist.routes.pages (no CDN); no ReDoc
        redoc_url=None,
        dependencies=[Depends(strict_query)],  # unknown or repeated query parameters: 422 (assist/security/web.py)
    )
    app.state.ready = False
    add_exception_handlers(app)
    # -- security: the key check and body limits run before any route reads the request (assist/security/gate.py)
    from assist.security import gate as security

    security.install(app)
    # -- end of security
    for module in (health, calls, suggestions, guard, documents, rules, events, audit, tickets, qa, gaps):
        app.include_router(module.router)
    try:
        from assist.routes import pages
    except ImportError:  # the pages are optional
        logger.warning("assist.routes.pages not available; no browser pages")
    else:
        app.include_router(pages.router)

    # Browser hardening and the truthful OpenAPI document (issue #14): security headers and the
    # WebSocket Origin check (assist/security/web.py), error bodies, codes and Bearer security (assist/openapi.py).
    # Added last, so the headers middleware is the outermost and every response passes through it.
    from assist.openapi import install_openapi
    from assist.security.web import install_security

    install_security(app, settings)
    install_openapi(app)
    return app
