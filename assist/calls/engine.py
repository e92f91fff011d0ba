"""The live-call engine: one turn in → alerts, a suggestion and the checklist out; state in the database.

Per final customer turn: trigger → context query → retrieval (retrieve.py) → relevance gate and re-rank
(rank.py) → compose and guard (answer.py: chat model when configured, else extractive; speaker
"suggestion") → next steps (next_steps.py). Per agent turn: guard (alerts.py, speaker "agent") → alert +
guard event → tick the checklist. Call states, locks and the database are in store.py.
Every transcript line and guard-event text is redacted before it is stored or logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.engine import Engine

from assist.calls.alerts import AgentTurnCheck, CallGuard, withheld_alert
from assist.calls.answer import AnswerStage
from assist.calls.compose import ExtractiveComposer
from assist.calls.context import ContextQueryBuilder
from assist.calls.llm import LLMComposer
from assist.calls.metrics import Metrics, elapsed_ms
from assist.calls.next_steps import DocumentSteps, NextStepsStage
from assist.calls.playbooks import Playbooks
from assist.calls.rank import Ranker
from assist.calls.reading import CustomerReader, StepTicker
from assist.calls.region import caller_region
from assist.calls.retrieve import RetrieveStage
from assist.calls.sentences import SentenceVectors
from assist.calls.state import CallState
from assist.calls.store import CallStore, message_of
from assist.calls.trigger import NeedTrigger
from assist.calls.understanding.stage import VECTOR, Understanding
from assist.config import Settings
from assist.errors import ConflictError, GuardUnavailableError, InvalidInputError
from assist.models.calls import (
    CallPublic,
    CallSummary,
    ComplianceAlert,
    FeedbackPublic,
    NextStep,
    Suggestion,
    SuggestionMessage,
    TurnResult,
)
from assist.models.guard import GuardEvent
from assist.models.keys import ApiKey, CallAccess
from assist.privacy import redact
from assist.protocols import Retriever
from assist.text import detect_language

logger = logging.getLogger(__name__)

SPEAKERS = ("customer", "agent")
REGIONAL_DEPTH = 50  # passages retrieved for a regional caller (the retriever scores 50 candidates a method anyway)


@dataclass
class _Turn:
    """One final turn on its way through the stages: what came in, and what goes out."""

    state: CallState
    number: int
    speaker: str
    raw: str  # as said (the guard sees it unredacted)
    clean: str  # redacted (what is stored)
    t0: float  # when it arrived (perf_counter)
    before: list[NextStep]  # the checklist before the turn
    alerts: list[ComplianceAlert] = field(default_factory=list)
    events: list[GuardEvent] = field(default_factory=list)
    suggestion: Suggestion | None = None
    timings: dict[str, float] = field(default_factory=dict)


class CallEngine:
    """Runs live calls. Thread-safe: turns of one call are serialised, different calls run in parallel.

    Args:
        settings: limits, thresholds, top_k and the context window.
        db_engine: where calls, turns, suggestions and guard events are stored.
        retriever: a function returning the retriever in force (the KB may swap indexes), asked every turn.
        guard: a function returning the guard in force (GuardHolder.get), fetched afresh every turn.
        playbooks: topics and steps.
        llm: the optional chat-model composer.
        next_steps_for: a document's declared next-step ids (KnowledgeBase.next_steps_for).
        redactor: the redaction function (assist.privacy.redact by default).
        metrics: where counters go.
        composer: the extractive composer (default: one expanding terms with the playbooks' synonyms).
        trigger: decides which customer turns warrant a suggestion (the keyword path, and its filler check).
        understanding: the turn-understanding model (need, topic, steps by meaning; one vector per turn),
            or none: keywords only.
        sentence_vectors: the cache of answer-sentence vectors the default composer scores meaning with.
        max_cached_calls: call states, owners, prefetches and documents' steps kept in memory.
        max_parallel_retrievals: retrievals at once (default: one per core).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        db_engine: Engine,
        retriever: Callable[[], Retriever],
        guard: Callable[[], CallGuard],
        playbooks: Playbooks | None = None,
        llm: LLMComposer | None = None,
        next_steps_for: Callable[[str], list[str]] | None = None,
        redactor: Callable[[str], str] | None = None,
        metrics: Metrics | None = None,
        composer: ExtractiveComposer | None = None,
        trigger: NeedTrigger | None = None,
        understanding: Understanding | None = None,
        sentence_vectors: SentenceVectors | None = None,
        max_cached_calls: int = 5000,
        max_parallel_retrievals: int | None = None,
    ) -> None:
        if not callable(retriever):
            raise ValueError(f"CallEngine needs a function returning the retriever, got {retriever!r}")
        if not callable(guard):
            raise ValueError("CallEngine needs a guard: agent turns and answers are always checked")
        if max_cached_calls < 1:
            raise ValueError(f"max_cached_calls must be positive, got {max_cached_calls}")
        self.settings = settings
        self.db_engine = db_engine
        self._guard = guard
        self.playbooks = playbooks or Playbooks(settings.playbooks_path)
        self.redact = redactor or redact
        self.metrics = metrics or Metrics()
        self.trigger = trigger or NeedTrigger()
        self.understanding = understanding or Understanding.off("not configured")
        self.reader = CustomerReader(understanding=self.understanding, playbooks=self.playbooks, trigger=self.trigger)
        self.ticker = StepTicker(understanding=self.understanding, playbooks=self.playbooks)
        self.context = ContextQueryBuilder(has_topic=self.playbooks.has_topic, topics_in=self.playbooks.topics_in)
        self.retrieval = RetrieveStage(
            retriever=retriever,
            top_k=settings.top_k,
            max_parallel=max_parallel_retrievals,
            max_prefetches=max_cached_calls,
        )
        self.ranker = Ranker(min_score=settings.min_answer_score, topic_terms=self.playbooks.topic_terms)
        self.answer = AnswerStage(
            composer=composer or ExtractiveComposer(expand=self.playbooks.expand, sentence_vectors=sentence_vectors),
            llm=llm,
            redact=self.redact,
        )
        self.agent_check = AgentTurnCheck(redact=self.redact)
        self.store = CallStore(db_engine=db_engine, redact=self.redact, max_cached_calls=max_cached_calls)
        self.next_steps = NextStepsStage(
            playbooks=self.playbooks, steps=DocumentSteps(next_steps_for, max_documents=max_cached_calls)
        )
        # called with the call id once a call has ended (the app sets assist.aftercall.hooks.EndOfCallScoring)
        self.on_call_ended: Callable[[str], None] | None = None

    def warm_up(self) -> None:
        """Load the tokenizer dictionary so that the first turn is not slow."""
        self.answer.composer.warm_up()
        self.trigger.run(text="预热", speaker="customer", final=True)

    # -- calls, as stored (store.py) ----------------------------------------------------------
    def exists(self, call_id: str) -> bool:
        """True when the call is known (in memory or in the database)."""
        return self.store.exists(call_id)

    def owner_of(self, call_id: str) -> str | None:
        """The id of the key that started the call (None for none recorded); NotFoundError when unknown."""
        return self.store.owner_of(call_id)

    def access(self, call_id: str, key: ApiKey) -> CallAccess:
        """What `key` may do with the call; NotFoundError when unknown."""
        return self.store.access(call_id, key)

    def call_of_suggestion(self, suggestion_id: str) -> str:
        """The call a suggestion was shown on; NotFoundError when unknown."""
        return self.store.call_of_suggestion(suggestion_id)

    def get_call(self, call_id: str) -> CallPublic:
        """The redacted transcript, suggestions, checklist and alerts of a call."""
        return self.store.get_call(call_id)

    def feedback(self, suggestion_id: str, *, rating: str, comment: str | None) -> FeedbackPublic:
        """Record an agent's rating of a suggestion."""
        return self.store.feedback(suggestion_id, rating=rating, comment=comment)

    def start_call(self, *, agent: ApiKey | None = None) -> str:
        """Open a call; returns its id."""
        call_id = self.store.create(agent=agent).call_id
        self.metrics.call_started()
        logger.info("call started", extra={"call_id": call_id})
        return call_id

    def end_call(self, call_id: str) -> CallSummary:
        """Close the call (idempotent) and return the after-call summary."""
        with self.store.lock(call_id):
            summary = self.store.end_call(call_id)
            self.retrieval.forget(call_id)
        if self.on_call_ended is not None:
            self.on_call_ended(call_id)  # must not raise or block: EndOfCallScoring queues the work
        return summary

    # -- turns --------------------------------------------------------------------------------
    def validate(self, *, speaker: str, text: str) -> str:
        """The stripped text, or InvalidInputError with the reason."""
        if speaker not in SPEAKERS:
            raise InvalidInputError(f"speaker must be 'customer' or 'agent', got {speaker!r}")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("text must not be empty")
        if len(text) > self.settings.max_utterance_chars:
            raise InvalidInputError(
                f"text is {len(text)} characters, over the limit of {self.settings.max_utterance_chars}"
            )
        return text.strip()

    def handle_turn(self, call_id: str, *, speaker: str, text: str, final: bool = True) -> TurnResult:
        """Process one utterance.

        Raises:
            InvalidInputError: bad speaker, empty or over-long text.
            NotFoundError: unknown call.
            ConflictError: the call has ended.
        """
        t0 = time.perf_counter()
        text = self.validate(speaker=speaker, text=text)
        with self.store.lock(call_id):
            state = self.store.load(call_id)
            if state.status != "active":
                raise ConflictError(f"call {call_id!r} has ended")
            clean = self.redact(text)
            if not final:
                if self.trigger.run(text=clean, speaker=speaker, final=True).suggest:
                    query = self.context.run(text=clean, state=state).query
                    self.retrieval.prefetch(call_id=call_id, query=query)
                return TurnResult(call_id=call_id, turn=None, next_steps=self.playbooks.checklist(state))
            try:
                return self._final_turn(state, speaker=speaker, raw=text, clean=clean, t0=t0)
            except Exception:
                self.metrics.error()
                self.store.evict(call_id)  # the in-memory state may be half-updated: reload it next time
                raise

    def _guard_or_reason(self) -> tuple[CallGuard | None, str | None]:
        """The guard in force, or None and why it is unavailable (the turn then fails closed)."""
        try:
            return self._guard(), None
        except GuardUnavailableError as exc:
            return None, str(exc)

    def _final_turn(self, state: CallState, *, speaker: str, raw: str, clean: str, t0: float) -> TurnResult:
        self.store.next_turn(state)  # the database assigns the number (unique per call, across servers)
        self.metrics.turn(speaker)
        guard, unavailable = self._guard_or_reason()
        turn = _Turn(state, state.turn_count, speaker, raw, clean, t0, before=self.playbooks.checklist(state))
        state.remember_turn(turn.number, speaker, clean)
        state.region = caller_region(clean) or state.region  # either speaker may show it; it sticks
        if speaker == "agent":
            self._agent_turn(turn, guard, unavailable)
        else:
            self._customer_turn(turn, guard, unavailable)
        return self._finish(turn)

    def _agent_turn(self, turn: _Turn, guard: CallGuard | None, unavailable: str | None) -> None:
        """Guard → alert and guard event (their steps join the checklist) → tick what the agent did."""
        state = turn.state
        check = self.agent_check.run(
            guard=guard, unavailable=unavailable, state=state, turn=turn.number, raw=turn.raw, clean=turn.clean
        )
        turn.timings.update(check.timings)
        if check.alert is not None and check.event is not None:
            turn.alerts.append(check.alert)
            turn.events.append(check.event)
            self.playbooks.activate(state, self.playbooks.steps_for(categories=check.event.categories))
        self.ticker.run(
            state, turn.clean, disclosures=check.disclosures, said=check.said, guard=guard, timings=turn.timings
        )

    def _customer_turn(self, turn: _Turn, guard: CallGuard | None, unavailable: str | None) -> None:
        """Language and topics → trigger → a suggestion (or, with no guard, the alert that it is withheld)."""
        state, clean = turn.state, turn.clean
        lang = detect_language(clean)
        if lang != "mixed" or state.language is None:  # a mixed turn keeps the call's language
            state.language = lang
        read = self.reader.run(state, clean, turn.timings)
        self._after_trigger(turn, guard, unavailable, suggest=read.suggest, explicit=read.explicit, vector=read.vector)

    def _after_trigger(
        self,
        turn: _Turn,
        guard: CallGuard | None,
        unavailable: str | None,
        *,
        suggest: bool,
        explicit: bool,
        vector: np.ndarray | None = None,
    ) -> None:
        """A suggestion when the trigger asked for one (or the alert that it is withheld); remember the turn."""
        state = turn.state
        if suggest and guard is not None:
            self._suggest(turn, guard, explicit=explicit, vector=vector)
        elif suggest:  # no guard: never show the product's own words unchecked
            turn.alerts.append(withheld_alert(state, turn=turn.number, reason=unavailable))
        state.remember_customer(turn.clean, keep=max(self.settings.context_turns, 1))

    def _suggest(self, turn: _Turn, guard: CallGuard, *, explicit: bool, vector: np.ndarray | None = None) -> None:
        """Retrieve → rank → answer (checked) → next steps; no suggestion when nothing new is relevant.

        `vector`: the turn's e5 vector; retrieval reuses it when the query is the turn itself (not elliptical).
        """
        state, timings = turn.state, turn.timings
        cq = self.context.run(text=turn.clean, state=state)
        language = state.language or detect_language(turn.clean)
        # the turn's vector is of clean_turn(turn): the query's dense side when the query is the turn itself
        # (its BM25 side reads the turn in written form, see ContextQueryBuilder)
        shared = {VECTOR: vector} if vector is not None and not cq.elliptical else None
        # a Hong Kong or Taiwan caller's branch policy may be in another script than the question: look deeper
        deep = REGIONAL_DEPTH if state.region in ("HK", "TW") else None
        retrieval = self.retrieval.run(call_id=state.call_id, query=cq.query, vectors=shared, k=deep)
        timings.update(retrieval.timings)
        t = time.perf_counter()
        ranking = self.ranker.run(
            query=cq,
            results=retrieval.results,
            language=language,
            last_top_chunk=state.last_top_chunk,
            region=state.region,
        )
        timings["rank"] = elapsed_ms(t)
        if ranking.repeat_only:
            logger.info("same passage as last time; no suggestion", extra={"call_id": state.call_id})
            return
        if not ranking.results and not explicit:
            logger.debug("statement with nothing relevant; no suggestion", extra={"call_id": state.call_id})
            return
        answer = self.answer.run(
            guard=guard,
            state=state,
            turn=turn.number,
            query=cq,
            results=ranking.results,
            language=language,
            vector=vector,
        )
        timings.update(answer.timings)
        comp = answer.composition
        t = time.perf_counter()
        if comp.citations:
            state.last_top_chunk = str(comp.citations[0]["chunk_id"])
            if not cq.elliptical and explicit:
                # a new need: it becomes the anchor of the next elliptical turns, with its documents
                state.last_need = turn.clean
                state.docs_in_play = []
            self.next_steps.run(state=state, results=comp.results)
        timings["next_steps"] = elapsed_ms(t)
        state.suggestion_count += 1
        turn.events += answer.events
        turn.suggestion = answer.suggestion(call_id=state.call_id, turn=turn.number, query=cq.query, language=language)

    def _finish(self, turn: _Turn) -> TurnResult:
        """Persist the turn, link its alerts to their events, count, and build its result."""
        state, suggestion = turn.state, turn.suggestion
        checklist = self.playbooks.checklist(state)
        if suggestion is not None:
            suggestion.next_steps = [s.model_dump() for s in checklist]
            suggestion.latency_ms = elapsed_ms(turn.t0)
        t = time.perf_counter()
        self.store.persist(
            state,
            turn=turn.number,
            speaker=turn.speaker,
            clean=turn.clean,
            suggestion=suggestion,
            events=turn.events,
            checklist=checklist,
        )
        turn.timings["persist"] = elapsed_ms(t)
        for a, e in zip(turn.alerts, [e for e in turn.events if e.kind in ("utterance", "unchecked")], strict=False):
            a.event_id = e.id
        message: SuggestionMessage | None = None
        if suggestion is not None:
            suggestion.timings = turn.timings
            message = message_of(suggestion, checklist)
            message.latency_ms = elapsed_ms(turn.t0)
            self.metrics.suggestion(suggestion.source, message.latency_ms)
        for a in turn.alerts:
            self.metrics.alert(a.action)
        return TurnResult(
            call_id=state.call_id,
            turn=turn.number,
            suggestion=message,
            alerts=turn.alerts,
            next_steps=checklist,
            checklist_changed=[s.model_dump() for s in turn.before] != [s.model_dump() for s in checklist],
        )
