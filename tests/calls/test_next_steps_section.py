"""A document's next-steps section gives way to a passage that answers the question (issue 17, answers5).

The next-steps section lists the agent's workflow in words many questions share (挂失, 冻结, card, report);
it used to come first for questions it does not answer ("钱包丢了怎么办" got the ATM policy's next steps).
"""

from __future__ import annotations

import pytest

from assist.calls.context import ContextQuery
from assist.calls.rank import Ranker, is_next_steps
from assist.protocols import SearchResult
from tests.fakes import search_result


def _passage(doc: str, section: str, text: str, *, score: float, language: str) -> SearchResult:
    return search_result(doc, text, section=section, score=score, language=language, e5=0.9)


CASES = [
    (
        "zh-Hans",
        "手机丢了，绑在上面的借记卡怎么先停用？",
        ("吞卡处理", "坐席下一步", "核实身份后办理停用或挂失，必要时引导客户报警。"),
        ("借记卡挂失", "挂失渠道", "借记卡可通过热线或手机银行挂失，挂失即时生效。"),
    ),
    (
        "zh-Hant",
        "我張提款卡唔見咗，可唔可以即刻停用？",
        ("提款機規定", "七、坐席下一步", "核實身份後辦理停用或報失，如有可疑交易，引導客戶報警。"),
        ("提款卡報失", "報失途徑", "提款卡可經熱線或流動銀行報失，報失即時生效。"),
    ),
    (
        "en",
        "my debit card's gone missing, can it be stopped right now?",
        ("atm-policy", "Next steps for the agent", "verify_identity, then freeze_card; advise reporting to police."),
        ("debit-card-loss", "How to report", "A debit card can be stopped by phone or in the app at once."),
    ),
]


@pytest.mark.parametrize(("language", "turn", "steps", "answer"), CASES)
def test_an_answering_passage_outranks_a_next_steps_section(
    language: str, turn: str, steps: tuple[str, str, str], answer: tuple[str, str, str]
) -> None:
    listed = _passage(*steps, score=1.0, language=language)
    answering = _passage(*answer, score=0.92, language=language)
    cq = ContextQuery(query=turn, turn_text=turn)
    ranked = Ranker(min_score=0.0, margin=1.0).run(query=cq, results=[listed, answering], language=language)
    assert [r.document_id for r in ranked.results] == [answer[0], steps[0]]  # still there, second


@pytest.mark.parametrize(("language", "turn", "steps", "answer"), CASES)
def test_a_next_steps_section_clearly_ahead_still_comes_first(
    language: str, turn: str, steps: tuple[str, str, str], answer: tuple[str, str, str]
) -> None:
    listed = _passage(*steps, score=1.0, language=language)
    weaker = _passage(*answer, score=0.7, language=language)
    cq = ContextQuery(query=turn, turn_text=turn)
    ranked = Ranker(min_score=0.0, margin=1.0).run(query=cq, results=[listed, weaker], language=language)
    assert ranked.results[0].document_id == steps[0]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("坐席下一步", True),
        ("七、坐席下一步", True),
        ("後續步驟", True),
        ("Next steps for the agent", True),
        ("Agent next step", True),
        ("补卡", False),
        ("How to report", False),
        ("下一步 > 费用", False),  # a nested heading counts by its last part
        ("Stepson accounts", False),
    ],
)
def test_next_steps_headings_are_recognised(heading: str, expected: bool) -> None:
    assert is_next_steps(heading) is expected
