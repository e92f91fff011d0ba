"""Retrieval evaluation on labelled sets (corpus.jsonl + queries.jsonl), on a throw-away index."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assist.errors import InvalidInputError
from assist.knowledge.retrieval import HybridRetriever
from assist.text import detect_language, tokenize
from ingest.indexes import ChunkMeta, IndexedChunk, KnowledgeIndex

logger = logging.getLogger(__name__)


@dataclass
class LabelledItem:
    """One corpus item or query."""

    id: str
    text: str
    label: str


def read_jsonl(path: Path) -> list[LabelledItem]:
    """Items of an eval file; a clear error for a missing file or a bad line."""
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    items = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                items.append(LabelledItem(str(row["id"]), str(row["text"]), str(row["label"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInputError(f"{path}:{n}: expected JSON with id, text and label ({exc})") from exc
    if not items:
        raise InvalidInputError(f"{path}: no items")
    return items


def build_eval_index(corpus: list[LabelledItem], embedders: list[Any]) -> KnowledgeIndex:
    """An in-memory index of the corpus, one chunk per item (never touches the data directory)."""
    texts = [c.text for c in corpus]
    vectors = {e.name: np.asarray(e.embed_documents(texts), dtype=np.float32) for e in embedders}
    index = KnowledgeIndex({e.name: int(vectors[e.name].shape[1]) for e in embedders})
    add = [
        IndexedChunk(
            meta=ChunkMeta(
                chunk_id=i,
                document_id=c.id,
                title=c.label,
                section="",
                version=1,
                text=c.text,
                language=detect_language(c.text),
            ),
            tokens=tokenize(c.text),
            vectors={n: v[i] for n, v in vectors.items()},
        )
        for i, c in enumerate(corpus)
    ]
    index.replace(add=add)
    return index


def score_ranking(ranked_labels: list[list[str]], gold: list[str], k: int) -> dict[str, float]:
    """hit@1, hit@5 and MRR@k of ranked label lists against gold labels."""
    hit1 = hit5 = mrr = 0.0
    for labels, g in zip(ranked_labels, gold, strict=True):
        hit1 += bool(labels[:1] and labels[0] == g)
        hit5 += g in labels[:5]
        for rank, lab in enumerate(labels[:k], 1):
            if lab == g:
                mrr += 1 / rank
                break
    n = max(len(gold), 1)
    return {"hit@1": round(hit1 / n, 4), "hit@5": round(hit5 / n, 4), f"mrr@{k}": round(mrr / n, 4)}


def evaluate_retrieval(
    corpus_path: Path,
    queries_path: Path,
    *,
    embedders: list[Any],
    mode: str = "hybrid",
    k: int = 10,
    limit: int | None = None,
    weights: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """The contract's eval object: hit@1, hit@5, mrr@10, n, mode, index_seconds, query_ms_p50/p95."""
    if k < 1:
        raise InvalidInputError(f"-k must be at least 1, got {k}")
    if limit is not None and limit < 1:
        raise InvalidInputError(f"--limit must be at least 1, got {limit}")
    corpus = read_jsonl(corpus_path)
    queries = read_jsonl(queries_path)[:limit]
    t0 = time.perf_counter()
    index = build_eval_index(corpus, embedders if mode != "bm25" else [])
    index_seconds = time.perf_counter() - t0
    retriever = HybridRetriever(index, embedders if mode != "bm25" else [], mode=mode, weights=weights)
    ranked: list[list[str]] = []
    times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        hits = retriever.score(q.text, limit=k)
        times.append((time.perf_counter() - t) * 1000)
        ranked.append([index.chunks[h.chunk_id].title for h in hits])
    out: dict[str, Any] = score_ranking(ranked, [q.label for q in queries], k)
    if k != 10:
        out["mrr@10"] = score_ranking(ranked, [q.label for q in queries], 10)["mrr@10"]
    out.update(
        n=len(queries),
        mode=mode,
        embedders=[e.name for e in embedders] if mode != "bm25" else [],
        index_seconds=round(index_seconds, 2),
        query_ms_p50=round(float(np.percentile(times, 50)), 2),
        query_ms_p95=round(float(np.percentile(times, 95)), 2),
    )
    return out
