"""Seventh round of the after-call extraction (issue #19), in three scripts, none of the sentences taken from
the labelled calls: card digits read one by one after the cue, the merchant of a payment the agent reads back
from the record (between its date and its amount) or that a brand in Latin letters debited, the payee named
in English, the new contact asked with a space between the scripts, and a complaint about a fee filed with
the fee, not the payment it was taken on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assist.aftercall.extract import extract_turn
from assist.aftercall.templates import load_templates
from assist.aftercall.tickets import CallTurn, fill_draft

ROOT = Path(__file__).resolve().parents[2]
REF = date(2026, 3, 18)
TEMPLATES = load_templates(ROOT / "kb_docs" / "tickets")


def values(text: str, kind: str) -> list[str]:
    return [v.value for v in extract_turn(text, turn=2, ref_date=REF) if v.kind == kind]


@pytest.mark.parametrize(
    ("text", "last4"),
    [
        ("尾号 6 0 8 2 的那张", "6082"),
        ("末四碼 7 7 1 9 三月二號被刷", "7719"),
        ("the card ending 5 0 3 8", "5038"),
    ],
)
def test_card_digits_read_one_by_one_after_the_cue(text: str, last4: str) -> None:
    assert values(text, "card_last4") == [last4]


def test_five_digits_read_one_by_one_are_no_last_four() -> None:
    assert values("尾号 1 2 3 4 5", "card_last4") == []


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("我这边查到3月9号云杉书店人民币268元，是这笔吗？", "云杉书店"),
        ("看到了，3月2日NETFLIX.COM新臺幣390元。", "NETFLIX.COM"),
        ("我見到3月11號萬寧兩筆港幣88元，係咪呢兩筆？", "萬寧"),
    ],
)
def test_the_merchant_of_a_payment_read_back_between_its_date_and_its_amount(text: str, merchant: str) -> None:
    assert values(text, "merchant")[:1] == [merchant]


@pytest.mark.parametrize(
    "text",
    ["3月9号晚上八点左右有一笔人民币268元的消费", "3月9号从尾号2231的账户转出人民币5000元", "3月9日有一筆新臺幣390元"],
)
def test_a_time_or_an_account_between_the_date_and_the_amount_is_no_merchant(text: str) -> None:
    assert values(text, "merchant") == []


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("上个月 Spotify 扣了我一百多", "Spotify"),
        ("呢個月 Disney Plus 自動扣咗我兩次", "Disney Plus"),
        ("三月五號 GOGOPASS 扣了三百二", "GOGOPASS"),
    ],
)
def test_a_brand_in_latin_letters_before_the_debit_it_made(text: str, merchant: str) -> None:
    assert values(text, "merchant") == [merchant]


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("There's a transfer of 900 dollars on Monday to a payee named Wong Siu Fai. Was that you?", "Wong Siu Fai"),
        ("I paid a shop called Bright Lights on Tuesday", "Bright Lights"),
    ],
)
def test_a_payee_or_shop_named_in_english(text: str, merchant: str) -> None:
    assert values(text, "merchant")[:1] == [merchant]


def _draft(template: str, turns: list[tuple[str, str]]) -> dict[str, str | None]:
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    draft = fill_draft(TEMPLATES.get(template), said, call_id="c1", ref_date=REF, language="en")  # type: ignore[arg-type]
    return {f.name: f.value for f in draft.fields}


@pytest.mark.parametrize(
    ("ask", "answer", "value"),
    [
        ("好的，新 邮箱 是？", "lily.wu at qq dot com", "lily.wu at qq dot com"),
        ("核實咗。新 email 係咩？", "[EMAIL]", "[EMAIL]"),
        ("好，你個新 電話號碼係？", "九一二三 四五六七", "9123 4567"),
    ],
)
def test_the_new_contact_asked_with_a_space_between_the_scripts(ask: str, answer: str, value: str) -> None:
    fields = _draft("contact_change", [("customer", "I want to change my details"), ("agent", ask),
                                       ("customer", answer)])  # fmt: skip
    assert fields["new_value"] == value


@pytest.mark.parametrize(
    ("said", "amount", "currency"),
    [
        ("我昨天在手机银行转了三千块给我姐 结果收了我三十块手续费 凭什么", "30", "CNY"),
        ("我轉咗五千蚊去我阿媽戶口 你哋收咗我五十蚊手續費", "50", "HKD"),
        ("I moved 4,000 dollars to my savings and you took a 35 dollar fee for it", "35", None),
    ],
)
def test_a_complaint_about_a_fee_is_filed_with_the_fee(said: str, amount: str, currency: str | None) -> None:
    fields = _draft("complaint", [("agent", "How can I help?"), ("customer", said)])
    assert fields["amount"] == amount and fields["currency"] == currency


def test_a_complaint_without_a_fee_keeps_the_amount_said() -> None:
    fields = _draft("complaint", [("agent", "您好"), ("customer", "取款机没吐钱 可是扣了我两千块")])
    assert fields["amount"] == "2000"


def test_a_dispute_keeps_the_payment_not_the_fee() -> None:
    fields = _draft("card_dispute", [("agent", "您好"), ("customer", "那笔八百块的消费不是我刷的 还收了我五块手续费")])
    assert fields["amount"] == "800"


@pytest.mark.parametrize(
    ("ask", "answer", "value"),
    [
        ("好的，那换成哪个？", "换成 [EMAIL] 吧", "[EMAIL]"),
        ("咁改做邊個？", "一三八 二二六七 九九零一", "138 2267 9901"),
        ("Sure, and what should we change it to?", "it's [EMAIL]", "[EMAIL]"),
    ],
)
def test_the_new_contact_given_when_the_agent_asks_in_other_words(ask: str, answer: str, value: str) -> None:
    turns = [("customer", "I want to change my contact details"), ("agent", "Your full name and date of birth?"),
             ("customer", "Ann Ho, 1 May 1990"), ("agent", ask), ("customer", answer)]  # fmt: skip
    fields = _draft("contact_change", turns)
    assert fields["new_value"] == value
