"""ASR text made readable for retrieval and answers: fillers, stutters, Cantonese, code-switching."""

from __future__ import annotations

from assist.calls.asr import normalize_asr
from assist.calls.context import ContextQueryBuilder
from assist.calls.state import CallState


def test_fillers_and_stutters_go() -> None:
    assert normalize_asr("呃 我 我钱包 嗯 被人摸走了") == "我钱包 被人摸走了"
    assert normalize_asr("um so like I I lost my card uh yesterday") == "so I lost my card yesterday"


def test_cantonese_words_become_written_chinese() -> None:
    out = normalize_asr("頭先喺旺角唔見咗銀包 點算好")
    assert out == "剛才在旺角遺失了錢包 怎麼辦"


def test_english_words_inside_a_chinese_turn_become_the_policy_words() -> None:
    assert "遺失" in normalize_asr("我張卡 lost 咗啊 點算")
    assert "验证码" in normalize_asr("我把 OTP 告诉了对方怎么办")
    assert normalize_asr("I lost my card") == "I lost my card"  # an English turn keeps its words


def test_written_questions_are_not_touched() -> None:
    for text in ("信用卡丢了怎么办？", "How long does a replacement card take?", "補卡要收費嗎？", "限额是多少"):
        assert normalize_asr(text) == text


def test_the_retrieval_query_reads_the_turn_in_written_form() -> None:
    cq = ContextQueryBuilder().run(text="呃 我張卡 lost 咗啊 頭先喺旺角", state=CallState("c"))
    assert "遺失" in cq.query and "呃" not in cq.query and "咗" not in cq.query
    assert "遺失" in cq.turn_text
