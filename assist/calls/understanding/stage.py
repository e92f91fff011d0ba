"""The understanding stage of the live call: one vector per turn, and what the heads make of it.

Loaded once at start-up with the product's e5 query encoder (the one retrieval uses, so a customer turn's
vector doubles as its retrieval query's). When the model file is missing, corrupt or was trained on another
encoder, or when ASSIST_TURN_MODEL=off, the stage is not ready, says why (logs, /healthz), and the engine keeps
its keyword path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assist.calls.context import clean_turn
from assist.calls.understanding.model import Encoder, ModelFileError, TurnReading, TurnUnderstanding
from assist.calls.understanding.text import (
    compile_phrases,
    late_done_clauses,
    other_clauses,
    tells_standing_only,
    tick_clauses,
)

logger = logging.getLogger(__name__)

MODEL_FILE = "turn_understanding.npz"
CLAUSES_PER_TURN = 3  # an agent turn's clauses scored on their own as well as whole (pooled from its one e5 run)
VECTOR = "e5"  # the dense index whose query vector a customer turn's vector is


@dataclass(frozen=True)
class ModelStatus:
    """Whether the turn-understanding model runs, and why not (for /healthz and the logs)."""

    ready: bool
    reason: str | None = None
    path: str | None = None
    data_hash: str | None = None


@dataclass(frozen=True)
class CustomerRead:
    """A customer turn as the heads read it, and its vector (None for a filler: nothing was embedded)."""

    reading: TurnReading
    vector: np.ndarray | None


class Understanding:
    """The model and the encoder of its vectors, or why there is no model.

    Args:
        model: the loaded model (None: not ready).
        encoder: text → the e5 query vector (the retriever's own e5 encoder).
        status: what /healthz reports.
        clause_encoder: the same e5 encoder with token states (`ContextualE5`, shared with the guard's claim
            model): one run gives an agent turn's vector and its clauses' (None: each clause is embedded).
    """

    def __init__(
        self,
        model: TurnUnderstanding | None,
        encoder: Encoder | None,
        status: ModelStatus,
        *,
        clause_encoder: ClauseEncoder | None = None,
    ) -> None:
        if model is not None and encoder is None:
            raise ValueError("a turn-understanding model needs the encoder its vectors come from")
        self.model = model
        self.encoder = encoder
        self.status = status
        self.clause_encoder = clause_encoder

    @classmethod
    def off(cls, reason: str) -> Understanding:
        """No model: the engine uses its keywords."""
        return cls(None, None, ModelStatus(ready=False, reason=reason))

    @classmethod
    def load(cls, path: Path, encoder: Encoder) -> Understanding:
        """The model at `path`, checked against `encoder`; not ready (logged as an error) when it cannot load."""
        try:
            model = TurnUnderstanding.load(path, encoder=encoder)
        except ModelFileError as exc:
            logger.error("turn-understanding model not loaded, using keywords only: %s", exc)
            return cls(None, None, ModelStatus(ready=False, reason=str(exc), path=str(path)))
        data_hash = str(model.meta.get("data_hash") or "") or None
        return cls(model, encoder, ModelStatus(ready=True, path=str(path), data_hash=data_hash))

    @classmethod
    def from_settings(cls, settings: Any, embedders: Iterable[Any]) -> Understanding:
        """The model of the settings (ASSIST_TURN_MODEL, ASSIST_TURN_MODEL_PATH) with the e5 embedder's
        query encoder."""
        if settings.turn_model == "off":
            logger.info("turn-understanding model switched off (ASSIST_TURN_MODEL=off): keywords only")
            return cls.off("switched off (ASSIST_TURN_MODEL=off)")
        e5 = next((e for e in embedders if getattr(e, "name", None) == VECTOR), None)
        if e5 is None:
            logger.warning("turn-understanding model not loaded: it needs the e5 embedder (ASSIST_EMBEDDERS)")
            return cls.off("the e5 embedder is not configured (ASSIST_EMBEDDERS); keywords only")
        loaded = cls.load(Path(settings.turn_model_file), e5.embed_query)
        if loaded.model is not None:
            loaded.model = _with_current_playbook(loaded.model, Path(settings.playbooks_path))
            loaded.clause_encoder = _clause_encoder()
        return loaded

    @property
    def ready(self) -> bool:
        """True when the model runs."""
        return self.model is not None

    def _need_model(self) -> tuple[TurnUnderstanding, Encoder]:
        if self.model is None or self.encoder is None:
            raise RuntimeError(f"no turn-understanding model: {self.status.reason}")
        return self.model, self.encoder

    def embed(self, text: str) -> np.ndarray:
        """The turn's one vector (ValueError when the encoder gives none)."""
        _, encoder = self._need_model()
        vec = encoder(text)
        if vec is None:
            raise ValueError("the encoder gave no vector for the turn")
        return np.asarray(vec, np.float32)

    def customer(
        self, clean: str, *, topic: str | None, filler: bool, answering: bool = False, opening: bool = False
    ) -> CustomerRead:
        """Need and topic of a redacted customer turn; `filler` turns are social and embed nothing;
        `answering`: the agent's last turn asked the customer something (a reply that asks nothing itself
        needs a surer need reading); `opening`: the caller's first turn (a need unless a filler)."""
        model, _ = self._need_model()
        if filler:
            return CustomerRead(TurnReading("customer", topic=topic), None)
        vec = self.embed(clean_turn(clean))
        reading = model.understand(
            vec, clean, speaker="customer", previous_topic=topic, answering=answering, opening=opening
        )
        return CustomerRead(reading, vec)

    def topic_steps(self, topic: str) -> list[str]:
        """The steps of a topic the model knows (also topics the playbooks lack, e.g. identity)."""
        model, _ = self._need_model()
        return list(model.playbook.topic_steps.get(topic, []))

    def agent(self, clean: str, *, already: Iterable[str]) -> tuple[list[str], np.ndarray]:
        """The steps a redacted agent turn shows done (model and pins, at most two), and its vector.

        The turn is read whole and, when it has several clauses, per clause as well (at most three that
        neither ask, request, promise, negate nor say the work is under way): a turn that completes two
        steps, or completes one and then asks a question, is not judged by its mix alone. With the clause
        encoder, one e5 run gives the turn's vector (the same as the query encoder's) and each clause's as
        read in the turn; without it, each clause is embedded on its own (one more run per clause)."""
        model, _ = self._need_model()
        parts = tick_clauses(clean, model.normalize, limit=CLAUSES_PER_TURN)
        # a long turn's later clauses that say done, for the precise fast path ("…, RMB 46. Both are now lodged")
        late_parts = late_done_clauses(clean, model.normalize, limit=CLAUSES_PER_TURN)
        others = other_clauses(clean, model.normalize, limit=CLAUSES_PER_TURN)
        asked: list[tuple[np.ndarray, str]] = []
        # one run: the turn's vector and its clauses' in context (also when no clause may tick: the questions and
        # requests among the others still tell whether the turn read whole is open)
        if (parts or others) and self.clause_encoder is not None:
            ordered = [*parts, *late_parts]  # the late clauses come after the first ones, in the turn's order
            spans = _spans(clean, ordered) + _spans(clean, [p for p, _ in others])
            encoded = self.clause_encoder.encode(clean, spans)
            vec = np.asarray(encoded.utterance, np.float32)
            vecs = [np.asarray(v, np.float32) for v in encoded.clauses]
            by_text = dict(zip(ordered, vecs[: len(ordered)], strict=True))
            clauses = [(by_text[p], p) for p in parts]
            late = [(by_text[p], p) for p in late_parts]
            # the other clauses (questions keep their mark): do they leave a step read done open?
            texts = [p + "？" if q else p for p, q in others]
            asked = list(zip(vecs[len(ordered) :], texts, strict=True))
        else:  # without the encoder, the other clauses are not read (each would cost one more e5 run)
            vec = self.embed(clean)
            clauses = [(self.embed(p), p) for p in parts]
            late = [(self.embed(p), p) for p in late_parts]
        alone = self.embed if self.clause_encoder is not None else None  # clauses in context: read alone too
        found = model.steps_done(
            vec, clean, eligible=None, already=already, clauses=clauses, asked=asked, alone=alone, late=late
        )
        return [s for s, _ in found], vec

    def explain(self, vec: np.ndarray, step: str) -> str | None:
        """Why the model reads `step` as done: the nearest training example showing it done, with its cosine
        (None when the model keeps no examples or none of the nearest shows that step)."""
        if self.model is None:
            return None
        evidence = self.model.step_evidence(vec)
        return None if evidence is None else evidence.reason(step)

    def confirms_done(self, vec: np.ndarray, clean: str) -> bool:
        """The done heads' veto for a one-phrase disclosure: True unless they say nothing was done, or the turn
        says the phrase only to tell the customer where they stand ("你仲喺冷靜期入面")."""
        model, _ = self._need_model()
        pins = compile_phrases([p for ps in model.playbook.step_phrases.values() for p in ps], model.normalize)
        if tells_standing_only(clean, model.normalize, pins):
            return False
        return model.done_probability(vec, clean) >= float(model.thresholds["pin_min_done"])


def _spans(text: str, parts: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each part in `text`, parts in the text's order."""
    spans, start = [], 0
    for p in parts:
        a = text.index(p, start)
        spans.append((a, a + len(p)))
        start = a + len(p)
    return spans


class ClauseEncoder(Protocol):
    """The e5 query encoder with token states (`assist.compliance.guard.encoding.ContextualE5`)."""

    def encode(self, text: str, spans: Sequence[tuple[int, int]]) -> Any:
        """An object with `utterance` (dims,) and `clauses` (len(spans), dims), L2-normalised."""
        ...


def _clause_encoder() -> ClauseEncoder | None:
    """The process's contextual e5 encoder (the guard's claim model shares it), or None when it cannot run
    (agent turns then embed their clauses one by one)."""
    from assist.compliance.guard import encoding

    try:
        encoder = encoding.shared_encoder()
        encoder.warm_up()
    except Exception as exc:  # the ticker still works, one encode per clause
        logger.warning("agent turns embed their clauses one by one: %s", exc)
        return None
    return encoder


def disclosures_to_tick(found: set[str], *, said_now: set[str], single_part: set[str], confirmed: bool) -> set[str]:
    """The disclosures (and parts) the deterministic tick may use on this agent turn.

    Disclosures of several parts tick when every part has been said (any turns), as without the model. A
    one-phrase disclosure (e.g. any mention of 冷静期) ticks only on the turn that says it, and only when the
    done heads do not veto it (`confirmed`): otherwise "now you're past the cooling-off period" would tick it.
    """
    out = set()
    for item in found:
        disclosure = item.split(".", 1)[0]
        if disclosure not in single_part:
            out.add(item)
        elif confirmed and any(p == disclosure or p.startswith(disclosure + ".") for p in said_now):
            out.add(item)
    return out


def single_part_disclosures(guard: Any) -> set[str]:
    """Ids of the guard's disclosures of one part (empty when the guard does not say)."""
    pack = getattr(guard, "pack", None)
    out = set()
    for d in getattr(pack, "disclosures", None) or []:
        parts = getattr(d, "parts", None)
        if parts is not None and len(parts) == 1:
            out.add(str(d.id))
    return out


def _with_current_playbook(model: TurnUnderstanding, directory: Path) -> TurnUnderstanding:
    """The model with the playbooks' keywords and `done_when` pins as edited now (no retraining needed); the
    trained ones when the playbooks name a topic or step the model does not know (retrain for those)."""
    from assist.calls.understanding.examples import playbook_from

    try:
        return model.with_playbook(playbook_from(directory))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        logger.warning("turn-understanding model keeps the phrases it was trained with: %s", exc)
        return model
