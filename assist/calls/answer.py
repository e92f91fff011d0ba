"""The answer to a turn: composed (by the chat model when one is configured, else extractively), then checked
by the guard like every text the agent is shown; a blocked answer falls back to what is safe.

The fallbacks: a chat model that times out or fails gives way to the extractive answer; a chat-model answer
the guard blocks is replaced by the extractive one; an extractive sentence the guard blocks is left out
(approved passages should not hold one). Nothing relevant gives the "nothing approved was found" answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assist.calls.alerts import CallGuard, alert_for
from assist.calls.compose import Composition, ExtractiveComposer, in_customer_script, no_answer_text
from assist.calls.context import ContextQuery
from assist.calls.llm import LLMComposer, LLMUnavailableError
from assist.calls.metrics import elapsed_ms
from assist.calls.state import CallState
from assist.models.calls import Suggestion
from assist.models.common import new_id, utcnow
from assist.models.guard import GuardEvent
from assist.protocols import SearchResult

logger = logging.getLogger(__name__)

# Put before an answer cited from a document that has ended (see doc_route.TitledPassages): what it says is history
ENDED_NOTICE = {
    "zh-Hans": "【已结束：有效期至 {day}，非现行规定，勿向客户推介】",
    "zh-Hant": "【已結束：有效期至 {day}，非現行規定，勿向客戶推介】",
    "en": "[Ended: in force until {day}. Not current policy; do not offer it.]",
}


def ended_notice(language: str, day: str) -> str:
    """The notice before an answer from a document that ended on `day`, in the customer's language."""
    return in_customer_script(ENDED_NOTICE, language).format(day=day)


@dataclass
class Answer:
    """A turn's answer, as checked.

    Attributes:
        composition: the answer, its sentences and citations, and its source (extractive, llm,
            llm_blocked_fallback or none).
        note: why the answer is not the one first composed (the chat model failed, or the guard blocked it).
        events: the guard events of a blocked answer (kind "suggestion"), for the review queue.
        timings: milliseconds: `compose` and `guard`.
    """

    composition: Composition
    note: str | None = None
    events: list[GuardEvent] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def suggestion(self, *, call_id: str, turn: int, query: str, language: str) -> Suggestion:
        """The suggestion row of this answer (its checklist, latency and timings are set when the turn ends)."""
        comp = self.composition
        return Suggestion(
            id=new_id(),
            call_id=call_id,
            turn=turn,
            query=query,
            answer=comp.answer,
            source=comp.source,
            citations=comp.citations,
            replaced_reason=self.note,
            language=language,
            sentences=comp.sentences,
            # given, not defaulted: pydantic inspects a default factory's signature on every use
            next_steps=[],
            timings={},
            created_at=utcnow(),
        )


