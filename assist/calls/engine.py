"""The live-call engine: one turn in → alerts, a suggestion and the checklist out; state in the database.

Per final customer turn: trigger → context query → hybrid retrieval → relevance gate and re-rank →
compose (LLM when configured, else extractive) → guard (speaker "suggestion") → next steps.
Per agent turn: guard (speaker "agent") → alert + guard event → tick the checklist.
Every transcript line and guard-event text is redacted before it is stored or logged.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import Session, col, select

from assist.calls.compose import Composition, ExtractiveComposer, no_answer_text, own_content, script_of
from assist.calls.context import ContextQuery, ContextQueryBuilder
from assist.calls.llm import LLMComposer, LLMUnavailableError
from assist.calls.metrics import Metrics
from assist.calls.playbooks import Playbooks
from assist.calls.state import CallState
from assist.calls.trigger import NeedTrigger, TriggerDecision
from assist.compliance.guard.engine import Verdict
from assist.config import Settings
from assist.errors import ConflictError, GuardUnavailableError, InvalidInputError, NotFoundError
from assist.models.calls import (
    Call,
    CallPublic,
    CallSummary,
    ComplianceAlert,
    Feedback,
    FeedbackPublic,
    NextStep,
    Suggestion,
    SuggestionMessage,
    Turn,
    TurnPublic,
    TurnResult,
)
from assist.models.common import new_id, utcnow
from assist.models.guard import GuardEvent
from assist.models.keys import ApiKey, CallAccess, Role
from assist.privacy import redact
from assist.protocols import Retriever, SearchResult
from assist.text import detect_language, normalize, tokenize

logger = logging.getLogger(__name__)

SPEAKERS = ("customer", "agent")
ALERT_ACTIONS = ("block", "warn")


def _match_dict(m: Any, redact: Callable[[str], str]) -> dict[str, Any]:
    if isinstance(m, dict):
        d = dict(m)
    elif hasattr(m, "to_dict"):
        d = dict(m.to_dict())
    else:
        d = {k: getattr(m, k, None) for k in ("rule_id", "category", "severity", "start", "end", "text")}
    if isinstance(d.get("text"), str):
        d["text"] = redact(d["text"])
    return d


@lru_cache(maxsize=50_000)
def _tokens(text: str) -> frozenset[str]:
    """BM25 tokens of a passage or query, cached: the same passages come back turn after turn."""
    return frozenset(tokenize(text))


_NOT_WORD = re.compile(r"[\W_]+")


def _prefetch_key(query: str) -> str:
    """Queries that differ only in punctuation, spacing, case or script share their retrieval.

    ASR finals usually repeat the last interim hypothesis with punctuation added.
    """
    return _NOT_WORD.sub("", normalize(query))


def _multi_topic(result: SearchResult) -> bool:
    """A document that covers many products (an FAQ): its tags do not describe the passage."""
    tags = [t.lower() for t in result.tags or []]
    return "faq" in tags or len(tags) > 6


def _unchecked(reason: str | None, speaker: str) -> Verdict:
    """What a turn gets while the guard is unavailable: a warn with no match, saying why, never silence.

    "warn", not "block": nothing was found to be wrong, but nothing was checked either. An agent's words are
    already said, so the agent is told to stay clear of claims; the product's own suggestions are withheld
    (not shown with a flag), because their text reaches the customer through the agent and no check ran.
    """
    what = (
        "suggestions are withheld until it is back"
        if speaker == "suggestion"
        else "this turn was not checked: make no promise of returns, safety or deposit protection"
    )
    return Verdict("warn", (), f"{reason or 'compliance check unavailable'}; {what}", speaker)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


class _CallLock:
    """One call's lock. The engine's map holds it weakly: it lives while a thread holds or waits for it, and
    goes when the last one lets go, so asking about a call (known or not) leaves nothing behind."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> _CallLock:
        self._lock.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._lock.release()


