"""redact(): raw personal data never survives."""

from __future__ import annotations

import logging

import pytest

from assist.redact import luhn_ok, prc_id_ok, redact


def _prc_id(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


VALID_ID = _prc_id("11010519491231002")
ID_WITH_X = next(_prc_id(f"44010619900101{i:03d}") for i in range(1000) if _prc_id(f"44010619900101{i:03d}")[-1] == "X")


def test_checksums() -> None:
    assert luhn_ok("4111 1111 1111 1111") and not luhn_ok("4111 1111 1111 1112")
    assert prc_id_ok(VALID_ID) and prc_id_ok(ID_WITH_X.lower())
    bad = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    assert not prc_id_ok(bad)


@pytest.mark.parametrize(
    ("text", "raw", "token"),
    [
        ("我的卡号是4111 1111 1111 1111，有效期0925", "4111 1111 1111 1111", "[CARD]"),
        ("card 5500-0000-0000-0004 please", "5500-0000-0000-0004", "[CARD]"),
        ("卡號４１１１１１１１１１１１１１１１", "４１１１１１１１１１１１１１１１", "[CARD]"),  # full-width digits
        ("4111 1111 1111 1111 0925", "4111 1111 1111 1111", "[CARD]"),  # card followed by the expiry
        # dots, slashes, full width and mixed separators, as people type them
        ("card 4111.1111.1111.1111 please", "4111.1111.1111.1111", "[CARD]"),
        ("卡号4111/1111/1111/1111，有效期09/25", "4111/1111/1111/1111", "[CARD]"),
        ("it's 4111 - 1111 - 1111 - 1111", "4111 - 1111 - 1111 - 1111", "[CARD]"),
        ("it's 4111.1111-1111/1111", "4111.1111-1111/1111", "[CARD]"),
        ("４１１１．１１１１．１１１１．１１１１", "４１１１．１１１１．１１１１．１１１１", "[CARD]"),
        ("４１１１－１１１１　１１１１／１１１１", "４１１１－１１１１　１１１１／１１１１", "[CARD]"),
        ("my card is +4111111111111111", "4111111111111111", "[CARD]"),  # too long for a phone number
        ("+4111 1111 1111 1111", "4111 1111 1111 1111", "[CARD]"),
        ("我的卡号是6222.0200.1234.5678", "6222.0200.1234.5678", "[CARD]"),
        ("account no. 1234/5678/9012", "1234/5678/9012", "[ACCOUNT]"),
        ("手机138.1234.5678", "138.1234.5678", "[PHONE]"),
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
        # said as a card or account number: redacted even when the checksum fails (a misread digit)
        ("我的卡号是6222 0200 1234 5678", "6222 0200 1234 5678", "[CARD]"),
        ("卡號：６２２２０２００１２３４５６７８", "６２２２０２００１２３４５６７８", "[CARD]"),
        ("my card number is 4111-1111-1111-1112", "4111-1111-1111-1112", "[CARD]"),
        ("我的账号是6222020012345678901", "6222020012345678901", "[ACCOUNT]"),
        ("帳號 012-345-678901", "012-345-678901", "[ACCOUNT]"),
        ("account number 12345678901, sort code", "12345678901", "[ACCOUNT]"),
        (f"身份证号{VALID_ID}", VALID_ID, "[ID]"),
        (f"ID number {ID_WITH_X}.", ID_WITH_X, "[ID]"),
        ("手机13812345678", "13812345678", "[PHONE]"),
        ("call me on +86 138 1234 5678", "138 1234 5678", "[PHONE]"),
        ("電話 +852 2123 4567", "2123 4567", "[PHONE]"),
        ("UK office +44 20 7946 0958", "7946 0958", "[PHONE]"),
        ("reach me at (415) 555-0132", "555-0132", "[PHONE]"),
        ("座机010-12345678", "12345678", "[PHONE]"),
        ("mail zhang.san+bank@example.com.cn now", "zhang.san+bank@example.com.cn", "[EMAIL]"),
        ("验证码是123456", "123456", "[OTP]"),
        ("驗證碼：654321", "654321", "[OTP]"),
        ("我的验证码是 4 8 2 9 1 3", "4 8 2 9 1 3", "[OTP]"),
        ("123456是我的验证码", "123456", "[OTP]"),
        ("验证码是一二三四五六", "一二三四五六", "[OTP]"),
        ("the code is 482913", "482913", "[OTP]"),
        ("OTP 1234", "1234", "[OTP]"),
        ("My PIN is 0000", "0000", "[OTP]"),
        ("CVV 123", "123", "[CVV]"),
        ("登录密码是abc12345，别告诉别人", "abc12345", "[PASSWORD]"),
    ],
)
def test_values_are_replaced(text: str, raw: str, token: str) -> None:
    out = redact(text)
    assert raw not in out
    assert token in out


def test_several_values_in_one_turn() -> None:
    text = f"卡号4111111111111111，身份证{VALID_ID}，手机13912345678，邮箱a.b@c.com，验证码是778899"
    out = redact(text)
    for raw in ("4111111111111111", VALID_ID, "13912345678", "a.b@c.com", "778899"):
        assert raw not in out
    assert out.startswith("卡号[CARD]")


@pytest.mark.parametrize(
    "text",
    [
        "订单号1234567890123",
        "余额是12345.67元",
        "您的贷款金额为200000元，期限36期",
        "Your balance is $1,234.56",
        "Transaction 2024-05-01 at 10:30",
        "卡号尾号1234",
        "The card number ends in 1234",
        "账户余额是12345元",
        "交易流水号2024050112345678",
        "Version 1.2.3 of the app, IP 192.168.1.100",
        "汇率是7.1234，手续费0.5%",
        "Transfer 2024/05/01, ref 12/34",
        "I have one question and two cards, one is a credit card",
        "one two three four five",
        "一一对应，三三两两，一五一十",
        "oh, one more thing: the zero-fee account",
    ],
)
def test_ordinary_numbers_survive(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_idempotent() -> None:
    once = redact("验证码是123456，卡号4111 1111 1111 1111")
    assert redact(once) == once


def test_no_raw_value_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("assist.test")
    with caplog.at_level(logging.INFO):
        logger.info("turn: %s", redact("我的卡号是4111 1111 1111 1111，验证码是123456"))
    assert "4111" not in caplog.text and "123456" not in caplog.text


def test_log_filter_redacts_messages_and_arguments() -> None:
    import io

    from assist.redact import install_log_redaction

    stream = io.StringIO()
    root = logging.getLogger("assist_redact_test")
    root.propagate = False
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        install_log_redaction(root)
        logging.getLogger("assist_redact_test.child").warning(
            "customer said %s, email %s", "验证码是123456 卡号4111 1111 1111 1111", "li.si@example.com"
        )
    finally:
        root.removeHandler(handler)
    out = stream.getvalue()
    assert "123456" not in out and "4111" not in out and "li.si@example.com" not in out
    assert "[OTP]" in out and "[CARD]" in out and "[EMAIL]" in out
