"""A learned order for the answer's candidate sentences (issue #17): a linear model over cheap features.

The composer scores every sentence of the passages it is handed by hand-set weights (shared words, the kind of
fact asked, e5 meaning, the heading, referrals, the preamble). Those weights do not tell a procedure or a
condition sentence that answers "what do I do" / "can I get it back" from its neighbours. `SentenceRanker`
is a listwise logistic model trained on labelled calls (``benchmarks/train_answer_sentences.py``): per
sentence, the hand score and the things it is made of, the sentence's meaning relative to the best of the turn,
its place in the passage and the passage's rank, and whether it is a procedure or a condition, crossed with the
kind of question. All are computed from what the composer already has: no encoder run is added.

Beside those features, the model may weigh meaning interactions (version 2 of the file): the elementwise product
of the turn's unit e5 vector and the sentence's (q⊙s, one number per dimension; their sum is the cosine), so that
which dimensions of meaning the two share counts, not only how much. The sentence vectors are the composer's cache
(`SentenceVectors.cached`: no encoder run); a sentence without a cached vector, or a turn without a vector, adds
nothing to its score from them. The file also says whether the learned order is for every question or only for
those asking no kind of fact (`every_question`).

The weights ship as a small JSON file (`RANKER_FILE` in the playbooks folder, beside the turn model; settings
`answer_ranker` / `answer_ranker_path`), validated on load: a missing, corrupt or mismatched
file leaves the hand ranking in force, with a log line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assist.calls import linear_file
from assist.text import normalize

logger = logging.getLogger(__name__)

FORMAT = "assist-answer-sentence-ranker"
VERSION = 2
RANKER_FILE = "answer_sentence_ranker.json"
FILL_MIN_CHARS = 30  # see fills()

# a sentence that says what to do (an instruction, a channel, a step), matched on normalize()d text
_PROCEDURE = re.compile(
    r"须|需|请|应|可通过|可以通过|可拨打|拨打|致电|办理|申请|登记|携带|持|前往|联系|提交|报案|报警|挂失|冻结|止付|核实"
    r"|\b(?:must|should|please|call|visit|contact|bring|submit|apply|register|report|freeze|block)\b|can be"
)
# a sentence that states a condition or an exception
_CONDITION = re.compile(r"如果|如|若|倘|凡|除非|情况下|前提|之前|之后|\b(?:if|unless|when|where|provided|only)\b")
# a question about what to do or whether something is possible (no period, fee, amount or rate asked)
_HOW = re.compile(
    r"怎么|怎样|如何|点样|点办|咋|要不要|能不能|可不可以|可唔可以|得唔得|能否|可以吗|可以嘛|吗|嘛|呢|点算"
    r"|\bhow (?:do|can|to|should)\b|\bwhat (?:do|should|can|now|happens)\b|\bcan i\b|\bshould i\b|\bdo i\b|\bwill i\b"
    r"|\bis it\b|\bget (?:it|my|the) .*back\b"
)
_DIGIT = re.compile(r"\d")

FEATURES: tuple[str, ...] = (
    "hand",  # the hand-set score (compose._candidates)
    "hand_gap",  # the hand score minus the turn's best
    "hits",  # query terms held
    "focus_hits",  # the customer's own words held
    "heading_hits",  # question terms in the passage heading but not the sentence
    "fact",  # fact bonus for the kind asked
    "sim",  # e5 cosine to the turn (0 without vectors)
    "sim_gap",  # cosine minus the turn's best
    "sim_rank",  # 1 / (1 + place of the sentence by cosine among the turn's candidates)
    "rank",  # passage rank (capped as in the hand score)
    "further_section",  # from the top document's further sections
    "same_doc",  # from the top passage's document
    "passage_score_gap",  # the passage's retrieval score minus the top one's
    "position",  # 1 / (1 + position in the passage)
    "referral",
    "preamble",  # a passage without a section
    "length",  # characters / 100, capped at 2
    "table_row",
    "digit",
    "procedure",
    "condition",
    "asks_kind",  # the question asks for a period, fee, amount or rate
    "asks_how",  # a what-to-do / can-I question
    "how_x_procedure",
    "how_x_condition",
    "nokind_x_procedure",
    "nokind_x_sim_gap",
    "kind_x_digit",
)


@dataclass(frozen=True)
class Raw:
    """What the composer knows about one candidate sentence (the parts of its hand score and more)."""

    sentence: str
    hand: float
    hits: int
    focus_hits: int
    heading_hits: int
    fact: float
    sim: float
    rank: int
    further_section: bool
    same_doc: bool
    passage_score: float
    position: int
    referral: bool
    preamble: bool


def learned_for(kinds: frozenset[str], *, every_question: bool = False) -> bool:
    """Whether the learned order chooses the sentences for a question asking for `kinds` of fact: with
    `every_question` (the model's file says so) any question, else only one that asks for no period, fee, amount or
    rate ("what do I do", "can I get it back"): version 1's features alone did worse where a kind is asked (one
    fact fewer of 38 in bench_answers, two real-model tests of how-to and two-part questions)."""
    return every_question or not kinds


def fills(sentence: str) -> bool:
    """Whether a sentence that shares no word with the question may fill the answer under the learned order: one
    that says something (`FILL_MIN_CHARS` or more), not a list's bare "Step 7." or a table's "Suitable for C5
    only." (leave-one-set-out, round 10: 487 facts with this floor, 485 without, 472 with no such filling)."""
    return len(sentence) >= FILL_MIN_CHARS


