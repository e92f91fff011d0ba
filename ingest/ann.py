"""The vector stores behind `ingest.indexes.FaissIndex`: exact (flat) search, and HNSW with removals.

Exact search reads every vector: at 100,000 chunks that alone is over a live turn's budget on two cores
(docs/benchmarks.md). HNSW (`faiss.IndexHNSWFlat`) answers in well under a millisecond, but FAISS's graph
cannot remove a vector, and a knowledge base retires and supersedes documents. `HnswStore` keeps its own
labels: the graph's label is a slot (the order vectors were added), `slots[label]` the chunk id, or -1
once the chunk was removed (a tombstone). A search leaves tombstones (and chunks a filter excludes) out
with a FAISS IDSelector over the slots; once tombstones pass `AnnConfig.compact_fraction` of the slots,
the graph is built again from the live vectors.

A search under a filter that keeps less than half of the chunks scans those chunks exactly (the graph
would have to walk past the others); a graph search that finds fewer than k of the allowed chunks is
done again exactly. So a filter is never traded for speed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assist.config import DEFAULT_ANN_EF_SEARCH, DEFAULT_ANN_MIN_VECTORS, Settings

logger = logging.getLogger(__name__)

HNSW_M = 32  # links per node
HNSW_EF_CONSTRUCTION = 80
COMPACT_FRACTION = 0.2  # tombstones beyond this share of the slots: rebuild the graph
GRAPH_MIN_SHARE = 0.5  # a filter keeping less than this share of the chunks is scanned exactly


@dataclass(frozen=True)
class AnnConfig:
    """When and how a dense index switches from exact search to HNSW.

    Attributes:
        min_vectors: HNSW once an index holds this many vectors; back to exact below half of it
            (hysteresis, so a few removals do not flip it). 0: always exact.
        ef_search: HNSW's candidate list while searching (more: closer to exact, slower).
        m: HNSW links per node.
        ef_construction: HNSW's candidate list while building.
        compact_fraction: rebuild the graph when this share of its slots are tombstones.
    """

    min_vectors: int = DEFAULT_ANN_MIN_VECTORS
    ef_search: int = DEFAULT_ANN_EF_SEARCH
    m: int = HNSW_M
    ef_construction: int = HNSW_EF_CONSTRUCTION
    compact_fraction: float = COMPACT_FRACTION

    def __post_init__(self) -> None:
        if self.min_vectors < 0:
            raise ValueError(f"min_vectors must be 0 (always exact) or more, got {self.min_vectors}")
        if self.ef_search < 1 or self.m < 2 or self.ef_construction < 1:
            raise ValueError(f"bad HNSW parameters ef_search={self.ef_search}, m={self.m}, ef={self.ef_construction}")
        if not 0 < self.compact_fraction < 1:
            raise ValueError(f"compact_fraction must be between 0 and 1, got {self.compact_fraction}")

    @classmethod
    def from_settings(cls, settings: Settings) -> AnnConfig:
        """The settings' `ASSIST_ANN_MIN_VECTORS` and `ASSIST_ANN_EF_SEARCH`."""
        return cls(min_vectors=settings.ann_min_vectors, ef_search=settings.ann_ef_search)

    def wants_graph(self, n: int) -> bool:
        """An exact index of `n` vectors should become HNSW."""
        return self.min_vectors > 0 and n >= self.min_vectors

    def wants_exact(self, n: int) -> bool:
        """An HNSW index of `n` live vectors should become exact again."""
        return self.min_vectors == 0 or n < self.min_vectors // 2


class Selection(Protocol):
    """What a store needs of `ingest.indexes.ChunkSelection`."""

    ids: np.ndarray

    def __len__(self) -> int: ...

    def contains(self, ids: np.ndarray) -> np.ndarray: ...

    def selector(self) -> object: ...


Hits = list[tuple[int, float]]


def _hits(ids: np.ndarray, scores: np.ndarray) -> Hits:
    return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i != -1]


