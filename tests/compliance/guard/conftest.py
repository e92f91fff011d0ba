"""Fixtures for the guard tests: the default pack, compiled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.compliance.guard import Guard

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "kb_docs" / "rules"
CASES = ROOT / "kb_docs" / "guard" / "cases.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "guard_cases_holdout.jsonl"


@pytest.fixture(scope="session")
def guard() -> Guard:
    """The default rule pack (its examples are checked while it loads)."""
    return Guard.from_path(RULES)
