"""The LangChain retriever adapter: k and filters per call, filters applied inside retrieval, ids and sources."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from pydantic import ValidationError

from assist.knowledge.langchain import AssistRetriever, EmbedderEmbeddings
from assist.protocols import SearchFilter
from ingest.embedders import HashEmbedder, build_embedder
from tests.factories import Passage, hash_retriever

# Many Chinese passages about a lost card, then a few English ones: a Chinese query ranks every Chinese
# passage above every English one, so a filter applied after the top list is cut finds no English passage.
CHINESE = [
    Passage(f"card-loss-zh-{i}", f"信用卡丢了怎么办？第{i}条：信用卡丢失请立即挂失。", "zh-Hans") for i in range(80)
]
ENGLISH = [
    Passage("card-loss-en", "Lost your credit card? Call us at once and we freeze it.", "en", product="credit_card"),
    Passage("card-dispute-en", "Dispute a credit card charge you do not recognise.", "en", product="credit_card"),
    Passage("mortgage-en", "Paying off a mortgage early may cost a prepayment fee.", "en", product="mortgage"),
]
HONG_KONG = [Passage("card-loss-zh-hant-hk", "信用卡唔見咗，請即刻報失。", "zh-Hant-HK")]


@pytest.fixture(scope="module")
def retriever() -> AssistRetriever:
    return AssistRetriever(retriever=hash_retriever([*CHINESE, *ENGLISH, *HONG_KONG]))


def test_invoke_honours_k_per_call(retriever: AssistRetriever) -> None:
    assert len(retriever.invoke("信用卡丢了怎么办")) == 5  # the retriever's own k
    assert len(retriever.invoke("信用卡丢了怎么办", k=1)) == 1
    assert len(retriever.invoke("信用卡丢了怎么办", k=7)) == 7
    assert len(asyncio.run(retriever.ainvoke("信用卡丢了怎么办", k=2))) == 2


def test_a_language_filter_applies_inside_retrieval_not_to_the_cut_list(retriever: AssistRetriever) -> None:
    docs = retriever.invoke("信用卡丢了怎么办", k=3, filters=SearchFilter(language="en"))
    assert [d.metadata["language"] for d in docs] == ["en", "en", "en"]
    assert {d.metadata["document_id"] for d in docs} == {e.document_id for e in ENGLISH}


def test_the_retrievers_own_filter_applies_and_a_call_can_replace_it() -> None:
    english_only = AssistRetriever(
        retriever=hash_retriever([*CHINESE, *ENGLISH]), k=2, filters=SearchFilter(language="en")
    )
    assert [d.metadata["language"] for d in english_only.invoke("信用卡丢了怎么办")] == ["en", "en"]
    docs = english_only.invoke("credit card", filters=SearchFilter(product="mortgage"))
    assert [d.metadata["document_id"] for d in docs] == ["mortgage-en"]


def test_product_and_document_filters_return_only_their_passages(retriever: AssistRetriever) -> None:
    cards = retriever.invoke("信用卡丢了怎么办", k=5, filters=SearchFilter(product="credit_card"))
    assert {d.metadata["document_id"] for d in cards} == {"card-loss-en", "card-dispute-en"}
    one = retriever.invoke("credit card", k=5, filters=SearchFilter(document_id="card-loss-zh-7"))
    assert [d.metadata["document_id"] for d in one] == ["card-loss-zh-7"]


def test_a_primary_language_tag_matches_its_subtags(retriever: AssistRetriever) -> None:
    docs = retriever.invoke("信用卡唔見咗", k=100, filters=SearchFilter(language="zh"))
    languages = {d.metadata["language"] for d in docs}
    assert languages == {"zh-Hans", "zh-Hant-HK"}
    hk = retriever.invoke("信用卡唔見咗", k=100, filters=SearchFilter(language="zh-Hant-HK"))
    assert [d.metadata["document_id"] for d in hk] == ["card-loss-zh-hant-hk"]


def test_a_filter_nothing_passes_returns_nothing(retriever: AssistRetriever) -> None:
    assert retriever.invoke("信用卡丢了怎么办", filters=SearchFilter(language="fr")) == []


def test_documents_out_of_force_are_never_returned() -> None:
    r = AssistRetriever(
        retriever=hash_retriever(
            [
                Passage("old-fees", "Card replacement fee is 50.", "en", effective_to="2020-01-01"),
                Passage("new-fees", "Card replacement fee is 20.", "en"),
            ]
        )
    )
    assert [d.metadata["document_id"] for d in r.invoke("card replacement fee")] == ["new-fees"]
    then = r.invoke("card replacement fee", filters=SearchFilter(on=date(2019, 6, 1)))
    assert {d.metadata["document_id"] for d in then} == {"old-fees", "new-fees"}


def test_documents_carry_the_chunk_id_source_and_citation(retriever: AssistRetriever) -> None:
    doc = retriever.invoke("Lost your credit card", k=1, filters=SearchFilter(language="en"))[0]
    assert doc.id == "80"  # the chunk id: 80 Chinese passages come first
    assert doc.metadata["chunk_id"] == "80"
    assert doc.metadata["source"] == "card-loss-en.md"
    assert doc.metadata["document_id"] == "card-loss-en"
    assert {"title", "section", "version", "score", "snippet", "product"} <= set(doc.metadata)
    assert doc.page_content.startswith("Lost your credit card?")


def test_bad_k_is_refused_with_the_value() -> None:
    with pytest.raises(ValidationError):
        AssistRetriever(retriever=hash_retriever(ENGLISH), k=0)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        AssistRetriever(retriever=hash_retriever(ENGLISH)).invoke("card", k=0)


def test_embeddings_refuse_what_is_not_an_embedder() -> None:
    with pytest.raises(TypeError, match="not an Embedder"):
        EmbedderEmbeddings("minilm")  # type: ignore[arg-type]
    vectors = EmbedderEmbeddings(HashEmbedder()).embed_documents(["a", "b"])
    assert len(vectors) == 2 and all(isinstance(x, float) for x in vectors[0])


def test_wrapping_a_real_embedder_does_not_load_its_model() -> None:
    minilm = build_embedder("minilm")
    EmbedderEmbeddings(minilm)
    assert minilm._model is None  # loaded on first use, as without the wrapper
