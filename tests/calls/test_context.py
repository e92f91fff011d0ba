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


def test_a_pronoun_does_not_tie_a_new_topic_to_the_previous_need() -> None:
    topics = {"理财": "wealth", "wealth": "wealth", "大额存单": "deposit", "补卡": "card_loss", "丢了": "card_loss"}
    b = ContextQueryBuilder(
        has_topic=lambda t: any(k in t for k in topics),
        topics_in=lambda t: sorted({v for k, v in topics.items() if k in t}),
    )
    state = CallState(call_id="c", last_need="大额存单的起存金额是多少？")
    switched = b.run(text="What risk level is this wealth product?", state=state)
    assert not switched.elliptical and switched.query == "What risk level is this wealth product?"
    # the same topic as the previous need, or none of its own: still a follow-up
    state = CallState(call_id="c", last_need="这个理财产品保本吗")
    assert b.run(text="那这个理财风险高吗", state=state).elliptical
    state = CallState(call_id="c", last_need="我的信用卡丢了怎么办")
    assert b.run(text="那这个要钱吗", state=state).query == "我的信用卡丢了怎么办 那这个要钱吗"


def test_a_turn_of_its_own_still_prefers_the_document_in_play_a_little() -> None:
    from assist.calls.context import ContextQuery
    from assist.calls.rank import Ranker
    from assist.protocols import SearchResult

    state = CallState("c", last_need="我的信用卡丢了怎么办", docs_in_play=["card-loss"])
    q = ContextQueryBuilder().run(text="七天啊太慢了，能不能快点寄给我，我下礼拜要出差去外地", state=state)
    assert not q.elliptical and q.prefer_documents == ["card-loss"]

    def passage(doc: str, score: float) -> SearchResult:
        return SearchResult(doc, doc, "寄送", 1, doc, score, "加急寄出", "加急寄出", language="zh-Hans")

    cq = ContextQuery(query="能不能快点寄给我", turn_text="能不能快点寄给我", prefer_documents=["card-loss"])
    ranked = Ranker(min_score=0.0).run(
        query=cq, results=[passage("loan", 1.0), passage("card-loss", 0.95)], language="zh-Hans"
    )
    assert ranked.results[0].document_id == "card-loss"
