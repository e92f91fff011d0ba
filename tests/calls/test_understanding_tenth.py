"""Steps, tenth round (issue 17): word-segmented ASR text, and a step's phrase in a long unpunctuated turn.

- Some Chinese speech recognisers put a space between every word ("好 的 陈 先生 身份 核验 通过 了"). Neither the
  steps' phrases nor the encoder read Chinese that way: the reading stages get the turn joined back
  (`asr.written_form`); the transcript keeps what was said. A turn whose spaces mark pauses between phrases keeps
  them (they cut its clauses).
- An unpunctuated turn is one long clause. A negation or a question a dozen words after the phrase that says a
  step is done is about something else ("…身份核验通过了…卡就不能解冻了"); one right before it still counts ("once
  you're verified I'll…").

The sentences are written for these tests; none is taken from the labelled calls.
"""

from __future__ import annotations

import pytest

from assist.calls.asr import written_form
from assist.calls.understanding.text import compile_phrases, said_plainly
from tests.calls.test_understanding_sixth import NORM


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("好 的 陈 先生 身份 核验 通过 了 您 这张 卡", "好的陈先生身份核验通过了您这张卡"),
        ("好 核實 咗 身份 喇 我 睇 到 尾號 3309 張 卡", "好核實咗身份喇我睇到尾號 3309 張卡"),
    ],
)
def test_a_word_segmented_turn_is_joined_back(said: str, written: str) -> None:
    assert written_form(said) == written


@pytest.mark.parametrize(
    "said",
    [
        "喂 喂 是海港银行吧 我昨天在你们那个取款机取钱 它少吐了五百块",  # pauses between phrases
        "我叫 王 芳",  # too short to tell
        "great you're verified mr ho i've got the ticket",
    ],
)
def test_other_text_is_left_as_it_was_said(said: str) -> None:
    assert written_form(said) == said


VERIFIED = compile_phrases(["身份核验通过", "you're verified"], NORM)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        # a negation or question further on is about the card or the next matter
        ("好的陈先生身份核验通过了您尾号四七二一这张卡昨晚已经正式挂失了正式挂失以后卡就不能解冻了只能补新卡", True),
        ("great you're verified mr ho i've got the ticket it was about the plan you can't ask for a review yet", True),
        # a condition or a negation right before the phrase still counts
        ("once you're verified i'll put a stop on the card and then we can look at the replacement and its fee", False),
        ("不好意思您的资料还没有身份核验通过所以这张卡的冻结我现在还办不了麻烦您再说一下最近一笔交易", False),
        ("as soon as you're verified by the push i can freeze the card straight away and order the new one", False),
    ],
)
def test_a_long_clause_is_judged_near_the_phrase(text: str, plain: bool) -> None:
    assert said_plainly(text, NORM, VERIFIED) is plain


def test_a_short_clause_is_judged_whole() -> None:
    assert not said_plainly("身份核验通过了但卡不能解冻", NORM, VERIFIED)
    assert said_plainly("身份核验通过了", NORM, VERIFIED)


def test_the_engine_reads_a_word_segmented_agent_turn_and_keeps_its_words(make_call_engine) -> None:
    engine = make_call_engine()
    call = engine.start_call()
    said = "好 的 陈 先生 身份 核验 通过 了"
    result = engine.handle_turn(call, speaker="agent", text=said)
    assert {s.id: s.done for s in result.next_steps}.get("verify_identity") is True
    assert engine.store.get_call(call).turns[-1].text == said
