"""assist.privacy.secrets: one-time passcodes, PINs, CVVs and passwords read out in a turn."""

from __future__ import annotations

import pytest

from assist.privacy import redact


@pytest.mark.parametrize(
    ("text", "raw", "token"),
    [
        ("验证码是123456", "123456", "[OTP]"),
        ("驗證碼：654321", "654321", "[OTP]"),
        ("我的验证码是 4 8 2 9 1 3", "4 8 2 9 1 3", "[OTP]"),
        ("123456是我的验证码", "123456", "[OTP]"),
        ("the code is 482913", "482913", "[OTP]"),
        ("OTP 1234", "1234", "[OTP]"),
        ("My PIN is 0000", "0000", "[OTP]"),
        ("CVV 123", "123", "[CVV]"),
        ("登录密码是abc12345，别告诉别人", "abc12345", "[PASSWORD]"),
    ],
)
def test_passcodes_pins_cvvs_and_passwords_are_replaced(text: str, raw: str, token: str) -> None:
    out = redact(text)
    assert raw not in out
    assert token in out


@pytest.mark.parametrize(
    "question",
    [
        "冻了以后呢 密码是不是要重新弄",
        "我的网银密码是多少位的",
        "登录密码是什么规则",
        "張卡嘅密碼係咪要重新設定",
        "密碼是不是也要改",
        "my password is not working since yesterday",
    ],
)
def test_a_question_about_a_password_is_kept_whole(question: str) -> None:
    assert redact(question) == question


def test_a_password_said_after_a_question_word_elsewhere_is_still_replaced() -> None:
    out = redact("你问密码？好吧，网银密码是Qwer2024")
    assert "Qwer2024" not in out
    assert "[PASSWORD]" in out
