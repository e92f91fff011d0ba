"""A customer's turn → a suggestion: context query → retrieve → rank → answer (checked) → next steps.

The stages are in their own modules (context.py, retrieve.py, rank.py, answer.py, next_steps.py); this one
runs them in order for the engine, with the rules that decide when nothing new is worth showing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assist.calls.alerts import CallGuard
from assist.calls.answer import AnswerStage
from assist.calls.compose import Composition, ExtractiveComposer
from assist.calls.context import ContextQuery, ContextQueryBuilder
from assist.calls.doc_rank import load_document_ranker
from assist.calls.doc_route import (
    PreviousTurns,
    TitledPassages,
    candidates,
    choose,
    holds,
    load_router,
    pinned,
    sure,
)
from assist.calls.llm import LLMComposer
from assist.calls.metrics import Metrics, elapsed_ms
from assist.calls.next_steps import DocumentSteps, NextStepsStage
from assist.calls.playbooks import Playbooks
from assist.calls.rank import Ranker, Ranking, with_sections
from assist.calls.region import RegionalPolicies, document_regions, script_region
from assist.calls.retrieve import RetrieveStage
from assist.calls.state import CallState
from assist.calls.understanding.stage import VECTOR
from assist.config import Settings
from assist.models.calls import Suggestion
from assist.models.guard import GuardEvent
from assist.protocols import Retriever, SearchResult
from assist.text import detect_language

logger = logging.getLogger(__name__)

ROUTED_PASSAGES = 3  # passages of the routed document handed on when none passed the gate
REGIONAL_DEPTH = 50  # passages retrieved for a regional caller (the retriever scores 50 candidates a method anyway)


@dataclass
class Suggested:
    """What one customer turn got: the suggestion (None when nothing new was relevant) and its guard events."""

    suggestion: Suggestion | None
    events: list[GuardEvent]


class SuggestStage:
    """Runs the suggestion stages for one customer turn, and prefetches on interim turns.

    Args:
        settings: top_k and the minimum answer score.
        playbooks: the topics (for the context query and the re-rank) and the steps.
        retriever: a function returning the retriever in force (the KB may swap indexes), asked every turn.
        composer: the extractive composer.
        llm: the optional chat-model composer.
        redact: the redaction function for what is stored.
        next_steps_for: a document's declared next-step ids.
        max_cached_calls: prefetches and documents' steps kept in memory.
        max_parallel_retrievals: retrievals at once (default: one per core).
        metrics: where each stage's duration goes.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        playbooks: Playbooks,
        retriever: Callable[[], Retriever],
        composer: ExtractiveComposer,
        llm: LLMComposer | None,
        redact: Callable[[str], str],
        next_steps_for: Callable[[str], list[str]] | None,
        max_cached_calls: int,
        max_parallel_retrievals: int | None,
        metrics: Metrics,
    ) -> None:
        self.metrics = metrics
        self.context = ContextQueryBuilder(has_topic=playbooks.has_topic, topics_in=playbooks.topics_in)
        self.retrieval = RetrieveStage(
            retriever=retriever,
            top_k=settings.top_k,
            max_parallel=max_parallel_retrievals,
            max_prefetches=max_cached_calls,
        )
        # the policy in play passes the gate from the lower score for needs: a follow-up is mostly about it
        weak = min(settings.need_min_answer_score, settings.min_answer_score)
        topics = list(playbooks.topics)
        learned = load_document_ranker(settings.document_ranker_file)  # the learned document choice, or None
        self.ranker = Ranker(
            min_score=settings.min_answer_score,
            topic_terms=playbooks.topic_terms,
            in_play_score=weak,
            topics=topics,
            doc_ranker=learned,
        )
        # a need the model read is answered from weaker evidence than a keyword-triggered turn
        self.need_ranker = Ranker(
            min_score=weak, topic_terms=playbooks.topic_terms, in_play_score=weak, topics=topics, doc_ranker=learned
        )
        self.regional = RegionalPolicies()
        self.router = load_router(settings.document_router_file)  # the document a turn is about, by meaning
        self.previous = PreviousTurns(max_cached_calls)
        self.sentence_router = load_router(settings.sentence_router_file)  # the sentence that carries the fact
        self.titled = TitledPassages(ended_documents=settings.ended_documents)
        self.answer = AnswerStage(composer=composer, llm=llm, redact=redact)
        self.next_steps = NextStepsStage(
            playbooks=playbooks, steps=DocumentSteps(next_steps_for, max_documents=max_cached_calls)
        )

    def prefetch(self, state: CallState, clean: str) -> None:
        """Start retrieving for an interim turn that looks like a need; its final turn picks the result up."""
        query = self.context.run(text=clean, state=state).query
        self.retrieval.prefetch(call_id=state.call_id, query=query)

    def heard_agent(self, call_id: str, vector: np.ndarray | None) -> None:
        """The agent's turn as the step reading embedded it (None: not read by meaning): the routers' context."""
        self.previous.put_agent(call_id, vector)

    def forget(self, call_id: str) -> None:
        """Drop the call's prefetch (the call has ended)."""
        self.retrieval.forget(call_id)
        self.previous.forget(call_id)

    def run(
        self,
        state: CallState,
        *,
        turn: int,
        clean: str,
        guard: CallGuard,
        explicit: bool,
        timings: dict[str, float],
        vector: np.ndarray | None = None,
        meant: bool = False,
    ) -> Suggested:
        """Retrieve → rank → answer (checked) → next steps; no suggestion when nothing new is relevant.

        Args:
            explicit: the customer asked outright (a statement with nothing relevant gets nothing).
            vector: the turn's e5 vector; retrieval reuses it when the query is the turn itself (not elliptical).
            meant: the model read the need by meaning; it is answered from the passage shown last, or from the
                passages the relevance gate finds weak (`settings.need_min_answer_score`), rather than not at all.
        """
        cq = self.context.run(text=clean, state=state)
        language = state.language or detect_language(clean)
        # the turn's vector is of clean_turn(turn): the query's dense side when the query is the turn itself
        # (its BM25 side reads the turn in written form, see ContextQueryBuilder)
        shared = {VECTOR: vector} if vector is not None and not cq.elliptical else None
        # a Hong Kong or Taiwan caller's branch policy may be in another script than the question: look deeper
        deep = REGIONAL_DEPTH if state.region in ("HK", "TW") else None
        with self.metrics.stage("retrieve"):
            retrieval = self.retrieval.run(call_id=state.call_id, query=cq.query, vectors=shared, k=deep)
        timings.update(retrieval.timings)
        t = time.perf_counter()
        with self.metrics.stage("rank"):
            results = self._with_branch_policy(state, retrieval.results, vector)
            ranking = self._ranked(state, cq, results, vector, clean, language=language, meant=meant, explicit=explicit)
        timings["rank"] = elapsed_ms(t)
        if ranking.repeat_only or not (ranking.results or explicit):
            why = "same passage as last time" if ranking.repeat_only else "statement with nothing relevant"
            logger.info("%s; no suggestion", why, extra={"call_id": state.call_id})
            return Suggested(None, [])
        pins, passages = self._pinned(state, with_sections(ranking.results, results), vector)
        with self.metrics.stage("answer"):
            answer = self.answer.run(
                guard=guard,
                state=state,
                turn=turn,
                query=cq,
                results=passages,
                language=language,
                vector=vector,
                pins=pins,
            )
        timings.update(answer.timings)
        t = time.perf_counter()
        with self.metrics.stage("next_steps"):
            self._follow_up(state, answer.composition, cq, clean, explicit=explicit)
        timings["next_steps"] = elapsed_ms(t)
        state.suggestion_count += 1
        suggestion = answer.suggestion(call_id=state.call_id, turn=turn, query=cq.query, language=language)
        return Suggested(suggestion, list(answer.events))

    def _ranked(
        self,
        state: CallState,
        cq: ContextQuery,
        results: list[SearchResult],
        vector: np.ndarray | None,
        clean: str,
        *,
        language: str,
        meant: bool,
        explicit: bool,
    ) -> Ranking:
        """The relevance gate and re-rank, then the document the router reads the turn to be about, then the Taiwan
        branch's own policy for a caller in Traditional script before any regional cue."""
        ranking = self._rank(state, cq, results, language, meant=meant)
        ranking = self._routed(state, ranking, results, vector, need=explicit or meant)
        return self._script_branch(state, ranking, clean, vector)  # the turn as said: Cantonese tells Hong Kong

    def _routed(
        self,
        state: CallState,
        ranking: Ranking,
        results: list[SearchResult],
        vector: np.ndarray | None,
        *,
        need: bool = False,
    ) -> Ranking:
        """`ranking` with the document the router reads the turn to be about first: one it is sure of, else one
        the retrieval found (its passages that passed the gate, else its best retrieved ones, else those closest
        in meaning from the index). A `need` (asked outright or read by meaning) that the gate left with nothing
        is answered from a document the router is sure of. The turn's vector is kept as the call's previous turn."""
        if self.router is None or vector is None:
            return ranking
        previous = self.previous.get(state.call_id)
        self.previous.put(state.call_id, vector)
        if ranking.repeat_only or not (ranking.results or need):
            return ranking
        route = self.router.probabilities(vector, previous, state.region, self.previous.agent(state.call_id))
        index = getattr(self.retrieval.retriever, "index", None)
        title = sure(route, lambda t: not self.titled.branch_of(index, t, state.region))
        if title is None and ranking.results:
            title = choose(route, *candidates(ranking.results, results, state.region))
        first = ranking.results[0] if ranking.results else None
        if title is None or (first is not None and title == first.title):
            return ranking
        shown = state.last_top_chunk  # never the first passage twice in a row
        lead = [r for r in ranking.results if r.title == title and r.chunk_id != shown]
        if not lead:
            lead = [r for r in results if r.title == title and r.chunk_id != shown][:ROUTED_PASSAGES]
        if not lead:  # not retrieved at all: its passages closest in meaning to the turn
            score = first.score if first is not None else (results[0].score if results else 1.0)
            found = self.titled.run(index, title, vector, n=ROUTED_PASSAGES + 1, score=score)
            lead = [r for r in found if str(r.chunk_id) != str(shown)][:ROUTED_PASSAGES]
        if not lead:
            return ranking
        rest = [r for r in ranking.results if r.title != title]
        logger.debug("router: %s first (was %s)", title, first and first.title, extra={"call_id": state.call_id})
        return Ranking(lead + rest)

    def _pinned(
        self, state: CallState, passages: list[SearchResult], vector: np.ndarray | None
    ) -> tuple[tuple[str, ...], list[SearchResult]]:
        """The sentences the sentence router is sure carry what the turn asks, when they are in the document cited
        first (led by an ended document's statement that it ended), and the passages with those holding them next
        (fetched from the index when not retrieved)."""
        if vector is None or not passages:
            return (), passages
        index = getattr(self.retrieval.retriever, "index", None)
        pins: tuple[str, ...] = ()
        if self.sentence_router is not None:
            route = self.sentence_router.probabilities(
                vector, self.previous.before(state.call_id), state.region, self.previous.agent(state.call_id)
            )
            pins = pinned(self.sentence_router, route, passages[0].title)
        if passages[0].ended:  # a document that has ended says so first
            ended = self.titled.end_statements(index, passages[0].title)
            pins = (*ended, *(p for p in pins if p not in ended))
        kept: list[str] = []
        held: list[SearchResult] = []
        for pin in pins:
            if not any(holds(p.text or "", pin) for p in [*passages, *held]):
                holding = self.titled.holding(index, passages[0].title, pin, score=passages[0].score)
                if holding is None:
                    continue
                held.append(holding)
            kept.append(pin)
        return tuple(kept), [passages[0], *held, *passages[1:]]

    def _script_branch(self, state: CallState, ranking: Ranking, clean: str, vector: np.ndarray | None) -> Ranking:
        """A caller who writes Traditional Chinese before saying where they bank (no regional cue yet) is most
        likely Taiwan's (`script_region`): when the document chosen is a mainland-only policy and the Taiwan branch
        has its own on the same product, about as close in meaning, that one is put first ("昨天有個說是地檢署的
        檢察官…叫我把錢轉到安全帳戶" is the Taiwan anti-fraud guide's, not the mainland's)."""
        if state.region is not None or not ranking.results or script_region(clean) != "TW":
            return ranking
        first = ranking.results[0]
        if document_regions(first.tags) != {"mainland"}:
            return ranking
        index = getattr(self.retrieval.retriever, "index", None)
        branch = self.regional.run([first], region="TW", vector=vector, index=index)[1:]
        if not branch or branch[0].chunk_id == state.last_top_chunk:  # never the first passage twice in a row
            return ranking
        return Ranking(branch + ranking.results)

    def _with_branch_policy(
        self, state: CallState, results: list[SearchResult], vector: np.ndarray | None
    ) -> list[SearchResult]:
        """`results` with the caller's branch policy on the product in question, when the words could not find it."""
        index = getattr(self.retrieval.retriever, "index", None)
        return self.regional.run(results, region=state.region, vector=vector, index=index)

    def _rank(
        self, state: CallState, cq: ContextQuery, results: list[SearchResult], language: str, *, meant: bool
    ) -> Ranking:
        """The relevance gate and re-rank; a need read by meaning falls back to :meth:`_need_ranking`."""
        ranking = self.ranker.run(
            query=cq, results=results, language=language, last_top_chunk=state.last_top_chunk, region=state.region
        )
        if meant and (ranking.repeat_only or not ranking.results):
            ranking = self._need_ranking(cq, results, language, repeat=ranking.repeat_only, region=state.region)
        return ranking

    def _follow_up(self, state: CallState, comp: Composition, cq: ContextQuery, clean: str, *, explicit: bool) -> None:
        """What a cited answer changes in the call: the passage shown last, the anchor of the next elliptical
        turns (a new need, with its documents), and the documents' next steps."""
        if not comp.citations:
            return
        state.last_top_chunk = str(comp.citations[0]["chunk_id"])
        if not cq.elliptical and explicit:
            state.last_need = clean
            state.docs_in_play = []
        self.next_steps.run(state=state, results=comp.results)

    def _need_ranking(
        self, cq: ContextQuery, results: list[SearchResult], language: str, *, repeat: bool, region: str | None
    ) -> Ranking:
        """The passages for a need the model read when the usual ranking left none: the passage shown last
        again (a new question about it), or, when the gate found nothing relevant enough, the passages that
        pass the lower gate for needs."""
        if repeat:
            return self.ranker.run(query=cq, results=results, language=language, last_top_chunk=None, region=region)
        return self.need_ranker.run(query=cq, results=results, language=language, last_top_chunk=None, region=region)