class CallEngine:
    """Runs live calls. Thread-safe: turns of one call are serialised, different calls run in parallel.

    Args:
        settings: limits, thresholds, top_k and the context window.
        db_engine: where calls, turns, suggestions and guard events are stored.
        retriever: the Retriever, or a function returning the current one (the KB may swap indexes).
        guard: a function returning the guard in force (GuardHolder.get), fetched afresh every turn.
        playbooks: topics and steps.
        llm: the optional chat-model composer.
        next_steps_for: a document's declared next-step ids (KnowledgeBase.next_steps_for).
        redactor: the redaction function (assist.privacy.redact by default).
        metrics: where counters go.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        db_engine: Engine,
        retriever: Retriever | Callable[[], Retriever],
        guard: Callable[[], Any],
        playbooks: Playbooks | None = None,
        llm: LLMComposer | None = None,
        next_steps_for: Callable[[str], list[str]] | None = None,
        redactor: Callable[[str], str] | None = None,
        metrics: Metrics | None = None,
        composer: ExtractiveComposer | None = None,
        trigger: NeedTrigger | None = None,
        max_cached_calls: int = 5000,
        max_parallel_retrievals: int | None = None,
    ) -> None:
        if retriever is None:
            raise ValueError("CallEngine needs a retriever")
        parallel = max_parallel_retrievals or max(1, os.cpu_count() or 1)
        if parallel < 1:
            raise ValueError(f"max_parallel_retrievals must be positive, got {max_parallel_retrievals}")
        if max_cached_calls < 1:
            raise ValueError(f"max_cached_calls must be positive, got {max_cached_calls}")
        self.settings = settings
        self.db_engine = db_engine
        self._retriever = retriever
        if not callable(guard):
            raise ValueError("CallEngine needs a guard: agent turns and answers are always checked")
        self._guard = guard
        self.playbooks = playbooks or Playbooks(settings.playbooks_path)
        self.llm = llm
        self.next_steps_for = next_steps_for
        self.redact = redactor or redact
        self.metrics = metrics or Metrics()
        self.composer = composer or ExtractiveComposer(expand=self.playbooks.expand)
        self.trigger = trigger or NeedTrigger()
        self.context = ContextQueryBuilder(has_topic=self.playbooks.has_topic, topics_in=self.playbooks.topics_in)
        self.max_cached_calls = max_cached_calls
        # Retrieval is CPU-bound (query embeddings); more of it at once than there are cores only makes
        # every call wait on the model and index locks while the cores thrash. Turns queue here instead.
        self._retrieval_slots = threading.BoundedSemaphore(parallel)
        self._write_lock = threading.Lock()
        self.rerank_depth = 20  # passages fetched for the re-ranking below
        self.rank_margin = 0.25  # passages more than this behind the best are not composed from
        # Every per-call map is bounded: states and owners are LRUs of max_cached_calls, the locks live only
        # while in use, prefetches are dropped with their turn (and all at once past the bound), document
        # steps are an LRU of max_cached_calls documents.
        self._states: OrderedDict[str, CallState] = OrderedDict()
        self._states_guard = threading.Lock()
        self._owners: OrderedDict[str, str | None] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, _CallLock] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()
        self._prefetch: dict[str, tuple[str, list[SearchResult]]] = {}
        self._doc_steps: OrderedDict[str, list[str]] = OrderedDict()

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def retriever(self) -> Retriever:
        """The retriever in force."""
        r = self._retriever
        return r if hasattr(r, "retrieve") else r()  # type: ignore[operator,return-value]

    def guard(self) -> Any:
        """The guard in force (fetched afresh on every turn)."""
        return self._guard()

    def warm_up(self) -> None:
        """Load the tokenizer dictionary so that the first turn is not slow."""
        self.composer.warm_up()
        self.trigger.run(text="预热", speaker="customer", final=True)

    def _lock(self, call_id: str) -> _CallLock:
        with self._locks_guard:
            lock = self._locks.get(call_id)
            if lock is None:
                lock = _CallLock()
                self._locks[call_id] = lock
            return lock

    def _cache_state(self, state: CallState) -> CallState:
        """Keep `state` in the LRU, unless another thread cached this call first: then that one is the state."""
        with self._states_guard:
            cached = self._states.get(state.call_id)
            if cached is not None:
                self._states.move_to_end(state.call_id)
                return cached
            self._states[state.call_id] = state
            while len(self._states) > self.max_cached_calls:
                self._states.popitem(last=False)
        self._remember_owner(state.call_id, state.owner_key_id)
        return state

    def _remember_owner(self, call_id: str, owner: str | None) -> None:
        with self._states_guard:
            self._owners[call_id] = owner
            self._owners.move_to_end(call_id)
            while len(self._owners) > self.max_cached_calls:
                self._owners.popitem(last=False)

    def _load(self, call_id: str) -> CallState:
        with self._states_guard:
            state = self._states.get(call_id)
            if state is not None:
                self._states.move_to_end(call_id)
                return state
        with Session(self.db_engine) as session:
            row = session.get(Call, call_id)
            if row is None:
                raise NotFoundError("call", call_id)
            state = CallState.from_json(call_id, row.state)
            state.status, state.agent_name, state.turn_count = row.status, row.agent_name, row.turn_count
            state.owner_key_id = row.agent_key_id
        return self._cache_state(state)

    def owner_of(self, call_id: str) -> str | None:
        """The id of the key that started the call (None for a call with no recorded owner).

        Raises:
            NotFoundError: unknown call.
        """
        with self._states_guard:
            if call_id in self._owners:
                self._owners.move_to_end(call_id)
                return self._owners[call_id]
        with Session(self.db_engine) as session:
            row = session.get(Call, call_id)
            if row is None:
                raise NotFoundError("call", call_id)
            owner = row.agent_key_id
        self._remember_owner(call_id, owner)
        return owner

    def access(self, call_id: str, key: ApiKey) -> CallAccess:
        """What `key` may do with the call (assist.security.keys.call_access).

        Raises:
            NotFoundError: unknown call.
        """
        from assist.security.keys import call_access

        owner = self.owner_of(call_id)
        if Role(key.role) == Role.admin or (owner is not None and owner == key.id):
            return CallAccess.act  # the common case, without a database session
        with Session(self.db_engine) as session:
            return call_access(session, key=key, owner_key_id=owner)

    def call_of_suggestion(self, suggestion_id: str) -> str:
        """The call a suggestion was shown on.

        Raises:
            NotFoundError: unknown suggestion.
        """
        with Session(self.db_engine) as session:
            call_id = session.exec(select(Suggestion.call_id).where(Suggestion.id == suggestion_id)).first()
        if call_id is None:
            raise NotFoundError("suggestion", suggestion_id)
        return call_id

    def exists(self, call_id: str) -> bool:
        """True when the call is known (in memory or in the database)."""
        try:
            self._load(call_id)
        except NotFoundError:
            return False
        return True

    # -- public API ---------------------------------------------------------------------------
    def start_call(self, *, agent: ApiKey | None = None) -> str:
        """Open a call; returns its id."""
        call_id = new_id()
        state = CallState(
            call_id=call_id, agent_name=agent.name if agent else None, owner_key_id=agent.id if agent else None
        )
        with Session(self.db_engine) as session:
            session.add(
                Call(
                    id=call_id,
                    agent_key_id=agent.id if agent else None,
                    agent_name=state.agent_name,
                    state=state.to_json(),
                )
            )
            session.commit()
        self._cache_state(state)
        self.metrics.call_started()
        logger.info("call started", extra={"call_id": call_id})
        return call_id

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
        with self._lock(call_id):
            state = self._load(call_id)
            if state.status != "active":
                raise ConflictError(f"call {call_id!r} has ended")
            clean = self.redact(text)
            if not final:
                self._prefetch_for(state, clean, speaker)
                return TurnResult(call_id=call_id, turn=None, next_steps=self.playbooks.checklist(state))
            try:
                return self._final_turn(state, speaker=speaker, raw=text, clean=clean, t0=t0)
            except Exception:
                self.metrics.error()
                # the in-memory state may be half-updated: reload it from the database next time
                with self._states_guard:
                    self._states.pop(call_id, None)
                raise

    def _prefetch_for(self, state: CallState, clean: str, speaker: str) -> None:
        if not self.trigger.run(text=clean, speaker=speaker, final=True).suggest:
            return
        cq = self.context.run(text=clean, state=state)
        if len(self._prefetch) >= self.max_cached_calls:  # abandoned calls must not pile up
            self._prefetch.clear()
        self._prefetch[state.call_id] = (_prefetch_key(cq.query), self._retrieve(cq.query, {}))

    def _retrieve(self, query: str, timings: dict[str, float]) -> list[SearchResult]:
        t = time.perf_counter()
        retriever = self.retriever
        with self._retrieval_slots:
            timings["queue"] = _ms(t)
            results = retriever.retrieve(query, k=max(self.settings.top_k, self.rerank_depth))
        timings["retrieve"] = _ms(t)
        last = getattr(retriever, "last_timings", None)  # HybridRetriever: embed and search split
        if last is not None and hasattr(last, "embed_ms"):
            timings["embed"] = round(float(last.embed_ms), 3)
            timings["search"] = round(float(last.search_ms), 3)
        return results

    def _final_turn(self, state: CallState, *, speaker: str, raw: str, clean: str, t0: float) -> TurnResult:
        state.turn_count += 1
        turn = state.turn_count
        self.metrics.turn(speaker)
        guard, unavailable = self._guard_or_reason()
        before = self.playbooks.checklist(state)
        alerts: list[ComplianceAlert] = []
        events: list[GuardEvent] = []
        suggestion: Suggestion | None = None
        timings: dict[str, float] = {}
        state.remember_turn(turn, speaker, clean)
        if speaker == "agent":
            t = time.perf_counter()
            verdict = guard.check(raw, speaker="agent") if guard is not None else _unchecked(unavailable, speaker)
            timings["guard"] = _ms(t)
            if verdict.action in ALERT_ACTIONS:
                alert, event = self._alert(state, turn=turn, speaker=speaker, clean=clean, verdict=verdict)
                if guard is None:  # in the review queue as a turn nobody checked, not as a rule's match
                    event.kind = "unchecked"
                alerts.append(alert)
                events.append(event)
                self.playbooks.activate(state, self.playbooks.steps_for(categories=event.categories))
            self.playbooks.tick(state, clean, disclosures=self._disclosures_said(state, guard, raw))
        else:
            lang = detect_language(clean)
            if lang != "mixed" or state.language is None:  # a mixed turn keeps the call's language
                state.language = lang
            topics = self.playbooks.topics_in(clean)
            for t_id in topics:
                if t_id not in state.topics:
                    state.topics.append(t_id)
            self.playbooks.activate(state, self.playbooks.steps_for(topics=topics))
            decision = self.trigger.run(text=clean, speaker=speaker, final=True)
            if decision.suggest and decision.reason == "long enough" and not topics:
                decision = TriggerDecision(False, "a statement naming no topic")
            if decision.suggest and guard is None:  # never show the product's own words unchecked
                verdict = _unchecked(unavailable, "suggestion")
                alerts.append(
                    ComplianceAlert(
                        call_id=state.call_id,
                        turn=turn,
                        speaker="suggestion",
                        action=verdict.action,
                        advice=verdict.advice,
                    )
                )
            elif decision.suggest:
                suggestion, extra_events = self._suggest(
                    state, turn=turn, clean=clean, timings=timings, explicit=decision.reason != "long enough"
                )
                events += extra_events
            state.remember_customer(clean, keep=max(self.settings.context_turns, 1))
        checklist = self.playbooks.checklist(state)
        message: SuggestionMessage | None = None
        if suggestion is not None:
            suggestion.next_steps = [s.model_dump() for s in checklist]
            suggestion.latency_ms = _ms(t0)
        t = time.perf_counter()
        self._persist(
            state, turn=turn, speaker=speaker, clean=clean, suggestion=suggestion, events=events, checklist=checklist
        )
        timings["persist"] = _ms(t)
        for a, e in zip(alerts, [e for e in events if e.kind in ("utterance", "unchecked")], strict=False):
            a.event_id = e.id
        if suggestion is not None:
            suggestion.timings = timings
            message = self._message(suggestion, checklist)
            message.latency_ms = _ms(t0)
            self.metrics.suggestion(suggestion.source, message.latency_ms)
        for a in alerts:
            self.metrics.alert(a.action)
        return TurnResult(
            call_id=state.call_id,
            turn=turn,
            suggestion=message,
            alerts=alerts,
            next_steps=checklist,
            checklist_changed=[s.model_dump() for s in before] != [s.model_dump() for s in checklist],
        )

    def _guard_or_reason(self) -> tuple[Any, str | None]:
        """The guard in force, or None and why it is unavailable (the turn then fails closed)."""
        try:
            return self.guard(), None
        except GuardUnavailableError as exc:
            return None, str(exc)

    @staticmethod
    def _disclosures_said(state: CallState, guard: Any, raw: str) -> set[str]:
        """Disclosure parts said so far in the call (the guard's qualified ids) and the disclosures complete."""
        finder = getattr(guard, "find_disclosures", None)
        if not callable(finder):
            return set()
        seen = state.parts_seen.setdefault("_disclosure_parts", [])
        for part in finder(raw):
            if part not in seen:
                seen.append(part)
        completed = getattr(guard, "completed_disclosures", None)
        return set(seen) | set(completed(seen) if callable(completed) else [])

    # -- alerts -------------------------------------------------------------------------------
    def _alert(
        self, state: CallState, *, turn: int, speaker: str, clean: str, verdict: Any
    ) -> tuple[ComplianceAlert, GuardEvent]:
        matches = [_match_dict(m, self.redact) for m in getattr(verdict, "matches", [])]
        rule_ids = list(dict.fromkeys(str(m.get("rule_id")) for m in matches if m.get("rule_id")))
        categories = list(dict.fromkeys(str(m.get("category")) for m in matches if m.get("category")))
        versions = {str(m["rule_id"]): int(m["version"]) for m in matches if m.get("rule_id") and m.get("version")}
        advice = str(getattr(verdict, "advice", "") or "")
        event = GuardEvent(
            kind="utterance" if speaker != "suggestion" else "suggestion",
            call_id=state.call_id,
            turn=turn,
            speaker=speaker,
            agent_name=state.agent_name,
            action=str(verdict.action),
            rule_ids=rule_ids,
            categories=categories,
            rule_versions=versions,
            text=clean,
            matches=matches,
            context=list(state.recent_turns),
        )
        alert = ComplianceAlert(
            call_id=state.call_id,
            turn=turn,
            speaker=speaker,
            action=str(verdict.action),
            matches=matches,
            advice=advice,
        )
        logger.info(
            "compliance alert",
            extra={"call_id": state.call_id, "turn": turn, "action": alert.action, "rules": rule_ids},
        )
        return alert, event

    # -- suggestions --------------------------------------------------------------------------
    def relevance(self, query: str, result: SearchResult, *, focus: str | None = None) -> float:
        """How well a passage answers: the best of query-term coverage and the dense models' similarity.

        The fused score is min-max normalised per query (the best candidate is always near 1), so it
        cannot tell "nothing relevant" apart; raw evidence can. For an elliptical turn the coverage of
        the turn's own words (`focus`) counts too: "那补卡要钱吗?" is about 补卡 whatever came before.
        """
        p = _tokens(f"{result.section} {result.text or result.snippet}")
        coverage = 0.0
        for text in (query, focus):
            q = _tokens(text) if text else frozenset()
            if q:  # a long question is answered by a passage holding a few of its terms, not all
                coverage = max(coverage, min(1.0, len(q & p) / min(len(q), 4)))
        raw = result.scores or {}
        dense = 0.0
        if "minilm" in raw and detect_language(query) == "en":
            dense = max(dense, float(raw["minilm"]))
        if "e5" in raw:  # e5 similarities sit high: 0.75 is unrelated, 0.9 is close
            dense = max(dense, (float(raw["e5"]) - 0.75) * 4.0)
        return max(coverage, dense)

    def rank(self, cq: ContextQuery, results: list[SearchResult], language: str) -> list[SearchResult]:
        """Relevant passages, re-ranked.

        On top of the retriever's fused score: passages that name the topic in play (playbook keywords),
        passages of documents already in play and passages holding the turn's own words (elliptical
        turns: "那补卡要钱吗?" wants the 补卡 section), and passages in the customer's script.
        """
        focus = _tokens(cq.turn_text) if cq.elliptical else frozenset()
        topic_terms = self.playbooks.topic_terms(cq.query)
        ranked: list[tuple[float, int, SearchResult]] = []
        for i, r in enumerate(results):
            rel = self.relevance(cq.query, r, focus=cq.turn_text if cq.elliptical else None)
            if rel < self.settings.min_answer_score:
                continue
            score = float(r.score)
            if topic_terms:
                # a passage that only points to another procedure ("raise a dispute (see ...)") is not on
                # the topic itself; a document whose title names the topic is the policy on it
                own = normalize(f"{r.section} {own_content(r.text or r.snippet)}")
                if any(t in own for t in topic_terms):
                    score += 0.1
                if any(t in normalize(r.title) for t in topic_terms):
                    score += 0.08
            if not r.section:  # a document's preamble (scope, purpose) rarely answers the question itself
                score -= 0.08
            if cq.elliptical and r.document_id in cq.prefer_documents:
                score += 0.1
            if focus:
                p = _tokens(f"{r.section} {r.text or r.snippet}")
                score += 0.4 * len(focus & p) / len(focus)
            src = script_of(r)
            if language.startswith("zh") and src == language:
                score += 0.05
            elif language.startswith("zh") and src.startswith("zh"):
                score += 0.03
            elif language == "en" and src == "en":
                score += 0.05
            extra = {"relevance": round(rel, 4), "rank": round(score, 4)}
            ranked.append((score, i, replace(r, scores={**(r.scores or {}), **extra})))
        ranked.sort(key=lambda x: (-x[0], x[1]))
        if not ranked:
            return []
        # passages far behind the best one only dilute the answer
        floor = ranked[0][0] - self.rank_margin
        return [r for score, _, r in ranked if score >= floor]

    def _compose(
        self, state: CallState, cq: ContextQuery, results: list[SearchResult], language: str, timings: dict
    ) -> tuple[Composition, str | None]:
        top = self.composer.passages(results)
        t = time.perf_counter()
        if self.llm is not None and top:
            try:
                comp = self.llm.run(
                    question=cq.turn_text, context=state.recent_customer, results=top, language=language
                )
                timings["compose"] = _ms(t)
                return comp, None
            except LLMUnavailableError as exc:
                logger.warning("chat model unavailable; extractive answer", extra={"reason": str(exc)})
                comp = self.composer.run(query=cq.query, results=top, language=language, focus=cq.turn_text)
                timings["compose"] = _ms(t)
                return comp, str(exc)
        comp = self.composer.run(query=cq.query, results=top, language=language, focus=cq.turn_text)
        timings["compose"] = _ms(t)
        return comp, None

    def _check_answer(
        self,
        state: CallState,
        *,
        turn: int,
        cq: ContextQuery,
        comp: Composition,
        results: list[SearchResult],
        language: str,
        note: str | None,
        timings: dict,
    ) -> tuple[Composition, str | None, list[GuardEvent]]:
        """Guard the answer; a blocked LLM answer becomes the extractive one, blocked sentences are dropped."""
        t = time.perf_counter()
        guard = self.guard()
        events: list[GuardEvent] = []
        if comp.source == "none":
            timings["guard"] = _ms(t)
            return comp, note, events
        verdict = guard.check(comp.answer, speaker="suggestion")
        if verdict.action == "block":
            _, event = self._alert(
                state, turn=turn, speaker="suggestion", clean=self.redact(comp.answer), verdict=verdict
            )
            event.kind = "suggestion"
            events.append(event)
            reason = f"blocked by {', '.join(event.rule_ids) or 'the guard'}: {verdict.advice or ''}".strip()
            top = self.composer.passages(results)
            if comp.source == "llm":
                note = f"chat-model answer {reason}"
                comp = self.composer.run(query=cq.query, results=top, language=language, focus=cq.turn_text)
                comp.source = "llm_blocked_fallback"
            else:
                note = f"sentences {reason}"
            # drop any extractive sentence that is itself blocked (approved passages should not be)
            excluded = {
                s["text"] for s in comp.sentences if guard.check(s["text"], speaker="suggestion").action == "block"
            }
            if excluded:
                source = comp.source
                comp = self.composer.run(
                    query=cq.query, results=top, language=language, focus=cq.turn_text, exclude=excluded
                )
                comp.source = source if comp.sentences else "none"
        timings["guard"] = _ms(t)
        return comp, note, events

    def _suggest(
        self, state: CallState, *, turn: int, clean: str, timings: dict[str, float], explicit: bool = True
    ) -> tuple[Suggestion | None, list[GuardEvent]]:
        cq = self.context.run(text=clean, state=state)
        language = state.language or detect_language(clean)
        pre = self._prefetch.pop(state.call_id, None)
        if pre is not None and pre[0] == _prefetch_key(cq.query):
            results = pre[1]
            timings["retrieve"] = 0.0
            timings["prefetched"] = 1.0
        else:
            results = self._retrieve(cq.query, timings)
        t = time.perf_counter()
        ranked = self.rank(cq, results, language)
        if ranked and ranked[0].chunk_id == state.last_top_chunk:
            ranked = ranked[1:]
            if not ranked:
                logger.info("same passage as last time; no suggestion", extra={"call_id": state.call_id})
                timings["rank"] = _ms(t)
                return None, []
        timings["rank"] = _ms(t)
        if not ranked and not explicit:
            logger.debug("statement with nothing relevant; no suggestion", extra={"call_id": state.call_id})
            return None, []
        comp, note = self._compose(state, cq, ranked, language, timings)
        comp, note, events = self._check_answer(
            state, turn=turn, cq=cq, comp=comp, results=ranked, language=language, note=note, timings=timings
        )
        if comp.source == "none":
            comp.answer, comp.citations, comp.sentences = no_answer_text(language), [], []
        t = time.perf_counter()
        if comp.citations:
            state.last_top_chunk = str(comp.citations[0]["chunk_id"])
            if not cq.elliptical and explicit:
                # a new need: it becomes the anchor of the next elliptical turns, with its documents
                state.last_need = clean
                state.docs_in_play = []
            for r in reversed(comp.results):  # the top citation ends up most recent
                state.put_in_play(r.document_id)
            for r in comp.results:
                state.documents_cited.setdefault(
                    r.document_id, {"document_id": r.document_id, "title": r.title, "version": r.version}
                )
                if not _multi_topic(r):  # an FAQ's tags span every product: they say nothing of this turn
                    self.playbooks.activate(state, self.playbooks.steps_for(tags=r.tags))
                self.playbooks.activate(state, [(s, f"document:{r.document_id}") for s in self._steps_of(r)])
        timings["next_steps"] = _ms(t)
        state.suggestion_count += 1
        return (
            Suggestion(
                id=new_id(),
                call_id=state.call_id,
                turn=turn,
                query=cq.query,
                answer=comp.answer,
                source=comp.source,
                citations=comp.citations,
                replaced_reason=note,
                language=language,
                sentences=comp.sentences,
                # given, not defaulted: pydantic inspects a default factory's signature on every use
                next_steps=[],
                timings={},
                created_at=utcnow(),
            ),
            events,
        )

    def _steps_of(self, result: SearchResult) -> list[str]:
        if self.next_steps_for is None:
            return []
        steps = self._doc_steps.get(result.document_id)
        if steps is None:
            try:
                steps = list(self.next_steps_for(result.document_id))
            except Exception:  # noqa: BLE001 - next steps are an extra; never fail a turn for them
                logger.exception("next_steps_for failed", extra={"document_id": result.document_id})
                return []
            with self._states_guard:
                self._doc_steps[result.document_id] = steps
                while len(self._doc_steps) > self.max_cached_calls:
                    self._doc_steps.popitem(last=False)
        return steps

    @staticmethod
    def _message(s: Suggestion, checklist: list[NextStep]) -> SuggestionMessage:
        return SuggestionMessage(
            id=s.id,
            call_id=s.call_id,
            turn=s.turn,
            query=s.query,
            answer=s.answer,
            citations=s.citations,
            next_steps=checklist,
            latency_ms=s.latency_ms,
            source=s.source,
            replaced_reason=s.replaced_reason,
            language=s.language,
            sentences=s.sentences,
            timings=s.timings,
        )

    def _persist(
        self,
        state: CallState,
        *,
        turn: int,
        speaker: str,
        clean: str,
        suggestion: Suggestion | None,
        events: list[GuardEvent],
        checklist: list[NextStep],
    ) -> None:
        # One writer at a time inside the process: SQLite allows one anyway, and its busy handler backs off
        # with sleeps of up to 100 ms, which under 50 calls made this the slowest stage (p95 73 ms).
        with self._write_lock, Session(self.db_engine, expire_on_commit=False) as session:
            # One UPDATE, not a load of the row and a save: this runs after every turn of every call.
            changed = session.execute(
                update(Call)
                .where(col(Call.id) == state.call_id)
                .values(
                    turn_count=state.turn_count,
                    topics=list(state.topics),
                    checklist=[s.model_dump() for s in checklist],
                    state=state.to_json(),
                )
            )
            if cast("CursorResult[Any]", changed).rowcount == 0:  # an UPDATE's result carries its row count
                session.rollback()
                raise NotFoundError("call", state.call_id)
            session.add(Turn(call_id=state.call_id, turn=turn, speaker=speaker, text=clean, created_at=utcnow()))
            if suggestion is not None:
                session.add(suggestion)
            for e in events:
                session.add(e)
            session.commit()

    # -- reading and ending -------------------------------------------------------------------
    def _rows(self, session: Session, call_id: str) -> tuple[Call, list[Turn], list[Suggestion], list[GuardEvent]]:
        row = session.get(Call, call_id)
        if row is None:
            raise NotFoundError("call", call_id)
        turns = list(session.exec(select(Turn).where(Turn.call_id == call_id).order_by(col(Turn.turn))))
        sugg = list(
            session.exec(select(Suggestion).where(Suggestion.call_id == call_id).order_by(col(Suggestion.turn)))
        )
        events = list(
            session.exec(select(GuardEvent).where(GuardEvent.call_id == call_id).order_by(col(GuardEvent.id)))
        )
        return row, turns, sugg, events

    @staticmethod
    def _alert_of(e: GuardEvent) -> ComplianceAlert:
        return ComplianceAlert(
            call_id=e.call_id or "",
            turn=e.turn or 0,
            speaker=e.speaker or "",
            action=e.action,
            matches=e.matches,
            advice=next((str(m["advice"]) for m in e.matches if m.get("advice")), ""),
            event_id=e.id,
        )

    def get_call(self, call_id: str) -> CallPublic:
        """The redacted transcript, suggestions, checklist and alerts of a call."""
        with Session(self.db_engine) as session:
            row, turns, sugg, events = self._rows(session, call_id)
            return CallPublic(
                id=row.id,
                status=row.status,
                agent_name=row.agent_name,
                topics=list(row.topics),
                checklist=[NextStep(**s) for s in row.checklist],
                turns=[TurnPublic(turn=t.turn, speaker=t.speaker, text=t.text, created_at=t.created_at) for t in turns],
                suggestions=[self._message(s, [NextStep(**n) for n in s.next_steps]) for s in sugg],
                alerts=[self._alert_of(e) for e in events],
                created_at=row.created_at,
                ended_at=row.ended_at,
            )

    def end_call(self, call_id: str) -> CallSummary:
        """Close the call (idempotent) and return the after-call summary."""
        with self._lock(call_id):
            state = self._load(call_id)
            with Session(self.db_engine, expire_on_commit=False) as session:
                row, turns, sugg, events = self._rows(session, call_id)
                if row.status != "ended":
                    row.status = "ended"
                    row.ended_at = utcnow()
                    state.status = "ended"
                    row.state = state.to_json()
                    session.add(row)
                    session.commit()
            self._prefetch.pop(call_id, None)
            with self._states_guard:  # an ended call takes no more turns: its state need not stay in memory
                self._states.pop(call_id, None)
            checklist = [NextStep(**s) for s in row.checklist]
            logger.info("call ended", extra={"call_id": call_id, "turns": len(turns)})
            return CallSummary(
                call_id=call_id,
                status=row.status,
                topics=list(row.topics),
                documents_cited=list(state.documents_cited.values()),
                steps_done=[s for s in checklist if s.done],
                steps_pending=[s for s in checklist if not s.done],
                alerts=[self._alert_of(e) for e in events],
                transcript=[
                    TurnPublic(turn=t.turn, speaker=t.speaker, text=t.text, created_at=t.created_at) for t in turns
                ],
                suggestions=len(sugg),
                ended_at=row.ended_at,
            )

    def feedback(self, suggestion_id: str, *, rating: str, comment: str | None) -> FeedbackPublic:
        """Record an agent's rating of a suggestion."""
        if rating not in ("used", "helpful", "wrong"):
            raise InvalidInputError(f"rating must be used, helpful or wrong, got {rating!r}")
        with Session(self.db_engine, expire_on_commit=False) as session:
            if session.get(Suggestion, suggestion_id) is None:
                raise NotFoundError("suggestion", suggestion_id)
            row = Feedback(
                suggestion_id=suggestion_id, rating=rating, comment=self.redact(comment) if comment else None
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return FeedbackPublic.model_validate(row, from_attributes=True)
