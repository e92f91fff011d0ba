"""assist.privacy.spoken: numbers said digit by digit, in English words or Chinese numerals, are redacted as cards,
accounts and passcodes."""

from __future__ import annotations

import pytest

from assist.privacy import redact


@pytest.mark.parametrize(
    ("text", "raw", "token"),
    [
        # digits said one by one, as ASR writes them (4111 1111 1111 1111 and 5500 0000 0000 0004 pass Luhn)
        ("four one one one one one one one one one one one one one one one", "four one one one", "[CARD]"),
        ("it's four one one one, one one one one, one one one one, one one one one.", "one one one one,", "[CARD]"),
        ("Four double one one, one one one one, one one one one, one one one one", "double one", "[CARD]"),
        ("five five oh oh, oh oh oh oh, zero zero zero zero, oh oh oh four", "oh oh oh four", "[CARD]"),
        ("四一一一一一一一一一一一一一一一", "四一一一", "[CARD]"),
        ("我的卡是四幺幺幺 幺幺幺幺 幺幺幺幺 幺幺幺幺", "四幺幺幺", "[CARD]"),
        ("卡號係五五〇〇，〇〇〇〇，零零零零，〇〇〇四", "〇〇〇四", "[CARD]"),
        # said after a card or account word: any 8 or more digits, checksum or not
        ("卡号是六二二二零二零零一二三四五六七八", "六二二二零二零零", "[CARD]"),
        ("卡號係六二二二 零二零零 一二三四 五六七八", "六二二二", "[CARD]"),
        ("my card number is six two two two oh two oh oh one two three four", "six two two two", "[CARD]"),
        ("account number is one two three four five six seven eight nine", "five six seven", "[ACCOUNT]"),
        ("我的账号是一二三四五六七八九零", "一二三四五六七八九零", "[ACCOUNT]"),
        # passcodes said as words
        ("the code is four eight two nine one three", "four eight two nine", "[OTP]"),
        ("my PIN is double oh seven seven", "double oh seven seven", "[OTP]"),
        ("验证码是四 八 二 九 一 三", "四 八 二 九 一 三", "[OTP]"),
        ("驗證碼係兩八二九一三", "兩八二九一三", "[OTP]"),
        ("CVV is one two three", "one two three", "[CVV]"),
        ("password is one two three four five six", "four five six", "[PASSWORD]"),
        ("验证码是一二三四五六", "一二三四五六", "[OTP]"),
    ],
)
def test_numbers_said_digit_by_digit_are_replaced(text: str, raw: str, token: str) -> None:
    out = redact(text)
    assert raw not in out
    assert token in out