class AnswerStage:
    """Composes a turn's answer from its ranked passages and checks it with the guard.

    Args:
        composer: the extractive composer (the answer, and every fallback).
        llm: the optional chat-model composer.
        redact: the redaction function (a blocked answer is stored redacted in its guard event).
    """

    def __init__(
        self, *, composer: ExtractiveComposer, llm: LLMComposer | None = None, redact: Callable[[str], str]
    ) -> None:
        if composer is None:
            raise ValueError("AnswerStage needs an extractive composer (every fallback is extractive)")
        self.composer = composer
        self.llm = llm
        self.redact = redact

    def run(
        self,
        *,
        guard: CallGuard,
        state: CallState,
        turn: int,
        query: ContextQuery,
        results: list[SearchResult],
        language: str,
        vector: np.ndarray | None = None,
        pins: tuple[str, ...] = (),
    ) -> Answer:
        """Compose from `results` (relevant, best first) and check the answer with `guard`.

        Args:
            guard: the guard in force.
            state: the call (the customer's recent turns go to the chat model; a guard event names the call).
            turn: the turn number.
            query: the turn's context query.
            results: the ranked passages; empty means nothing relevant.
            language: the customer's language.
            vector: the turn's e5 query vector (the answer's sentences are then chosen by meaning too).
            pins: sentences of the passages the answer must hold, best first (the sentence router's; see composer.run).
        """
        timings: dict[str, float] = {}
        comp, note = self._compose(state, query, results, language, timings, vector, pins)
        t = time.perf_counter()
        events: list[GuardEvent] = []
        if comp.source != "none":
            comp, note, events = self._check(
                guard,
                state,
                turn=turn,
                cq=query,
                comp=comp,
                results=results,
                language=language,
                note=note,
                vector=vector,
                pins=pins,
            )
        timings["guard"] = elapsed_ms(t)
        if comp.source == "none":
            comp.answer, comp.citations, comp.sentences = no_answer_text(language), [], []
        elif comp.citations and comp.citations[0].get("ended"):
            comp.answer = f"{ended_notice(language, str(comp.citations[0]['ended']))}\n{comp.answer}"
        return Answer(comp, note, events, timings)

    def _compose(
        self,
        state: CallState,
        cq: ContextQuery,
        results: list[SearchResult],
        language: str,
        timings: dict[str, float],
        vector: np.ndarray | None,
        pins: tuple[str, ...] = (),
    ) -> tuple[Composition, str | None]:
        top = self.composer.passages(results)
        t0 = time.perf_counter()
        extractive = self.composer.run(
            query=cq.query, results=top, language=language, focus=cq.turn_text, vector=vector, pins=pins
        )
        timings["compose"] = elapsed_ms(t0)
        if self.llm is not None and top:
            t = time.perf_counter()
            try:
                # the model reads the sentences the extractive ranking chose first in each passage
                comp = self.llm.run(
                    question=cq.turn_text,
                    context=state.recent_customer,
                    results=top,
                    language=language,
                    key_sentences=[s["text"] for s in extractive.sentences],
                )
                timings["llm"] = elapsed_ms(t)
                timings["compose"] = elapsed_ms(t0)
                return comp, None
            except LLMUnavailableError as exc:
                logger.warning("chat model unavailable; extractive answer", extra={"reason": str(exc)})
                timings["llm"] = elapsed_ms(t)
                timings["compose"] = elapsed_ms(t0)
                return extractive, str(exc)
        return extractive, None

    def _check(
        self,
        guard: CallGuard,
        state: CallState,
        *,
        turn: int,
        cq: ContextQuery,
        comp: Composition,
        results: list[SearchResult],
        language: str,
        note: str | None,
        vector: np.ndarray | None = None,
        pins: tuple[str, ...] = (),
    ) -> tuple[Composition, str | None, list[GuardEvent]]:
        """Guard the answer; a blocked LLM answer becomes the extractive one, blocked sentences are dropped."""
        # an extractive answer quotes approved documents verbatim: the rules check it every turn, the claim
        # model read those documents at ingest; a chat model's words get every layer
        speaker = "passage" if comp.source == "extractive" else "suggestion"
        verdict = guard.check(comp.answer, speaker=speaker)
        if verdict.action != "block":
            return comp, note, []
        _, event = alert_for(
            state, turn=turn, speaker="suggestion", clean=self.redact(comp.answer), verdict=verdict, redact=self.redact
        )
        event.kind = "suggestion"
        reason = f"blocked by {', '.join(event.rule_ids) or 'the guard'}: {verdict.advice or ''}".strip()
        top = self.composer.passages(results)
        if comp.source == "llm":
            note = f"chat-model answer {reason}"
            comp = self.composer.run(
                query=cq.query, results=top, language=language, focus=cq.turn_text, vector=vector, pins=pins
            )
            comp.source = "llm_blocked_fallback"
        else:
            note = f"sentences {reason}"
        # drop any extractive sentence that is itself blocked (approved passages should not be)
        excluded = {s["text"] for s in comp.sentences if guard.check(s["text"], speaker="passage").action == "block"}
        if excluded:
            source = comp.source
            comp = self.composer.run(
                query=cq.query,
                results=top,
                language=language,
                focus=cq.turn_text,
                exclude=excluded,
                vector=vector,
                pins=tuple(p for p in pins if p not in excluded),
            )
            comp.source = source if comp.sentences else "none"
        return comp, note, [event]
