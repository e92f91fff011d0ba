"""A fake encoder and a tiny trained claim model for fast tests (no e5 weights needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assist.compliance.guard.combine import Policy
from assist.compliance.guard.model import ClaimModel
from assist.compliance.guard.training import ReviewDecision, TrainConfig, train


@dataclass(frozen=True)
class FakeEncoded:
    """What an encoder returns: the utterance vector and one vector per clause span."""

    utterance: np.ndarray
    clauses: np.ndarray


class FakeEncoder:
    """Bag-of-characters vectors: enough for the head to learn 'has 保本/guaranteed'; counts its calls."""

    encoder_id = "fake-bag-of-chars"
    dim = 16

    def __init__(self) -> None:
        self.calls = 0

    def _vec(self, s: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for ch in s:
            v[ord(ch) % self.dim] += 1.0
        v[0] += 1.0
        return v / np.linalg.norm(v)

    def encode(self, text: str, spans: Sequence[tuple[int, int]]) -> FakeEncoded:
        self.calls += 1
        clauses = np.stack([self._vec(text[a:b]) for a, b in spans]) if spans else np.zeros((0, self.dim))
        return FakeEncoded(self._vec(text), clauses)


POSITIVES = ["这款产品保本保息", "稳赚不赔的产品", "Guaranteed returns for you", "Returns are guaranteed", "保证收益"]
NEGATIVES = [
    "您好请问有什么可以帮您",
    "本产品不提供任何保证",
    "Thanks for calling today",
    "Your card was sent",
    "请稍等",
]
FAST = TrainConfig(folds=2, max_iter=50, mil_rounds=1, target_block_fpr=0.2, target_flag_fpr=0.3)


def rows() -> list[dict[str, str]]:
    """A small labelled corpus: guaranteed-return claims and service talk."""
    out = [
        {"text": t, "speaker": "agent", "category": "guaranteed_return", "id": f"w-{i}"}
        for i, t in enumerate(POSITIVES * 4)
    ]
    out += [
        {"text": t, "speaker": "agent", "category": "none", "id": f"w-{100 + i}"} for i, t in enumerate(NEGATIVES * 4)
    ]
    return out


def train_fake(reviews: Sequence[ReviewDecision] = ()) -> ClaimModel:
    """A claim model trained on :func:`rows` with the fake encoder."""
    model, _ = train(
        rows(),
        ["营业时间是九点到五点"],
        reviews,
        encoder=FakeEncoder(),
        config=FAST,
        extra_meta={"policy": Policy().to_dict(), "version": "test"},
    )
    return model


def save_fake(path: Path) -> Path:
    """Write the fake model to ``path``."""
    train_fake().save(path)
    return path
