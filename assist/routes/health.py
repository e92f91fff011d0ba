"""Liveness, readiness and Prometheus metrics (no key needed).

- ``/healthz`` is liveness: 200 while the process runs (a restart would not help a server that is only
  waiting for its rules), with the guard's status in the body so a dashboard sees a guard without rules.
- ``/readyz`` is readiness: 200 only when the database answers, the indexes are loaded, the guard has
  rules in force and, when ASSIST_GUARD_MODEL is on, its claim model loaded; else 503 naming what is missing.
  A load balancer sends no traffic to a server whose guard could not load: the guard never fails open, and a
  replica whose model did not load would judge agents' words with less than the others.
- ``/metrics`` is Prometheus text (assist/observability/metrics.py): every process of the host in one scrape
  when PROMETHEUS_MULTIPROC_DIR is set, plus what the database and the loaded indexes hold at scrape time.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class ModelStatus(BaseModel):
    """The guard's claim model: in force, or why not (the rules then check alone)."""

    ready: bool
    reason: str | None = None
    path: str | None = None
    version: str | None = None


class GuardStatus(BaseModel):
    """Whether the compliance guard can check: rules in force, and why not when it cannot."""

    ready: bool
    rules: int
    reason: str | None = None
    model: ModelStatus | None = None


class TurnModelStatus(BaseModel):
    """Whether the turn-understanding model runs (else the live call uses its keywords only), and why not."""

    ready: bool
    reason: str | None = None
    data_hash: str | None = None


class HealthStatus(BaseModel):
    """The answer of /healthz."""

    status: str
    guard: GuardStatus
    turn_model: TurnModelStatus | None = None


class Check(BaseModel):
    """One part of readiness."""

    ok: bool
    detail: str | None = None


class Readiness(BaseModel):
    """The answer of /readyz: each part's state and, when not ready, what is missing."""

    status: str
    detail: str | None = None
    checks: dict[str, Check] = Field(default_factory=dict)
    guard: GuardStatus


_NOT_LOADED = {"ready": False, "rules": 0, "reason": "the server is starting: the rules are not loaded yet"}


def _guard_status(request: Request) -> dict[str, Any]:
    holder = getattr(request.app.state, "guard_holder", None)
    return dict(holder.status()) if holder is not None else dict(_NOT_LOADED)


def _database(request: Request) -> Check:
    engine = getattr(request.app.state, "db_engine", None)
    if engine is None:
        return Check(ok=False, detail="the database is not connected yet")
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means: not reachable now
        logger.warning("readiness: the database does not answer", extra={"error": type(exc).__name__})
        return Check(ok=False, detail=f"the database does not answer ({type(exc).__name__})")
    return Check(ok=True)


def _indexes(request: Request) -> Check:
    # The lifespan sets `ready` after the knowledge base has loaded (or rebuilt) its indexes.
    if getattr(request.app.state, "knowledge", None) is None or not getattr(request.app.state, "ready", False):
        return Check(ok=False, detail="the indexes are not loaded yet")
    return Check(ok=True)


def _guard(request: Request, guard: dict[str, Any]) -> Check:
    """The guard: rules in force and, when the settings ask for it (ASSIST_GUARD_MODEL), its claim model."""
    if not guard["ready"]:
        return Check(ok=False, detail=guard.get("reason"))
    settings = getattr(request.app.state, "settings", None)
    if settings is None or not getattr(settings, "guard_model", False):
        return Check(ok=True)
    model = guard.get("model")
    if model is None:
        return Check(ok=False, detail="ASSIST_GUARD_MODEL is on but no claim model is attached to the guard")
    if not model.get("ready"):
        return Check(ok=False, detail=str(model.get("reason") or "the claim model is not loaded"))
    return Check(ok=True)


@router.get("/healthz", response_model=HealthStatus)
def healthz(request: Request) -> HealthStatus:
    """Liveness: 200 while the process runs; `guard` says whether compliance checks can run ("degraded": the
    claim model is not in force, the rules check alone)."""
    guard = _guard_status(request)
    status = "ok" if getattr(request.app.state, "ready", False) else "starting"
    if status == "ok" and guard.get("model") is not None and not guard["model"].get("ready"):
        status = "degraded"  # the claim model could not load: only the phrase and regex layers check
    return HealthStatus(status=status, guard=GuardStatus(**guard), turn_model=_turn_model(request))


def _turn_model(request: Request) -> TurnModelStatus | None:
    understanding = getattr(getattr(request.app.state, "call_engine", None), "understanding", None)
    st = getattr(understanding, "status", None)
    if st is None:
        return None
    return TurnModelStatus(ready=bool(st.ready), reason=st.reason, data_hash=st.data_hash)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when the database answers, the indexes are loaded and the guard has its rules (and its
    claim model when ASSIST_GUARD_MODEL is on); else 503 naming what is not ready."""
    guard = _guard_status(request)
    checks = {
        "database": _database(request),
        "indexes": _indexes(request),
        "guard": _guard(request, guard),
    }
    missing = [f"{name}: {c.detail}" for name, c in checks.items() if not c.ok]
    body = Readiness(
        status="ready" if not missing else "not ready",
        detail="; ".join(missing) or None,
        checks=checks,
        guard=GuardStatus(**guard),
    )
    return JSONResponse(body.model_dump(), status_code=200 if not missing else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> Response:
    """Prometheus metrics: calls, turns, suggestions and alerts, turn and per-stage latency, guard verdicts,
    HTTP requests, open sockets, notify lag, index size and first-contact resolution per topic."""
    from assist.observability.collect import ServiceCollector
    from assist.observability.metrics import render

    state = request.app.state
    ready = getattr(state, "ready", False)  # before the lifespan has built them, the parts are not there
    extra = ServiceCollector(
        db_engine=getattr(state, "db_engine", None) if ready else None,
        knowledge=getattr(state, "knowledge", None) if ready else None,
    )
    body, content_type = render(extra)
    return Response(body, media_type=content_type)
