"""The search indexes: one FAISS index per embedder, one BM25 index, and the chunk table they share.

`KnowledgeIndex.replace()` removes and adds chunks under one lock, so a search sees either the old
version of a document or the new one, never both or neither.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from assist.protocols import SearchFilter
from assist.text import TOKENIZER_VERSION
from ingest.ann import AnnConfig, ExactStore, HnswStore, as_ids, build_exact, build_graph, hnsw_path

logger = logging.getLogger(__name__)

# Distinct (filters, day) selections kept per index; past it they are all dropped and made again.
MAX_CACHED_SELECTIONS = 256


@dataclass
class ChunkMeta:
    """What a search result needs to know about a chunk without a database round trip."""

    chunk_id: int
    document_id: str
    title: str
    section: str
    version: int
    text: str
    language: str
    source: str = ""
    page: int | None = None
    product: str | None = None
    tags: list[str] = field(default_factory=list)
    effective_from: str | None = None  # ISO dates, for cheap JSON persistence
    effective_to: str | None = None

    def effective_on(self, day: date) -> bool:
        """True when the document is in force on `day`."""
        iso = day.isoformat()
        if self.effective_from and iso < self.effective_from:
            return False
        return not (self.effective_to and iso > self.effective_to)


class ChunkSelection:
    """The chunks a filtered search may return: their ids (sorted), a membership test, a FAISS selector."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.sort(np.asarray(ids, dtype=np.int64))
        self._selector: object | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """A boolean mask: which of `ids` are selected."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.zeros(len(ids), dtype=bool)
        pos = np.searchsorted(self.ids, ids).clip(max=len(self.ids) - 1)
        return np.asarray(self.ids[pos] == ids)

    def selector(self) -> object:
        """A FAISS IDSelector over the ids (built once; FAISS only reads it while searching)."""
        if self._selector is None:
            import faiss

            self._selector = faiss.IDSelectorBatch(self.ids)
        return self._selector


class FaissIndex:
    """Inner product over L2-normalised vectors, by chunk id: exact search, or HNSW from
    `AnnConfig.min_vectors` vectors up (`ingest.ann`), switching as the index grows and shrinks."""

    def __init__(self, dim: int, ann: AnnConfig | None = None) -> None:
        if dim <= 0:
            raise ValueError(f"index dimension must be positive, got {dim}")
        self.dim = dim
        self.ann = ann or AnnConfig()
        self._store: ExactStore | HnswStore = ExactStore(dim)

    def __len__(self) -> int:
        return len(self._store)

    @property
    def kind(self) -> str:
        """ "exact" or "hnsw"."""
        return self._store.kind

    def _settle(self) -> None:
        """Switch to HNSW, back to exact, or compact the graph, as the number of vectors now asks."""
        store = self._store
        if isinstance(store, ExactStore):
            if self.ann.wants_graph(len(store)):
                self._store = build_graph(self.dim, self.ann, *store.contents())
        elif self.ann.wants_exact(len(store)):
            self._store = build_exact(self.dim, *store.contents())
        elif store.needs_compaction():
            self._store = build_graph(self.dim, self.ann, *store.contents())

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        self._store.add(as_ids(ids), vectors)
        self._settle()

    def remove(self, ids: Iterable[int]) -> None:
        arr = as_ids(ids)
        if arr.size:
            self._store.remove(arr)
            self._settle()

    def search(self, query: np.ndarray, k: int, *, within: ChunkSelection | None = None) -> list[tuple[int, float]]:
        """The k nearest chunks (inner product), best first; with `within`, the k nearest of those chunks.

        The selection is applied inside the FAISS search, so a filter that excludes most chunks still
        gives k results when k chunks pass it.
        """
        if len(self) == 0 or (within is not None and len(within) == 0):
            return []
        q = np.ascontiguousarray(query[None, :], dtype=np.float32)
        return self._store.search(q, k, within)

    def vectors_for(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these ids (for exact scoring of fusion candidates)."""
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._store.vectors_for(as_ids(ids))

    def ids(self) -> set[int]:
        return set(self._store.ids().tolist())

    def save(self, path: Path) -> None:
        """Write the index to `path` (exact), or to `path` with the suffix `.hnsw` (the graph and its slots)."""
        import faiss

        store = self._store
        if isinstance(store, ExactStore):
            tmp = path.with_suffix(".tmp")
            faiss.write_index(store.index, str(tmp))
            tmp.replace(path)
            return
        target = hnsw_path(path)
        tmp = target.with_suffix(".tmp")
        with tmp.open("wb") as f:
            np.savez(f, index=faiss.serialize_index(store.index), slots=store.slots)
        tmp.replace(target)

    @classmethod
    def load(cls, path: Path, *, ann: AnnConfig | None = None, kind: str = "exact") -> FaissIndex:
        """The index `save` wrote as `kind`; switched at once if `ann` asks for the other kind."""
        import faiss

        obj = cls.__new__(cls)
        obj.ann = ann or AnnConfig()
        if kind == "hnsw":
            with np.load(hnsw_path(path), allow_pickle=False) as data:
                raw, slots = data["index"], data["slots"]
            index = faiss.deserialize_index(raw)
            obj.dim = int(index.d)
            obj._store = HnswStore(obj.dim, obj.ann, index=index, slots=slots)  # deserialize_index gives the subclass
        elif kind == "exact":
            index = faiss.read_index(str(path))
            obj.dim = int(index.d)
            obj._store = ExactStore(obj.dim, index)
        else:
            raise ValueError(f"unknown index kind {kind!r}")
        obj._settle()
        return obj


