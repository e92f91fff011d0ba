"""Helpers shared by the benchmark scripts: data paths and an embedding cache outside the repo."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from ingest.embedders import vector_space

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ASSIST_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path(os.environ.get("ASSIST_BENCH_CACHE", "/tmp/assist-bench-cache"))
SETS = ("banking77_en", "fiqa_en", "jining_bank_zh")


def set_paths(name: str, base: Path | None = None) -> tuple[Path, Path]:
    d = (base or SHARED_DATA / "retrieval") / name
    return d / "corpus.jsonl", d / "queries.jsonl"


class CachedEmbedder:
    """Wraps an embedder; vectors of a text list are kept on disk so reruns skip the model."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._mem: dict[str, np.ndarray] = {}
        CACHE.mkdir(parents=True, exist_ok=True)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def vector_space(self) -> str:
        return vector_space(self.inner)

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def warm_up(self) -> None:
        self.inner.warm_up()

    def _key(self, texts: list[str], kind: str) -> Path:
        space = self.vector_space
        h = hashlib.sha256(("\x00".join(texts) + kind + space).encode()).hexdigest()[:20]
        return CACHE / f"{space}-{kind}-{h}.npy"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        path = self._key(texts, "doc")
        if path.exists():
            return np.load(path)
        out = np.asarray(self.inner.embed_documents(texts), dtype=np.float32)
        np.save(path, out)
        return out

    def preload_queries(self, texts: list[str]) -> None:
        """Embed all queries once (cached on disk) so embed_query is a lookup."""
        path = self._key(texts, "query")
        if path.exists():
            mat = np.load(path)
        else:
            mat = np.stack([self.inner.embed_query(t) for t in texts]).astype(np.float32)
            np.save(path, mat)
        self._mem.update(zip(texts, mat, strict=True))

    def embed_query(self, text: str) -> np.ndarray:
        v = self._mem.get(text)
        return v if v is not None else np.asarray(self.inner.embed_query(text), dtype=np.float32)
