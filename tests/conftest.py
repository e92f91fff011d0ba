"""Shared fixtures: every test runs against a throw-away data directory."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from assist.config import get_settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ASSIST_DATA_DIR at a temp dir so that no test touches ./data."""
    data = tmp_path / "data"
    monkeypatch.setenv("ASSIST_DATA_DIR", str(data))
    monkeypatch.delenv("ASSIST_DATABASE_URL", raising=False)
    # The guard's claim model is off unless a test turns it on: the rule workflows are tested on their own,
    # and the model's tests attach it (tests/compliance/guard/test_guard_with_model.py, test_claim_model*.py).
    monkeypatch.setenv("ASSIST_GUARD_MODEL", "false")
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo what a CLI command's `configure_logging` did to the root and uvicorn loggers, so that no test's log
    level or handler leaks into the next (caplog relies on the root logger's level)."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "faiss.loader")
    root = logging.getLogger()
    saved = [(root, root.level, list(root.handlers), root.propagate)]
    saved += [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in map(logging.getLogger, names)]
    yield
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        # pytest's capture handlers come and go with each phase (setup, call, teardown): keep its current ones
        logger.handlers[:] = [h for h in logger.handlers if _is_pytests(h)] + [
            h for h in handlers if not _is_pytests(h)
        ]
        logger.propagate = propagate


def _is_pytests(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")
