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
from assist.calls.compose import ExtractiveComposer
from assist.calls.context import ContextQueryBuilder, clean_turn
from assist.calls.llm import LLMComposer
from assist.calls.metrics import elapsed_ms
from assist.calls.next_steps import DocumentSteps, NextStepsStage
from assist.calls.playbooks import Playbooks
from assist.calls.rank import Ranker
from assist.calls.retrieve import RetrieveStage
from assist.calls.state import CallState
from assist.calls.understanding.stage import VECTOR
from assist.config import Settings
from assist.models.calls import Suggestion
from assist.models.guard import GuardEvent
from assist.protocols import Retriever
from assist.text import detect_language

logger = logging.getLogger(__name__)


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
    ) -> None:
        self.context = ContextQueryBuilder(has_topic=playbooks.has_topic, topics_in=playbooks.topics_in)
        self.retrieval = RetrieveStage(
            retriever=retriever,
            top_k=settings.top_k,
            max_parallel=max_parallel_retrievals,
            max_prefetches=max_cached_calls,
        )
        self.ranker = Ranker(min_score=settings.min_answer_score, topic_terms=playbooks.topic_terms)
        self.answer = AnswerStage(composer=composer, llm=llm, redact=redact)
        self.next_steps = NextStepsStage(
            playbooks=playbooks, steps=DocumentSteps(next_steps_for, max_documents=max_cached_calls)
        )

    def prefetch(self, state: CallState, clean: str) -> None:
        """Start retrieving for an interim turn that looks like a need; its final turn picks the result up."""
        query = self.context.run(text=clean, state=state).query
        self.retrieval.prefetch(call_id=state.call_id, query=query)

    def forget(self, call_id: str) -> None:
        """Drop the call's prefetch (the call has ended)."""
        self.retrieval.forget(call_id)

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
    ) -> Suggested:
        """Retrieve → rank → answer (checked) → next steps; no suggestion when nothing new is relevant.

        Args:
            explicit: the customer asked outright (a statement with nothing relevant gets nothing).
            vector: the turn's e5 vector; retrieval reuses it when the query is the turn itself (not elliptical).
        """
        cq = self.context.run(text=clean, state=state)
        language = state.language or detect_language(clean)
        shared = {VECTOR: vector} if vector is not None and cq.query == clean_turn(clean) else None
        retrieval = self.retrieval.run(call_id=state.call_id, query=cq.query, vectors=shared)
        timings.update(retrieval.timings)
        t = time.perf_counter()
        ranking = self.ranker.run(
            query=cq, results=retrieval.results, language=language, last_top_chunk=state.last_top_chunk
        )
        timings["rank"] = elapsed_ms(t)
        if ranking.repeat_only:
            logger.info("same passage as last time; no suggestion", extra={"call_id": state.call_id})
            return Suggested(None, [])
        if not ranking.results and not explicit:
            logger.debug("statement with nothing relevant; no suggestion", extra={"call_id": state.call_id})
            return Suggested(None, [])
        answer = self.answer.run(
            guard=guard, state=state, turn=turn, query=cq, results=ranking.results, language=language
        )
        timings.update(answer.timings)
        comp = answer.composition
        t = time.perf_counter()
        if comp.citations:
            state.last_top_chunk = str(comp.citations[0]["chunk_id"])
            if not cq.elliptical and explicit:
                # a new need: it becomes the anchor of the next elliptical turns, with its documents
                state.last_need = clean
                state.docs_in_play = []
            self.next_steps.run(state=state, results=comp.results)
        timings["next_steps"] = elapsed_ms(t)
        state.suggestion_count += 1
        suggestion = answer.suggestion(call_id=state.call_id, turn=turn, query=cq.query, language=language)
        return Suggested(suggestion, list(answer.events))
