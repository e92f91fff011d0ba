"""More Cantonese words as cues of a Hong Kong call, and which product a regional caller's question is about
(issue 17, eighth round). Sentences written for these tests, none from a call set."""

from __future__ import annotations

from assist.calls.context import ContextQuery
from assist.calls.rank import Ranker
from assist.calls.region import caller_region, product_family, topical_products
from assist.protocols import SearchResult


def test_more_cantonese_words_count_as_cues_of_a_hong_kong_call() -> None:
    assert caller_region("咁你哋幾點開門") == "HK"  # 咁 and 哋: two Cantonese words
    assert caller_region("咁你哋個網上理財點樣開戶") == "HK"
    assert caller_region("那你們幾點開門") is None  # Taiwanese Mandarin: no cue


def _doc(
    doc: str, product: str, tags: list[str], score: float, section: str, language: str = "zh-Hant"
) -> SearchResult:
    text = f"{section}。"
    return SearchResult(
        document_id=doc, title=doc, section=section, version=1, chunk_id=f"{doc}/{section}", score=score,
        snippet=text, text=text, language=language, product=product, tags=tags,
    )  # fmt: skip


def _first(region: str | None, results: list[SearchResult], query: str = "那筆錢還能拿回來嗎") -> str:
    cq = ContextQuery(query=query, turn_text=query)
    ranked = Ranker(min_score=0.0, margin=1.0).run(query=cq, results=results, language="zh-Hant", region=region)
    return ranked.results[0].document_id


BRANCH_WEALTH = ["wealth", "region_hk", "region_tw"]


def test_a_branch_policy_in_the_callers_script_does_not_make_its_own_product_the_subject() -> None:
    # a Taiwan caller's scam follow-up: the investment policy tops the retrieval only by its script
    results = [
        _doc("branch-wealth", "wealth", BRANCH_WEALTH, 1.0, "贖回安排"),
        _doc("cn-scam", "fraud", ["fraud", "region_mainland"], 0.95, "被骗后怎么办", "zh-Hans"),
        _doc("tw-scam", "fraud", ["fraud", "region_tw"], 0.75, "遭詐騙後的處理"),
    ]
    assert _first("TW", results) == "tw-scam"
    assert topical_products(results, 3) == {"fraud"}
    assert _first(None, results) == "branch-wealth"  # no region: the retriever's order, as before


def test_a_hong_kong_callers_fund_question_gets_the_branch_investment_policy() -> None:
    results = [
        _doc("cn-fund", "fund", ["fund", "region_mainland"], 1.0, "基金赎回", "zh-Hans"),
        _doc("cn-fund-fees", "fund", ["fund", "region_mainland"], 0.95, "基金费用", "zh-Hans"),
        _doc("en-fund", "fund", ["fund", "region_mainland"], 0.9, "Fund fees", "en"),
        _doc("branch-wealth", "wealth", BRANCH_WEALTH, 0.75, "產品風險等級"),
    ]
    assert product_family("fund") == "wealth" and product_family("credit_card") == "credit_card"
    assert _first("HK", results, "你哋隻基金會唔會蝕") == "branch-wealth"
    assert _first(None, results, "基金會不會虧") == "cn-fund"  # a mainland caller keeps the fund guide
