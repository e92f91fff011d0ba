"""Steps, ninth round (issue 17): what is not done yet, said with the grammar of advice, conditions and offers.

- A condition said after its clause ("已經轉出去的話": if it has gone already), what is to be done as soon as
  possible ("要盡快撥 165 報案"), a recommendation ("建議直接掛失") and what comes next ("…，再睇吓你嘅評估").
- An exclamation is no result ("太好了"), and a push sent to the customer's app is a means of confirmation, not
  the check done ("我喺 App 推送咗確認").
- A clause a tag question follows offers ("我請主管來跟您說明後續，好嗎？").
- A check said to have lapsed keeps its step open ("…已經過期了").

Each kind comes with the completion that still ticks. The model is built by hand as in test_understanding_sixth.py.
The sentences are written for these tests in three scripts; none is taken from the labelled calls.
"""

from __future__ import annotations

import pytest

from assist.calls.understanding.model import TurnUnderstanding
from assist.calls.understanding.text import says_done, tick_clauses
from tests.calls.test_understanding_sixth import NORM, OTHER, _model, _steps, _vec

SUITABILITY = "check_suitability"
ESCALATE = "escalate_supervisor"


@pytest.mark.parametrize(
    ("text", "done"),
    [
        ("已經轉出去的話", False),
        ("如果已经转出去的话", False),
        ("已經匯出的要盡快撥165報案", False),
        ("建议直接挂失补一张新卡", False),
        ("再睇吓你嘅風險承受能力評估", False),
        ("太好了", False),
        ("那就好了", False),
        ("我喺 App 推送咗確認", False),
        ("If it has gone already, call 165 as soon as you can", False),
        # the completions beside them still say done
        ("對方帳戶已經登記為警示帳戶", True),
        ("新卡已经补办好了", True),
        ("處理好了", True),
        ("再次确认，卡已经冻结了", True),
        ("收到確認，身份核實咗", True),
    ],
)
def test_advice_conditions_and_what_comes_next_are_not_done(text: str, done: bool) -> None:
    assert says_done(NORM(text)) is done


def test_a_turn_of_advice_keeps_only_its_plain_clauses_for_ticking() -> None:
    turn = "這是典型的假冒檢警詐騙，已經轉出去的話，請盡快撥打165報案"
    assert tick_clauses(turn, NORM) == ["這是典型的假冒檢警詐騙"]


@pytest.mark.parametrize(
    ("text", "ticked"),
    [
        ("我請主管來跟您說明後續，好嗎？", False),
        ("我請主管來跟您說明後續，可以嗎？", False),
        ("I'll get my supervisor to explain the next steps, okay?", False),
        ("我已經請主管來跟您說明後續。", True),
    ],
)
def test_a_clause_a_tag_question_follows_offers(text: str, ticked: bool) -> None:
    pinned = _model(step_phrases={ESCALATE: ["请主管", "get my supervisor"]})
    assert _steps(pinned, OTHER, text) == ([ESCALATE] if ticked else [])


def test_what_comes_next_does_not_tick_its_pin() -> None:
    pinned = _model(step_phrases={SUITABILITY: ["风险承受能力评估"]})
    assert _steps(pinned, OTHER, "介紹產品之前，我要先完成身份核實，再睇吓你嘅風險承受能力評估。") == []
    assert _steps(pinned, OTHER, "你嘅風險承受能力評估我睇咗，係C3，仲有效。") == [SUITABILITY]


def test_a_lapsed_check_keeps_the_step_open() -> None:
    strong: TurnUnderstanding = _model()
    strong.thresholds["step"] = {"default": 0.7}
    strong.thresholds["step_floor"] = 0.7
    vec = _vec(SUITABILITY)
    said = "我查到您的評估是去年做的，已經過期了"
    lapsed = [(vec, "已經過期了")]
    assert [s for s, _ in strong.steps_done(vec, said, asked=lapsed)] == []
    checked = "我查到您的評估是今年做的，結果是C3"
    assert [s for s, _ in strong.steps_done(vec, checked, asked=[(vec, "結果是C3")])] == [SUITABILITY]


def test_a_not_when_phrase_vetoes_the_heads_and_the_pins() -> None:
    """A turn that says a step's `not_when` phrase does not complete it, however sure the heads and whatever pin it
    says; the same words without the phrase still tick."""
    from dataclasses import replace

    from tests.calls.test_understanding_sixth import SHIPPED

    cooling = "explain_cooling_off"
    model = _model(step_phrases={cooling: ["冷静期"]})
    vetoed = model.with_playbook(replace(model.playbook, step_vetoes={cooling: SHIPPED.step_vetoes[cooling]}))
    placements = (
        "私人配售產品有24小時冷靜期，冷靜期內可以無條件取消。",
        "A private placement can be cancelled within 24 hours.",
    )
    for text in placements:
        assert _steps(vetoed, _vec(cooling), text) == [], text
    insurance = "你份保單有21日冷靜期，冷靜期內可以無條件取消。"
    assert _steps(vetoed, _vec(cooling), insurance) == [cooling]
    assert _steps(model, _vec(cooling), "私人配售產品有24小時冷靜期，冷靜期內可以無條件取消。") == [cooling]