class BM25Index:
    """Okapi BM25 over pre-tokenised chunks; supports add and remove by id."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        if k1 <= 0 or not 0 <= b <= 1:
            raise ValueError(f"bad BM25 parameters k1={k1}, b={b}")
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._lengths: dict[int, int] = {}
        self._total_len = 0
        # token -> (chunk ids, BM25 term weights, idf); filled per token on first use, emptied by
        # every add or remove (document lengths and counts change all of them)
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, chunk_id: int, tokens: list[str]) -> None:
        if chunk_id in self._lengths:
            self.remove([chunk_id])
        counts: dict[str, int] = defaultdict(int)
        for t in tokens:
            counts[t] += 1
        for t, c in counts.items():
            self._postings[t][chunk_id] = c
        self._lengths[chunk_id] = len(tokens)
        self._total_len += len(tokens)
        self._arrays.clear()

    def remove(self, ids: Iterable[int]) -> None:
        drop = {i for i in ids if i in self._lengths}
        if not drop:
            return
        for t in list(self._postings):
            posting = self._postings[t]
            for i in drop & posting.keys():
                del posting[i]
            if not posting:
                del self._postings[t]
        for i in drop:
            self._total_len -= self._lengths.pop(i)
        self._arrays.clear()

    def _token_arrays(self, token: str) -> tuple[np.ndarray, np.ndarray, float] | None:
        cached = self._arrays.get(token)
        if cached is not None:
            return cached
        posting = self._postings.get(token)
        if not posting:
            return None
        n = len(self._lengths)
        avg = self._total_len / n or 1.0
        ids = np.fromiter(posting.keys(), np.int64, len(posting))
        tf = np.fromiter(posting.values(), np.float64, len(posting))
        lengths = np.fromiter((self._lengths[c] for c in posting), np.float64, len(posting))
        weights = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * lengths / avg))
        idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
        self._arrays[token] = (ids, weights, idf)
        return self._arrays[token]

    def score_arrays(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every chunk sharing at least one token with the query: (ids ascending, scores).

        Vectorised per token; on 10,000 short chunks a query with common words ("my", "card") touches
        thousands of postings, which a Python loop scored in milliseconds.
        """
        ids_parts, score_parts = [], []
        for t in set(tokens):
            arrays = self._token_arrays(t)
            if arrays is None:
                continue
            ids, weights, idf = arrays
            ids_parts.append(ids)
            score_parts.append(tokens.count(t) * idf * weights)
        if not ids_parts:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        unique, where = np.unique(np.concatenate(ids_parts), return_inverse=True)
        return unique, np.bincount(where, weights=np.concatenate(score_parts), minlength=len(unique))

    def scores(self, tokens: list[str]) -> dict[int, float]:
        """BM25 score of every chunk sharing at least one token with the query."""
        ids, scores = self.score_arrays(tokens)
        return dict(zip(ids.tolist(), scores.tolist(), strict=True))

    def ids(self) -> set[int]:
        return set(self._lengths)

    def to_json(self) -> dict[str, object]:
        return {"k1": self.k1, "b": self.b, "postings": self._postings, "lengths": self._lengths}

    @classmethod
    def from_json(cls, data: dict) -> BM25Index:  # type: ignore[type-arg]
        obj = cls(float(data["k1"]), float(data["b"]))
        for t, posting in data["postings"].items():
            obj._postings[t] = {int(k): int(v) for k, v in posting.items()}
        obj._lengths = {int(k): int(v) for k, v in data["lengths"].items()}
        obj._total_len = sum(obj._lengths.values())
        return obj


