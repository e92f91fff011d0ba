"""The caller's region: a Hong Kong or Taiwan caller gets the branch's own policy where one exists."""

from __future__ import annotations

from dataclasses import replace

from assist.calls.context import ContextQuery
from assist.calls.rank import Ranker
from assist.calls.region import caller_region, document_regions, script_region
from assist.calls.state import CallState
from assist.protocols import SearchResult


def _doc(doc: str, product: str, tags: list[str], score: float, text: str, language: str = "zh-Hant") -> SearchResult:
    return SearchResult(
        document_id=doc,
        title=doc,
        section="補卡",
        version=1,
        chunk_id=doc,
        score=score,
        snippet=text,
        text=text,
        language=language,
        product=product,
        tags=tags,
    )


CN, CARD = "zh-Hans", "credit_card"
MAINLAND = _doc("cn-card", CARD, ["card_loss", "region_mainland"], 1.0, "补卡费：首次免费，之后每次 ¥20。", CN)
HK = _doc("hk-card", "credit_card", ["card_loss", "region_hk"], 0.85, "補領卡費用：每年首次免費，其後每次 HK$50。")
MAINLAND_FEES = _doc("cn-fees", CARD, ["annual_fee", "region_mainland"], 0.95, "补卡另收加急费 ¥30。", CN)
EN_CARD = _doc("en-card", "credit_card", ["card_loss", "region_mainland"], 0.92, "Replacement card: RMB 20.", "en")
HK_DEPOSIT = _doc("hk-deposit", "deposit", ["deposit", "region_hk"], 0.9, "存款保障上限為 HK$800,000，補卡無關。")
TW_FRAUD = _doc("tw-fraud", "fraud", ["fraud", "region_tw"], 0.8, "遇到詐騙請撥 165，補卡另行辦理。")


def test_cues_of_the_caller_region_in_three_scripts() -> None:
    assert caller_region("我張卡 lost 咗啊 頭先喺旺角行街") == "HK"  # Cantonese particles and a place
    assert caller_region("it was a Hong Kong taxi, about HK$800") == "HK"
    assert caller_region("我的理專推薦一個商品，要新台幣六十萬") == "TW"
    assert caller_region("my card was stolen in Taipei") == "TW"
    assert caller_region("我的信用卡丢了怎么办") is None  # mainland is the default, never concluded
    assert caller_region("I lost my credit card") is None
    assert caller_region("這和你們的關係是什麼") is None  # 係 in 關係 is written Chinese, not Cantonese


def test_region_tags_are_read_from_the_document() -> None:
    assert document_regions(["card_loss", "region_hk", "region_tw"]) == {"HK", "TW"}
    assert document_regions(["card_loss"]) == frozenset()


def _rank(region: str | None, results: list[SearchResult]) -> list[str]:
    cq = ContextQuery(query="補卡要幾多錢", turn_text="補卡要幾多錢")
    ranked = Ranker(min_score=0.0, margin=1.0).run(query=cq, results=results, language="zh-Hant", region=region)
    return [r.document_id for r in ranked.results]


def test_a_hong_kong_caller_gets_the_hong_kong_policy() -> None:
    assert _rank(None, [MAINLAND, HK])[0] == "cn-card"  # the retriever's order without a region
    assert _rank("HK", [MAINLAND, HK])[0] == "hk-card"


def test_a_regional_document_on_another_product_is_not_pushed_up() -> None:
    # a Hong Kong caller asking about cards is not answered from the Hong Kong deposit policy
    assert _rank("HK", [MAINLAND, MAINLAND_FEES, EN_CARD, HK_DEPOSIT])[0] == "cn-card"
    # a Taiwan caller with no Taiwan card policy keeps the mainland one
    assert _rank("TW", [MAINLAND, MAINLAND_FEES, EN_CARD, TW_FRAUD])[0] == "cn-card"


def test_the_region_sticks_for_the_rest_of_the_call(make_call_engine) -> None:
    engine = make_call_engine()
    cid = engine.start_call()
    engine.handle_turn(cid, speaker="customer", text="喂 我張信用卡唔見咗 點算好")
    engine.handle_turn(cid, speaker="customer", text="補卡要收費嗎？")  # nothing regional in this turn
    engine.store.evict(cid)  # from the database, not memory
    assert engine.store.load(cid).region == "HK"
    assert CallState.from_json("x", {"region": "TW"}).region == "TW"


def test_a_traditional_script_turn_without_a_cue_reads_as_taiwan() -> None:
    assert script_region("我剛剛接到一通電話，說我的帳戶被盜用了，要怎麼辦？") == "TW"
    assert script_region("喂 我張信用卡唔見咗 點算好") is None  # Cantonese: caller_region's to tell
    assert script_region("我的信用卡丢了怎么办") is None  # Simplified: mainland
    assert script_region("I lost my card") is None


def test_the_branch_policy_passes_the_relevance_gate_for_an_english_question() -> None:
    cq = ContextQuery(query="how much is a new card", turn_text="how much is a new card")
    en = _doc("en-card", CARD, ["card_loss", "region_mainland"], 1.0, "A new card costs RMB 20.", "en")
    en2 = _doc("en-card-2", CARD, ["card_loss", "region_mainland"], 0.9, "The new card arrives in 7 days.", "en")
    ranker = Ranker(min_score=0.35)
    plain = ranker.run(query=cq, results=[en, en2, HK], language="en")
    assert "hk-card" not in [r.document_id for r in plain.results]  # no shared word, no dense score
    regional = ranker.run(query=cq, results=[en, en2, HK], language="en", region="HK")
    assert regional.results[0].document_id == "hk-card"


def test_another_branchs_own_policy_is_not_the_callers() -> None:
    # a Taiwan caller, no Taiwan card policy: the shared (mainland) policy, not the Hong Kong one with its HK$ fees
    hk_first = replace(HK, score=1.0)
    assert _rank("TW", [hk_first, replace(MAINLAND, score=0.9)])[0] == "cn-card"
    assert _rank("TW", [hk_first, replace(EN_CARD, score=0.9)])[0] == "en-card"
    # a Hong Kong caller is not answered from the Taiwan anti-fraud guide (its hotline is Taiwan's 165)
    en_scam = _doc("en-scam", "fraud", ["fraud"], 0.9, "Call the police and the bank at once.", "en")
    assert _rank("HK", [replace(TW_FRAUD, score=1.0), en_scam])[0] == "en-scam"
    # a mainland or unknown caller is left to the retriever's order
    assert _rank(None, [hk_first, replace(MAINLAND, score=0.9)])[0] == "hk-card"
