"""The Guard protocol: the compiled guard and the test fakes all satisfy it and return real verdicts."""

from __future__ import annotations

from assist.compliance.guard.engine import Guard as RuleGuard
from assist.compliance.guard.engine import Match, Verdict, unavailable_reason
from assist.compliance.holder import GuardHolder
from assist.protocols import Guard
from tests.fakes import FakeGuard


def test_the_compiled_guard_and_the_fake_satisfy_the_protocol_with_real_verdicts(guard: RuleGuard) -> None:
    for g in (guard, FakeGuard()):
        assert isinstance(g, Guard)
        verdict = g.check("这款产品保本", "agent")
        assert isinstance(verdict, Verdict) and verdict.blocked
        assert all(isinstance(m, Match) for m in verdict.matches)
        assert verdict.to_dict()["matches"][0]["rule_id"] in {"guaranteed_return", "no_guaranteed_return"}
        assert unavailable_reason(g) is None and GuardHolder(g).status()["rules"] == len(g.rules) > 0


def test_a_guard_without_rules_is_unavailable() -> None:
    empty = RuleGuard.from_rules([])
    assert unavailable_reason(empty) == "the compliance guard has no rules in force"
    assert GuardHolder(empty).ready is False
