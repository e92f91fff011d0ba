"""The top document's sections that were not retrieved, offered to the composer (issue 17, ninth round).

Measured on the ten development call sets and not wired into the engine (see docs/benchmarks.md, "Answers,
ninth round"): these tests pin what `DocumentPassages` and `ExtractiveComposer.widen` do for the recorder and
the trainer, and that a composer without them composes as before. Sentences written for the tests, three scripts.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from assist.calls.compose import ExtractiveComposer
from assist.calls.sentences import DocumentPassages, SentenceVectors
from assist.protocols import SearchResult
from ingest.indexes import ChunkMeta


def _meta(cid: int, doc: str, section: str, text: str, *, language: str = "zh-Hans", **kw: str) -> ChunkMeta:
    return ChunkMeta(
        chunk_id=cid, document_id=doc, title=doc, section=section, version=1, text=text, language=language, **kw
    )


def _hit(meta: ChunkMeta, score: float) -> SearchResult:
    return SearchResult(
        document_id=meta.document_id,
        title=meta.title,
        section=meta.section,
        version=1,
        chunk_id=str(meta.chunk_id),
        score=score,
        snippet=meta.text,
        text=meta.text,
        language=meta.language,
    )


# a mortgage policy (mainland), a safe-box rule (Hong Kong) and a travel-card note (English)
STEPS = _meta(11, "mortgage", "办理步骤", "借款人携带身份证到网点签署提前还款申请书。")
NOTICE = _meta(12, "mortgage", "预约", "提前还款须提前 15 天在手机银行预约。")
PENALTY = _meta(13, "mortgage", "违约金", "首两年内提前还款，按所还本金的 2% 收取违约金。")
OLD = _meta(14, "mortgage", "旧条款", "二〇二〇年的旧费率，已经停用。", effective_to="2021-12-31")
BOX = _meta(21, "safe-box", "租金", "細號保管箱每年租金港幣 800 元。", language="zh-Hant")
BOX_KEY = _meta(22, "safe-box", "遺失鎖匙", "遺失鎖匙須即時通知分行，換鎖費用港幣 1,500 元。", language="zh-Hant")
TRAVEL = _meta(31, "travel-card", "Top-up", "Top-ups in the app arrive within 10 minutes.", language="en")
TRAVEL_FX = _meta(
    32, "travel-card", "Rates", "Spending in a currency not loaded is converted with a 1.5% fee.", language="en"
)

CHUNKS = {m.chunk_id: m for m in (PENALTY, STEPS, NOTICE, OLD, BOX, BOX_KEY, TRAVEL, TRAVEL_FX)}


def _passages(chunks: dict[int, ChunkMeta] | None = None) -> DocumentPassages:
    index = SimpleNamespace(chunks=CHUNKS if chunks is None else chunks)
    return DocumentPassages(lambda: index)


def test_a_documents_passages_come_in_chunk_order_and_only_those_in_force() -> None:
    got = _passages()("mortgage")
    assert [r.chunk_id for r in got] == ["11", "12", "13"]  # the rate that expired in 2021 is not offered
    assert got[2].section == "违约金" and got[2].text == PENALTY.text
    assert _passages()("no-such-document") == []
    assert DocumentPassages(lambda: None)("mortgage") == []


def test_the_map_follows_a_changed_index() -> None:
    chunks = dict(CHUNKS)
    passages = _passages(chunks)
    assert len(passages("safe-box")) == 2
    chunks[23] = _meta(23, "safe-box", "開箱", "開箱須由租用人本人親臨。", language="zh-Hant")
    assert [r.chunk_id for r in passages("safe-box")] == ["21", "22", "23"]


def test_the_fact_in_a_section_not_retrieved_can_be_answered_from() -> None:
    results = [_hit(STEPS, 0.9), _hit(NOTICE, 0.7)]
    before = ExtractiveComposer().run(query="提前还款 违约金 多少", results=results, language="zh-Hans")
    assert "2%" not in before.answer  # the penalty section was not retrieved
    composer = ExtractiveComposer(document_passages=_passages())
    after = composer.run(query="提前还款 违约金 多少", results=results, language="zh-Hans")
    assert "2%" in after.answer
    assert after.citations[0]["title"] == "mortgage"


def test_a_hong_kong_question_reads_the_branch_documents_other_section() -> None:
    results = [_hit(BOX, 0.8)]
    composer = ExtractiveComposer(document_passages=_passages())
    comp = composer.run(query="唔見咗鎖匙 換鎖 要幾多錢", results=results, language="zh-Hant")
    assert "1,500" in comp.answer


def test_widening_adds_only_the_top_documents_passages_at_the_lowest_score_handed() -> None:
    composer = ExtractiveComposer(document_passages=_passages())
    handed = [_hit(TRAVEL, 0.6), _hit(BOX, 0.4)]
    wide = composer.widen(handed)
    assert [r.chunk_id for r in wide] == ["31", "21", "32"]  # the travel card's other section, not the box's
    assert wide[2].score == 0.4
    assert composer.widen([]) == []
    assert ExtractiveComposer().widen(handed) == handed  # no passages source: as before
    assert ExtractiveComposer(document_passages=_passages(), max_document=0).widen(handed) == handed


def test_with_a_vector_the_passages_closest_in_meaning_are_the_ones_added() -> None:
    table = {
        STEPS.text: [1.0, 0.0, 0.0, 0.0],
        NOTICE.text: [0.0, 1.0, 0.0, 0.0],
        PENALTY.text: [0.0, 0.0, 1.0, 0.0],
    }

    def encode(texts: list[str]) -> np.ndarray:
        return np.array([table.get(t, [0.0, 0.0, 0.0, 1.0]) for t in texts], np.float32)

    vectors = SentenceVectors(encode)
    composer = ExtractiveComposer(document_passages=_passages(), sentence_vectors=vectors, max_document=1)
    handed = [_hit(STEPS, 0.9)]
    turn = np.array([0.0, 0.1, 1.0, 0.0], np.float32)  # about the penalty
    assert [r.chunk_id for r in composer.widen(handed, turn)] == ["11", "13"]
    assert [r.chunk_id for r in composer.widen(handed)] == ["11", "12"]  # no vector: the first in the document


def test_a_composer_without_a_passages_source_answers_as_before() -> None:
    results = [_hit(TRAVEL, 0.6)]
    plain = ExtractiveComposer().run(query="how long does a top-up take", results=results, language="en")
    wide = ExtractiveComposer(document_passages=_passages(), max_document=0).run(
        query="how long does a top-up take", results=results, language="en"
    )
    assert plain.answer == wide.answer
    assert "10 minutes" in plain.answer
