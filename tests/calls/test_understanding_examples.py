"""Training material: the two-clause agent turns built from the editors' one-clause examples."""

from __future__ import annotations

from assist.calls.understanding.examples import composite_turns
from assist.calls.understanding.train import StepExample

STEPS = [
    StepExample("核对无误，是您本人。", "verify_identity", True, "zh-Hans", "done"),
    StepExample("我先帮您核实一下身份。", "verify_identity", False, "zh-Hans", "in_progress"),
    StepExample("请问是哪张卡？", None, False, "zh-Hans", "other"),
    StepExample("要不要帮您冻结这张卡？", "freeze_card", False, "zh-Hans", "question"),
    StepExample("已经帮您冻结了。", "freeze_card", True, "zh-Hans", "done"),
    StepExample("That's you verified.", "verify_identity", True, "en", "done"),
    StepExample("I'll freeze it once you're verified.", "freeze_card", False, "en", "promise"),
    StepExample("Which card is it?", None, False, "en", "other"),
]


def test_a_done_clause_stays_done_whatever_follows_and_a_promise_stays_a_promise() -> None:
    out = composite_turns(STEPS, per_example=3)
    source = {e.text.rstrip("。.?？"): e for e in STEPS}
    assert out and all(e.kind.endswith("+clause") for e in out)
    for e in out:
        parts = [p for p in source if p in e.text]
        own = [source[p] for p in parts if source[p].step == e.step and source[p].done == e.done]
        others = [source[p] for p in parts if source[p] not in own]
        assert own and others, e.text  # the example itself and one other clause
        assert all(o.lang == e.lang and not o.done and o.step != e.step for o in others), e.text
    assert {(e.step, e.done) for e in out} == {
        ("verify_identity", True),
        ("verify_identity", False),
        ("freeze_card", False),
        ("freeze_card", True),
    }


def test_composite_turns_are_deterministic_and_skip_turns_about_no_step() -> None:
    assert composite_turns(STEPS) == composite_turns(STEPS)
    assert all(e.step is not None for e in composite_turns(STEPS))
    assert composite_turns([e for e in STEPS if e.step is None]) == []
