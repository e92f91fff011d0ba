"""When to suggest: needs and questions in three scripts; never fillers or thanks."""

from __future__ import annotations

import pytest

from assist.calls.trigger import NeedTrigger


@pytest.mark.parametrize(
    "text",
    [
        "嗯",
        "嗯嗯。",
        "好的",
        "好的，谢谢",
        "okay",
        "OK, thanks.",
        "Thank you!",
        "謝謝",
        "好的謝謝",
        "明白了",
        "got it",
        "uh huh",
        "Ｏｋａｙ",
    ],
)
def test_fillers_do_not_trigger(text: str) -> None:
    assert not NeedTrigger().run(text=text, speaker="customer", final=True).suggest


@pytest.mark.parametrize(
    "text",
    [
        "我的信用卡丢了怎么办",
        "那补卡要钱吗?",
        "我的信用卡不見了",
        "What about the fee?",
        "I want to pay off my mortgage early",
        "信用卡掛失要多久？",
        "我想投诉",
    ],
)
def test_needs_trigger(text: str) -> None:
    assert NeedTrigger().run(text=text, speaker="customer", final=True).suggest


def test_only_final_customer_turns() -> None:
    t = NeedTrigger()
    assert not t.run(text="我的信用卡丢了怎么办", speaker="agent", final=True).suggest
    assert not t.run(text="我的信用卡丢了怎么办", speaker="customer", final=False).suggest


def test_bad_arguments_fail_with_the_value() -> None:
    with pytest.raises(ValueError, match="0"):
        NeedTrigger(min_chars=0)
