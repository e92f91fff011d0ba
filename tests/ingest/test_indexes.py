"""The BM25 and FAISS indexes on their own: scores against the textbook formula, add and remove by id."""

from __future__ import annotations

import logging
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assist.protocols import SearchFilter
from ingest.indexes import BM25Index, ChunkMeta, ChunkSelection, FaissIndex, IndexedChunk, KnowledgeIndex

DOCS = {
    10: "lost card freeze card now".split(),
    11: "mortgage prepayment fee".split(),
    12: "card fee waived for the first year".split(),
}


def textbook(docs: dict[int, list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> dict[int, float]:
    n, avg = len(docs), sum(map(len, docs.values())) / len(docs)
    out: dict[int, float] = {}
    for cid, toks in docs.items():
        s = 0.0
        for t in set(query):
            tf, df = toks.count(t), sum(t in d for d in docs.values())
            if tf:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                s += query.count(t) * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(toks) / avg))
        if s:
            out[cid] = s
    return out


def test_bm25_matches_the_formula_and_follows_adds_and_removes() -> None:
    bm = BM25Index()
    for cid, toks in DOCS.items():
        bm.add(cid, toks)
    query = "card fee card".split()
    assert bm.scores(query) == pytest.approx(textbook(DOCS, query))
    ids, scores = bm.score_arrays(query)
    assert ids.tolist() == [10, 11, 12] and scores[0] > 0
    bm.remove([12])  # cached per-token arrays must not outlive a change
    rest = {k: v for k, v in DOCS.items() if k != 12}
    assert bm.scores(query) == pytest.approx(textbook(rest, query))
    bm.add(12, DOCS[12])
    assert bm.scores(query) == pytest.approx(textbook(DOCS, query))
    assert bm.scores(["unknown"]) == {}
    assert BM25Index().score_arrays(query)[0].size == 0


def test_faiss_returns_stored_vectors_by_chunk_id() -> None:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3, 8)).astype(np.float32)
    idx = FaissIndex(8)
    idx.add([7, 3, 42], vecs)
    assert np.allclose(idx.vectors_for([42, 7]), vecs[[2, 0]])
    assert idx.vectors_for([]).shape == (0, 8)
    idx.remove([3])
    assert idx.ids() == {7, 42}
    assert idx.search(vecs[2], 1)[0][0] == 42


def test_faiss_search_within_a_selection_returns_k_of_the_selected_chunks() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(100, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    idx = FaissIndex(8)
    idx.add(list(range(100)), vectors)
    query = vectors[0]
    wanted = ChunkSelection(np.arange(90, 100))  # the ten chunks farthest down the id list
    hits = idx.search(query, 3, within=wanted)
    assert len(hits) == 3 and all(90 <= cid < 100 for cid, _ in hits)
    exact = sorted(range(90, 100), key=lambda i: -float(vectors[i] @ query))[:3]
    assert [cid for cid, _ in hits] == exact
    assert idx.search(query, 3, within=ChunkSelection(np.zeros(0, dtype=np.int64))) == []
    assert list(wanted.contains(np.array([5, 90, 99, 100]))) == [False, True, True, False]


def _chunk(cid: int, language: str) -> IndexedChunk:
    meta = ChunkMeta(chunk_id=cid, document_id=f"d{cid}", title="t", section="", version=1, text="x", language=language)
    return IndexedChunk(meta=meta, tokens=["x"], vectors={"v": np.eye(4, dtype=np.float32)[cid % 4]})


def test_a_kept_selection_follows_the_chunks_as_they_change() -> None:
    index = KnowledgeIndex({"v": 4})
    index.replace(add=[_chunk(1, "en"), _chunk(2, "zh-Hans")])
    english = SearchFilter(language="en")
    today = date(2026, 1, 1)
    assert list(index.select(english, today).ids) == [1]  # type: ignore[union-attr]
    assert index.select(SearchFilter(), today) is None  # every chunk passes: no selection needed
    index.replace(remove=[1], add=[_chunk(3, "en")])
    assert list(index.select(english, today).ids) == [3]  # type: ignore[union-attr]
    index.replace(add=[_chunk(4, "en-GB")])
    assert list(index.select(english, today).ids) == [3, 4]  # type: ignore[union-attr]


def test_an_index_saved_for_another_vector_space_is_not_loaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Vectors of the reference engine ("e5") are never served beside the ONNX engine's ("e5-onnx")."""
    idx = KnowledgeIndex({"e5": 4}, {"e5": "e5"})
    vec = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    meta = ChunkMeta(chunk_id=1, document_id="d", title="t", section="", version=1, text="x", language="en")
    idx.replace(add=[IndexedChunk(meta=meta, tokens=["x"], vectors={"e5": vec})])
    idx.save(tmp_path)
    same = KnowledgeIndex.load(tmp_path, expect_fingerprint=idx.fingerprint(), dims={"e5": 4}, spaces={"e5": "e5"})
    assert same is not None and len(same) == 1
    with caplog.at_level(logging.WARNING, logger="ingest.indexes"):
        other = KnowledgeIndex.load(
            tmp_path, expect_fingerprint=idx.fingerprint(), dims={"e5": 4}, spaces={"e5": "e5-onnx"}
        )
    assert other is None  # the caller rebuilds from the database's vectors of the expected space
    assert any("other vector spaces" in r.getMessage() for r in caplog.records)
