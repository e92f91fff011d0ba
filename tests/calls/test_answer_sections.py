"""The fact a section away, and the caller's branch policy that the turn's words could not retrieve (issue 17)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from assist.calls.compose import ExtractiveComposer
from assist.calls.context import ContextQuery
from assist.calls.rank import Ranker, with_sections
from assist.calls.region import RegionalPolicies
from assist.protocols import SearchResult
from ingest.indexes import ChunkMeta


def _passage(doc: str, section: str, text: str, *, product: str = "credit_card", tags: list[str] | None = None,
             language: str = "zh-Hans", score: float = 1.0) -> SearchResult:  # fmt: skip
    return SearchResult(
        document_id=doc,
        title=doc,
        section=section,
        version=1,
        chunk_id=f"{doc}/{section}",
        score=score,
        snippet=text,
        text=text,
        language=language,
        product=product,
        tags=tags or [],
    )


# the card-loss policy's steps rank first on "补卡" words; its fee section is cut by the gate or the margin
STEPS = _passage("card-loss", "坐席下一步", "核实身份 → 挂失 → 安排补卡并说明补卡流程。")
DISPUTE = _passage("dispute", "受理时限", "争议交易须在 60 天内登记，补卡不影响争议处理。", score=0.9)
FEES = _passage("fees", "年费", "金卡年费 ¥300，刷卡满 6 次免次年年费。", score=0.85)
ATM = _passage("atm", "吞卡", "吞卡后 3 个工作日内到网点领回，逾期销毁。", score=0.8)
REPLACEMENT_FEE = _passage("card-loss", "补卡", "每年首次补卡免费，之后每次补卡收取 ¥20，7 个工作日内寄出。", score=0.7)


def test_the_answer_reads_the_top_documents_other_sections() -> None:
    results = [STEPS, DISPUTE, FEES, ATM, REPLACEMENT_FEE]
    comp = ExtractiveComposer().run(query="补卡要不要钱", results=results, language="zh-Hans")
    assert "¥20" in comp.answer
    assert comp.citations[0]["title"] == "card-loss"  # the same policy, its fee section


def test_other_documents_sections_beyond_the_top_passages_are_not_read() -> None:
    results = [STEPS, DISPUTE, FEES, REPLACEMENT_FEE, ATM]
    comp = ExtractiveComposer(max_sections=0).run(query="补卡要不要钱", results=results, language="zh-Hans")
    assert "¥20" not in comp.answer
    comp = ExtractiveComposer().run(query="吞卡了怎么办", results=[STEPS, DISPUTE, FEES, ATM], language="zh-Hans")
    assert "吞卡" not in comp.answer  # the fourth passage is another document's: not read


def test_a_further_section_does_not_pad_an_answer_the_top_passages_give() -> None:
    top = _passage("card-loss", "补卡", "补卡在 7 个工作日内寄出。")
    extra = _passage("card-loss", "补卡流程", "补卡须先完成挂失，新卡寄到账单地址。", score=0.6)
    comp = ExtractiveComposer().run(query="补卡多久寄到", results=[top, DISPUTE, FEES, extra], language="zh-Hans")
    assert "7 个工作日" in comp.answer
    assert "账单地址" not in comp.answer  # on the question's words, but the answer was already there


def test_with_sections_adds_the_top_documents_passages_the_ranking_cut() -> None:
    retrieved = [STEPS, DISPUTE, FEES, ATM, REPLACEMENT_FEE]
    assert with_sections([STEPS, DISPUTE], retrieved) == [STEPS, DISPUTE, REPLACEMENT_FEE]
    assert with_sections([DISPUTE], retrieved) == [DISPUTE]  # nothing more of that document was retrieved
    assert with_sections([], retrieved) == []
    assert with_sections([STEPS], retrieved, limit=0) == [STEPS]


# -- the caller's branch policy, found by meaning --


class _Dense:
    def __init__(self, vectors: dict[int, np.ndarray]) -> None:
        self.vectors = vectors

    def vectors_for(self, ids: list[int]) -> np.ndarray:
        return np.vstack([self.vectors[i] for i in ids])


class _Index:
    def __init__(self, chunks: list[tuple[ChunkMeta, np.ndarray]]) -> None:
        self.chunks = {m.chunk_id: m for m, _ in chunks}
        self.dense = {"e5": _Dense({m.chunk_id: v for m, v in chunks})}


def _meta(
    cid: int, doc: str, section: str, tags: list[str], product: str = "insurance", effective_to: str | None = None
) -> ChunkMeta:
    return ChunkMeta(
        cid, doc, doc, section, 1, f"{section}。", "zh-Hant", product=product, tags=tags, effective_to=effective_to
    )


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, np.float32)
    return v / np.linalg.norm(v)


COOLING = _meta(1, "hk-insurance", "冷靜期", ["region_hk"])
SURRENDER = _meta(2, "hk-insurance", "退保", ["region_hk"])
TW_FRAUD = _meta(3, "tw-fraud", "165", ["region_tw"], product="fraud")
EXPIRED = _meta(4, "hk-old", "冷靜期", ["region_hk"], effective_to="2001-01-01")
INDEX = _Index(
    [
        (COOLING, _unit(1, 0, 0)),
        (SURRENDER, _unit(0, 1, 0)),
        (TW_FRAUD, _unit(1, 0, 0)),
        (EXPIRED, _unit(1, 0, 0)),
    ]
)
EN_POLICY = _passage(
    "en-insurance", "Cooling-off period", "You may cancel within 15 days.", product="insurance",
    tags=["region_mainland"], language="en",
)  # fmt: skip
EN_ID = _passage("en-idv", "Security questions", "Ask two questions.", product="account", language="en", score=0.9)
TURN = _unit(0.9, 0.1, 0)  # "can I cancel": closest to the cooling-off section


def test_a_hong_kong_callers_branch_policy_is_found_by_meaning() -> None:
    out = RegionalPolicies().run([EN_POLICY, EN_ID], region="HK", vector=TURN, index=INDEX)
    assert [r.document_id for r in out] == ["en-insurance", "en-idv", "hk-insurance"]
    assert out[-1].section == "冷靜期"  # the section closest to the turn, not the first one
    cq = ContextQuery(query="so can I cancel", turn_text="so can I cancel")
    ranked = Ranker(min_score=0.3).run(query=cq, results=out, language="en", region="HK").results
    assert ranked[0].document_id == "hk-insurance"  # the branch's own policy is what the caller gets


@pytest.mark.parametrize(
    ("region", "vector", "results"),
    [
        (None, TURN, [EN_POLICY, EN_ID]),  # a mainland caller (or no cue yet): the retrieval stands
        ("HK", None, [EN_POLICY, EN_ID]),  # no vector for the turn: nothing to judge by
        ("TW", TURN, [EN_POLICY, EN_ID]),  # no Taiwan policy on insurance
        ("HK", TURN, [EN_ID]),  # the turn is not about insurance
    ],
)
def test_nothing_is_added_without_a_regional_policy_on_the_topic(
    region: str | None, vector: np.ndarray | None, results: list[SearchResult]
) -> None:
    assert RegionalPolicies().run(results, region=region, vector=vector, index=INDEX) == results


def test_a_regional_policy_already_retrieved_or_out_of_force_is_not_added_again() -> None:
    hk = _passage("hk-insurance", "退保", "退保。", product="insurance", tags=["region_hk"], language="zh-Hant")
    assert RegionalPolicies().run([EN_POLICY, hk], region="HK", vector=TURN, index=INDEX) == [EN_POLICY, hk]
    only_old = _Index([(EXPIRED, _unit(1, 0, 0))])
    assert date.today().isoformat() > "2001-01-01"
    assert RegionalPolicies().run([EN_POLICY], region="HK", vector=TURN, index=only_old) == [EN_POLICY]


def test_a_regional_passage_far_from_the_turns_meaning_is_not_added() -> None:
    close = replace(EN_POLICY, scores={"e5": 1.2})  # the retrieved policy is much closer to the turn
    assert RegionalPolicies().run([close, EN_ID], region="HK", vector=TURN, index=INDEX) == [close, EN_ID]


def test_an_english_question_is_answered_from_the_branch_policy_ranked_first() -> None:
    hk = _passage("hk-insurance", "冷靜期", "冷靜期為 21 個曆日。", product="insurance", language="zh-Hant")
    other = _passage("en-card", "Cancel a card", "To cancel a card, call us.", language="en", score=0.9)
    comp = ExtractiveComposer().run(query="so can I cancel", results=[hk, other], language="en")
    assert comp.citations[0]["title"] == "hk-insurance"
    assert "21" in comp.answer and "cancel a card" not in comp.answer


def test_a_call_stays_with_the_policy_in_play_unless_another_is_clearly_better() -> None:
    dispute = _passage("dispute", "还款", "争议期间该笔款项暂不计息，其余欠款须按时还款。", score=0.92)
    loan = _passage("loan", "提前还款", "提前还款须提前 30 天预约。", product="loan", score=1.0)
    cq = ContextQuery(query="那这四千多块我是不是还得先还上", turn_text="那这四千多块我是不是还得先还上",
                      prefer_documents=["dispute"])  # fmt: skip
    ranked = Ranker(min_score=0.0, margin=1.0).run(query=cq, results=[loan, dispute], language="zh-Hans").results
    assert ranked[0].document_id == "dispute"  # the card-dispute call goes on with its policy
    far = replace(dispute, score=0.7)
    ranked = Ranker(min_score=0.0, margin=1.0).run(query=cq, results=[loan, far], language="zh-Hans").results
    assert ranked[0].document_id == "loan"  # a clearly better passage of another policy still takes over
