"""The live-call engine: one turn in → alerts, a suggestion and the checklist out; state in the database.

Per final customer turn: need and topic (reading.py) → the suggestion stages (suggest.py: context query →
retrieval → relevance gate and re-rank → compose and guard, speaker "suggestion" → next steps). Per agent
turn: guard (alerts.py, speaker "agent") → alert + guard event → tick the checklist (reading.py). Call
states, locks and the database are in store.py; a turn's own data and result in turn.py.
Every transcript line and guard-event text is redacted before it is stored or logged.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from assist.calls.alerts import AgentTurnCheck, CallGuard, withheld_alert
from assist.calls.asr import written_form
from assist.calls.compose import ExtractiveComposer
from assist.calls.llm import LLMComposer
from assist.calls.metrics import Metrics, elapsed_ms
from assist.calls.playbooks import Playbooks
from assist.calls.reading import CustomerReader, StepTicker
from assist.calls.region import caller_region
from assist.calls.sentence_rank import load_ranker
from assist.calls.sentences import SentenceVectors
from assist.calls.state import CallState
from assist.calls.store import CallStore, TurnNumberTaken
from assist.calls.suggest import SuggestStage
from assist.calls.trigger import NeedTrigger
from assist.calls.turn import Turn, validate_turn
from assist.calls.understanding.stage import Understanding
from assist.config import Settings
from assist.errors import ConflictError, GuardUnavailableError
from assist.models.calls import CallSummary, TurnResult
from assist.models.keys import ApiKey
from assist.privacy import redact
from assist.protocols import Retriever
from assist.text import detect_language

logger = logging.getLogger(__name__)
# How long a turn keeps running again while other servers store turns of its call first (TurnNumberTaken).
# Each loss means another turn of the call was stored, so the call progresses: the bound is time, not a count
# (four posters on two servers sharing one SQLite file lost up to 20 times in a row under load).
TURN_RETRY_SECONDS = 5.0


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
        self.suggester = SuggestStage(
            settings=settings,
            playbooks=self.playbooks,
            retriever=retriever,
            composer=composer
            or ExtractiveComposer(
                expand=self.playbooks.expand,
                sentence_vectors=sentence_vectors,
                ranker=load_ranker(settings.answer_ranker_file),
            ),
            llm=llm,
            redact=self.redact,
            next_steps_for=next_steps_for,
            max_cached_calls=max_cached_calls,
            max_parallel_retrievals=max_parallel_retrievals,
            metrics=self.metrics,
        )
        self.agent_check = AgentTurnCheck(redact=self.redact)
        self.store = CallStore(db_engine=db_engine, redact=self.redact, max_cached_calls=max_cached_calls)
        # called with the call id once a call has ended (the app sets assist.aftercall.hooks.EndOfCallScoring)
        self.on_call_ended: Callable[[str], None] | None = None
        # called with (call id, turn, speaker, redacted text) on every final turn, timed as "ticket" (the app
        # sets assist.aftercall.live.LiveTicketValues: ticket values extracted once per turn; must not raise)
        self.on_turn: Callable[[str, int, str, str], None] | None = None

    def warm_up(self) -> None:
        """Load the tokenizer dictionary so that the first turn is not slow."""
        self.suggester.answer.composer.warm_up()
        self.trigger.run(text="预热", speaker="customer", final=True)

    # -- calls (reads, feedback and access are the store's: engine.store) ----------------------
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
            self.suggester.forget(call_id)
        if self.on_call_ended is not None:
            self.on_call_ended(call_id)  # must not raise or block: EndOfCallScoring queues the work
        return summary

    # -- turns --------------------------------------------------------------------------------
    def handle_turn(self, call_id: str, *, speaker: str, text: str, final: bool = True) -> TurnResult:
        """Process one utterance.

        Raises:
            InvalidInputError: bad speaker, empty or over-long text.
            NotFoundError: unknown call.
            ConflictError: the call has ended.
        """
        t0 = time.perf_counter()
        text = validate_turn(speaker=speaker, text=text, max_chars=self.settings.max_utterance_chars)
        with self.store.lock(call_id):
            state = self.store.load(call_id)
            if state.status != "active":
                raise ConflictError(f"call {call_id!r} has ended")
            clean = self.redact(text)
            if not final:
                heard = written_form(clean)  # as the final turn's reading stages take it (Turn.heard)
                if speaker == "customer" and self.reader.wants_answer(state, heard).suggest:
                    self.suggester.prefetch(state, heard)
                return TurnResult(call_id=call_id, turn=None, next_steps=self.playbooks.checklist(state))
            deadline = time.monotonic() + TURN_RETRY_SECONDS
            for attempt in itertools.count(1):
                try:
                    with self.store.across_replicas(call_id):  # the call's turns, one at a time on every replica
                        return self._final_turn(state, speaker=speaker, raw=text, clean=clean, t0=t0)
                except TurnNumberTaken:
                    # another server stored a turn of this call first (SQLite files shared by two processes, or
                    # a replica that lost its turn lock): nothing of ours was stored; run it again on the call as
                    # it now is, after a short random pause so two servers do not keep colliding in step
                    self.store.evict(call_id)
                    if time.monotonic() >= deadline:
                        self.metrics.error()
                        raise
                    time.sleep(random.uniform(0, min(0.002 * attempt, 0.02)))
                    state = self.store.load(call_id)
                except Exception:
                    self.metrics.error()
                    self.store.evict(call_id)  # the in-memory state may be half-updated: reload it next time
                    raise
            raise AssertionError("unreachable")  # the loop returns or raises

    def _guard_or_reason(self) -> tuple[CallGuard | None, str | None]:
        """The guard in force, or None and why it is unavailable (the turn then fails closed)."""
        try:
            return self._guard(), None
        except GuardUnavailableError as exc:
            return None, str(exc)

    def _final_turn(self, state: CallState, *, speaker: str, raw: str, clean: str, t0: float) -> TurnResult:
        t = time.perf_counter()
        self.store.next_turn(state)  # the database assigns the number (unique per call, across servers)
        numbered_s = time.perf_counter() - t
        self.metrics.turn(speaker)
        guard, unavailable = self._guard_or_reason()
        turn = Turn(state, state.turn_count, speaker, raw, clean, t0, before=self.playbooks.checklist(state))
        turn.store_s = numbered_s
        state.remember_turn(turn.number, speaker, clean)
        state.region = caller_region(clean) or state.region  # either speaker may show it; it sticks
        if speaker == "agent":
            self._agent_turn(turn, guard, unavailable)
        else:
            self._customer_turn(turn, guard, unavailable)
        if self.on_turn is not None:
            t = time.perf_counter()
            self.on_turn(state.call_id, turn.number, speaker, clean)
            turn.timings["ticket"] = elapsed_ms(t)
        return self._finish(turn)

    def _agent_turn(self, turn: Turn, guard: CallGuard | None, unavailable: str | None) -> None:
        """Guard → alert and guard event (their steps join the checklist) → tick what the agent did; the turn's
        vector is kept for the routers."""
        state = turn.state
        with self.metrics.stage("alerts"):
            check = self.agent_check.run(
                guard=guard, unavailable=unavailable, state=state, turn=turn.number, raw=turn.raw, clean=turn.clean
            )
        turn.timings.update(check.timings)
        if check.alert is not None and check.event is not None:
            turn.alerts.append(check.alert)
            turn.events.append(check.event)
            self.playbooks.activate(state, self.playbooks.steps_for(categories=check.event.categories))
        blocked = check.alert is not None and check.alert.action == "block"
        with self.metrics.stage("reading"):
            vector = self.ticker.run(
                state,
                turn.heard,
                disclosures=check.disclosures,
                said=check.said,
                guard=guard,
                timings=turn.timings,
                blocked=blocked,
            )
        self.suggester.heard_agent(state.call_id, vector)  # what the customer's reply may lean on

    def _customer_turn(self, turn: Turn, guard: CallGuard | None, unavailable: str | None) -> None:
        """Language and topics → trigger → a suggestion (or, with no guard, the alert that it is withheld)."""
        state, clean = turn.state, turn.heard
        lang = detect_language(clean)
        if lang != "mixed" or state.language is None:  # a mixed turn keeps the call's language
            state.language = lang
        with self.metrics.stage("reading"):
            read = self.reader.run(state, clean, turn.timings)
        if read.suggest and guard is not None:
            got = self.suggester.run(
                state,
                turn=turn.number,
                clean=clean,
                guard=guard,
                explicit=read.explicit,
                timings=turn.timings,
                vector=read.vector,
                meant=read.by_meaning,
            )
            turn.suggestion, turn.events = got.suggestion, turn.events + got.events
        elif read.suggest:  # no guard: never show the product's own words unchecked
            turn.alerts.append(withheld_alert(state, turn=turn.number, reason=unavailable))
        state.remember_customer(clean, keep=max(self.settings.context_turns, 1))

    def _finish(self, turn: Turn) -> TurnResult:
        """Persist the turn with its checklist, count, and build its result."""
        checklist = self.playbooks.checklist(turn.state)
        if turn.suggestion is not None:
            turn.suggestion.next_steps = [s.model_dump() for s in checklist]
            turn.suggestion.latency_ms = elapsed_ms(turn.t0)
        t = time.perf_counter()
        self.store.persist(
            turn.state,
            turn=turn.number,
            speaker=turn.speaker,
            clean=turn.clean,
            suggestion=turn.suggestion,
            events=turn.events,
            checklist=checklist,
        )
        turn.timings["persist"] = elapsed_ms(t)
        self.metrics.stage_took("store", turn.store_s + time.perf_counter() - t)
        result = turn.result(checklist)
        if result.suggestion is not None:
            self.metrics.suggestion(result.suggestion.source, result.suggestion.latency_ms)
        for a in turn.alerts:
            self.metrics.alert(a.action)
        self.metrics.turn_done(turn.speaker, time.perf_counter() - turn.t0)
        return result
