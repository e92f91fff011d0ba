"""Steps, eleventh round (issue 17): turns that start a check, not finish it.

An agent turn that asks the caller for their details, sends a confirmation for them to press, or says the work
starts now leaves the step open, whatever a clause of it says in passing:
- a clause that only acknowledges ("收到了") carries the turn's meaning in its vector, not a result;
- a request in Cantonese ("唔該你講一講…", "同埋講埋…", "撳確認") or "請你…" asks the customer for their part, also
  when the details it asks for follow it ("…麻烦您先说一下您母亲的姓名 还有卡号后四位");
- "我現在給您登記…" is under way; "…就需要本人核驗了" is what another matter would need; "報咗即刻停卡" is what
  follows once a card is reported; "我已經發咗" with nothing after it is a confirmation sent;
- a lone English word between Chinese words ("…流動理財 App 推送咗…") stays in its clause.

And a check whose result is told is done, though the turn opens with "let me check": "我先查一下您的风险测评 …
结果是C3 还在有效期内".

The sentences are written for these tests; none is taken from the labelled calls.
"""

from __future__ import annotations

from typing import Any

import pytest

from assist.calls.understanding.text import (
    default_normalizer,
    keeps_open,
    other_clauses,
    requests,
    says_done,
    tick_clauses,
)

NORM, _ = default_normalizer()


def test_an_acknowledgement_before_a_check_does_not_tick_on_its_own() -> None:
    assert tick_clauses("收到了，再跟您核对一下家庭住址", NORM) == []
    assert tick_clauses("明白，身份核對完成", NORM) == ["身份核對完成"]


def test_a_lone_english_word_stays_in_its_chinese_clause() -> None:
    said = "好的 我已經幫你 cancel 咗張卡 新卡五個工作天寄到"
    assert tick_clauses(said, NORM) == ["我已經幫你 cancel 咗張卡", "新卡五個工作天寄到"]
    pushed = "好 我已經喺你嘅 App 推送咗確認 你撳一撳"
    assert tick_clauses(pushed, NORM) == []  # the push waits on the customer
    assert [c for c, _ in other_clauses(pushed, NORM)] == ["我已經喺你嘅 App 推送咗確認", "你撳一撳"]


@pytest.mark.parametrize(
    ("clause", "asks_customer"),
    [
        ("唔該你講一講持卡人全名", True),
        ("同埋講埋你嘅地址", True),
        ("請你喺 App 撳確認", True),
        ("麻烦您说一下对方账户", True),
        ("唔該晒", False),  # thanks
        ("卡已經停用咗", False),
    ],
)
def test_requests_in_three_scripts(clause: str, asks_customer: bool) -> None:
    assert requests(clause, NORM) is asks_customer


@pytest.mark.parametrize(
    ("clause", "still_open"),
    [
        ("我现在给您登记欺诈案件", True),
        ("而家幫你辦理報失", True),
        ("我现在给您登记了欺诈案件", False),
        ("我现在为您登记欺诈案件……已经登记好了", False),
    ],
)
def test_work_that_starts_now_keeps_its_step_open(clause: str, still_open: bool) -> None:
    assert keeps_open(clause, NORM, promises_too=False, closing=False) is still_open


@pytest.mark.parametrize(
    ("clause", "done"),
    [
        ("其他业务就需要持卡人本人核验了", False),
        ("報咗即刻停卡", False),
        ("我已經發咗", False),
        ("我发咗个确认俾你", False),
        ("已經幫你報咗失", True),
        ("我已经发了短信通知您", True),
    ],
)
def test_what_another_matter_needs_or_a_sent_confirmation_is_not_done(clause: str, done: bool) -> None:
    assert says_done(NORM(clause)) is done


@pytest.mark.parametrize(
    ("clause", "done"),
    [
        ("结果是C4 还在有效期内", True),
        ("結果係 C2", True),
        ("结果是C二稳健型", True),
        ("it came out c three in april", True),
        ("your questionnaire gives a C2 profile", True),
        ("the result is valid for twelve months", False),
        ("如果评估结果是C1 就只能买R1的产品", False),
    ],
)
def test_a_risk_assessments_result_told_says_it_was_checked(clause: str, done: bool) -> None:
    assert says_done(NORM(clause)) is done


@pytest.mark.slow
@pytest.mark.parametrize(
    ("said", "ticks"),
    [
        ("明白 屋企人都可以代報失 報咗就即時停用 唔該講一講持卡人全名同卡號最後四位", []),
        ("好 我喺你手機 App 發咗個確認 唔該撳一撳 同埋講埋你嘅地址", []),
        ("可以 家人打嚟可以先幫持卡人報失 其他事就需要持卡人本人核實了 麻煩你講一講你媽媽嘅全名", []),
        ("收到了 再跟您核对一下家庭住址", []),
        ("好的 身份核验通过了 麻烦您说一下要挂失哪一张卡", ["verify_identity"]),
        ("多謝 身份核實咗 我而家幫你睇吓張單", ["verify_identity"]),
        ("okay that's all verified, now which card do you want me to stop", ["verify_identity"]),
        ("我先帮您查一下风险测评 是今年三月做的 结果是C4 还在有效期内 可以买R4及以下的", ["check_suitability"]),
        ("我幫你睇吓風險評估 你係上年十月做嘅 結果係C2 仲喺十二個月有效期內 可以買R2或以下", ["check_suitability"]),
        (
            "let me check your risk assessment, you did it last april and the result was C3, still valid, so R3 and "
            "below are fine",
            ["check_suitability"],
        ),
        ("the result is valid for twelve months once you finish the questionnaire", []),
    ],
)
def test_the_shipped_model_ticks_a_finished_check_not_one_that_starts(
    shipped_reader: Any, said: str, ticks: list[str]
) -> None:
    steps, _ = shipped_reader.agent(said, already=())
    assert steps == ticks
