"""Steps, twelfth round (issue 17): a check finished and then the next thing said in the same breath.

- An unpunctuated English turn that says the caller is verified and goes straight on to the next question ("thank
  you that matches you're verified what can i help with") has finished the check: the words after the phrase stop
  where the next sentence starts, so its "can" is not read as a promise.
- A risk assessment's result told as it stands ticks the suitability check, also in a turn that first verified the
  caller ("身份核验通过了 我看一下您的风险测评 … 结果是C2 还在十二个月有效期内"); a lapsed result, a rule's range
  ("C3 及以上的客户"), a condition or a question does not.
- "结果是 C3" with a space is one clause, as a number would be.
- "對得上就算核對完成" sets a condition: not done.

The sentences are written for these tests; none is taken from the labelled calls.
"""

from __future__ import annotations

from typing import Any

import pytest

from assist.calls.understanding.text import compile_phrases, default_normalizer, said_plainly, tick_clauses
from assist.calls.understanding.told import ASSESSMENT_STEP, result_told

NORM, _ = default_normalizer()
VERIFIED = compile_phrases(["you're verified", "核对完成"], NORM)


@pytest.mark.parametrize(
    ("said", "plainly"),
    [
        ("thanks that all lines up you're verified what can i do for you today", True),
        ("great you're verified could you read me the last four digits of the card", True),
        ("once you're verified i can stop the card for you", False),
        ("i can stop the card as soon as you're verified", False),
        ("you're verified if the code you read matches", False),
        ("對得上就算核對完成", False),
    ],
)
def test_a_check_said_done_before_the_next_question_is_said_plainly(said: str, plainly: bool) -> None:
    assert said_plainly(said, NORM, VERIFIED) is plainly


@pytest.mark.parametrize(
    ("said", "told"),
    [
        ("好的 身份核验通过了 我帮您看一下风险测评 是今年二月做的 结果是C3 还在有效期内", True),
        ("我幫你查咗 你嘅風險承受能力評估係C2 仲喺十二個月有效期內", True),
        ("查到了 您是去年九月做的评估 C4进取型 还在有效期内", True),
        ("I need to look at your risk assessment first your questionnaire from june came out C4", True),
        ("let me pull up his profile it was done in may and he is c two so r2 and below", True),
        ("您的风险评估结果是C3 不过已经超过十二个月有效期了 要重新评估", False),
        ("your assessment came out c3 but it has expired so it needs redoing", False),
        ("评估结果为C3及以上的客户才可以买R3产品", False),
        ("products rated r3 suit customers whose assessment is c3 or above", False),
        ("等您做完评估 结果是C3的话就可以买", False),
        ("您的风险测评结果是C几来着？", False),
        ("身份核验通过了 请问您要办什么业务", False),
    ],
)
def test_an_assessments_result_told_as_it_stands_ticks_the_suitability_check(said: str, told: bool) -> None:
    found = result_told(said, tick_clauses(said, NORM), NORM)
    assert (ASSESSMENT_STEP in found) is told, found


def test_a_risk_level_after_a_space_stays_in_its_clause() -> None:
    clauses = tick_clauses("您去年 11 月做的测评结果是 C3，还在 12 个月有效期内", NORM)
    assert clauses[0].endswith("结果是 C3"), clauses
    assert result_told("您去年 11 月做的测评结果是 C3，还在 12 个月有效期内", clauses, NORM) == {ASSESSMENT_STEP: 0}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("said", "ticks"),
    [
        ("thanks that all lines up you're verified what can i do for you today", ["verify_identity"]),
        ("多謝黃太 核實咗 你想查邊張卡", ["verify_identity"]),
        # two steps, each finished in a clause of its own
        (
            "好的 身份核验通过了 我帮您看一下风险测评 是今年二月做的 结果是C3 还在有效期内",
            ["verify_identity", "check_suitability"],
        ),
        ("您的风险评估结果是C3 不过已经超过十二个月有效期了 要重新评估", []),
        # two phrases said are not two steps: a cooling-off told as over is not explained
        ("多謝梁生 身份核實咗 我睇到份保單係舊年交付 冷靜期早就過咗", ["verify_identity"]),
        ("once you're verified i can stop the card for you", []),
    ],
)
def test_the_shipped_model_ticks_a_check_finished_before_the_next_thing(
    shipped_reader: Any, said: str, ticks: list[str]
) -> None:
    steps, _ = shipped_reader.agent(said, already=())
    assert sorted(steps) == sorted(ticks)
