"""The browser pages (agent side panel, editor, compliance) and the sample calls for demo mode.

The pages are plain HTML, CSS and JavaScript modules in `assist/static/`: no build step, nothing fetched
from the internet. Everything is served by this router, so including it in the app is all the wiring
needed (`/static/...` is a route here rather than a `StaticFiles` mount, because FastAPI's
`include_router` does not carry mounts over).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from assist.config import get_settings

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
# Swagger UI's files come from the fastapi-offline wheel (a runtime dependency): served here, never a CDN.
_SWAGGER_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
_CALL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# The pages are small and change with the code: let browsers revalidate instead of caching stale JS.
_NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter()


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=_NO_CACHE)


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The agent side panel."""
    return _page("panel.html")


@router.get("/panel", include_in_schema=False)
def panel() -> FileResponse:
    """The agent side panel."""
    return _page("panel.html")


@router.get("/editor", include_in_schema=False)
def editor() -> FileResponse:
    """The knowledge editor's page."""
    return _page("editor.html")


@router.get("/compliance", include_in_schema=False)
def compliance() -> FileResponse:
    """The compliance page: review queue, rules and figures."""
    return _page("compliance.html")


@router.get("/docs", include_in_schema=False)
def api_docs() -> FileResponse:
    """Swagger UI for /openapi.json, from local files (its start-up script is /static/js/swagger-init.js)."""
    return _page("docs.html")


def _swagger_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise HTTPException(status_code=404, detail="Swagger UI is not installed (pip install fastapi-offline)")
    return Path(spec.origin).parent / "static"


@router.get("/docs/assets/{name}", include_in_schema=False)
def api_docs_asset(name: str) -> FileResponse:
    """One of Swagger UI's files (a fixed list)."""
    if name not in _SWAGGER_FILES:
        raise HTTPException(status_code=404, detail=f"docs asset {name!r} not found")
    return FileResponse(_swagger_dir() / name, media_type=_SWAGGER_FILES[name], headers=_NO_CACHE)


_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@router.get("/static/{path:path}", include_in_schema=False)
def static_file(path: str) -> FileResponse:
    """A file of the pages (JS modules, CSS); never anything outside `assist/static/`."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"static file {path!r} not found")
    media_type = _MEDIA_TYPES.get(target.suffix, "application/octet-stream")
    return FileResponse(target, media_type=media_type, headers=_NO_CACHE)


def _calls_dir() -> Path:
    return get_settings().kb_dir / "calls"


def _read_call(path: Path) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            logger.warning("skipping a malformed line of a sample call", extra={"call_file": path.name, "line": lineno})
            continue
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item.get("speaker"):
            turns.append(item)
    return turns


@router.get("/v1/demo/calls", tags=["demo"])
def list_demo_calls() -> list[dict[str, Any]]:
    """The sample calls in kb_docs/calls/ that the side panel's demo mode can replay."""
    folder = _calls_dir()
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        turns = _read_call(path)
        customer = [t["text"] for t in turns if t.get("speaker") == "customer"]
        first = customer[0] if customer else (turns[0]["text"] if turns else "")
        out.append({"name": path.stem, "turns": len(turns), "preview": first[:80]})
    return out


@router.get("/v1/demo/calls/{name}", tags=["demo"])
def get_demo_call(name: str) -> list[dict[str, Any]]:
    """The turns of one sample call (`{"speaker", "text"}` JSON lines), in order."""
    stem = name.removesuffix(".jsonl")
    if not _CALL_NAME.match(stem):
        raise HTTPException(status_code=404, detail=f"sample call {name!r} not found")
    path = _calls_dir() / f"{stem}.jsonl"
    if not path.is_file():
        raise HTTPException(status_code=404, detail=f"sample call {name!r} not found")
    return _read_call(path)