class ExactStore:
    """Every vector read on every search: `IndexIDMap2(IndexFlatIP)`, ids equal to chunk ids."""

    kind = "exact"

    def __init__(self, dim: int, index: Any = None) -> None:
        import faiss

        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> None:
        self.index.remove_ids(ids)  # type: ignore[arg-type]  # the SWIG wrapper takes an id array too

    def search(self, q: np.ndarray, k: int, within: Selection | None) -> Hits:
        if within is None:
            scores, ids = self.index.search(q, min(k, len(self)))
        else:
            import faiss

            n = min(k, len(self), len(within))
            params = faiss.SearchParameters()
            params.sel = within.selector()  # type: ignore[assignment]  # ChunkSelection builds an IDSelector
            scores, ids = self.index.search(q, n, params=params)
        return _hits(ids[0], scores[0])

    def vectors_for(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.index.reconstruct_batch(ids), dtype=np.float32)

    def ids(self) -> np.ndarray:
        import faiss

        return np.asarray(faiss.vector_to_array(self.index.id_map), dtype=np.int64)

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored."""
        import faiss

        n = len(self)
        inner = faiss.downcast_index(self.index.index)
        vectors = inner.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)
        return self.ids(), np.asarray(vectors, dtype=np.float32)


class HnswStore:
    """HNSW over slots, with tombstones for removed chunks (see the module docstring)."""

    kind = "hnsw"

    def __init__(self, dim: int, config: AnnConfig, index: Any = None, slots: np.ndarray | None = None) -> None:
        import faiss

        self.dim = dim
        self.config = config
        if index is None:
            index = faiss.IndexHNSWFlat(dim, config.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = config.ef_construction
        self.index = index
        self.slots = np.asarray(slots if slots is not None else np.zeros(0, np.int64), dtype=np.int64)
        if len(self.slots) != int(index.ntotal):
            raise ValueError(f"HNSW index holds {index.ntotal} vectors but {len(self.slots)} slots")
        live = np.flatnonzero(self.slots >= 0)
        self.where = dict(zip(self.slots[live].tolist(), live.tolist(), strict=True))  # chunk id -> slot
        self._selectors: dict[int, tuple[Selection | None, Any, Any]] = {}

    def __len__(self) -> int:
        return len(self.where)

    @property
    def tombstones(self) -> int:
        return len(self.slots) - len(self.where)

    def _changed(self) -> None:
        self._selectors.clear()

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.remove(np.asarray([i for i in ids.tolist() if i in self.where], dtype=np.int64))  # a re-added id
        start = len(self.slots)
        self.index.add(vectors)
        self.slots = np.concatenate([self.slots, ids])
        self.where.update(zip(ids.tolist(), range(start, start + len(ids)), strict=True))
        self._changed()

    def remove(self, ids: np.ndarray) -> None:
        gone = [self.where.pop(i) for i in ids.tolist() if i in self.where]
        if not gone:
            return
        self.slots[gone] = -1
        self._changed()

    def needs_compaction(self) -> bool:
        return self.tombstones > 0 and self.tombstones >= self.config.compact_fraction * len(self.slots)

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the live chunks."""
        live = np.flatnonzero(self.slots >= 0)
        if not len(live):
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return self.slots[live], np.asarray(self.index.reconstruct_batch(live), dtype=np.float32)

    def _selector(self, within: Selection | None) -> Any:
        """An IDSelector over the slots a search may return (live, and in `within`); None: every slot."""
        if within is None and self.tombstones == 0:
            return None
        key = id(within)
        cached = self._selectors.get(key)
        if cached is not None and cached[0] is within:
            return cached[1]
        import faiss

        allowed = self.slots >= 0
        if within is not None:
            allowed &= within.contains(self.slots)
        bits = np.packbits(allowed, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
        if len(self._selectors) >= 256:
            self._selectors.clear()
        self._selectors[key] = (within, selector, bits)  # keeps the selection and the bitmap alive
        return selector

    def search(self, q: np.ndarray, k: int, within: Selection | None) -> Hits:
        import faiss

        allowed = len(self) if within is None else len(within)
        k = min(k, allowed)
        if k <= 0:
            return []
        selector = self._selector(within)
        if allowed >= GRAPH_MIN_SHARE * len(self):
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing from faiss's stubs
            params.efSearch = max(self.config.ef_search, k)
            if selector is not None:
                params.sel = selector
            scores, labels = self.index.search(q, k, params=params)
            hits = self._to_ids(labels[0], scores[0])
            if len(hits) >= k:
                return hits
        storage = faiss.downcast_index(self.index.storage)  # the same vectors, searched exactly
        exact = faiss.SearchParameters()
        if selector is not None:
            exact.sel = selector
        scores, labels = storage.search(q, k, params=exact)
        return self._to_ids(labels[0], scores[0])

    def _to_ids(self, labels: np.ndarray, scores: np.ndarray) -> Hits:
        keep = labels >= 0
        ids = self.slots[labels[keep]]
        return _hits(ids, scores[keep])

    def vectors_for(self, ids: np.ndarray) -> np.ndarray:
        slots = np.asarray([self.where[i] for i in ids.tolist()], dtype=np.int64)
        return np.asarray(self.index.reconstruct_batch(slots), dtype=np.float32)

    def ids(self) -> np.ndarray:
        return self.slots[self.slots >= 0]


def build_graph(dim: int, config: AnnConfig, ids: np.ndarray, vectors: np.ndarray) -> HnswStore:
    """A fresh HNSW store of these vectors (the graph built on every core the process may use)."""
    store = HnswStore(dim, config)
    if len(ids):
        store.add(ids, vectors)
    logger.info("HNSW graph built", extra={"vectors": len(ids), "m": config.m, "ef_search": config.ef_search})
    return store


def build_exact(dim: int, ids: np.ndarray, vectors: np.ndarray) -> ExactStore:
    store = ExactStore(dim)
    if len(ids):
        store.add(ids, vectors)
    return store


def hnsw_path(path: Path) -> Path:
    """Where the HNSW form of the index saved as `path` lives (`minilm.faiss` → `minilm.hnsw`)."""
    return path.with_suffix(".hnsw")


def as_ids(ids: Iterable[int] | Sequence[int]) -> np.ndarray:
    return np.asarray(list(ids), dtype=np.int64)
