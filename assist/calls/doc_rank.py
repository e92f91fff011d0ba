"""A learned choice of the document a turn is answered from (issue #17): a linear model over the candidates.

The hand re-ranking (`assist.calls.rank.Ranker`) adds fixed bonuses to the retriever's fused score: the topic in
play, the document in play, the customer's words, the script, the caller's region. On natural calls the wrong
first citation is mostly a related document (a dispute policy for a fraud call, card loss for a replacement, a
deposit policy for a wealth question) or the document in play carried into a turn that has moved on: the fixed
bonuses cannot weigh those against the retrieval evidence turn by turn. `DocumentRanker` is a listwise logistic
model (a softmax over a turn's candidate documents, trained to put a labelled document first,
``benchmarks/train_document_ranker.py``) over per-document features the ranking already has: the hand score and
its gap to the best, the gate's relevance, the fused score and the dense models' similarities and their gaps,
where the document's passages sit in the retrieval, the document in play, the call's topic, the caller's region
and the script. No encoder run is added.

The weights ship as a small JSON file (`RANKER_FILE` in the playbooks folder; settings `document_ranker` /
`document_ranker_path`), validated on load: a missing, corrupt or mismatched file leaves the hand ranking in
force, with a log line.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assist.calls import linear_file

logger = logging.getLogger(__name__)

FORMAT = "assist-document-ranker"
VERSION = 1
RANKER_FILE = "document_ranker.json"

FEATURES: tuple[str, ...] = (
    "hand",  # the document's best hand score (rank.Ranker, gate or not)
    "hand_gap",  # that minus the turn's best
    "hand_top",  # the hand ranking's first document
    "passes",  # a passage of it passes the relevance gate
    "relevance",  # its best gate relevance
    "fused_gap",  # its best fused retrieval score minus the turn's best
    "first_place",  # 1 / (1 + place of its first passage in the retrieval)
    "passages",  # its passages among the candidates (capped at 5) / 5
    "e5",  # its best e5 cosine to the query
    "e5_gap",  # that minus the turn's best
    "minilm_gap",  # the same for the English model (0 when not English)
    "bm25_gap",  # the same for the word scores, scaled by the turn's best (0 without words in common)
    "in_play",  # the document that answered the call so far
    "elliptical_in_play",
    "elliptical_e5_gap",
    "on_topic",  # rank.on_topic: on the call's topic read by meaning
    "title_topic",  # its title names the topic keywords the query names
    "region_plus",  # written for the caller's region
    "region_minus",  # another region's policy where the caller's has one
    "same_script",  # written in the customer's script, for a Hong Kong or Taiwan caller
    "next_steps",  # its best passage is a next-steps section
    "preamble",  # its best passage is the untitled opening
)
_HAND_TOP = FEATURES.index("hand_top")


@dataclass(frozen=True)
class DocEvidence:
    """What the ranking knows about one candidate document (its best passage's, or its best values)."""

    document_id: str
    hand: float
    passes: bool
    relevance: float
    fused: float
    first_place: int
    passages: int
    e5: float
    minilm: float
    bm25: float
    in_play: bool
    on_topic: float
    title_topic: bool
    region: int
    same_script: bool
    next_steps: bool
    preamble: bool


def feature_matrix(docs: Sequence[DocEvidence], *, elliptical: bool, english: bool) -> np.ndarray:
    """One row of `FEATURES` per candidate document of a turn."""
    out = np.zeros((len(docs), len(FEATURES)), np.float64)
    if not docs:
        return out
    best_hand = max(d.hand for d in docs)
    top = max(range(len(docs)), key=lambda i: (docs[i].passes, docs[i].hand))
    best_fused = max(d.fused for d in docs)
    best_e5 = max(d.e5 for d in docs)
    best_minilm = max(d.minilm for d in docs)
    best_bm25 = max(d.bm25 for d in docs)
    ell = float(elliptical)
    for i, d in enumerate(docs):
        e5_gap = d.e5 - best_e5
        out[i] = (
            d.hand,
            d.hand - best_hand,
            float(i == top and d.passes),
            float(d.passes),
            min(d.relevance, 1.5),
            d.fused - best_fused,
            1.0 / (1 + d.first_place),
            min(d.passages, 5) / 5.0,
            d.e5,
            e5_gap,
            (d.minilm - best_minilm) if english else 0.0,
            (d.bm25 - best_bm25) / best_bm25 if best_bm25 > 0 else 0.0,
            float(d.in_play),
            ell * d.in_play,
            ell * e5_gap,
            d.on_topic,
            float(d.title_topic),
            float(d.region > 0),
            float(d.region < 0),
            float(d.same_script),
            float(d.next_steps),
            float(d.preamble),
        )
    return out


@dataclass(frozen=True)
class DocumentRanker:
    """A linear scorer over standardised `FEATURES` (higher: more likely the document the turn asks about).

    Attributes:
        weights: one per feature, on standardised features.
        mean, scale: the standardisation learned with the weights.
        margin: the learned score by which another document must beat the hand ranking's first document to
            take its place (0: any lead).
        name: the model's name.
    """

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    margin: float = 0.0
    name: str = "documents"

    def __post_init__(self) -> None:
        linear_file.check_arrays("document ranker", len(FEATURES), self.weights, self.mean, self.scale)
        if not math.isfinite(self.margin) or self.margin < 0:
            raise ValueError(f"document ranker margin must be a finite number >= 0, got {self.margin}")

    def score(self, features: np.ndarray) -> np.ndarray:
        """The model's score of each row of `features` (a `feature_matrix`)."""
        return np.asarray(((features - self.mean) / self.scale) @ self.weights, np.float64)

    def choose(self, docs: Sequence[DocEvidence], *, elliptical: bool, english: bool) -> str | None:
        """The document to answer from when it is not the hand ranking's first one (None: keep the hand order).

        Only a document with a passage that passes the relevance gate can be chosen."""
        if len(docs) < 2:
            return None
        feats = feature_matrix(docs, elliptical=elliptical, english=english)
        tops = np.flatnonzero(feats[:, _HAND_TOP])
        if not len(tops):  # nothing passes the gate: nothing to answer from
            return None
        top = int(tops[0])
        scores = self.score(feats)
        allowed = [i for i, d in enumerate(docs) if d.passes]
        best = max(allowed, key=lambda i: scores[i])
        if best == top or scores[best] - scores[top] <= self.margin:
            return None
        return docs[best].document_id

    def to_json(self, **meta: Any) -> str:
        """The file form, with `meta` (what it was trained on, its figures) kept beside the weights."""
        arrays = (self.weights, self.mean, self.scale)
        return linear_file.dump(FORMAT, VERSION, self.name, FEATURES, arrays, meta, margin=self.margin)

    @classmethod
    def from_json(cls, text: str) -> DocumentRanker:
        """Parse and validate the file form; ValueError says what is wrong."""
        body, arrays = linear_file.parse(text, what="document ranker", fmt=FORMAT, version=VERSION, features=FEATURES)
        try:
            margin = float(body.get("margin", 0.0))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"document ranker margin: {exc}") from exc
        return cls(arrays[0], arrays[1], arrays[2], margin=margin, name=str(body.get("name") or "documents"))


def load_document_ranker(path: Path | None) -> DocumentRanker | None:
    """The ranker in `path`, or None (the hand ranking stays in force) when it is absent or unusable."""
    return linear_file.load(path, DocumentRanker.from_json, what="document ranker")
