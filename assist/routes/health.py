"""Liveness and Prometheus metrics (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    """The answer of /healthz."""

    status: str


@router.get("/healthz", response_model=HealthStatus, responses={503: {"model": HealthStatus}})
def healthz(request: Request) -> JSONResponse:
    """200 once the models, indexes and guard are loaded; 503 before."""
    if getattr(request.app.state, "ready", False):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "starting"}, status_code=503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    """Counters of turns, suggestions and alerts, and the suggestion latency histogram (Prometheus text)."""
    m = getattr(request.app.state, "metrics", None)
    body = m.render() if m is not None else ""
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")
