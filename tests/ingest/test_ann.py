"""Dense indexes switch from exact search to HNSW above a size, and HNSW still removes, filters and persists."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from assist.config import Settings
from assist.models import DocumentStatus
from assist.protocols import SearchFilter
from ingest.ann import AnnConfig
from ingest.indexes import ChunkMeta, ChunkSelection, FaissIndex, IndexedChunk, KnowledgeIndex, fingerprint
from tests.factories import make_kb, write

DIM = 32
SMALL = AnnConfig(min_vectors=100, ef_search=64, m=16, ef_construction=40)


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(vectors: dict[int, np.ndarray], q: np.ndarray, k: int, allowed: set[int] | None = None) -> list[int]:
    ids = [i for i in sorted(vectors) if allowed is None or i in allowed]
    scores = np.array([vectors[i] @ q for i in ids])
    return [ids[j] for j in np.argsort(-scores, kind="stable")[:k]]


def filled(n: int, config: AnnConfig = SMALL, start: int = 1000) -> tuple[FaissIndex, dict[int, np.ndarray]]:
    index = FaissIndex(DIM, config)
    vecs = unit_vectors(n)
    ids = list(range(start, start + n))
    index.add(ids, vecs)
    return index, dict(zip(ids, vecs, strict=True))


def test_switches_to_hnsw_at_the_threshold_and_back_below_half() -> None:
    index, vectors = filled(99)
    assert index.kind == "exact"
    more = unit_vectors(1, seed=5)
    index.add([5000], more)
    vectors[5000] = more[0]
    assert (index.kind, len(index)) == ("hnsw", 100)
    assert index.ids() == set(vectors)
    for i in (1000, 1050, 5000):  # a stored vector finds itself first, with every chunk it had before
        assert index.search(vectors[i], 1)[0][0] == i
    index.remove(range(1000, 1045))  # 55 left: still above half of 100
    assert index.kind == "hnsw"
    index.remove([1045, 1046, 1047, 1048, 1049, 1050])  # 49 left: below half, exact again
    assert (index.kind, len(index)) == ("exact", 49)
    assert index.ids() == set(range(1051, 1099)) | {5000}


def test_zero_keeps_every_index_exact() -> None:
    index, _ = filled(300, AnnConfig(min_vectors=0))
    assert index.kind == "exact"


def test_removed_chunks_are_never_returned_by_hnsw() -> None:
    index, vectors = filled(400)
    assert index.kind == "hnsw"
    gone = set(range(1000, 1060))  # 15 %: tombstones, no compaction yet
    index.remove(gone)
    assert index.kind == "hnsw" and len(index) == 340
    for i in sorted(gone)[:20]:
        found = [cid for cid, _ in index.search(vectors[i], 10)]
        assert not gone & set(found)
        assert len(found) == 10
    live = {i: v for i, v in vectors.items() if i not in gone}
    q = unit_vectors(1, seed=9)[0]
    assert [cid for cid, _ in index.search(q, 5)] == brute_force(live, q, 5)
    assert index.ids() == set(live)
    with pytest.raises(KeyError):
        index.vectors_for([1000])


def test_tombstones_past_the_fraction_compact_the_graph() -> None:
    index, vectors = filled(400)
    index.remove(range(1000, 1100))  # 25 % of the slots > 20 %
    store = index._store
    assert index.kind == "hnsw"
    assert len(store.slots) == 300 and store.tombstones == 0  # type: ignore[union-attr]
    q = vectors[1200]
    assert index.search(q, 1)[0][0] == 1200
    assert np.allclose(index.vectors_for([1200, 1399]), np.vstack([vectors[1200], vectors[1399]]))


def test_a_removed_chunk_added_again_is_found_once() -> None:
    index, vectors = filled(200)
    index.remove([1007])
    index.add([1007], vectors[1007][None, :])  # a retired document published again
    found = [cid for cid, _ in index.search(vectors[1007], 10)]
    assert found.count(1007) == 1 and found[0] == 1007
    assert len(index) == 200


@pytest.mark.parametrize("share", [0.05, 0.8])
def test_filters_are_respected_by_hnsw(share: float) -> None:
    """A small selection is scanned exactly, a large one goes through the graph: k results of the selection."""
    index, vectors = filled(500)
    rng = np.random.default_rng(3)
    allowed = {i for i in vectors if rng.random() < share} - {1001, 1002}
    index.remove([1001])
    within = ChunkSelection(np.array(sorted(allowed), dtype=np.int64))
    q = unit_vectors(1, seed=11)[0]
    found = [cid for cid, _ in index.search(q, 10, within=within)]
    assert len(found) == 10 and set(found) <= allowed
    if share < 0.5:  # exact over the selection
        assert found == brute_force(vectors, q, 10, allowed)
    tiny = ChunkSelection(np.array([1002, 1003], dtype=np.int64))
    assert {cid for cid, _ in index.search(q, 10, within=tiny)} == {1002, 1003}
    assert index.search(q, 10, within=ChunkSelection(np.array([1001], dtype=np.int64))) == []


def chunk(i: int, vec: np.ndarray, document: str = "d", language: str = "en") -> IndexedChunk:
    meta = ChunkMeta(
        chunk_id=i, document_id=document, title="t", section="", version=1, text=f"c{i}", language=language
    )
    return IndexedChunk(meta=meta, tokens=[f"w{i % 7}"], vectors={"m": vec})


def test_save_and_load_keep_the_graph_its_tombstones_and_its_results(tmp_path: Path) -> None:
    vecs = unit_vectors(300)
    index = KnowledgeIndex({"m": DIM}, ann=SMALL)
    index.replace(add=[chunk(i, vecs[i], language="zh" if i % 3 else "en") for i in range(300)])
    index.replace(remove=range(0, 30))  # 10 %: tombstones kept
    assert index.dense["m"].kind == "hnsw"
    index.save(tmp_path)
    assert (tmp_path / "m.hnsw").is_file()
    back = KnowledgeIndex.load(tmp_path, expect_fingerprint=fingerprint(range(30, 300)), dims={"m": DIM}, ann=SMALL)
    assert back is not None
    assert back.dense["m"].kind == "hnsw" and back.dense["m"].ids() == set(range(30, 300))
    q = unit_vectors(1, seed=4)[0]
    assert back.dense["m"].search(q, 10) == index.dense["m"].search(q, 10)
    zh = back.select(SearchFilter(language="zh"), day=date(2026, 1, 1))
    assert zh is not None
    assert all(i % 3 for i, _ in back.dense["m"].search(q, 10, within=zh))
    # another setting at load: the saved graph becomes exact at once, with the same chunks
    exact = KnowledgeIndex.load(
        tmp_path, expect_fingerprint=fingerprint(range(30, 300)), dims={"m": DIM}, ann=AnnConfig(min_vectors=0)
    )
    assert exact is not None and exact.dense["m"].kind == "exact"
    assert [c for c, _ in exact.dense["m"].search(q, 10)] == [c for c, _ in index.dense["m"].search(q, 10)]


def test_an_exact_index_saved_by_older_code_still_loads(tmp_path: Path) -> None:
    vecs = unit_vectors(20)
    index = KnowledgeIndex({"m": DIM})
    index.replace(add=[chunk(i, vecs[i]) for i in range(20)])
    index.save(tmp_path)
    manifest = (tmp_path / "manifest.json").read_text()
    (tmp_path / "manifest.json").write_text(manifest.replace('"kinds": {"m": "exact"}, ', ""))
    back = KnowledgeIndex.load(tmp_path, expect_fingerprint=fingerprint(range(20)), dims={"m": DIM})
    assert back is not None and back.dense["m"].kind == "exact" and len(back.dense["m"]) == 20


def test_settings_name_the_threshold_and_ef_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_ANN_MIN_VECTORS", "50000")
    monkeypatch.setenv("ASSIST_ANN_EF_SEARCH", "128")
    config = AnnConfig.from_settings(Settings())
    assert (config.min_vectors, config.ef_search) == (50000, 128)
    for name, bad in (
        ("ASSIST_ANN_EF_SEARCH", "4"),
        ("ASSIST_ANN_EF_SEARCH", "5000"),
        ("ASSIST_ANN_MIN_VECTORS", "-1"),
    ):
        monkeypatch.setenv(name, bad)
        with pytest.raises(ValidationError, match=name.removeprefix("ASSIST_").lower()):
            Settings()
        monkeypatch.delenv(name)


def test_a_knowledge_base_over_the_threshold_serves_hnsw_and_stops_citing_a_retired_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the product: settings → KnowledgeBase → HNSW indexes, retire, restart from the saved files."""
    monkeypatch.setenv("ASSIST_ANN_MIN_VECTORS", "10")
    docs = tmp_path / "docs"
    for n in range(12):
        write(docs / f"doc{n}.md", f"# Policy {n}\n\nTopic number {n}: the fee for service {n} is {n} dollars.\n")
    write(docs / "lost.md", "# Lost card\n\nReport a lost card at once and we freeze it.\n")
    kb = make_kb(tmp_path / "data")
    kb.ingest_paths([docs])
    assert kb.index.dense["hash"].kind == "hnsw"
    top = kb.retriever.retrieve("lost card freeze", k=1)[0]
    assert top.title == "Lost card"
    kb.pipeline.set_status(document_id=top.document_id, status=DocumentStatus.retired)
    assert all(r.document_id != top.document_id for r in kb.retriever.retrieve("lost card freeze", k=5))
    kb.save()
    again = make_kb(tmp_path / "data")
    assert again.index.dense["hash"].kind == "hnsw"
    assert all(r.document_id != top.document_id for r in again.retriever.retrieve("lost card freeze", k=5))
