"""Sixth round of the after-call extraction: an hour said in words with the part of the day after it, an
hour range that is no clock time, a payee name the agent reads out in quotes, and a merchant name that ends
where the purchase is said (or where the clause ends) in three scripts."""

from __future__ import annotations

from datetime import date

import pytest

from assist.aftercall.extract import extract_turn

REF = date(2025, 6, 11)


def values(text: str, kind: str) -> list[str]:
    return [v.value for v in extract_turn(text, turn=2, ref_date=REF) if v.kind == kind]


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("I went to the branch at about seven in the evening and the door was shut", "19:00"),
        ("the money left my account around ten at night", "22:00"),
        ("somebody rang me at around six in the morning", "06:00"),
        ("around eight tonight they called again", "20:00"),
    ],
)
def test_an_hour_in_words_with_the_part_of_the_day_after_it_is_a_clock_time(text: str, time: str) -> None:
    assert values(text, "time")[:1] == [time]


def test_an_hour_in_words_alone_is_still_no_clock_time() -> None:
    assert values("I will be around nine people deep in the queue", "time") == []


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("大概下午三四点吧 记不太清", "afternoon"),
        ("晚上七八點左右收到嗰個電話", "evening"),
        ("应该是上午九十点的样子", "morning"),
        ("那天下午两三点吧 我也说不准", "afternoon"),
        ("中午一两点左右", "noon"),
    ],
)
def test_an_hour_range_is_no_clock_time_but_the_part_of_the_day_stays(text: str, time: str) -> None:
    assert values(text, "time") == [time]


@pytest.mark.parametrize(
    ("text", "time"),
    [("最好三点前给我回个电话", None), ("我明天下午四點之前都得閒", "afternoon"), ("可以 六點以前喔", None)],
)
def test_a_deadline_is_no_clock_time(text: str, time: str | None) -> None:
    assert values(text, "time") == ([time] if time else [])


def test_about_an_hour_is_still_a_clock_time() -> None:
    assert values("大概三点前后吧", "time") == ["03:00"]


@pytest.mark.parametrize(("text", "time"), [("下午两点", "14:00"), ("晚上十二点", "12:00"), ("夜晚十一點", "23:00")])
def test_single_hours_are_still_read(text: str, time: str) -> None:
    assert values(text, "time")[:1] == [time]


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("我这边看到转出八千元，收款人显示是“李明华”。", "李明华"),
        ("系統顯示收款戶名「陳大文」，金額新臺幣一萬元", "陳大文"),
        ("收款人顯示係「何家明」，轉咗三千蚊", "何家明"),
        ("收款账户名显示为“周丽”", "周丽"),
    ],
)
def test_the_payee_the_agent_reads_out_is_the_merchant(text: str, merchant: str) -> None:
    assert values(text, "merchant")[:1] == [merchant]


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("就前天在全家便利店买饮料 二十块 然后扣了两次", "全家便利店"),
        ("上禮拜喺美心西餅買蛋糕 兩百蚊 之後扣咗兩次", "美心西餅"),
        ("在 QuickBuy 快买网买了耳机", "QuickBuy 快买网"),  # 买 inside the name: not where it ends
    ],
)
def test_a_merchant_ends_where_the_purchase_is_said(text: str, merchant: str) -> None:
    assert values(text, "merchant")[:1] == [merchant]


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("十一月三号 一千二百元 在优品家居网", "优品家居网"),
        ("那筆是上個月 三千塊 在好時光商城，到現在都沒出貨", "好時光商城"),
    ],
)
def test_a_shop_named_at_the_end_of_a_clause_is_the_merchant(text: str, merchant: str) -> None:
    assert values(text, "merchant")[:1] == [merchant]


@pytest.mark.parametrize("text", ["我在家里", "在手机银行上转的", "在分行办的", "我人在外地，晚点再说"])
def test_a_place_that_is_no_shop_is_no_merchant(text: str) -> None:
    assert values(text, "merchant") == []
