"""Choose the fusion weights per language group on HELD-OUT queries.

Tuning uses queries 1,000 onward of banking77_en (English) and jining_bank_zh (Chinese); the figures in
docs/benchmarks.md use the first 1,000 queries (fiqa_en: all 648, never used for tuning).

    .venv/bin/python -m benchmarks.tune_fusion [--data ../shared/data/retrieval]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from assist.knowledge.evaluation import build_eval_index, read_jsonl, score_ranking
from assist.knowledge.retrieval import HybridRetriever
from benchmarks.common import CachedEmbedder, set_paths
from ingest.embedders import build_embedder

TUNE = {"en": "banking77_en", "zh": "jining_bank_zh"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--step", type=float, default=0.05)
    args = ap.parse_args()
    embedders = [CachedEmbedder(build_embedder("minilm")), CachedEmbedder(build_embedder("e5"))]
    steps = int(round(1 / args.step))
    grid = [round(i * args.step, 3) for i in range(steps + 1)]
    for group, name in TUNE.items():
        corpus_p, queries_p = set_paths(name, args.data)
        corpus, queries = read_jsonl(corpus_p), read_jsonl(queries_p)[1000:]
        for e in embedders:
            e.preload_queries([q.text for q in queries])
        index = build_eval_index(corpus, embedders)
        r = HybridRetriever(index, embedders, candidates=50)
        allw = {"bm25": 1.0, "minilm": 1.0, "e5": 1.0}
        cached = [r.candidates_for(q.text, allw) for q in queries]
        gold = [q.label for q in queries]
        results = []
        for wb, wm in itertools.product(grid, grid):
            we = round(1 - wb - wm, 3)
            if we < -1e-9:
                continue
            w = {"bm25": wb, "minilm": wm, "e5": max(we, 0.0)}
            ranked = []
            for ids, per in cached:
                fused = HybridRetriever.fuse(per, w, len(ids))
                order = np.argsort(-fused, kind="stable")[:10]
                ranked.append([index.chunks[ids[i]].title for i in order])
            m = score_ranking(ranked, gold, 10)
            results.append((m["hit@1"] + 0.5 * m["mrr@10"], w, m))
        results.sort(key=lambda t: -t[0])
        for _, w, m in results[:5]:
            print(json.dumps({"group": group, "weights": w, **m}), flush=True)


if __name__ == "__main__":
    main()
