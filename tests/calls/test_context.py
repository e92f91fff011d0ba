"""Multi-turn context: elliptical turns are retrieved with the previous need."""

from __future__ import annotations

from assist.calls.context import ContextQueryBuilder
from assist.calls.state import CallState


def test_elliptical_turns() -> None:
    b = ContextQueryBuilder()
    for text in ("那补卡要钱吗?", "那補卡要錢嗎？", "What about the fee?", "and the interest?", "how much is it?"):
        assert b.is_elliptical(text), text
    b2 = ContextQueryBuilder(has_topic=lambda t: "mortgage" in t or "理财" in t)
    assert not b2.is_elliptical("I would like to ask about my mortgage prepayment options please")
    assert not b2.is_elliptical("我想买理财")


def test_query_joins_the_previous_need_for_elliptical_turns() -> None:
    state = CallState(call_id="c", last_need="我的信用卡丢了怎么办", docs_in_play=["d1"])
    q = ContextQueryBuilder().run(text="那补卡要钱吗?", state=state)
    assert q.elliptical and q.query == "我的信用卡丢了怎么办 那补卡要钱吗?" and q.prefer_documents == ["d1"]
    fresh = ContextQueryBuilder(has_topic=lambda t: True).run(text="我想问一下基金赎回的到账时间", state=state)
    assert not fresh.elliptical and fresh.query == "基金赎回的到账时间"  # greeting words dropped


def test_first_turn_is_its_own_query() -> None:
    q = ContextQueryBuilder().run(text="What about the fee?", state=CallState(call_id="c"))
    assert not q.elliptical and q.query == "What about the fee?"
