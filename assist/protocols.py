"""The interfaces the pipeline is built on. Implementations are swappable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    @property
    def name(self) -> str:
        """A stable name; it keys the index file and the stored vectors."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages: shape (len(texts), dim)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query: shape (dim,)."""
        ...


@dataclass(frozen=True)
class SearchFilter:
    """What a search may return, beyond 'published and in force today'.

    Retrievers apply it while they search, before the top-k is cut, so a filter that excludes most
    passages still returns k of the others. Unset fields do not filter.

    Attributes:
        product: Only passages of documents about this product.
        language: Only passages in this language; a primary tag matches its subtags ("zh" matches
            "zh-Hans" and "zh-Hant-HK"), a full tag matches itself only.
        document_id: Only passages of this document.
        on: The day the documents must be in force on (default: today).
    """

    product: str | None = None
    language: str | None = None
    on: date | None = None
    document_id: str | None = None


@dataclass
class SearchResult:
    """One retrieved passage, with everything a citation needs."""

    document_id: str
    title: str
    section: str
    version: int
    chunk_id: str
    score: float
    snippet: str
    text: str = ""
    language: str = "en"
    source: str = ""
    page: int | None = None
    product: str | None = None
    tags: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    def citation(self) -> dict[str, object]:
        """The citation shape of the contract."""
        return {
            "document_id": self.document_id,
            "title": self.title,
            "section": self.section,
            "version": self.version,
            "chunk_id": self.chunk_id,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages that answer a query."""

    def retrieve(self, query: str, *, k: int = 5, filters: SearchFilter | None = None) -> list[SearchResult]:
        """Top-k passages, best first."""
        ...
