"""Shared fixtures: every test runs against a throw-away data directory."""

from __future__ import annotations

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
    # and the model's tests attach it explicitly (tests/guard/test_guard_with_model.py, test_claim_model*.py).
    monkeypatch.setenv("ASSIST_GUARD_MODEL", "false")
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()
