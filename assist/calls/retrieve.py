"""Retrieval for a call turn: bounded concurrency, prefetch on interim turns, and where the time went.

Retrieval is CPU-bound (query embeddings); more of it at once than there are cores only makes every call wait
on the model and index locks while the cores thrash, so turns queue for a slot instead. An interim (ASR)
turn that warrants a suggestion is retrieved ahead; its final reuses the passages when its query is the same
but for punctuation, spacing, case or script.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from assist.calls.metrics import elapsed_ms
from assist.protocols import Retriever, SearchResult, VectorRetriever
from assist.text import normalize

if TYPE_CHECKING:
    from assist.knowledge.retrieval import RetrievalTimings

logger = logging.getLogger(__name__)

_NOT_WORD = re.compile(r"[\W_]+")


@runtime_checkable
class TimedRetriever(Retriever, Protocol):
    """A retriever that reports how its last retrieval's time split (HybridRetriever)."""

    @property
    def last_timings(self) -> RetrievalTimings:
        """Milliseconds of the calling thread's last retrieval: `embed_ms` and `search_ms`."""
        ...


def prefetch_key(query: str) -> str:
    """Queries that differ only in punctuation, spacing, case or script share their retrieval.

    ASR finals usually repeat the last interim hypothesis with punctuation added.
    """
    return _NOT_WORD.sub("", normalize(query))


@dataclass(frozen=True)
class Retrieval:
    """The passages retrieved for a turn's query, best first.

    Attributes:
        results: the passages (more than top_k: the re-ranking picks from them).
        timings: milliseconds: `queue` (waiting for a slot), `retrieve`, and `embed`/`search` when the
            retriever reports them; or `retrieve` 0 and `prefetched` 1 when an interim turn fetched them.
    """

    results: list[SearchResult]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def prefetched(self) -> bool:
        """True when the passages came from the interim turn's prefetch."""
        return self.timings.get("prefetched") == 1.0


class RetrieveStage:
    """Retrieves a turn's passages, at most `max_parallel` at a time, with prefetch by interim turns.

    Args:
        retriever: a function returning the retriever in force (the KB may swap indexes), asked every retrieval.
        top_k: passages the answer may cite.
        depth: passages fetched for the re-ranking (at least top_k are).
        max_parallel: retrievals at once (default: one per core).
        max_prefetches: prefetched turns kept; past it they are all dropped (abandoned calls must not pile up).
    """

    def __init__(
        self,
        *,
        retriever: Callable[[], Retriever],
        top_k: int,
        depth: int = 20,
        max_parallel: int | None = None,
        max_prefetches: int = 5000,
    ) -> None:
        if not callable(retriever):
            raise ValueError(f"RetrieveStage needs a function returning the retriever, got {retriever!r}")
        parallel = max_parallel or max(1, os.cpu_count() or 1)
        if parallel < 1:
            raise ValueError(f"max_parallel_retrievals must be positive, got {max_parallel}")
        if depth < 1:
            raise ValueError(f"depth must be positive, got {depth}")
        if max_prefetches < 1:
            raise ValueError(f"max_prefetches must be positive, got {max_prefetches}")
        self._retriever = retriever
        self.k = max(top_k, depth)
        self.max_prefetches = max_prefetches
        self._slots = threading.BoundedSemaphore(parallel)
        self._prefetch: dict[str, tuple[str, list[SearchResult]]] = {}

    @property
    def retriever(self) -> Retriever:
        """The retriever in force."""
        return self._retriever()

    def run(self, *, call_id: str, query: str, vectors: dict[str, np.ndarray] | None = None) -> Retrieval:
        """The passages for `query`: the call's prefetch when it was for the same query, else a retrieval.

        `vectors`: the query's vectors already computed, by embedder name (the turn's e5 vector when the query
        is the turn itself); used by a retriever that accepts them (`accepts_vectors`), else ignored.
        """
        pre = self._prefetch.pop(call_id, None)
        if pre is not None and pre[0] == prefetch_key(query):
            return Retrieval(pre[1], {"retrieve": 0.0, "prefetched": 1.0})
        return self._retrieve(query, vectors)

    def prefetch(self, *, call_id: str, query: str) -> None:
        """Retrieve ahead for an interim turn; the call's final turn picks it up (one per call)."""
        if len(self._prefetch) >= self.max_prefetches:  # abandoned calls must not pile up
            self._prefetch.clear()
        self._prefetch[call_id] = (prefetch_key(query), self._retrieve(query).results)

    def forget(self, call_id: str) -> None:
        """Drop the call's prefetch (the call ended)."""
        self._prefetch.pop(call_id, None)

    def pending(self) -> int:
        """Prefetches waiting for their final turn."""
        return len(self._prefetch)

    def _retrieve(self, query: str, vectors: dict[str, np.ndarray] | None = None) -> Retrieval:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        retriever = self.retriever
        with self._slots:
            timings["queue"] = elapsed_ms(t)
            if vectors and isinstance(retriever, VectorRetriever) and retriever.accepts_vectors:
                results = retriever.retrieve(query, k=self.k, vectors=vectors)
                timings["shared_vector"] = 1.0
            else:
                results = retriever.retrieve(query, k=self.k)
        timings["retrieve"] = elapsed_ms(t)
        if isinstance(retriever, TimedRetriever):  # HybridRetriever: embed and search split
            last = retriever.last_timings
            timings["embed"] = round(float(last.embed_ms), 3)
            timings["search"] = round(float(last.search_ms), 3)
        return Retrieval(results, timings)
