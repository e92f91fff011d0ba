"""The tokens BM25 and the composer match on: one form for the three scripts' ways of writing a word."""

from __future__ import annotations

from assist.text import detect_language, has_traditional, to_simplified, tokenize


def test_taiwan_account_wording_meets_the_mainland_policy() -> None:
    # t2s alone turns Taiwan's 轉帳 / 帳戶 into 转帐 / 帐户, which no Simplified policy writes
    assert tokenize("手機銀行每天轉帳上限") == tokenize("手机银行每天转账上限")
    assert to_simplified("帳戶 賬戶 帐户 到帳") == "账户 账户 账户 到账"
    assert len(to_simplified("轉帳限額")) == len("轉帳限額")  # offsets stay valid for the guard's spans


def test_script_detection_is_not_fooled_by_the_fold() -> None:
    assert detect_language("请核对帐单") == "zh-Hans"  # 帐 is a Simplified character too
    assert detect_language("請核對帳單") == "zh-Hant"
    assert not has_traditional("请核对帐单") and has_traditional("帳")


def test_english_inflections_share_a_token() -> None:
    assert tokenize("disputed charges") == tokenize("dispute charge")
    assert tokenize("Cards") == tokenize("card")
