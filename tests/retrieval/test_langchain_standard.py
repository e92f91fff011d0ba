"""LangChain's own standard test suites (langchain-tests) over our adapters.

The embeddings adapter runs them over the hash embedder and over the packaged MiniLM (slow: it loads the
real model); the retriever adapter over a hybrid retriever on hash-embedded passages.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from assist.knowledge.langchain import AssistRetriever, EmbedderEmbeddings
from assist.protocols import Embedder
from ingest.embedders import HashEmbedder, build_embedder
from tests.factories import Passage, hash_retriever

PASSAGES = [
    Passage("card-loss", "Lost your credit card? Call us at once and we freeze the card.", "en"),
    Passage("card-dispute", "Dispute a credit card charge you do not recognise within 60 days.", "en"),
    Passage("card-fees", "Replacing a lost credit card costs nothing.", "en"),
    Passage("card-limit", "Ask for a higher credit card limit in the app.", "en"),
    Passage("mortgage", "Paying off a mortgage early may cost a prepayment fee.", "en"),
    Passage("card-loss-zh", "信用卡丢了请立即挂失。", "zh-Hans"),
]


@cache
def minilm() -> Embedder:
    """The packaged MiniLM, loaded once per test session."""
    embedder = build_embedder("minilm")
    embedder.warm_up()  # type: ignore[attr-defined]
    return embedder


class TestHashEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return EmbedderEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": HashEmbedder()}


class TestHashEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return EmbedderEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": HashEmbedder()}


@pytest.mark.slow
class TestMiniLMEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return EmbedderEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": minilm()}


class TestAssistRetriever(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return AssistRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"retriever": hash_retriever(PASSAGES)}

    @property
    def retriever_query_example(self) -> str:
        return "lost credit card"
