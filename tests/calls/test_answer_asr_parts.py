"""An unpunctuated (ASR) turn's pauses are not separate questions, and Traditional/Taiwanese period units
(工作天, 營業日, 曆日) are periods: the answer's few sentences go to what was asked.

Sentences here are written for these tests; none comes from a natural-call set.
"""

from __future__ import annotations

from assist.calls.compose import ExtractiveComposer
from assist.calls.sentences import holds, question_parts
from assist.protocols import SearchResult
from tests.fakes import search_result


def _passage(doc: str, section: str, text: str, language: str) -> SearchResult:
    return search_result(doc, text, section=section, language=language)


REFUND_ZH = _passage(
    "refund-zh",
    "退款时限",
    "退款一般在受理后 10 个工作日内退回原卡。"
    "境外商户的退款一般在 20 个工作日内退回。"
    "客服热线全天受理咨询。"
    "表上须签全名。",
    "zh-Hans",
)

REFUND_EN = _passage(
    "refund-en",
    "Refund times",
    "A refund is returned to the original card within 10 business days. "
    "Refunds from merchants abroad take up to 20 business days. "
    "We need nothing else once the request form is received. "
    "You can call the hotline at any time.",
    "en",
)

REISSUE_HANT = _passage(
    "reissue-hant",
    "補發新卡",
    "新卡卡號會更改，信用額不變。新卡到手後須先啟動。"
    "每年首次補發免費，其後每次 HK$40。補發的卡約 7 個工作天內以平郵寄出。",
    "zh-Hant",
)


def test_the_pauses_of_an_unpunctuated_turn_are_not_questions_of_their_own() -> None:
    parts = question_parts("退款什么时候能退回来 我找过客服 表我也签了")
    assert [sorted(p.kinds) for p in parts] == [["period"]]
    # a punctuated question of two parts, and an ASR one whose pieces ask two kinds of fact, still split
    assert len(question_parts("退款要多久？要不要手续费？")) == 2
    assert [sorted(p.kinds) for p in question_parts("我想退款 要多久 要不要手续费") if p.kinds] == [
        ["period"],
        ["money"],
    ]


def test_an_asr_question_gets_both_refund_times_not_a_sentence_per_pause() -> None:
    comp = ExtractiveComposer().run(
        query="退款什么时候能退回来 我找过客服 表我也签了", results=[REFUND_ZH], language="zh-Hans"
    )
    assert "10 个工作日内" in comp.answer
    assert "20 个工作日内" in comp.answer


def test_an_unpunctuated_english_question_gets_both_refund_times() -> None:
    comp = ExtractiveComposer().run(
        query="how long will my refund take and do you need anything else from me and can i call you back",
        results=[REFUND_EN],
        language="en",
    )
    assert "within 10 business days" in comp.answer
    assert "up to 20 business days" in comp.answer


def test_traditional_and_taiwanese_period_units_are_periods() -> None:
    assert holds("補發的卡約 7 個工作天內寄出", {"period"}) == {"period"}
    assert holds("款項於 2 個營業日內退回", {"period"}) == {"period"}
    assert holds("冷靜期為 14 個曆日", {"period"}) == {"period"}
    assert holds("每次收費 HK$40", {"period"}) == set()


def test_a_hong_kong_caller_asking_when_and_how_much_gets_the_delivery_time_and_the_fee() -> None:
    comp = ExtractiveComposer().run(query="張新卡幾時寄到？要唔要錢？", results=[REISSUE_HANT], language="zh-Hant")
    assert "7 個工作天內" in comp.answer
    assert "HK$40" in comp.answer
