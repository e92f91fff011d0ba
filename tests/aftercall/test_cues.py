"""Ticket values the way people say them (issue #19), in three scripts, none copied from the labelled calls:
merchants after a demonstrative or filler, relative dates (next week's day, this week's), clock times said
in words, an amount the customer corrects, a channel said indirectly, the payee named in answer to the agent,
new contact details, and values said to pass the identity check (which are not the event's)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assist.aftercall.extract import extract_turn
from assist.aftercall.templates import load_templates
from assist.aftercall.tickets import CallTurn, fill_draft

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = load_templates(ROOT / "kb_docs" / "tickets")
THURSDAY = date(2025, 6, 12)


def _draft(template_id: str, turns: list[tuple[str, str]], day: date = THURSDAY) -> dict[str, str | None]:
    template = TEMPLATES.get(template_id)
    assert template is not None
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    draft = fill_draft(template, said, call_id="c", ref_date=day, language="en")
    return {f.name: f.value for f in draft.fields}


def _values(text: str, kind: str, day: date = THURSDAY) -> list[str]:
    return [v.value for v in extract_turn(text, turn=1, ref_date=day) if v.kind == kind]


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("上个月在那家优品生活馆刷了两百块", "优品生活馆"),
        ("我喺嗰間 Fresh Mart 超市碌咗四百蚊", "Fresh Mart 超市"),
        ("在這個 QuickBuy 商城下單的", "QuickBuy 商城"),
        ("I bought a lamp at that Sunny Home Store on Friday", "Sunny Home Store"),
    ],
)
def test_a_merchant_after_a_demonstrative_or_filler(text: str, merchant: str) -> None:
    assert _values(text, "merchant")[:1] == [merchant]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("我想下个礼拜三开始用", "2025-06-18"),  # a Thursday call: next week's Wednesday
        ("由下週五開始生效", "2025-06-20"),
        ("please make it start next Tuesday", "2025-06-17"),
        ("这周一我去过网点", "2025-06-09"),
        ("it happened this Monday", "2025-06-09"),
    ],
)
def test_relative_weekdays(text: str, day: str) -> None:
    assert _values(text, "date") == [day]


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("大概下午四点一刻的时候", "16:15"),
        ("晚上差十分九點", "20:50"),
        ("夜晚七點三刻左右", "19:45"),
        ("at about quarter to nine in the evening", "20:45"),
        ("roughly ten past seven in the morning", "07:10"),
        ("it was half past eleven at night", "23:30"),
    ],
)
def test_clock_times_said_in_words(text: str, time: str) -> None:
    assert _values(text, "time")[:1] == [time]


@pytest.mark.parametrize(
    ("turns", "amount", "currency"),
    [
        ([("customer", "他们扣了我三百六 哦不对 是六百三")], "630", "CNY"),
        ([("customer", "被扣咗八百蚊"), ("agent", "八百？"), ("customer", "唔係 應該係九百蚊 我睇錯")], "900", "HKD"),
        ([("customer", "they took 120 dollars from me, sorry I mean 210 dollars")], "210", None),
    ],
)
def test_the_customers_corrected_amount_wins(turns: list[tuple[str, str]], amount: str, currency: str | None) -> None:
    values = _draft("complaint", [("agent", "Harbor Bank, how can I help?"), *turns])
    assert values["amount"] == amount and values["currency"] == currency


@pytest.mark.parametrize(
    ("said", "channel"),
    [
        ("前天有个陌生人打电话给我 说是银行的", "phone"),
        ("琴日有人打嚟話我張卡有問題", "phone"),
        ("someone texted me a link about a parcel", "sms"),
        ("我收到一則簡訊 叫我點連結", "sms"),
    ],
)
def test_a_channel_said_indirectly(said: str, channel: str) -> None:
    assert _draft("fraud_report", [("agent", "您好"), ("customer", said)])["channel"] == channel


@pytest.mark.parametrize(
    ("asked", "answer", "payee"),
    [
        ("收款人叫什么名字您记得吗？", "叫孙丽华吧 我也不确定", "孙丽华"),
        ("收款帳戶嘅戶名係乜嘢？", "轉賬紀錄寫住 何家明", "何家明"),
        ("Who did you send the money to?", "it was a company called Bright Horizon Trading", "Bright Horizon Trading"),
    ],
)
def test_the_payee_named_in_answer_to_the_agent(asked: str, answer: str, payee: str) -> None:
    turns = [("customer", "I was tricked into a transfer"), ("agent", asked), ("customer", answer)]
    assert _draft("fraud_report", turns)["merchant"] == payee


@pytest.mark.parametrize(
    ("turns", "new_value", "channel"),
    [
        ([("customer", "我想换一下预留的手机号"), ("agent", "好的，新号码是多少？"),
          ("customer", "一八六 二二三四 五五六七")], "186 2234 5567", "phone"),
        ([("customer", "我想改電郵地址"), ("agent", "新嘅電郵係？"), ("customer", "[EMAIL]")], "[EMAIL]", "email"),
        ([("customer", "hi, I need to update my phone number, my new number is 6712 3456")], "6712 3456", "phone"),
    ],
)  # fmt: skip
def test_new_contact_details(turns: list[tuple[str, str]], new_value: str, channel: str) -> None:
    values = _draft("contact_change", [("agent", "Harbor Bank, good afternoon"), *turns])
    assert values["new_value"] == new_value and values["channel"] == channel


@pytest.mark.parametrize(
    ("asked", "answer", "event"),
    [
        ("请说一下您最近一笔交易的日期和金额", "前天吧 在超市花了五十多块", "昨天下午在网上被扣了两百块"),
        ("麻煩講埋你嘅出世日期", "一九九零年三月三號", "琴日喺網上俾人扣咗兩百蚊"),
        ("And the date and amount of your most recent transaction?", "Monday, about 60 dollars",
         "yesterday afternoon 200 dollars went out online"),
    ],
)  # fmt: skip
def test_values_said_to_pass_the_identity_check_are_not_the_events(asked: str, answer: str, event: str) -> None:
    turns = [("customer", "I want to complain"), ("agent", asked), ("customer", answer), ("agent", "OK"),
             ("customer", event)]  # fmt: skip
    values = _draft("complaint", turns)
    assert values["date"] == "2025-06-11" and values["amount"] == "200"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("上个月五号在网上买的", "2025-05-05"),
        ("就係28號嗰日", "2025-05-28"),  # the 28th said on the 12th: last month's
        ("本月三號扣的款", "2025-06-03"),
        ("坐地铁二号线的时候", None),  # a line, not a day
        ("八號風球嗰陣", None),
        ("搬去沙田 大圍道十二號", None),  # a street number
    ],
)
def test_a_day_of_the_month_said_alone(text: str, day: str | None) -> None:
    assert _values(text, "date") == ([day] if day else [])


@pytest.mark.parametrize(
    ("text", "time"),
    [("下午3:15左右", "15:15"), ("at 2:30 in the afternoon", "14:30"), ("at 9:15 this morning", "09:15"),
     ("晚上8:40吧", "20:40")],
)  # fmt: skip
def test_a_digit_clock_with_the_part_of_the_day_beside_it(text: str, time: str) -> None:
    assert _values(text, "time")[:1] == [time]


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [("買咗十二萬港紙", "120000", "HKD"), ("it was three hundred kuai", "300", "CNY"),
     ("about 500 NT dollars", "500", "TWD")],
)  # fmt: skip
def test_currencies_said_colloquially(text: str, amount: str, currency: str) -> None:
    assert _values(text, "amount") == [amount] and _values(text, "currency") == [currency]


@pytest.mark.parametrize(
    "said",
    ["actually it was around 10 pm", "sorry, the 15th", "转了两次", "it took 20 minutes", "I lost 3 cards"],
)
def test_numbers_that_are_no_amount(said: str) -> None:
    assert _draft("complaint", [("agent", "Hello"), ("customer", said)])["amount"] is None


def test_a_payee_answer_that_names_no_one() -> None:
    turns = [("customer", "我被骗了"), ("agent", "收款人是个人还是公司？"), ("customer", "是个人")]
    assert _draft("fraud_report", turns)["merchant"] is None


@pytest.mark.parametrize(
    ("text", "merchant"),
    [("在一个叫优购商城的网站扣了一千二", "优购商城"), ("喺一間叫 Fresh Mart 嘅舖頭碌咗卡", "Fresh Mart")],
)
def test_a_merchant_named_with_what_it_is(text: str, merchant: str) -> None:
    assert merchant in _values(text, "merchant")


@pytest.mark.parametrize(
    ("text", "time"),
    [("around 4 in the afternoon", "16:00"), ("about 10 at night", "22:00"), ("at 9 in the morning", "09:00")],
)
def test_a_bare_hour_with_its_part_of_the_day(text: str, time: str) -> None:
    assert _values(text, "time")[:1] == [time]


def test_a_payee_named_after_was() -> None:
    turns = [("customer", "I sent money to a scammer"), ("agent", "Who did you send it to?"),
             ("customer", "the account name was Lee Ka Wai")]  # fmt: skip
    assert _draft("fraud_report", turns)["merchant"] == "Lee Ka Wai"


def test_a_corrected_amount_in_simplified_text_is_in_yuan() -> None:
    turns = [("agent", "您好"), ("customer", "骗子让我转了三千八 呃 不对 是三千六")]
    values = _draft("fraud_report", turns)
    assert values["amount"] == "3600" and values["currency"] == "CNY"


def test_long_hostile_turns_stay_linear() -> None:
    """The cue patterns are bounded: 20,000-character turns of merchants' cues, names, contacts and digits."""
    import time

    hostile = ("在那个 叫" * 800) + ("a.b" * 1000) + ("@x" * 500) + ("一 二 " * 1000) + ("sorry I mean 5" * 200)
    turns = [("customer", hostile), ("agent", "新号码是多少？收款人叫什么？最近一笔交易？"), ("customer", hostile)]
    t0 = time.perf_counter()
    _draft("fraud_report", turns)
    _draft("contact_change", turns)
    assert time.perf_counter() - t0 < 10.0  # well under a second; a quadratic pattern would take minutes
