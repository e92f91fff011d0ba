"""Hybrid retrieval with the fake embedder: fusion, language weights, filters and the adapters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assist.langchain_adapters import AssistRetriever, EmbedderEmbeddings
from assist.protocols import Retriever, SearchFilter
from assist.retrieval import DEFAULT_WEIGHTS, HybridRetriever, language_group
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
    assert set(HybridRetriever(r.index, list(r.embedders.values()), mode="bm25").weights_for("card")) == {
        "bm25"
    }
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


def test_a_document_with_several_strong_passages_outranks_a_lone_near_tie() -> None:
    r = build()
    # chunks 0 and 1 belong to one document (say a dispute policy); chunk 2 is a lone passage of another
    for cid, doc in ((0, "dispute"), (1, "dispute"), (2, "card-loss"), (3, "other")):
        r.index.chunks[cid].document_id = doc
    fused = np.array([0.90, 0.85, 0.92, 0.10])
    bonus = r.document_evidence([0, 1, 2, 3], fused)
    assert bonus[2] == bonus[3] == 0.0  # a single passage gains nothing
    assert bonus[0] > 0 and bonus[1] > 0
    assert (fused + bonus)[0] > (fused + bonus)[2]  # the near tie goes to the document with more evidence
    assert (fused + bonus)[3] < (fused + bonus)[2]  # but evidence never lifts a weak passage over a strong one
