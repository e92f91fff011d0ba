"""Hybrid retrieval with the fake embedder: fusion, language weights, filters and the adapters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assist.knowledge.langchain import AssistRetriever, EmbedderEmbeddings
from assist.knowledge.retrieval import DEFAULT_WEIGHTS, DOCUMENT_EVIDENCE, HybridRetriever, language_group
from assist.protocols import Retriever, SearchFilter
from assist.text import tokenize
from ingest.embedders import HashEmbedder
from ingest.indexes import ChunkMeta, IndexedChunk, KnowledgeIndex

PASSAGES = [
    ("c1", "信用卡挂失后可申请补卡，补卡费二十元。", "zh-Hans", "credit_card"),
    ("c2", "提前还款需提前三十天预约，违约金为本金的百分之一。", "zh-Hans", "mortgage"),
    ("c3", "A prepayment fee of 1% applies in the first three years of a mortgage.", "en", "mortgage"),
    ("c4", "Report a lost card at once; the card is frozen immediately.", "en", "credit_card"),
]


def build(effective_to: str | None = None) -> HybridRetriever:
    emb = HashEmbedder()
    index = KnowledgeIndex({"hash": emb.dim})
    vecs = emb.embed_documents([p[1] for p in PASSAGES])
    index.replace(
        add=[
            IndexedChunk(
                meta=ChunkMeta(
                    chunk_id=i,
                    document_id=doc,
                    title=doc,
                    section="",
                    version=1,
                    text=text,
                    language=lang,
                    product=product,
                    effective_to=effective_to if doc == "c4" else None,
                ),
                tokens=tokenize(text),
                vectors={"hash": vecs[i]},
            )
            for i, (doc, text, lang, product) in enumerate(PASSAGES)
        ]
    )
    return HybridRetriever(index, [emb])


def test_finds_the_passage_in_each_script() -> None:
    r = build()
    assert r.retrieve("补卡要多少钱", k=1)[0].document_id == "c1"
    assert r.retrieve("補卡要多少錢", k=1)[0].document_id == "c1"
    assert r.retrieve("mortgage prepayment fee", k=1)[0].document_id == "c3"


def test_results_carry_the_citation_fields() -> None:
    hit = build().retrieve("lost card", k=1)[0]
    cite = hit.citation()
    assert set(cite) == {"document_id", "title", "section", "version", "chunk_id", "score", "snippet"}
    assert cite["document_id"] == "c4" and cite["version"] == 1


def test_filters_by_product_language_and_effective_date() -> None:
    r = build(effective_to="2020-01-01")
    assert {h.document_id for h in r.retrieve("fee", k=5, filters=SearchFilter(product="mortgage"))} <= {
        "c2",
        "c3",
    }
    assert all(h.language == "en" for h in r.retrieve("card", k=5, filters=SearchFilter(language="en")))
    assert "c4" not in {h.document_id for h in r.retrieve("lost card frozen", k=5)}
    past = r.retrieve("lost card frozen", k=5, filters=SearchFilter(on=date(2019, 6, 1)))
    assert past[0].document_id == "c4"


def test_language_groups_pick_their_own_weights() -> None:
    assert language_group("zh-Hant") == "zh" and language_group("en") == "en"
    # the English-only model must not steer Chinese queries
    assert DEFAULT_WEIGHTS["zh"]["minilm"] < DEFAULT_WEIGHTS["zh"]["e5"]
    r = build()
    assert r.weights_for("信用卡丢了") != r.weights_for("my card is lost")


def test_modes_and_bad_arguments() -> None:
    r = build()
    assert set(HybridRetriever(r.index, list(r.embedders.values()), mode="bm25").weights_for("card")) == {"bm25"}
    with pytest.raises(ValueError, match="unknown retrieval mode 'fuzzy'"):
        HybridRetriever(r.index, [], mode="fuzzy")
    assert r.retrieve("   ") == []


def test_langchain_adapters(tmp_path: Path) -> None:
    r = build()
    assert isinstance(r, Retriever)
    docs = AssistRetriever(retriever=r, k=2).invoke("lost card")
    assert docs[0].metadata["document_id"] == "c4" and "frozen" in docs[0].page_content
    emb = EmbedderEmbeddings(HashEmbedder())
    v = emb.embed_query("hello")
    assert len(v) == 256 and abs(np.linalg.norm(v) - 1) < 1e-5


def build_with_documents(*documents: str) -> HybridRetriever:
    """The retriever of build(), its chunks 0, 1, ... reassigned to these document ids."""
    r = build()
    for cid, doc in enumerate(documents):
        r.index.chunks[cid].document_id = doc
    return r


def test_a_document_with_several_strong_passages_outranks_a_lone_near_tie() -> None:
    # chunks 0 and 1 belong to one document (say a dispute policy); chunk 2 is a lone passage of another
    r = build_with_documents("dispute", "dispute", "card-loss", "other")
    fused = np.array([0.90, 0.85, 0.92, 0.10])
    bonus = r.document_evidence([0, 1, 2, 3], fused)
    assert bonus[2] == bonus[3] == 0.0  # a single passage gains nothing
    assert bonus[0] > 0 and bonus[1] > 0
    assert (fused + bonus)[0] > (fused + bonus)[2]  # the near tie goes to the document with more evidence
    assert (fused + bonus)[3] < (fused + bonus)[2]  # but evidence never lifts a weak passage over a strong one


def test_document_evidence_is_the_mean_of_each_passages_two_best_siblings() -> None:
    r = build_with_documents("a", "a", "a", "a")
    fused = np.array([0.2, 0.9, 0.5, 0.7])
    bonus = r.document_evidence([0, 1, 2, 3], fused)
    # best 0.9 (chunk 1), then 0.7 (chunk 3), then 0.5 (chunk 2)
    expected = [(0.9 + 0.7) / 2, (0.7 + 0.5) / 2, (0.9 + 0.7) / 2, (0.9 + 0.5) / 2]
    assert bonus == pytest.approx([DOCUMENT_EVIDENCE * e for e in expected])


class CountingEmbedder(HashEmbedder):
    """A second fake model that counts the queries it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.queries = 0

    @property
    def name(self) -> str:
        return "counted"

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return super().embed_query(text)


