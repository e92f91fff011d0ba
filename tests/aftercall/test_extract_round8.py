"""Eighth round of the after-call extraction (issue #19), in three scripts, none of the sentences taken from
the labelled calls: the part of the day said earlier in the turn sets the half of the day of a clock time,
"四点多" is no clock time, a date said without its year is the last such day for an event and the next one
for a date the customer asks for (an effective date), a day of the month said alone in English, card digits
corrected or an agent's read-back confirmed (the last confirmed value wins), a product named after 叫, a
person paid, and a shop's name with a digit in it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assist.aftercall.extract import extract_turn
from assist.aftercall.templates import load_templates
from assist.aftercall.tickets import CallTurn, fill_draft

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = load_templates(ROOT / "kb_docs" / "tickets")


def values(text: str, kind: str, ref: date = date(2026, 3, 18)) -> list[str]:
    return [v.value for v in extract_turn(text, turn=2, ref_date=ref) if v.kind == kind]


def draft(template: str, turns: list[tuple[str, str]], ref: date) -> dict[str, str | None]:
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    filled = fill_draft(TEMPLATES.get(template), said, call_id="c1", ref_date=ref, language="en")  # type: ignore[arg-type]
    return {f.name: f.value for f in filled.fields}


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("上周三下午 大概两点五十 在商场被偷的", "14:50"),
        ("前晚 應該係十一點零五分左右", "23:05"),
        ("昨天晚上 大約十點二十分 收到簡訊", "22:20"),
        ("晏晝兩點半嗰陣收到個電話", "14:30"),
        ("傍晚六點十分左右", "18:10"),
        ("中午一點 吃完飯就發現了", "13:00"),
        ("Yesterday evening, I'd say at 8:45, the text came in", "20:45"),
        ("凌晨兩點多收到短信 三点二十又来一条", "03:20"),
    ],
)
def test_the_part_of_the_day_said_earlier_in_the_turn_sets_the_half_of_the_day(text: str, time: str) -> None:
    assert values(text, "time")[-1:] == [time]


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("下午好，我看到这笔交易是九点十分的", "09:10"),  # a greeting is no part of the day
        ("Good evening. The payment went out at 7:05 this morning", "07:05"),
        ("早上八点半出的门", "08:30"),
    ],
)
def test_a_greeting_or_a_morning_leaves_the_hour(text: str, time: str) -> None:
    assert values(text, "time") == [time]


@pytest.mark.parametrize(
    ("text", "time"),
    [("大概下午三点多吧 记不太清", "afternoon"), ("夜晚九點幾 我喺地鐵", "evening"), ("晚上七點多的時候", "evening")],
)
def test_some_time_after_the_hour_is_the_part_of_the_day(text: str, time: str) -> None:
    assert values(text, "time") == [time]


def test_an_effective_date_said_without_its_year_is_the_next_one() -> None:
    turns = [
        ("agent", "您好，海港银行。请问新的手机号是多少？"),
        ("customer", "我想改一下手机号 新号码从6月3号开始用"),
        ("agent", "好的，已登记变更申请，6月3号生效。"),
    ]
    assert draft("contact_change", turns, date(2026, 5, 20))["date"] == "2026-06-03"
    en = [
        ("customer", "I need to change my email address, please switch it from the 4th of January"),
        ("agent", "Sure, from January 4th. I've logged the request."),
    ]
    assert draft("contact_change", en, date(2026, 12, 10))["date"] == "2027-01-04"
    hk = [("customer", "我想改地址 由呢個月二十號開始寄去新地址")]
    assert draft("contact_change", hk, date(2026, 10, 9))["date"] == "2026-10-20"


def test_an_events_date_said_without_its_year_is_the_last_one() -> None:
    turns = [("customer", "我的卡12月2号在超市被盗刷了 三百块"), ("agent", "好的，12月2号这笔。")]
    assert draft("card_dispute", turns, date(2026, 12, 9))["date"] == "2026-12-02"
    turns = [("customer", "the card was charged twice, on the 27th, at Lakeside Books for 60 dollars")]
    assert draft("card_dispute", turns, date(2026, 9, 2))["date"] == "2026-08-27"
    assert values("I noticed it on the 3rd", "date", date(2026, 9, 20)) == ["2026-09-03"]
    assert values("the 2nd card I have", "date") == []


@pytest.mark.parametrize(
    ("turns", "last4"),
    [
        (
            [("agent", "请问卡号后四位是多少？"), ("customer", "后四位 四四七二 啊不对 是四七四二")],
            "4742",
        ),
        (
            [("agent", "張卡最後四個字係？"), ("customer", "八 零 三 六 唔係唔係 八 零 六 三")],
            "8063",
        ),
        (
            [
                ("customer", "it's the card ending in 5 2 9 0"),
                ("agent", "So the card ending 5920, correct?"),
                ("customer", "yes that's it"),
            ],
            "5920",
        ),
        (
            [
                ("customer", "尾號 7 1 3 3"),
                ("agent", "是尾號7313的卡嗎？"),
                ("customer", "不對 是七一三三"),
            ],
            "7133",
        ),
    ],
)
def test_the_card_digits_last_corrected_or_confirmed_win(turns: list[tuple[str, str]], last4: str) -> None:
    assert draft("lost_stolen_card", turns, date(2026, 3, 18))["card_last4"] == last4


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("我買嗰隻叫海港穩健增長債券基金", "product_name", "海港穩健增長債券基金"),
        ("产品叫稳盈精选理财", "product_name", "稳盈精选理财"),
        ("转给了一个叫李明的人", "merchant", "李明"),
        ("在星光5G數碼館網站買了手機殼", "merchant", "星光5G數碼館"),
    ],
)
def test_names_after_the_verb_or_with_a_digit(text: str, kind: str, value: str) -> None:
    assert values(text, kind)[:1] == [value]


def test_a_balance_or_a_limit_is_no_events_amount() -> None:
    turns = [
        ("agent", "核实通过。您账户余额还有一千二百三十四元。"),
        ("customer", "我被骗了 转给了一个陌生人"),
        ("agent", "我看到转出人民币五千元，对吗？"),
        ("customer", "嗯 对"),
    ]
    assert draft("fraud_report", turns, date(2026, 3, 18))["amount"] == "5000"
    en = [("agent", "Your available credit is 3,000 dollars, and I see a payment of 780 dollars to Northwind Gadgets.")]
    assert draft("card_dispute", en, date(2026, 3, 18))["amount"] == "780"


@pytest.mark.parametrize(
    ("turns", "amount"),
    [
        (
            [("customer", "被扣了两百块"), ("agent", "我看到是两百六十八元，对吗？"), ("customer", "对对 就是这笔")],
            "268",
        ),
        ([("customer", "碌咗五百蚊"), ("agent", "系統顯示係五百八十蚊，啱唔啱？"), ("customer", "啱 係嗰筆")], "580"),
        (
            [
                ("customer", "about 90 dollars"),
                ("agent", "I see 94.50 dollars there, right?"),
                ("customer", "yes that's it"),
            ],
            "94.5",
        ),
        ([("customer", "被扣了两百块"), ("agent", "是两百六十八元吗？"), ("customer", "不对 是两百")], "200"),
    ],
)
def test_the_agents_read_back_the_customer_confirms_wins(turns: list[tuple[str, str]], amount: str) -> None:
    assert draft("card_dispute", turns, date(2026, 3, 18))["amount"] == amount


def test_a_fee_complained_of_without_its_figure_is_the_one_the_agent_reads() -> None:
    turns = [
        ("customer", "你们乱扣我手续费 我要投诉"),
        ("agent", "我看到3月2日有一笔转账两万元，收取手续费二十元。"),
        ("customer", "对 就是这个"),
    ]
    assert draft("complaint", turns, date(2026, 3, 18))["amount"] == "20"


@pytest.mark.parametrize(
    ("turns", "channel"),
    [
        (
            [
                ("customer", "I already checked the app, nothing else went out"),
                ("agent", "We can post it, or you can collect it at a branch."),
                ("customer", "I'll collect it at the branch near my office"),
            ],
            "branch",
        ),
        (
            [
                ("customer", "我用手机银行看过了 没有别的消费"),
                ("agent", "新卡可以到网点领取，您想去哪个网点？"),
                ("customer", "就人民广场那个支行吧"),
            ],
            "branch",
        ),
        (
            [
                ("customer", "我喺app睇過冇其他簽賬"),
                ("agent", "新卡會寄去你賬單地址，得唔得？"),
                ("customer", "得 寄嚟就得"),
            ],
            None,
        ),
    ],
)
def test_a_new_cards_delivery_is_where_the_turns_speak_of_it(turns: list[tuple[str, str]], channel: str | None) -> None:
    assert draft("lost_stolen_card", turns, date(2026, 3, 18))["channel"] == channel


@pytest.mark.parametrize(
    "agent",
    [
        "Alright. I have registered the dispute, reference DP1. We will call you.",
        "好的，已经帮您登记了争议交易，编号D2。",
        "我已經幫你登記咗爭議，參考編號D3。",
    ],
)
def test_the_agent_registering_a_dispute_names_the_template(agent: str) -> None:
    from assist.aftercall.choice import TemplateChooser

    customer = [(1, "there was a charge from a gym I never joined")]
    choice = TemplateChooser(TEMPLATES).choose(
        topics=set(), steps=set(), tags=set(), customer=customer, agent=[(2, agent)]
    )
    assert choice.template is not None and choice.template.id == "card_dispute"


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("morning, I'd like to report a card I lost", []),
        ("Good evening, Harbor Bank cards, this is Tom.", []),
        ("喂 早晨 我想報失張卡", []),
        ("下午好，请问有什么可以帮您？", []),
        ("it went missing in the morning", ["morning"]),
        ("下午 在商场丢的", ["afternoon"]),
    ],
)
def test_a_part_of_the_day_said_as_a_greeting_is_no_time(text: str, time: list[str]) -> None:
    assert values(text, "time") == time


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("我昨天下午在京东被扣了三百块，不是我买的", "京东"),
        ("上個禮拜在家樂福被刷了兩千，我冇去過", "家樂福"),
    ],
)
def test_a_passive_marker_before_the_debit_is_not_part_of_the_shop(text: str, merchant: str) -> None:
    assert [v.value for v in extract_turn(text, turn=2, ref_date=date(2026, 12, 6)) if v.kind == "merchant"] == [
        merchant
    ]
