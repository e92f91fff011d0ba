"""Step evidence by nearest examples: how close an agent turn is to the editors' "done" turns of each step.

The step heads generalise; the memory explains. It keeps the vectors of the training side's agent examples
(one-clause and two-clause turns), each labelled with the step it shows *done* or with nothing (a promise, a
question, an in-progress check, a negation, a remark). For a turn it finds the `k` nearest examples and gives
each step the share of their similarity-weighted vote that says "this step is done", with the nearest such
example as the reason ("核实咗，係你本人" ticks verify_identity because it is 0.93 from "核實咗係你本人").

Numpy only: one matrix-vector product over a few thousand rows (well under a millisecond). The model file keeps
the vectors as int8 with a scale per row (`quantized`; cosine to the float vector above 0.9999), an example only
once among those of the same label that sit within `DISTINCT` of each other, and each text cut to `MAX_TEXT`
characters: the memory explains a tick and does not make it (the step heads do), so it need not grow with every
near-repeat of a training turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOT_DONE = -1  # the label of an example that completes no step
DISTINCT = 0.98  # two examples of the same label at least this close are one example in the memory
MAX_TEXT = 80  # characters of an example's text kept for its reason


@dataclass(frozen=True)
class Neighbour:
    """One nearest example: its text, the step it shows done (None: none) and its cosine to the turn."""

    text: str
    step: str | None
    cosine: float


@dataclass(frozen=True)
class StepEvidence:
    """Per step, the weighted share of the nearest examples showing it done; the nearest examples."""

    scores: dict[str, float]
    neighbours: list[Neighbour]

    def reason(self, step: str) -> str | None:
        """The nearest example showing `step` done, as a short explanation (None when none is near)."""
        for n in self.neighbours:
            if n.step == step:
                return f"{n.cosine:.2f} from the example {n.text!r}"
        return None


class ExampleMemory:
    """The training side's agent examples as (vector, step done or nothing).

    Args:
        vecs: [n, dims] L2-normalised example vectors.
        labels: [n] index into `steps` of the step each example shows done, or NOT_DONE.
        steps: the step ids the labels index.
        texts: the examples' texts (for the reasons).
        k: how many nearest examples vote.
        temperature: softness of the vote (cosines of e5 turns sit within a few tenths of each other).
    """

    def __init__(
        self,
        *,
        vecs: np.ndarray,
        labels: np.ndarray,
        steps: list[str],
        texts: list[str],
        k: int = 8,
        temperature: float = 0.02,
    ) -> None:
        if vecs.ndim != 2 or len(vecs) != len(labels) or len(labels) != len(texts):
            raise ValueError(f"memory: {vecs.shape} vectors, {len(labels)} labels, {len(texts)} texts")
        if k < 1 or temperature <= 0:
            raise ValueError(f"memory: k must be ≥ 1 and temperature > 0, got k={k}, temperature={temperature}")
        if len(labels) and (labels.max() >= len(steps) or labels.min() < NOT_DONE):
            raise ValueError("memory: a label is outside the step list")
        self.vecs = np.ascontiguousarray(vecs, np.float32)
        self.labels = np.asarray(labels, np.int16)
        self.steps = list(steps)
        self.texts = list(texts)
        self.k = min(int(k), max(len(labels), 1))
        self.temperature = float(temperature)

    def __len__(self) -> int:
        return len(self.labels)

    def evidence(self, vec: np.ndarray) -> StepEvidence:
        """The vote of the `k` nearest examples to the turn vector `vec` (every step present, 0 when none)."""
        scores = dict.fromkeys(self.steps, 0.0)
        if not len(self):
            return StepEvidence(scores, [])
        v = np.asarray(vec, np.float32).reshape(-1)
        v = v / (np.linalg.norm(v) + 1e-12)
        sims = self.vecs @ v
        top = np.argpartition(-sims, self.k - 1)[: self.k]
        top = top[np.argsort(-sims[top])]
        w = np.exp((sims[top] - sims[top[0]]) / self.temperature)
        w /= w.sum()
        neighbours = []
        for i, wi in zip(top, w, strict=True):
            label = int(self.labels[i])
            step = self.steps[label] if label != NOT_DONE else None
            if step is not None:
                scores[step] += float(wi)
            neighbours.append(Neighbour(self.texts[i], step, round(float(sims[i]), 3)))
        return StepEvidence(scores, neighbours)

    def quantized(self) -> tuple[np.ndarray, np.ndarray]:
        """The vectors as int8 and the float32 scale of each row (`vecs ≈ q * scale[:, None]`)."""
        scale = np.abs(self.vecs).max(axis=1) / 127.0 if len(self.vecs) else np.zeros(0, np.float32)
        scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        q = np.clip(np.rint(self.vecs / scale[:, None]), -127, 127).astype(np.int8)
        return q, scale

    @staticmethod
    def dequantized(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Float vectors back from `quantized` (rows re-normalised)."""
        if q.ndim != 2 or scale.shape != (len(q),):
            raise ValueError(f"memory: int8 vectors {q.shape} with {scale.shape} scales")
        vecs = q.astype(np.float32) * scale[:, None].astype(np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-12
        return np.asarray(vecs / norms, np.float32)

    @classmethod
    def build(
        cls,
        rows: list[tuple[np.ndarray, str | None, bool, str]],
        steps: list[str],
        *,
        k: int = 8,
        temperature: float = 0.02,
        distinct: float | None = DISTINCT,
    ) -> ExampleMemory:
        """A memory of (vector, step, done, text) rows: a row votes for its step only when it shows it done.

        `distinct`: a row within this cosine of an earlier kept row of the same label is left out (None: all
        rows kept). Texts are cut to `MAX_TEXT` characters."""
        labels = np.array([steps.index(s) if (s and done) else NOT_DONE for _, s, done, _ in rows], np.int16)
        vecs = np.stack([np.asarray(r[0], np.float32) for r in rows]) if rows else np.zeros((0, 1), np.float32)
        vecs = vecs / (np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-12)
        keep = distinct_rows(vecs, labels, distinct) if distinct is not None else np.ones(len(rows), bool)
        texts = [_cut(r[3]) for r, kept in zip(rows, keep, strict=True) if kept]
        return cls(vecs=vecs[keep], labels=labels[keep], steps=steps, texts=texts, k=k, temperature=temperature)


def distinct_rows(vecs: np.ndarray, labels: np.ndarray, threshold: float, block: int = 1024) -> np.ndarray:
    """Mask of the rows kept when a row within `threshold` cosine of an earlier kept row of its label is left out
    (rows L2-normalised; first come, first kept)."""
    keep = np.ones(len(vecs), bool)
    for start in range(0, len(vecs), block):
        sims = vecs[start : start + block] @ vecs[: start + block].T
        for j in range(sims.shape[0]):
            i = start + j
            near = (sims[j, :i] >= threshold) & keep[:i] & (labels[:i] == labels[i])
            keep[i] = not near.any()
    return keep


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
