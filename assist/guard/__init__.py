"""Compliance guard: rule packs, normalisation with offsets, one-pass matching, clause scope, verdicts.

Public API::

    from assist.guard import Guard, Verdict, Match, RulePack, load_rule_pack
    guard = Guard.from_path(Path("kb_docs/rules"))
    verdict = guard.check("这款产品保本保息", speaker="agent")
    verdict.action, verdict.matches, verdict.advice, verdict.to_dict()
"""
from __future__ import annotations

from assist.guard.engine import SPEAKERS, Guard, Match, Verdict, example_failures
from assist.guard.rules import Disclosure, DisclosurePart, Rule, RulePack, load_rule_pack

__all__ = [
    "SPEAKERS",
    "Disclosure",
    "DisclosurePart",
    "Guard",
    "Match",
    "Rule",
    "RulePack",
    "Verdict",
    "example_failures",
    "load_rule_pack",
]