def fingerprint(ids: Iterable[int]) -> str:
    """A short digest of a set of chunk ids, to tell whether an index file matches the database."""
    h = hashlib.sha256()
    for i in sorted(ids):
        h.update(i.to_bytes(8, "little", signed=True))
    return h.hexdigest()[:24]


@dataclass
class IndexedChunk:
    """A chunk ready to enter the indexes: its metadata, BM25 tokens and one vector per embedder."""

    meta: ChunkMeta
    tokens: list[str]
    vectors: dict[str, np.ndarray]


def language_matches(language: str, wanted: str) -> bool:
    """True when a chunk in `language` passes a filter on `wanted`: the same tag, or one of its subtags."""
    return language == wanted or language.startswith(wanted + "-")


class _Column:
    """One filterable field of the chunk table: its distinct values and, per chunk, which one it has."""

    def __init__(self, values: list[str]) -> None:
        self.distinct, self.which = np.unique(np.asarray(values, dtype=object), return_inverse=True)

    def mask(self, keep: Callable[[str], bool]) -> np.ndarray:
        """Per chunk, whether its value passes `keep` (called once per distinct value)."""
        passing = np.fromiter((keep(v) for v in self.distinct), dtype=bool, count=len(self.distinct))
        return passing[self.which]


class _FilterColumns:
    """The chunk table laid out for filtering: ids in ascending order and the fields a SearchFilter names."""

    def __init__(self, chunks: dict[int, ChunkMeta]) -> None:
        metas = [chunks[i] for i in sorted(chunks)]
        self.ids = np.fromiter((m.chunk_id for m in metas), dtype=np.int64, count=len(metas))
        self.product = _Column([m.product or "" for m in metas])
        self.language = _Column([m.language for m in metas])
        self.document = _Column([m.document_id for m in metas])
        # few chunks carry dates: judged one by one, with ChunkMeta.effective_on's own rule
        self.dated = [(pos, m) for pos, m in enumerate(metas) if m.effective_from or m.effective_to]

    def select(self, filters: SearchFilter, day: date) -> ChunkSelection | None:
        """The chunks that pass, or None when every chunk does (the search then needs no selection)."""
        keep = np.ones(len(self.ids), dtype=bool)
        if filters.product:
            keep &= self.product.mask(lambda v: v == filters.product)
        if filters.language:
            wanted = filters.language
            keep &= self.language.mask(lambda v: language_matches(v, wanted))
        if filters.document_id:
            keep &= self.document.mask(lambda v: v == filters.document_id)
        for pos, meta in self.dated:
            if not meta.effective_on(day):
                keep[pos] = False
        return None if keep.all() else ChunkSelection(self.ids[keep])


def _spaces(dims: dict[str, int], spaces: dict[str, str] | None) -> dict[str, str]:
    """Each dense index's vector space: the one given, else the embedder's name."""
    return {name: (spaces or {}).get(name, name) for name in dims}


