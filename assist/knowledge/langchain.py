"""LangChain adapters, so the parts plug into users' own chains.

- `EmbedderEmbeddings`: any `Embedder` as a LangChain `Embeddings`.
- `AssistRetriever`: any `Retriever` (e.g. the hybrid one) as a LangChain `BaseRetriever`. It honours
  `k` (its own, or `invoke(query, k=...)`) and a `SearchFilter` (its own, or `invoke(query,
  filters=...)`), which the retriever applies while it searches. Each LangChain `Document` has the
  chunk id as its `id` and carries the citation fields in its metadata.

Both pass LangChain's standard test suites (tests/retrieval/test_langchain_standard.py).
"""

from __future__ import annotations

import inspect

import numpy as np
from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

from assist.protocols import Embedder, Retriever, SearchFilter, SearchResult

# What an Embedder must have that can be checked without running it
_EMBEDDER_METHODS = ("embed_documents", "embed_query")


class EmbedderEmbeddings(Embeddings):
    """Wraps an `assist.protocols.Embedder`.

    Args:
        embedder: The embedder (the hash embedder in tests, MiniLM or e5 in production).

    Raises:
        TypeError: ``embedder`` is not an Embedder.
    """

    def __init__(self, embedder: Embedder) -> None:
        # Not isinstance(embedder, Embedder): on Python 3.11 that reads the `dim` property, which loads
        # a real model; the wrapper must stay as lazy as the embedder it wraps.
        if not all(callable(inspect.getattr_static(embedder, m, None)) for m in _EMBEDDER_METHODS):
            raise TypeError(f"not an Embedder: {embedder!r}")
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, as lists of floats."""
        vectors: list[list[float]] = np.asarray(self.embedder.embed_documents(list(texts))).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """The query's vector, as a list of floats."""
        vector: list[float] = np.asarray(self.embedder.embed_query(text)).tolist()
        return vector


def to_document(hit: SearchResult) -> LCDocument:
    """A LangChain Document for one retrieved passage: id = chunk id, the citation fields in metadata."""
    metadata: dict[str, object] = {
        **hit.citation(),
        "source": hit.source,
        "language": hit.language,
        "product": hit.product,
        "page": hit.page,
        "score": hit.score,  # unrounded: the citation's is rounded for display
    }
    return LCDocument(id=hit.chunk_id, page_content=hit.text or hit.snippet, metadata=metadata)


class AssistRetriever(BaseRetriever):
    """Wraps an `assist.protocols.Retriever`; results keep document, section, version, source and score.

    Attributes:
        retriever: The retriever (e.g. `HybridRetriever`).
        k: How many passages a call returns unless it says (``invoke(query, k=3)``).
        filters: What a call may return unless it says (``invoke(query, filters=SearchFilter(...))``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int = Field(default=5, ge=1)
    filters: SearchFilter | None = None

    def _search(self, query: str, k: int | None, filters: SearchFilter | None) -> list[LCDocument]:
        k = self.k if k is None else k
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        hits = self.retriever.retrieve(query, k=k, filters=filters if filters is not None else self.filters)
        return [to_document(h) for h in hits]

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: SearchFilter | None = None,
    ) -> list[LCDocument]:
        return self._search(query, k, filters)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: SearchFilter | None = None,
    ) -> list[LCDocument]:
        # the base class's default would drop k and filters; retrieval is CPU work, so off the event loop
        return await run_in_executor(None, self._search, query, k, filters)
