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