def two_model_retriever(weights: dict[str, dict[str, float]] | None) -> tuple[HybridRetriever, CountingEmbedder]:
    counted = CountingEmbedder()
    base = build()
    index = KnowledgeIndex({"hash": 256, "counted": 256})
    index.replace(
        add=[
            IndexedChunk(meta=m, tokens=tokenize(m.text), vectors={"hash": v, "counted": v})
            for m, v in ((m, base.index.dense["hash"].vectors_for([m.chunk_id])[0]) for m in base.index.chunks.values())
        ]
    )
    return HybridRetriever(index, [HashEmbedder(), counted], weights=weights), counted


def test_weight_overrides_replace_a_language_group_and_skip_unweighted_models() -> None:
    r, counted = two_model_retriever({"en": {"bm25": 0.2, "hash": 0.8, "counted": 0.0}})
    assert r.retrieve("mortgage prepayment fee", k=1)[0].document_id == "c3"
    assert counted.queries == 0  # weighted 0 for English: never run
    r.retrieve("补卡要多少钱", k=1)  # Chinese keeps the default table, where the unnamed model counts
    assert counted.queries == 1
    assert r.weights["zh"] == DEFAULT_WEIGHTS["zh"]


@pytest.mark.parametrize(
    ("weights", "reason"),
    [
        ({"fr": {"bm25": 1.0}}, "unknown language group 'fr'"),
        ({"en": {"bm25": -0.1, "hash": 1.0}}, "must be non-negative"),
        ({"en": {"bm25": 0.0}}, "at least one above 0"),
    ],
)
def test_bad_weight_overrides_are_refused(weights: dict[str, dict[str, float]], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        two_model_retriever(weights)


def test_the_knowledge_base_takes_its_weights_from_settings(tmp_path: Path) -> None:
    from assist.config import Settings
    from assist.db import make_engine
    from assist.knowledge.base import KnowledgeBase

    override = {"en": {"bm25": 0.05, "minilm": 0.95, "e5": 0.0}}
    settings = Settings(data_dir=tmp_path, embedders=["hash"], fusion_weights=override)
    kb = KnowledgeBase(settings, make_engine(settings), embedders=[HashEmbedder()])
    kb.warm_up()
    assert kb.retriever.weights["en"] == override["en"]
    assert kb.retriever.weights["zh"] == DEFAULT_WEIGHTS["zh"]
    with pytest.raises(ValueError, match="unknown language group 'fr'"):
        Settings(data_dir=tmp_path, fusion_weights={"fr": {"bm25": 1.0}})
