"""Fixtures for the compliance tests: the small rule pack the workflow tests use too."""

from __future__ import annotations

from tests.workflows.conftest import RULE_PACK, rules_dir

__all__ = ["RULE_PACK", "rules_dir"]
