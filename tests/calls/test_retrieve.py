"""The retrieval stage of a call turn: the retriever in force, prefetch by interim turns, where the time went."""

from __future__ import annotations

import pytest

from assist.calls.retrieve import RetrieveStage
from assist.knowledge.retrieval import RetrievalTimings
from assist.protocols import SearchFilter, SearchResult
from tests.fakes import FakeRetriever


class _TimedRetriever(FakeRetriever):
    """Reports its last retrieval's embed/search split, as HybridRetriever does."""

    @property
    def last_timings(self) -> RetrievalTimings:
        return RetrievalTimings(embed_ms=1.25, search_ms=2.5)


def test_a_final_turn_reuses_its_interims_retrieval_when_only_punctuation_differs() -> None:
    retriever = FakeRetriever()
    stage = RetrieveStage(retriever=lambda: retriever, top_k=3)
    stage.prefetch(call_id="c1", query="我的信用卡丢了怎么办")
    got = stage.run(call_id="c1", query="我的信用卡丢了, 怎么办?")
    assert got.prefetched and got.results and len(retriever.queries) == 1
    assert stage.pending() == 0  # a prefetch serves one final turn


def test_a_different_final_query_is_retrieved_afresh() -> None:
    retriever = FakeRetriever()
    stage = RetrieveStage(retriever=lambda: retriever, top_k=3)
    stage.prefetch(call_id="c1", query="我的信用卡丢了")
    got = stage.run(call_id="c1", query="房贷提前还款要手续费吗")
    assert not got.prefetched and len(retriever.queries) == 2 and "queue" in got.timings


def test_the_retriever_in_force_is_asked_every_time() -> None:
    current = {"r": FakeRetriever()}
    stage = RetrieveStage(retriever=lambda: current["r"], top_k=3)
    stage.run(call_id="c1", query="信用卡丢了")
    current["r"] = FakeRetriever()  # the knowledge base swapped its index
    stage.run(call_id="c1", query="信用卡丢了")
    assert len(current["r"].queries) == 1


def test_embed_and_search_times_come_from_a_retriever_that_reports_them() -> None:
    timed = RetrieveStage(retriever=lambda: _TimedRetriever(), top_k=3).run(call_id="c", query="信用卡丢了")
    plain = RetrieveStage(retriever=lambda: FakeRetriever(), top_k=3).run(call_id="c", query="信用卡丢了")
    assert (timed.timings["embed"], timed.timings["search"]) == (1.25, 2.5)
    assert "embed" not in plain.timings and "search" not in plain.timings


class _NotAFunction:
    def retrieve(self, query: str, *, k: int = 5, filters: SearchFilter | None = None) -> list[SearchResult]:
        return []


@pytest.mark.parametrize("bad", [{"max_parallel": -1}, {"depth": 0}, {"max_prefetches": 0}])
def test_bad_limits_are_refused_with_the_value(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=str(next(iter(bad.values())))):
        RetrieveStage(retriever=lambda: FakeRetriever(), top_k=3, **bad)


def test_a_retriever_object_instead_of_a_function_is_refused() -> None:
    with pytest.raises(ValueError, match="function returning the retriever"):
        RetrieveStage(retriever=_NotAFunction(), top_k=3)  # type: ignore[arg-type]
