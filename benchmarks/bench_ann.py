"""Dense search at 100,000 chunks: FAISS exact (flat) search against HNSW, query latency and hit@1.

    .venv/bin/python -m benchmarks.bench_ann [--data DIR] [--size 100000] [--queries 1000] [--model minilm]
    .venv/bin/python -m benchmarks.bench_ann --flat-sizes 5000,10000,20000,50000,100000   # exact search alone

The corpus is synthetic, built from banking77_en (read at run time from ../shared/data, never copied into
the repo): its 10,003 labelled utterances are embedded with the real model, then filled up to `--size`
with unlabelled distractors, each the normalised mix of two random corpus vectors plus noise, so they
crowd the real neighbours the way a big knowledge base does. A query is a held-out banking77 question;
a hit at 1 is a top result with the query's intent (a distractor is a miss). Both indexes hold the same
vectors under the same ids, as `ingest.indexes.FaissIndex` does (IndexIDMap2); latency is one query at a
time on one thread (as a live call searches), p50 / p95 over all queries, after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from assist.knowledge.evaluation import read_jsonl
from benchmarks.common import CachedEmbedder, set_paths
from ingest.embedders import build_embedder


def distractors(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` unit vectors near the corpus: a random mix of two of its vectors plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.3, 0.7, (n, 1)).astype(np.float32)
    v = w * base[a] + (1 - w) * base[b] + rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def timed_search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """Top-k ids of each query, searched one at a time, and each search's milliseconds."""
    index.search(queries[:10], k)  # warm-up
    ids = np.empty((len(queries), k), dtype=np.int64)
    times = []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, found = index.search(q[None, :], k)
        times.append((time.perf_counter() - t) * 1000)
        ids[i] = found[0]
    return ids, times


def measure(name: str, index: Any, queries: np.ndarray, q_labels: list[str], labels: dict[int, str]) -> dict:
    ids, times = timed_search(index, queries, 10)
    hits = [labels.get(int(row[0])) == lab for row, lab in zip(ids, q_labels, strict=True)]
    return {
        "index": name,
        "hit_at_1": round(float(np.mean(hits)), 4),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "top_ids": ids,
    }


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--m", type=int, default=32, help="HNSW links per node")
    ap.add_argument("--ef-construction", type=int, default=80)
    ap.add_argument("--ef-search", default="16,32,64,128")
    ap.add_argument(
        "--flat-sizes", default=None, help="e.g. 5000,10000,20000,50000: exact search alone at each size, then stop"
    )
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    corpus_p, queries_p = set_paths("banking77_en", args.data)
    corpus, qs = read_jsonl(corpus_p), read_jsonl(queries_p)[: args.queries]
    emb = CachedEmbedder(build_embedder(args.model))
    base = emb.embed_documents([c.text for c in corpus])
    queries = np.vstack([emb.embed_query(q.text) for q in qs]).astype(np.float32)
    vectors = np.vstack([base, distractors(base, max(0, args.size - len(base)))])
    ids = np.arange(len(vectors), dtype=np.int64)
    labels = {i: c.label for i, c in enumerate(corpus)}
    q_labels = [q.label for q in qs]
    if args.flat_sizes:  # where exact search stops fitting a turn: the switch-over size (ASSIST_ANN_MIN_VECTORS)
        sizes = []
        for n in (int(x) for x in args.flat_sizes.split(",")):
            small = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
            small.add_with_ids(vectors[:n], ids[:n])
            row = measure(f"flat {n}", small, queries, q_labels, labels)
            del row["top_ids"], row["hit_at_1"]
            sizes.append(row)
        print(json.dumps({"model": args.model, "load_average": round(os.getloadavg()[0], 2), "rows": sizes}))
        return
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    flat.add_with_ids(vectors, ids)
    rows = [measure("flat", flat, queries, q_labels, labels)]
    hnsw_inner = faiss.IndexHNSWFlat(vectors.shape[1], args.m, faiss.METRIC_INNER_PRODUCT)
    hnsw_inner.hnsw.efConstruction = args.ef_construction
    hnsw = faiss.IndexIDMap2(hnsw_inner)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building may use every core; searching uses one
    t = time.perf_counter()
    hnsw.add_with_ids(vectors, ids)
    build_s = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    for ef in (int(x) for x in args.ef_search.split(",")):
        hnsw_inner.hnsw.efSearch = ef
        row = measure(f"hnsw M={args.m} efSearch={ef}", hnsw, queries, q_labels, labels)
        row["same_top1_as_flat"] = round(float(np.mean(row["top_ids"][:, 0] == rows[0]["top_ids"][:, 0])), 4)
        rows.append(row)
    for r in rows:
        del r["top_ids"]
    out = {
        "model": args.model,
        "vectors": len(vectors),
        "real_corpus": len(corpus),
        "queries": len(qs),
        "hnsw_build_seconds": round(build_s, 1),
        "load_average": round(os.getloadavg()[0], 2),
        "rows": rows,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
