"""QA criteria as the rubric means them (issue #19): identity verified before details (a verified call with
no detail passes; a verification question is not a disclosure), only claim categories count as forbidden
claims, a ticket is needed wherever a template is, and is passed when the agent registers the case; no
disclosure is due on a complaint call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assist.aftercall.qa import CallFacts, Criterion, load_rubric, score_call
from assist.aftercall.tickets import CallTurn

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = load_rubric(ROOT / "kb_docs" / "qa" / "rubric.yaml")


def _facts(turns: list[tuple[str, str]], **kw: Any) -> CallFacts:
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    return CallFacts(turns=said, topics=kw.pop("topics", set()), **kw)


def _verdicts(facts: CallFacts) -> dict[str, Any]:
    return {v.id: v for v in score_call(RUBRIC, facts)[1]}


class StubJudge:
    """Reads agent turns as the test says (what the e5 examples would)."""

    def __init__(self, groups: dict[str, str], steps: dict[str, list[str]] | None = None) -> None:
        self.groups, self.steps = groups, steps or {}

    def group(self, _c: Criterion, text: str) -> str | None:
        return self.groups.get(text)

    def nearest(self, _c: Criterion, text: str) -> str | None:
        return self.groups.get(text)

    def steps_done(self, text: str) -> list[str]:
        return self.steps.get(text, [])


GOOD = [
    ("agent", "Good afternoon, Harbor Bank, how can I help?"),
    ("customer", "I lost my card"),
    ("agent", "Sorry to hear that. Your full name and date of birth, please?"),
    ("customer", "Ann Lee, 3 May 1990"),
    ("agent", "Thank you Ms Lee, you're verified."),
]


def test_a_verified_call_without_details_passes_identity() -> None:
    v = _verdicts(_facts(GOOD))["identity_before_details"]
    assert v.passed is True and v.turns == [5]


def test_a_verification_question_naming_the_statement_is_not_a_disclosure() -> None:
    asking = "And the city of your statement address?"
    turns = [*GOOD[:3], ("agent", asking), ("customer", "Shanghai"), ("agent", "Thanks, you're verified.")]
    # a question that reads no value out asks for the detail: no disclosure, with or without the judge
    assert _verdicts(_facts(turns))["identity_before_details"].passed is True
    judged = _facts(turns, judge=StubJudge({asking: "asking"}))
    assert _verdicts(judged)["identity_before_details"].passed is True


def test_details_read_by_meaning_before_verification_fail_identity() -> None:
    detail = "Is it the card ending 5538? There's a pending payment of 8,640 to Skyway Travel."
    turns = [GOOD[0], ("customer", "I think I've been scammed"), ("agent", detail), *GOOD[2:]]
    v = _verdicts(_facts(turns, judge=StubJudge({detail: "details"})))["identity_before_details"]
    assert v.passed is False and v.turns == [3]


def test_the_turn_models_verify_step_counts_as_verification() -> None:
    said = "Right, that's all matching, let's go on."
    turns = [*GOOD[:4], ("agent", said)]
    assert _verdicts(_facts(turns))["identity_before_details"].passed is None
    judged = _facts(turns, judge=StubJudge({}, {said: ["verify_identity"]}))
    assert _verdicts(judged)["identity_before_details"].passed is True


def test_only_claim_categories_count_as_forbidden_claims() -> None:
    turns = [*GOOD, ("agent", "Anything else? Goodbye.")]
    asking = [{"turn": 3, "speaker": "agent", "action": "block", "categories": ["credential_request"]}]
    assert _verdicts(_facts(turns, alerts=asking))["forbidden_claim_corrected"].passed is True
    claim = [{"turn": 3, "speaker": "agent", "action": "block", "categories": ["guaranteed_return"]}]
    assert _verdicts(_facts(turns, alerts=claim))["forbidden_claim_corrected"].passed is False


def test_a_ticket_is_needed_wherever_a_template_is_and_registering_the_case_passes() -> None:
    assert _verdicts(_facts(GOOD))["ticket_submitted"].passed is None  # no template, no ticket topic
    v = _verdicts(_facts(GOOD, template="lost_stolen_card"))["ticket_submitted"]
    assert v.passed is False and "lost_stolen_card" in v.reason
    logged = [*GOOD, ("agent", "I've blocked it and logged the report, the reference number is LS2026.")]
    v = _verdicts(_facts(logged, template="lost_stolen_card"))["ticket_submitted"]
    assert v.passed is True and 6 in v.turns
    assert _verdicts(_facts(GOOD, template="lost_stolen_card", ticket_submitted=True))["ticket_submitted"].passed


def test_no_disclosure_is_due_on_a_wealth_complaint() -> None:
    turns = [("agent", "您好"), ("customer", "你们卖给我的理财亏了，我要投诉"), ("agent", "我帮您登记投诉。")]
    assert _verdicts(_facts(turns, topics={"wealth", "complaint"}))["disclosures_read"].passed is False
    v = _verdicts(_facts(turns, topics={"wealth", "complaint"}, template="wealth_complaint"))["disclosures_read"]
    assert v.passed is None and "complaint" in v.reason
