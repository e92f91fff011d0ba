"""Query latency and hit@1 through the product's retriever at 100,000 chunks: exact search against HNSW.

    .venv/bin/python -m benchmarks.bench_scale [--data DIR] [--size 100000] [--queries 300]

The corpus is synthetic, built from the three shared sets (read at run time from ../shared/data, never
copied into the repo): every item of banking77_en, fiqa_en and jining_bank_zh is a chunk, embedded by the
real models with the settings' document engine; the rest up to `--size` are distractors, each made of two
random items of one set: the first half of one's tokens and the second half of the other's for BM25, the
normalised mix of their vectors plus noise for each dense index. A distractor has no label, so one ranked
first is a miss. Queries are the first `--queries` of each set (fiqa: at most its 648), embedded by the
settings' query engine inside `HybridRetriever.retrieve` (as a live turn does), one at a time.

Two indexes hold the same chunks: one exact (`ASSIST_ANN_MIN_VECTORS=0`), one with the settings' HNSW
switch-over. Every query runs on both, alternating which goes first, so both see the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from assist.config import Settings
from assist.knowledge.evaluation import LabelledItem, read_jsonl
from assist.knowledge.retrieval import HybridRetriever
from assist.text import detect_language, tokenize
from benchmarks.common import SETS, CachedEmbedder, set_paths
from ingest.ann import AnnConfig
from ingest.embedders import build_embedders
from ingest.indexes import ChunkMeta, IndexedChunk, KnowledgeIndex


def mix(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    w = rng.uniform(0.3, 0.7, (len(a), 1)).astype(np.float32)
    v = w * a + (1 - w) * b + rng.normal(0, 0.02, a.shape).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def corpus_chunks(
    sets: dict[str, list[LabelledItem]], embedders: list[Any], size: int, seed: int = 0
) -> tuple[list[IndexedChunk], dict[int, str]]:
    """The chunks (real items first, then distractors per set in proportion to its size) and each real
    chunk's label (`set/label`)."""
    rng = np.random.default_rng(seed)
    chunks: list[IndexedChunk] = []
    labels: dict[int, str] = {}
    real = sum(len(items) for items in sets.values())
    for name, items in sets.items():
        texts = [c.text for c in items]
        vecs = {e.name: np.asarray(e.embed_documents(texts), dtype=np.float32) for e in embedders}
        tokens = [tokenize(t) for t in texts]
        language = detect_language(texts[0])
        for i, c in enumerate(items):
            cid = len(chunks)
            labels[cid] = f"{name}/{c.label}"
            chunks.append(chunk(cid, c.text, language, tokens[i], {n: v[i] for n, v in vecs.items()}))
        extra = max(0, size - real) * len(items) // real
        a, b = rng.integers(0, len(items), extra), rng.integers(0, len(items), extra)
        mixed = {n: mix(v[a], v[b], rng) for n, v in vecs.items()}
        for j in range(extra):
            ta, tb = tokens[a[j]], tokens[b[j]]
            toks = ta[: len(ta) // 2] + tb[len(tb) // 2 :]
            text = texts[a[j]][: len(texts[a[j]]) // 2] + texts[b[j]][len(texts[b[j]]) // 2 :]
            chunks.append(chunk(len(chunks), text, language, toks, {n: m[j] for n, m in mixed.items()}))
    return chunks, labels


def chunk(cid: int, text: str, language: str, tokens: list[str], vectors: dict[str, np.ndarray]) -> IndexedChunk:
    meta = ChunkMeta(chunk_id=cid, document_id=f"d{cid}", title="", section="", version=1, text=text, language=language)
    return IndexedChunk(meta=meta, tokens=tokens, vectors=vectors)


def build(chunks: list[IndexedChunk], dims: dict[str, int], ann: AnnConfig) -> tuple[KnowledgeIndex, float]:
    index = KnowledgeIndex(dims, ann=ann)
    t = time.perf_counter()
    index.replace(add=chunks)
    return index, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300, help="per set")
    args = ap.parse_args()
    settings = Settings()
    embedders = [CachedEmbedder(e) for e in build_embedders(settings)]
    sets = {name: read_jsonl(set_paths(name, args.data)[0]) for name in SETS}
    queries = [(name, q) for name in SETS for q in read_jsonl(set_paths(name, args.data)[1])[: args.queries]]
    chunks, labels = corpus_chunks(sets, embedders, args.size)
    dims = {e.name: e.dim for e in embedders}
    exact, exact_s = build(chunks, dims, AnnConfig(min_vectors=0))
    graph, graph_s = build(chunks, dims, AnnConfig.from_settings(settings))
    runs: dict[str, Any] = {}
    retrievers = {
        name: HybridRetriever(index, embedders, candidates=settings.candidates, weights=settings.fusion_weights)
        for name, index in (("exact", exact), ("hnsw", graph))
    }
    for r in retrievers.values():
        r.retrieve("warm up", k=5)
    times: dict[str, list[float]] = {n: [] for n in retrievers}
    hits: dict[str, dict[str, list[bool]]] = {n: {s: [] for s in SETS} for n in retrievers}
    order = list(retrievers)
    for i, (set_name, q) in enumerate(queries):
        for name in order if i % 2 == 0 else order[::-1]:
            t = time.perf_counter()
            top = retrievers[name].retrieve(q.text, k=5)
            times[name].append((time.perf_counter() - t) * 1000)
            hits[name][set_name].append(bool(top) and labels.get(int(top[0].chunk_id)) == f"{set_name}/{q.label}")
    for name, index in (("exact", exact), ("hnsw", graph)):
        runs[name] = {
            "kinds": {n: i.kind for n, i in index.dense.items()},
            "build_seconds": round(exact_s if name == "exact" else graph_s, 1),
            "query_ms_p50": round(float(np.percentile(times[name], 50)), 1),
            "query_ms_p95": round(float(np.percentile(times[name], 95)), 1),
            "hit_at_1": {s: round(float(np.mean(h)), 4) for s, h in hits[name].items()},
        }
    out = {
        "chunks": len(chunks),
        "real_chunks": len(labels),
        "queries": len(queries),
        "query_engine": settings.query_engine,
        "vector_spaces": [e.vector_space for e in embedders],
        "ann_min_vectors": settings.ann_min_vectors,
        "ann_ef_search": settings.ann_ef_search,
        "load_average": round(os.getloadavg()[0], 2),
        "runs": runs,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
