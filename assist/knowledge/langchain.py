"""LangChain adapters, so the parts plug into users' own chains.

- `EmbedderEmbeddings`: any `Embedder` as a LangChain `Embeddings`.
- `AssistRetriever`: any `Retriever` (e.g. the hybrid one) as a LangChain `BaseRetriever`;
  each LangChain `Document` carries the citation fields in its metadata.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assist.protocols import SearchFilter


class EmbedderEmbeddings(Embeddings):
    """Wraps an `assist.protocols.Embedder`."""

    def __init__(self, embedder: Any) -> None:
        if not hasattr(embedder, "embed_query") or not hasattr(embedder, "embed_documents"):
            raise TypeError(f"not an Embedder: {embedder!r}")
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [v.tolist() for v in self.embedder.embed_documents(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        return list(self.embedder.embed_query(text).tolist())


class AssistRetriever(BaseRetriever):
    """Wraps an `assist.protocols.Retriever`; results keep document, section, version and score."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    k: int = 5
    filters: SearchFilter | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        hits = self.retriever.retrieve(query, k=self.k, filters=self.filters)
        return [LCDocument(page_content=h.text or h.snippet, metadata=h.citation()) for h in hits]
