"""redact(): IBANs, dates of birth, names and addresses, in Simplified, Traditional and English (issue #14).

Each hit keeps the words around the value; each near-miss is text a contact center hears every day and must
stay as it is (it is what the assist reads to find an answer).
"""

from __future__ import annotations

import pytest

from assist.redact import iban_ok, redact

IBAN_HITS = [
    ("my IBAN is GB82 WEST 1234 5698 7654 32, thanks", "my IBAN is [IBAN], thanks"),
    ("IBAN：DE89370400440532013000", "IBAN：[IBAN]"),
    ("iban fr14 2004 1010 0505 0001 3m02 606 please", "iban [IBAN] please"),
    ("NL91ABNA0417164300 AND MORE", "[IBAN] AND MORE"),
    ("我的IBAN是CH93 0076 2011 6238 5295 7。", "我的IBAN是[IBAN]。"),
    ("收款帳戶 DE89-3704-0044-0532-0130-00", "收款帳戶 [IBAN]"),
]


@pytest.mark.parametrize(("text", "expected"), IBAN_HITS)
def test_ibans_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GB82 WEST 1234 5698 7654 33",  # check digits wrong
        "GB82WEST1234569876543",  # one character short for a British IBAN
        "ref QQ12 ABCD 7890 1234 56",  # no such country
        "model XK20 ABCD 1234 5678 9012",  # a product code of an IBAN country and length, mod 97 fails
    ],
)
def test_what_is_not_an_iban_stays(text: str) -> None:
    assert redact(text) == text


def test_iban_checksum() -> None:
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and iban_ok("de89370400440532013000")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33") and not iban_ok("GB82WEST123456987654")


DOB_HITS = [
    # English
    ("my date of birth is 3 May 1985", "my date of birth is [DOB]"),
    ("DOB 1985-05-03.", "DOB [DOB]."),
    ("D.O.B.: 03/05/1985, postcode next", "D.O.B.: [DOB], postcode next"),
    ("I was born on the third of May nineteen eighty-five, and I", "I was born on [DOB], and I"),
    ("my birthday is May 3rd, 1985", "my birthday is [DOB]"),
    ("Date of birth: 5.3.85", "Date of birth: [DOB]"),
    # Simplified
    ("出生日期是1985年5月3日", "出生日期是[DOB]"),
    ("我是1985年5月3日出生的", "我是[DOB]出生的"),
    ("我的生日是五月三日，谢谢", "我的生日是[DOB]，谢谢"),
    ("出生日期：1985-05-03", "出生日期：[DOB]"),
    ("出生日期19850503", "出生日期[DOB]"),
    ("我85年5月3号出生", "我[DOB]出生"),
    ("一九八五年五月三日出生", "[DOB]出生"),
    # Traditional / Cantonese
    ("生日係1985年5月3號", "生日係[DOB]"),
    ("出生日期為一九八五年五月三日。", "出生日期為[DOB]。"),
    ("我係1985年5月3號出世嘅", "我係[DOB]出世嘅"),
]


@pytest.mark.parametrize(("text", "expected"), DOB_HITS)
def test_dates_of_birth_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Transaction 2024-05-01 at 10:30",
        "The card expires 05/27 and the statement date is 3 May",
        "my birthday is next week, can I get a gift card?",
        "happy birthday to you",
        "born in London",
        "生日快乐！",
        "2024年5月1日生效的新规定",
        "账单日是每月5日，还款日是5月25日",
        "請問你嘅生日係幾時？",
        "您的出生日期是？",
    ],
)
def test_dates_that_are_not_a_birth_date_stay(text: str) -> None:
    assert redact(text) == text
