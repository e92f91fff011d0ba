"""Pieces for fake guards: the real rule type, so a fake satisfies :class:`assist.protocols.Guard`."""

from __future__ import annotations

from assist.compliance.guard.rules import Rule


def fake_rule(rule_id: str, category: str, severity: str = "block", advice: str = "") -> Rule:
    """A rule a fake guard reports as in force (it matches nothing itself: the fake decides)."""
    return Rule(
        id=rule_id,
        category=category,
        severity=severity,
        languages=("zh", "en"),
        phrases=(),
        regexes=(),
        exceptions=(),
        exception_regexes=(),
        positive=(),
        negative=(),
        advice=advice,
        source="test",
    )
