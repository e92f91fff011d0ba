"""A follow-up in the customer's own words stays with the policy in play (issue 17, answers5).

The relevance gate judges a passage by the words it shares with the turn and by the dense models' similarity.
A follow-up such as "那得提前几天跟你们说？" after a mortgage question shares few words with the mortgage
policy, and the gate used to cut that policy's passages: another document's passage, as weak, was then cited
instead (it took over on its fused score). The document in play now passes the gate from the lower score
for needs; the re-ranking still lets a clearly better passage of another policy take over.
"""

from __future__ import annotations

import pytest

from assist.calls.context import ContextQuery
from assist.calls.rank import Ranker
from assist.config import Settings
from assist.protocols import SearchResult
from tests.fakes import search_result

WEAK = 0.81  # an e5 similarity that is "somewhat related": relevance (0.81 - 0.75) * 4 = 0.24


def _passage(doc: str, text: str, *, e5: float = WEAK, score: float = 1.0, language: str = "zh-Hans") -> SearchResult:
    return search_result(doc, text, score=score, language=language, e5=e5)


def _query(turn: str, in_play: str | None) -> ContextQuery:
    return ContextQuery(query=turn, turn_text=turn, prefer_documents=[in_play] if in_play else [])


CASES = [
    # (script, the follow-up, the policy in play's passage, another policy's passage)
    (
        "zh-Hans",
        "那得提前几天跟你们说？",
        "借款人应于约定日期前一个月向贷款行递交书面申请。",
        "基金赎回款一般于 T+3 日内划回。",
    ),
    (
        "en",
        "and when does the cash land back in my account",
        "Refunds are paid within 30 days of a complete request.",
        "Outward remittances are credited within two working days.",
    ),
    (
        "zh-Hant",
        "咁要幾耐先收到錢㗎",
        "保險公司收妥文件後於三十日內發還款項。",
        "跨行匯款一般於兩個工作天內入賬。",
    ),
]


@pytest.mark.parametrize(("language", "turn", "own", "other"), CASES)
def test_a_follow_up_is_answered_from_the_policy_in_play(language: str, turn: str, own: str, other: str) -> None:
    in_play = _passage("policy-in-play", own, score=0.8, language=language)
    elsewhere = _passage("other-policy", other, score=1.0, language=language)
    ranker = Ranker(min_score=0.35, in_play_score=0.2)
    ranked = ranker.run(query=_query(turn, "policy-in-play"), results=[elsewhere, in_play], language=language)
    assert [r.document_id for r in ranked.results] == ["policy-in-play"]
    # before: the gate cut both weak passages alike
    assert Ranker(min_score=0.35).run(query=_query(turn, "policy-in-play"), results=[elsewhere, in_play],
                                      language=language).results == []  # fmt: skip


@pytest.mark.parametrize(("language", "turn", "own", "other"), CASES)
def test_without_a_policy_in_play_a_weak_passage_is_still_cut(language: str, turn: str, own: str, other: str) -> None:
    ranker = Ranker(min_score=0.35, in_play_score=0.2)
    results = [_passage("other-policy", other, language=language), _passage("policy-in-play", own, language=language)]
    assert ranker.run(query=_query(turn, None), results=results, language=language).results == []


def test_the_policy_in_play_below_the_lower_score_is_cut_too() -> None:
    unrelated = _passage("policy-in-play", "网点营业时间为工作日九点至十七点。", e5=0.76)  # relevance 0.04
    ranker = Ranker(min_score=0.35, in_play_score=0.2)
    assert ranker.run(query=_query("那得提前几天跟你们说？", "policy-in-play"), results=[unrelated],
                      language="zh-Hans").results == []  # fmt: skip


def test_a_clearly_better_passage_of_another_policy_still_takes_over() -> None:
    in_play = _passage("policy-in-play", "借款人应于约定日期前一个月向贷款行递交书面申请。", score=0.5)
    better = _passage("other-policy", "提前几天申请：跨境汇款须提前三天预约。", e5=0.9, score=1.0)
    ranker = Ranker(min_score=0.35, in_play_score=0.2, margin=1.0)
    ranked = ranker.run(query=_query("那得提前几天跟你们说？", "policy-in-play"), results=[in_play, better],
                        language="zh-Hans").results  # fmt: skip
    assert ranked[0].document_id == "other-policy"


def test_a_bad_in_play_score_is_refused() -> None:
    with pytest.raises(ValueError, match="in_play_score must be between 0 and 1, got 1.5"):
        Ranker(min_score=0.35, in_play_score=1.5)


def test_the_call_engine_lets_the_policy_in_play_through_from_the_need_score(make_call_engine) -> None:
    engine = make_call_engine()
    settings = Settings()
    assert engine.suggester.ranker.in_play_score == min(settings.need_min_answer_score, settings.min_answer_score)
