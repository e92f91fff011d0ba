"""Values a ticket needs, from turns in Simplified and Traditional Chinese (Cantonese included) and English."""

from __future__ import annotations

from datetime import date

import pytest

from assist.aftercall.extract import extract_turn
from assist.aftercall.numbers import find_numbers, parse_chinese

REF = date(2024, 3, 20)  # a Wednesday


def values(text: str, kind: str) -> list[str]:
    return [v.value for v in extract_turn(text, turn=3, ref_date=REF) if v.kind == kind]


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("三百", 300), ("兩千五百", 2500), ("三百五", 350), ("两千五", 2500), ("一万二", 12000), ("一千零五", 1005),
     ("十五", 15), ("二十", 20), ("一亿两千万", 120_000_000)],
)  # fmt: skip
def test_chinese_numerals(numeral: str, value: int) -> None:
    parsed = parse_chinese(numeral)
    assert parsed is not None and int(parsed[0]) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("two hundred and fifty", 250), ("twenty-five", 25), ("one thousand two hundred", 1200), ("a hundred", 100)],
)
def test_english_number_words(text: str, value: int) -> None:
    assert [int(n.value) for n in find_numbers(text)] == [value]


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("我昨天在京东消费了三百块", ["300"], ["CNY"]),
        ("我的信用卡被刷了三百块", ["300"], ["CNY"]),  # 卡 is written the same in both scripts
        ("我張卡尋日喺百老匯碌咗兩千五百蚊", ["2500"], ["HKD"]),
        ("被扣了兩千五百元", ["2500"], []),  # 元 in Traditional text: Hong Kong or Taiwan? the agent asks
        ("I was charged two hundred and fifty dollars", ["250"], []),  # which dollars: the agent asks
        ("it was HK$500 at the shop", ["500"], ["HKD"]),
        ("a charge of NT$1,200", ["1200"], ["TWD"]),
        ("人民币三百五", ["350"], ["CNY"]),
        ("US$ 19.99 twice", ["19.99"], ["USD"]),
        ("我在3月5日打过电话", [], []),  # a date is not an amount
    ],
)
def test_amounts_and_currencies(text: str, amount: list[str], currency: list[str]) -> None:
    assert values(text, "amount") == amount
    assert values(text, "currency") == currency


@pytest.mark.parametrize(
    ("text", "day", "time"),
    [
        ("我昨天下午发现的", "2024-03-19", "afternoon"),
        ("尋日夜晚黑先發現", "2024-03-19", "evening"),
        ("yesterday afternoon", "2024-03-19", "afternoon"),
        ("是3月5日下午3点半", "2024-03-05", "15:30"),
        ("on 5 March at 3:30 pm", "2024-03-05", "15:30"),
        ("March 5th around 9am", "2024-03-05", "09:00"),
        ("the fifth of March", "2024-03-05", None),
        ("上周五晚上八点", "2024-03-15", "20:00"),
        ("last Friday", "2024-03-15", None),
        ("前天", "2024-03-18", None),
        ("三天前", "2024-03-17", None),
        ("2024-02-29 那笔", "2024-02-29", None),
        ("12月24日", "2023-12-24", None),  # a day later in the year than the call: last year's
        ("I tried last night and it failed", "2024-03-19", "night"),
        ("昨晚十点被扣了三百块", "2024-03-19", "22:00"),
        ("琴晚八點半有人打電話嚟", "2024-03-19", "20:30"),
        ("前晚在商场刷的", "2024-03-18", None),
        ("今晚七点", "2024-03-20", "19:00"),
    ],
)
def test_dates_and_times(text: str, day: str, time: str | None) -> None:
    assert values(text, "date")[:1] == [day]
    assert values(text, "time")[:1] == ([time] if time else [])


@pytest.mark.parametrize(
    ("text", "last4"),
    [
        ("卡号 6222 0212 3456 7890", "7890"),
        ("尾号1234的卡", "1234"),
        ("尾號一二三四嗰張", "1234"),
        ("my card ending in 4321", "4321"),
        ("the last four digits are five six seven eight", "5678"),
    ],
)
def test_card_last_four_only(text: str, last4: str) -> None:
    found = [v for v in extract_turn(text, turn=1, ref_date=REF) if v.kind == "card_last4"]
    assert found and {v.value for v in found} == {last4}
    assert all(v.text == "…" + last4 for v in found)  # never the whole number, not even as the surface text
    assert not any(v.kind == "amount" for v in extract_turn(text, turn=1, ref_date=REF))


@pytest.mark.parametrize(
    ("text", "merchant"),
    [("我昨天在京东消费了三百块", "京东"), ("喺百老匯碌咗五百蚊", "百老匯"), ("HK$500 at 7-Eleven", "7-Eleven"),
     ("a charge from Amazon Marketplace", "Amazon Marketplace"), ("商戶係 Apple", "Apple")],
)  # fmt: skip
def test_merchants(text: str, merchant: str) -> None:
    assert values(text, "merchant")[:1] == [merchant]


def test_channels_and_products() -> None:
    assert values("我在手机银行买的稳盈理财", "channel") == ["app"]
    assert values("我在手机银行买的稳盈理财", "product_name") == ["稳盈理财"]
    assert values("喺分行買咗「環球增長基金」", "product_name")[:1] == ["環球增長基金"]
    assert values("I bought the Global Growth Fund online", "product_name") == ["Global Growth Fund"]
    assert values("I bought the Global Growth Fund online", "channel") == ["online"]
    assert values("这个理财产品不好", "product_name") == []  # no name said


def test_each_value_keeps_its_turn() -> None:
    assert {v.turn for v in extract_turn("昨天三百块", turn=7, ref_date=REF)} == {7}


def test_long_hostile_input_is_linear() -> None:
    """Patterns are bounded: a 20,000-character turn of digits, numerals and separators finishes at once."""
    import time

    text = ("1 2-3,4" * 1000) + ("三百五十" * 1000) + ("one hundred and " * 500) + ("尾号" * 500)
    t0 = time.perf_counter()
    extract_turn(text, turn=1, ref_date=REF)
    assert time.perf_counter() - t0 < 5.0  # about 0.1 s; a quadratic pattern would take minutes


def test_the_channel_is_where_the_customer_says_it_happened() -> None:
    from pathlib import Path

    from assist.aftercall.templates import load_templates
    from assist.aftercall.tickets import CallTurn, fill_draft

    # a complaint's channel is where it happened (a lost card's is how the new card is delivered: round 8)
    template = load_templates(Path(__file__).resolve().parents[2] / "kb_docs" / "tickets").get("complaint")
    assert template is not None and template.field("channel") is not None
    turns = [
        CallTurn(1, "customer", "my wallet was stolen last night"),
        CallTurn(2, "agent", "Done, you will get an SMS confirmation and we can call your phone number on file."),
    ]

    def channel(said: list[CallTurn]) -> str | None:
        draft = fill_draft(template, said, call_id="c", ref_date=date(2024, 3, 20), language="en")
        return next(f.value for f in draft.fields if f.name == "channel")

    assert channel(turns) is None  # the agent's follow-up channels are not where it happened
    assert channel([*turns, CallTurn(3, "customer", "it was at the ATM on the corner")]) == "atm"
