"""Reading a call by meaning: the e5 query vectors of its turns compared with examples the ticket templates
and the QA rubric give (written from their own point of view, in three scripts).

The live engine already embeds every agent turn and every customer turn that is not a filler (one e5 query
vector per turn, for the turn model and retrieval). `VectorCache` wraps that encoder with a bounded LRU cache,
so the ticket draft and the scorecard read those vectors again instead of embedding the turns a second time:
scoring an ended call reads vectors, it does not run the model.

Without the turn model (ASSIST_TURN_MODEL=off, or the fake embedder in tests) there is no encoder: every
reader here then says nothing, and the keyword rules decide alone.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

Encoder = Callable[[str], "np.ndarray | None"]


class VectorCache:
    """An encoder (text → unit vector) with a bounded, thread-safe LRU cache of its answers.

    Args:
        encoder: the product's e5 query encoder (the turn model's).
        max_items: vectors kept (384 float32 each: 4096 is about 6 MB).
    """

    def __init__(self, encoder: Encoder, *, max_items: int = 4096) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be positive, got {max_items}")
        self.encoder = encoder
        self.max_items = max_items
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __call__(self, text: str) -> np.ndarray | None:
        """The text's vector: from the cache, else from the encoder (then kept)."""
        found = self.cached(text)
        if found is not None:
            return found
        vec = self.encoder(text)
        if vec is None:
            return None
        out = np.asarray(vec, dtype=np.float32).reshape(-1)
        with self._lock:
            self.misses += 1
            self._items[text] = out
            self._items.move_to_end(text)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return out

    def put(self, text: str, vec: np.ndarray) -> None:
        """Keep a vector the engine computed another way for this text (an agent turn read with its clauses)."""
        out = np.asarray(vec, dtype=np.float32).reshape(-1)
        with self._lock:
            self._items[text] = out
            self._items.move_to_end(text)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def cached(self, text: str) -> np.ndarray | None:
        """The text's vector if it is cached (never runs the encoder)."""
        with self._lock:
            vec = self._items.get(text)
            if vec is not None:
                self.hits += 1
                self._items.move_to_end(text)
            return vec


class SharingClauseEncoder:
    """The live engine's clause encoder (one e5 run: an agent turn's vector and its clauses'), keeping each
    turn's whole vector in the cache as it goes, so that the scorecard reads it instead of running e5 again
    after the call ended (the agent turns of several clauses never went through the query encoder).

    Args:
        inner: the clause encoder (`assist.calls.understanding.stage.ClauseEncoder`).
        vectors: the cache the after-call reads.
    """

    def __init__(self, inner: Any, vectors: VectorCache) -> None:
        self.inner = inner
        self.vectors = vectors

    def encode(self, text: str, spans: Any) -> Any:
        """The inner encoder's result; its utterance vector is kept for `text`."""
        encoded = self.inner.encode(text, spans)
        utterance = getattr(encoded, "utterance", None)
        if utterance is not None:
            self.vectors.put(text, utterance)
        return encoded

    def __getattr__(self, name: str) -> Any:  # warm_up, dim, …: the inner encoder's
        return getattr(self.inner, name)


class ExampleGroups:
    """Named groups of example texts, embedded once (lazily): how close a vector is to each group.

    Args:
        groups: group name → example texts (empty groups are dropped).
        encoder: text → unit vector (the same encoder as the turns').
    """

    def __init__(self, groups: dict[str, list[str]], encoder: Encoder) -> None:
        self.groups = {name: [str(t) for t in texts if str(t).strip()] for name, texts in groups.items()}
        self.groups = {name: texts for name, texts in self.groups.items() if texts}
        self.encoder = encoder
        self._matrix: np.ndarray | None = None
        self._owner: np.ndarray | None = None
        self._names: list[str] = sorted(self.groups)
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Embed the examples (once)."""
        with self._lock:
            if self._matrix is not None:
                return
            rows: list[np.ndarray] = []
            owner: list[int] = []
            for i, name in enumerate(self._names):
                for text in self.groups[name]:
                    vec = self.encoder(text)
                    if vec is not None:
                        rows.append(np.asarray(vec, dtype=np.float32).reshape(-1))
                        owner.append(i)
            dims = rows[0].shape[0] if rows else 0
            self._matrix = np.vstack(rows) if rows else np.zeros((0, dims), dtype=np.float32)
            self._owner = np.asarray(owner, dtype=np.int64)

    def scores(self, vec: np.ndarray) -> dict[str, float]:
        """Each group's closeness to `vec`: the cosine of its nearest example (vectors are unit length)."""
        self.warm_up()
        assert self._matrix is not None and self._owner is not None
        if not len(self._matrix):
            return {}
        sims = self._matrix @ np.asarray(vec, dtype=np.float32).reshape(-1)
        out = np.full(len(self._names), -1.0, dtype=np.float32)
        np.maximum.at(out, self._owner, sims)
        return {name: float(out[i]) for i, name in enumerate(self._names) if name in self.groups}


@dataclass(frozen=True)
class Closest:
    """The group a text is closest to, how close, and by how much it beats the runner-up."""

    group: str | None
    score: float
    margin: float


def closest(scores: dict[str, float]) -> Closest:
    """The best group of `scores` with its margin over the second (None when there are no scores)."""
    if not scores:
        return Closest(None, 0.0, 0.0)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return Closest(ranked[0][0], ranked[0][1], ranked[0][1] - second)


class CallMeaning:
    """The vectors of a call's turns (the live engine's, through the cache) and what the turn model reads.

    Customer turns are embedded as the engine embeds them (`clean_turn`, fillers never); agent turns as
    they are stored. A turn the cache does not hold (the process restarted, or the call was stored by
    another server) is embedded here once and kept.

    Args:
        vectors: the cached e5 query encoder the live engine uses.
        model: the turn model (need and step heads), or None (every customer turn then counts as a need).
    """

    def __init__(self, *, vectors: VectorCache, model: Any = None) -> None:
        from assist.calls.trigger import NeedTrigger

        self.vectors = vectors
        self.model = model
        self._filler = NeedTrigger().is_filler
        # the need head's answer per customer text: read when the panel asks for the draft after a turn,
        # so the template chooser at the end of the call finds it (bounded like the vectors)
        self._needs: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def customer_vector(self, text: str) -> np.ndarray | None:
        """A customer turn's vector (None for a filler: the engine embeds none)."""
        from assist.calls.context import clean_turn

        if self._filler(text):
            return None
        return self.vectors(clean_turn(text))

    def agent_vector(self, text: str) -> np.ndarray | None:
        """An agent turn's vector."""
        return self.vectors(text)

    def need(self, vec: np.ndarray, text: str) -> float:
        """P(the customer turn carries a need): the turn model's need head (1.0 without a model)."""
        if self.model is None:
            return 1.0
        with self._lock:
            found = self._needs.get(text)
        if found is not None:
            return found
        try:
            p = float(self.model.need(vec, text)[1])
        except ValueError:  # a vector of another size: not the model's encoder
            return 1.0
        with self._lock:
            self._needs[text] = p
            while len(self._needs) > self.vectors.max_items:
                self._needs.popitem(last=False)
        return p

    def steps_done(self, vec: np.ndarray, text: str) -> list[str]:
        """The checklist steps the turn model reads as done in an agent turn (empty without a model)."""
        if self.model is None:
            return []
        try:
            return [s for s, _ in self.model.steps_done(vec, text, eligible=None, already=())]
        except ValueError:
            return []
