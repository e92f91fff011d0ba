"""What a turn means for the call: a customer's need and topic, and the steps an agent's words complete.

Two stages the engine runs on every final turn. Each reads by meaning with the turn model when it is loaded
(one e5 vector per turn, shared with retrieval), and falls back to the playbooks' keywords when it is not,
or when it fails on a turn (logged; the turn is still served).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from assist.calls.alerts import CallGuard
from assist.calls.metrics import elapsed_ms
from assist.calls.playbooks import Playbooks
from assist.calls.state import CallState
from assist.calls.trigger import NeedTrigger, TriggerDecision
from assist.calls.understanding.stage import Understanding, disclosures_to_tick, single_part_disclosures
from assist.calls.understanding.text import asks_or_requests

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerReading:
    """Whether a customer's turn gets a suggestion, whether it asked for one outright, and its e5 vector.

    `by_meaning`: the model read the need (not the keyword fallback). Such a need is answered even when its
    best passage is the one shown last, or only weakly relevant: the model, not a proxy, decided it is a need.
    """

    suggest: bool
    explicit: bool
    vector: np.ndarray | None = None
    by_meaning: bool = False


class CustomerReader:
    """A customer's turn → need and topic; the call's topic persists across elliptical turns and its steps
    join the checklist when it changes.

    Args:
        understanding: the turn model (or one that is off: keywords only).
        playbooks: topics, their keywords and steps.
        trigger: the keyword trigger (and the filler fast path the model shares).
    """

    def __init__(self, *, understanding: Understanding, playbooks: Playbooks, trigger: NeedTrigger) -> None:
        self.understanding, self.playbooks, self.trigger = understanding, playbooks, trigger

    def run(self, state: CallState, clean: str, timings: dict[str, float]) -> CustomerReading:
        """Read the turn (by meaning when the model runs, else by keywords); updates the call's topics."""
        if self.understanding.ready:
            try:
                return self._by_meaning(state, clean, timings)
            except Exception:  # the keyword path below still serves the turn
                logger.exception("turn understanding failed on a customer turn", extra={"call_id": state.call_id})
        return self._by_keywords(state, clean)

    def _by_meaning(self, state: CallState, clean: str, timings: dict[str, float]) -> CustomerReading:
        t = time.perf_counter()
        read = self.understanding.customer(
            clean,
            topic=state.topic,
            filler=self._social(clean),
            answering=agent_asked(state, final=True),
            opening=not state.recent_customer,  # the caller's first turn says why they call
        )
        reading = read.reading
        if reading.topic is not None and reading.topic != state.topic:
            state.topic = reading.topic
            if reading.topic not in state.topics:
                state.topics.append(reading.topic)
            steps = self.playbooks.steps_for(topics=[reading.topic]) or [
                (sid, f"topic:{reading.topic}") for sid in self.understanding.topic_steps(reading.topic)
            ]
            self.playbooks.activate(state, steps)
        timings["understand"] = elapsed_ms(t)
        return CustomerReading(reading.need, True, read.vector, by_meaning=True)

    def wants_answer(self, state: CallState, clean: str) -> CustomerReading:
        """Whether an interim (partial ASR) customer turn carries a need, read as a final turn would be (by
        meaning when the model runs, else by keywords); the call's state is not changed."""
        if self.understanding.ready:
            try:
                read = self.understanding.customer(
                    clean,
                    topic=state.topic,
                    filler=self._social(clean),
                    answering=agent_asked(state, final=False),
                    opening=not state.recent_customer,
                )
                return CustomerReading(read.reading.need, True, read.vector, by_meaning=True)
            except Exception:  # the keyword path below still decides
                logger.exception("turn understanding failed on an interim turn", extra={"call_id": state.call_id})
        decision = self.trigger.run(text=clean, speaker="customer", final=True)
        return CustomerReading(decision.suggest, decision.reason != "long enough")

    def _social(self, clean: str) -> bool:
        """The model's fast path to "social": a filler, or a closing that thanks and asks for nothing (the
        keyword path keeps its own trigger rules, so that the two can be compared)."""
        return self.trigger.is_filler(clean) or self.trigger.is_closing(clean)

    def _by_keywords(self, state: CallState, clean: str) -> CustomerReading:
        topics = self.playbooks.topics_in(clean)
        for t_id in topics:
            if t_id not in state.topics:
                state.topics.append(t_id)
        self.playbooks.activate(state, self.playbooks.steps_for(topics=topics))
        decision = self.trigger.run(text=clean, speaker="customer", final=True)
        if decision.suggest and decision.reason == "long enough" and not topics:
            decision = TriggerDecision(False, "a statement naming no topic")
        return CustomerReading(decision.suggest, decision.reason != "long enough")


