"""assist.privacy.cards: card and account numbers typed in digit groups, the Luhn check."""

from __future__ import annotations

import pytest

from assist.privacy import luhn_ok, redact


def test_luhn_checksum() -> None:
    assert luhn_ok("4111 1111 1111 1111") and not luhn_ok("4111 1111 1111 1112")


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
        # said as a card or account number: redacted even when the checksum fails (a misread digit)
        ("我的卡号是6222 0200 1234 5678", "6222 0200 1234 5678", "[CARD]"),
        ("卡號：６２２２０２００１２３４５６７８", "６２２２０２００１２３４５６７８", "[CARD]"),
        ("my card number is 4111-1111-1111-1112", "4111-1111-1111-1112", "[CARD]"),
        ("我的账号是6222020012345678901", "6222020012345678901", "[ACCOUNT]"),
        ("帳號 012-345-678901", "012-345-678901", "[ACCOUNT]"),
        ("account number 12345678901, sort code", "12345678901", "[ACCOUNT]"),
    ],
)
def test_card_and_account_numbers_are_replaced(text: str, raw: str, token: str) -> None:
    out = redact(text)
    assert raw not in out
    assert token in out