def meaning_rows(vector: np.ndarray | None, sentences: Sequence[str], vectors: Any) -> np.ndarray | None:
    """q⊙s per sentence (the turn's unit vector times the sentence's cached unit vector, n × d; rows of NaN for a
    sentence not cached), or None without a turn vector or a cache. `vectors` is a `sentences.SentenceVectors`."""
    if vector is None or vectors is None or not sentences:
        return None
    q = np.asarray(vector, np.float32).ravel()
    norm = float(np.linalg.norm(q))
    rows = vectors.cached(sentences)
    if norm == 0 or rows.shape[1] != q.shape[0]:
        return None
    return np.asarray(rows * (q / norm), np.float32)


def question_flags(question: str, asks_kind: bool) -> tuple[float, float]:
    """(asks for a kind of fact, asks what to do / whether it can be done)."""
    return float(asks_kind), float(bool(_HOW.search(normalize(question))))


def feature_matrix(rows: Sequence[Raw], *, question: str, asks_kind: bool, top_score: float) -> np.ndarray:
    """One row of `FEATURES` per candidate sentence of a turn."""
    if not rows:
        return np.zeros((0, len(FEATURES)), np.float32)
    kind, how = question_flags(question, asks_kind)
    best_hand = max(r.hand for r in rows)
    best_sim = max(r.sim for r in rows)
    order = sorted(range(len(rows)), key=lambda i: -rows[i].sim)
    place = {i: n for n, i in enumerate(order)}
    out = np.zeros((len(rows), len(FEATURES)), np.float32)
    for i, r in enumerate(rows):
        norm = normalize(r.sentence)
        proc = float(bool(_PROCEDURE.search(norm)))
        cond = float(bool(_CONDITION.search(norm)))
        digit = float(bool(_DIGIT.search(norm)))
        sim_gap = r.sim - best_sim
        out[i] = (
            r.hand,
            r.hand - best_hand,
            r.hits,
            r.focus_hits,
            r.heading_hits,
            r.fact,
            r.sim,
            sim_gap,
            1.0 / (1 + place[i]),
            r.rank,
            float(r.further_section),
            float(r.same_doc),
            r.passage_score - top_score,
            1.0 / (1 + r.position),
            float(r.referral),
            float(r.preamble),
            min(len(r.sentence) / 100.0, 2.0),
            float(" | " in r.sentence),
            digit,
            proc,
            cond,
            kind,
            how,
            how * proc,
            how * cond,
            (1 - kind) * proc,
            (1 - kind) * sim_gap,
            kind * digit,
        )
    return out