def agent_asked(state: CallState, *, final: bool) -> bool:
    """True when the turn before this customer turn is the agent asking or requesting something ("最近一笔交易
    是哪天？", "date of birth please"). A final turn is already the last of `state.recent_turns`; an interim one
    is not yet in it."""
    turns = state.recent_turns[:-1] if final else state.recent_turns
    if not turns or turns[-1].get("speaker") != "agent":
        return False
    return asks_or_requests(str(turns[-1].get("text") or ""))


class StepTicker:
    """An agent's turn → the checklist steps it completes.

    By meaning: the steps the model (with the editors' pins and its veto) shows done, then the deterministic
    multi-part paths: `done_when_all` across turns and disclosures of several parts; a one-phrase disclosure
    only on the turn that says it, unless the done heads veto it. By keywords: the playbooks' `done_when`.

    Args:
        understanding: the turn model (or one that is off: keywords only).
        playbooks: the steps and their phrases.
    """

    def __init__(self, *, understanding: Understanding, playbooks: Playbooks) -> None:
        self.understanding, self.playbooks = understanding, playbooks

    def run(
        self,
        state: CallState,
        clean: str,
        *,
        disclosures: set[str],
        said: set[str],
        guard: CallGuard | None,
        timings: dict[str, float],
        blocked: bool = False,
    ) -> np.ndarray | None:
        """Tick the steps `clean` completes (disclosures: the guard's, read so far; said: parts said now);
        returns the turn's vector when it was read by meaning (the routers' context for the customer's reply).

        `blocked`: the guard blocked the turn. A line that breaks the rules completes no step by meaning
        ("this fund only ever goes up, you have nothing to worry about" is no risk disclosure); the
        guard's own disclosure parts still count, as they are the words actually read.
        """
        if self.understanding.ready:
            try:
                if blocked:  # multi-part disclosures only: a one-phrase one needs the done heads' word
                    single = single_part_disclosures(guard)
                    allowed = disclosures_to_tick(disclosures, said_now=said, single_part=single, confirmed=False)
                    self.playbooks.tick(state, clean, disclosures=allowed, pins=False)
                    return None
                return self._by_meaning(state, clean, disclosures, said, guard, timings)
            except Exception:  # the keyword path still ticks what it can
                logger.exception("turn understanding failed on an agent turn", extra={"call_id": state.call_id})
        self.playbooks.tick(state, clean, disclosures=disclosures)
        return None

    def _by_meaning(
        self,
        state: CallState,
        clean: str,
        disclosures: set[str],
        said: set[str],
        guard: CallGuard | None,
        timings: dict[str, float],
    ) -> np.ndarray:
        t = time.perf_counter()
        already = [sid for sid, e in state.steps.items() if e.get("done")]
        found, vec = self.understanding.agent(clean, already=already)
        for sid in found:
            self.playbooks.mark_done(state, sid, why=self.understanding.explain(vec, sid))
        single = single_part_disclosures(guard)
        confirmed = bool(single & {p.split(".", 1)[0] for p in said}) and self.understanding.confirms_done(vec, clean)
        allowed = disclosures_to_tick(disclosures, said_now=said, single_part=single, confirmed=confirmed)
        self.playbooks.tick(state, clean, disclosures=allowed, pins=False)
        timings["understand"] = elapsed_ms(t)
        return vec