class KnowledgeIndex:
    """The chunk table, the BM25 index and the FAISS indexes, changed together under one lock."""

    def __init__(
        self, dims: dict[str, int], spaces: dict[str, str] | None = None, *, ann: AnnConfig | None = None
    ) -> None:
        """`dims`: each dense index's dimension, by embedder name. `spaces`: what each one's vectors are
        (an embedder's `vector_space`, by default its name); files made for other spaces are rebuilt.
        `ann`: when the dense indexes switch from exact search to HNSW (default `AnnConfig()`)."""
        self.lock = threading.RLock()
        self.chunks: dict[int, ChunkMeta] = {}
        self.bm25 = BM25Index()
        self.ann = ann or AnnConfig()
        self.dense: dict[str, FaissIndex] = {name: FaissIndex(d, self.ann) for name, d in dims.items()}
        self.spaces = _spaces(dims, spaces)
        self._reset_selections()

    def __len__(self) -> int:
        return len(self.chunks)

    def _reset_selections(self) -> None:
        """Forget the filter columns and the selections made from them (the chunk table changed)."""
        self._columns: _FilterColumns | None = None
        self._selections: dict[tuple[str | None, str | None, str | None, date], ChunkSelection | None] = {}

    def select(self, filters: SearchFilter, day: date) -> ChunkSelection | None:
        """The chunks a search under `filters` may return on `day`, or None when that is every chunk.

        Each selection is kept until the chunks change: a live call repeats the same filters (or
        none) on every turn.
        """
        key = (filters.product, filters.language, filters.document_id, day)
        with self.lock:
            if key in self._selections:
                return self._selections[key]
            if self._columns is None:
                self._columns = _FilterColumns(self.chunks)
            selection = self._columns.select(filters, day)
            if len(self._selections) >= MAX_CACHED_SELECTIONS:
                self._selections.clear()
            self._selections[key] = selection
            return selection

    def replace(self, *, remove: Iterable[int] = (), add: Sequence[IndexedChunk] = ()) -> None:
        """Remove some chunks and add others in one step, as seen by readers."""
        remove = [i for i in remove if i in self.chunks]
        with self.lock:
            self.bm25.remove(remove)
            for idx in self.dense.values():
                idx.remove(remove)
            for i in remove:
                del self.chunks[i]
            self._reset_selections()
            if add:
                ids = [c.meta.chunk_id for c in add]
                for name, idx in self.dense.items():
                    idx.add(ids, np.vstack([c.vectors[name] for c in add]))
                for c in add:
                    self.bm25.add(c.meta.chunk_id, c.tokens)
                    self.chunks[c.meta.chunk_id] = c.meta

    def fingerprint(self) -> str:
        return fingerprint(self.chunks)

    def save(self, directory: Path) -> None:
        """Persist everything; a manifest records the fingerprint so a stale file is detected."""
        directory.mkdir(parents=True, exist_ok=True)
        with self.lock:
            for name, idx in self.dense.items():
                idx.save(directory / f"{name}.faiss")
            payload = {
                "chunks": [asdict(c) for c in self.chunks.values()],
                "bm25": self.bm25.to_json(),
            }
            manifest = {
                "fingerprint": self.fingerprint(),
                "dims": {n: i.dim for n, i in self.dense.items()},
                "kinds": {n: i.kind for n, i in self.dense.items()},  # exact (<name>.faiss) or hnsw (<name>.hnsw)
                "spaces": self.spaces,
                "count": len(self.chunks),
                "tokenizer": TOKENIZER_VERSION,
            }
        tmp = directory / "chunks.json.tmp"
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        tmp.replace(directory / "chunks.json")
        (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        expect_fingerprint: str,
        dims: dict[str, int],
        spaces: dict[str, str] | None = None,
        ann: AnnConfig | None = None,
    ) -> KnowledgeIndex | None:
        """The persisted index, or None when any file is missing or does not match the database."""
        expect_spaces = _spaces(dims, spaces)
        if not (directory / "manifest.json").exists():
            logger.info("no index files yet", extra={"dir": str(directory)})
            return None
        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("spaces", _spaces(dims, None)) != expect_spaces:
                logger.warning(
                    "index vectors are of other vector spaces (another document engine or prefix); rebuilding, "
                    "embedding once the documents that have no vectors of these spaces yet",
                    extra={"dir": str(directory), "found": manifest.get("spaces"), "expected": expect_spaces},
                )
                return None
            if (
                manifest.get("fingerprint") != expect_fingerprint
                or manifest.get("dims") != dims
                or manifest.get("spaces", _spaces(dims, None)) != expect_spaces  # vectors of another kind
                or manifest.get("tokenizer") != TOKENIZER_VERSION  # BM25 tokens made by another tokenizer
            ):
                logger.warning("index does not match the database; rebuilding", extra={"dir": str(directory)})
                return None
            payload = json.loads((directory / "chunks.json").read_text(encoding="utf-8"))
            obj = cls.__new__(cls)
            obj.lock = threading.RLock()
            obj.chunks = {c["chunk_id"]: ChunkMeta(**c) for c in payload["chunks"]}
            obj.bm25 = BM25Index.from_json(payload["bm25"])
            obj.ann = ann or AnnConfig()
            kinds = manifest.get("kinds", {})
            obj.dense = {
                name: FaissIndex.load(directory / f"{name}.faiss", ann=obj.ann, kind=kinds.get(name, "exact"))
                for name in dims
            }
            obj.spaces = expect_spaces
            obj._reset_selections()
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            logger.warning("index files unreadable (%s); rebuilding", type(exc).__name__)
            return None
        ids = set(obj.chunks)
        if (
            obj.fingerprint() != expect_fingerprint
            or obj.bm25.ids() != ids
            or any(idx.ids() != ids for idx in obj.dense.values())
        ):
            logger.warning("index files disagree with each other; rebuilding")
            return None
        return obj