@dataclass(frozen=True)
class Meaning:
    """The weights of the meaning interactions q⊙s, on standardised values (one per e5 dimension)."""

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        linear_file.check_arrays("sentence ranker meaning", len(self.weights), self.weights, self.mean, self.scale)

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Each row's part of the score; a row of NaN (no cached vector) adds 0, as at the training mean."""
        z = (rows - self.mean) / self.scale
        z[~np.isfinite(z)] = 0.0
        return np.asarray(z @ self.weights, np.float64)


@dataclass(frozen=True)
class SentenceRanker:
    """A linear scorer over standardised `FEATURES` and, optionally, the meaning interactions (higher: more likely
    the sentence carries the fact).

    Attributes:
        weights: one per feature, on standardised features.
        mean, scale: the standardisation learned with the weights.
        name: the model's name (recorded with what it was trained on).
        meaning: the weights of q⊙s (None: the features alone).
        every_question: the learned order is for every question (else for those asking no kind of fact).
    """

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    name: str = "answer-sentences"
    meaning: Meaning | None = field(default=None)
    every_question: bool = False

    def __post_init__(self) -> None:
        linear_file.check_arrays("sentence ranker", len(FEATURES), self.weights, self.mean, self.scale)

    def applies(self, kinds: frozenset[str]) -> bool:
        """Whether this model orders the sentences of a question asking for `kinds` of fact (`learned_for`)."""
        return learned_for(kinds, every_question=self.every_question)

    def score(self, features: np.ndarray, meaning: np.ndarray | None = None) -> np.ndarray:
        """The model's score of each row of `features` (a `feature_matrix`) and, with the model's meaning weights,
        of `meaning` (`meaning_rows` of the same sentences; None or another size: the features alone)."""
        out = np.asarray(((features - self.mean) / self.scale) @ self.weights, np.float64)
        m = self.meaning
        if m is not None and meaning is not None and meaning.shape == (len(features), len(m.weights)):
            out = out + m.score(meaning)
        return out

    def to_json(self, **meta: Any) -> str:
        """The file form, with `meta` (what it was trained on, its figures) kept beside the weights."""
        arrays = (self.weights, self.mean, self.scale)
        body = json.loads(linear_file.dump(FORMAT, VERSION, self.name, FEATURES, arrays, meta))
        body["every_question"] = self.every_question
        if self.meaning is not None:
            m = self.meaning
            parts = zip(linear_file.ARRAYS, (m.weights, m.mean, m.scale), strict=True)
            body["meaning"] = {k: [round(float(x), 6) for x in a] for k, a in parts}
        body["meta"] = body.pop("meta")
        return json.dumps(body, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SentenceRanker:
        """Parse and validate the file form; ValueError says what is wrong."""
        body, arrays = linear_file.parse(text, what="sentence ranker", fmt=FORMAT, version=VERSION, features=FEATURES)
        every = body.get("every_question", False)
        if not isinstance(every, bool):
            raise ValueError(f"sentence ranker every_question: expected true or false, got {every!r}")
        return cls(
            arrays[0],
            arrays[1],
            arrays[2],
            name=str(body.get("name") or "answer-sentences"),
            meaning=_parse_meaning(body.get("meaning")),
            every_question=every,
        )


def _parse_meaning(part: Any) -> Meaning | None:
    """The file's `meaning` part (absent: None); ValueError says what is wrong."""
    if part is None:
        return None
    try:
        arrays = [np.asarray(part[k], np.float64) for k in linear_file.ARRAYS]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"sentence ranker meaning: {exc}") from exc
    if any(a.ndim != 1 or not a.size for a in arrays):
        raise ValueError("sentence ranker meaning: expected three lists of numbers")
    return Meaning(*arrays)


def load_ranker(path: Path | None) -> SentenceRanker | None:
    """The ranker in `path`, or None (the hand ranking stays in force) when it is absent or unusable."""
    return linear_file.load(path, SentenceRanker.from_json, what="answer-sentence ranker")
