"""Which document a turn is about, read from its meaning (issue #17): a router learned from labelled calls.

The retrieval and the hand re-ranking judge each passage by the words and the similarity it shares with the
turn. On calls worded the way people talk, the right policy is often not the passage that shares most: "my wife's
not happy about it, so I kinda want out" is the insurance cooling-off policy, "基金又有冇得保㗎" the wealth risk
disclosure for Hong Kong. `DocumentRouter` is a multinomial logistic model over the turn's e5 vector (the one the
engine computed for the turn already), half of the previous customer turn's vector (a follow-up leans on what
came before), half of the agent's last turn's vector (the one the step reading computed for it: a reply leans on
what the agent just said) and the caller's region (mainland, Hong Kong, Taiwan): a probability per document title.
It is trained on calls labelled turn by turn with the documents that answer them
(``benchmarks/train_document_router.py``).

The route is evidence beside the ranking, not a replacement: `choose` takes, among the documents the retrieval
found (deep), the one with the best log-probability plus a bonus for a document whose passage passed the
relevance gate. A document the router was not trained on (added since) has no probability: only a document it
knows can take the first place from the ranking. No encoder run is added: one matrix product per turn.

The model ships as an .npz file in the playbooks folder (settings `document_router` / `document_router_path`),
validated on load: a missing, corrupt or mismatched file (a version-1 file, trained without the agent's turn, is
one: retrain it with that script) leaves the ranking as it is, with a log line.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assist.calls.region import other_branch
from assist.calls.sentences import split_sentences
from assist.knowledge.retrieval import chunk_result
from assist.protocols import SearchResult

logger = logging.getLogger(__name__)

FORMAT = "assist-document-router"
VERSION = 2  # 2: the agent's last turn is an input (a version-1 file is retrained, see the module doc)
ROUTER_FILE = "document_router.npz"
SENTENCE_ROUTER_FILE = "sentence_router.npz"  # the same model over the answer sentences that carry facts
REGIONS: tuple[str | None, ...] = (None, "HK", "TW")  # the caller's region as CallState reads it
PREVIOUS_WEIGHT = 0.5  # the previous customer turn counts half
# the agent's last turn counts half too: a reply leans on what the agent just said ("ok pls cancel it properly and
# send a new one. how much?" after the agent explained the liability for a lost card). Leave-one-set-out over 44
# call sets, right first document 0.837 without it, 0.849 / 0.851 / 0.851 / 0.843 at 0.3 / 0.5 / 0.7 / 1.0
AGENT_WEIGHT = 0.5
GATE_BONUS = 2.0  # in log-probability units: a document with a passage past the relevance gate
FLOOR = 1e-6  # the probability of a document the router does not know
# another document than the ranking's first takes its place only when the router gives it this much; a document
# the router is this sure of is put first even when the retrieval did not find it (its passages closest in meaning
# to the turn are fetched from the index). Leave-one-set-out over 20 call sets the right first document is flat
# over these three (0.829–0.834 for 0.3–0.5 / 1–2 / 0.5–0.6); these are the cautious end (0.833; 0.832 with 0.3 /
# 1 / 0.5): an unsure router leaves a question that names its matter to the retrieval ("…多久之内可以申请争议？"
# stays with the disputes policy); see docs/benchmarks.md
MIN_PROBABILITY = 0.45
SURE_PROBABILITY = 0.6
# the sentence router's best sentence is chosen for the answer from this probability on, when it is in the document
# cited first, and its next best sentence of that document from `MORE_PIN_PROBABILITY` (at most `MAX_PINS` in all).
# On four dev call sets held out of both routers' training (fresh10a–11b), answers carrying the fact: one pin from
# 0.15 0.520, two pins from 0.15 / 0.05 0.536, from 0.10 / 0.05 0.550, from 0.06 / 0.05 0.553, three from 0.15 0.539
PIN_PROBABILITY = 0.10
MORE_PIN_PROBABILITY = 0.05
MAX_PINS = 2


def features(
    vector: np.ndarray, previous: np.ndarray | None, region: str | None, agent: np.ndarray | None = None
) -> np.ndarray:
    """The router's input: the turn's vector, half the previous customer turn's and half the agent's last turn's
    (zeros when none), the region."""
    v = np.asarray(vector, np.float32).ravel()

    def scaled(other: np.ndarray | None, weight: float) -> np.ndarray:
        return np.zeros_like(v) if other is None else weight * np.asarray(other, np.float32).ravel()

    r = np.array([region == x for x in REGIONS], np.float32)
    if region not in REGIONS:
        r[0] = 1.0
    return np.concatenate([v, scaled(previous, PREVIOUS_WEIGHT), scaled(agent, AGENT_WEIGHT), r])


@dataclass(frozen=True)
class DocumentRouter:
    """A softmax over document titles.

    Attributes:
        titles: the documents it knows, by title (titles survive new versions of a document).
        weights: (len(titles), features) — see `features`.
        bias: one per title.
        meta: what it was trained on and its figures (kept in the file).
    """

    titles: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    documents: tuple[str, ...] = ()  # for a sentence router: the title of each label's document

    def __post_init__(self) -> None:
        n = len(self.titles)
        if n < 2 or len(set(self.titles)) != n:
            raise ValueError("a document router needs at least two distinct titles")
        if self.weights.ndim != 2 or self.weights.shape[0] != n or self.bias.shape != (n,):
            raise ValueError(f"document router arrays do not match its {n} titles")
        if self.documents and len(self.documents) != n:
            raise ValueError(f"document router documents do not match its {n} labels")
        if not (np.isfinite(self.weights).all() and np.isfinite(self.bias).all()):
            raise ValueError("document router weights are not finite")

    @property
    def dim(self) -> int:
        """The length of the embedding it was trained on (the e5 vector)."""
        return (int(self.weights.shape[1]) - len(REGIONS)) // 3

    def probabilities(
        self,
        vector: np.ndarray,
        previous: np.ndarray | None,
        region: str | None,
        agent: np.ndarray | None = None,
    ) -> dict[str, float]:
        """P(title | turn) for every title it knows; none for a vector of another encoder (another length)."""
        if any(v is not None and np.asarray(v).size != self.dim for v in (vector, previous, agent)):
            return {}
        x = features(vector, previous, region, agent)
        logits = self.weights @ x + self.bias
        e = np.exp(logits - logits.max())
        p = e / e.sum()
        return dict(zip(self.titles, (float(v) for v in p), strict=True))

    def save(self, path: Path) -> None:
        """Write the model (titles as JSON beside the arrays: no pickles)."""
        header = json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "titles": list(self.titles),
                "documents": list(self.documents),
                "meta": self.meta,
            }
        )
        with path.open("wb") as fh:
            np.savez_compressed(fh, header=np.array(header), weights=self.weights, bias=self.bias)

    @classmethod
    def read(cls, path: Path) -> DocumentRouter:
        """Parse and validate the file; ValueError says what is wrong."""
        try:
            with np.load(path, allow_pickle=False) as z:
                parts = {name: z[name] for name in z.files}
            header = json.loads(str(parts.get("header", "null")))
        except (OSError, ValueError) as exc:  # not an archive, a pickled array, a header that is not JSON
            raise ValueError(f"not a document router file: {exc}") from exc
        if not isinstance(header, dict) or (header.get("format"), header.get("version")) != (FORMAT, VERSION):
            raise ValueError(f"not a {FORMAT} v{VERSION} file")
        if "weights" not in parts or "bias" not in parts:
            raise ValueError("not a document router file: no weights")
        weights, bias = np.asarray(parts["weights"], np.float32), np.asarray(parts["bias"], np.float32)
        titles = tuple(str(t) for t in header.get("titles") or ())
        documents = tuple(str(t) for t in header.get("documents") or ())
        return cls(titles, weights, bias, dict(header.get("meta") or {}), documents)


def load_router(path: Path | None) -> DocumentRouter | None:
    """The router in `path`, or None (the ranking stays as it is) when it is absent or unusable."""
    if path is None:
        return None
    if not path.exists():
        logger.info("no document router at %s; the ranking alone chooses the document", path)
        return None
    try:
        return DocumentRouter.read(path)
    except ValueError as exc:
        logger.warning("document router %s not used: %s", path, exc)
        return None


def choose(route: dict[str, float], passed: Sequence[str], found: Iterable[str]) -> str | None:
    """The title to answer from: among `found` (the titles the retrieval found) and `passed` (those with a
    passage past the gate, the ranking's first first), the best log-probability plus `GATE_BONUS` for passing.
    A title other than the ranking's first must reach `MIN_PROBABILITY`: a router unsure of the turn leaves the
    ranking's choice. None when the router knows none of the candidates or is unsure."""
    gate = set(passed)
    candidates = dict.fromkeys([*passed, *found])
    if not any(t in route for t in candidates):
        return None

    def score(title: str) -> float:
        return math.log(route.get(title, FLOOR) + FLOOR) + (GATE_BONUS if title in gate else 0.0)

    best = max(candidates, key=score)
    if passed and best != passed[0] and route.get(best, 0.0) < MIN_PROBABILITY:
        return None
    return best


def candidates(
    ranked: Sequence[SearchResult], retrieved: Sequence[SearchResult], region: str | None
) -> tuple[list[str], list[str]]:
    """The titles `choose` picks from: those past the gate (the ranking's first first) and those retrieved. Another
    branch's own policy stays the ranking's to choose: a Traditional-script question with no regional cue is
    served as mainland, as everywhere else in the call."""
    passed = [r.title for i, r in enumerate(ranked) if i == 0 or not other_branch(r, region)]
    return passed, [r.title for r in retrieved if not other_branch(r, region)]


def pinned(router: DocumentRouter, route: dict[str, float], title: str) -> tuple[str, ...]:
    """The sentences of `title` a sentence router (labels: sentences, `documents`: their titles) is sure enough of
    for the answer to hold, best first: its best sentence when at least `PIN_PROBABILITY` and in `title`, then up to
    `MAX_PINS` in all of `title`'s next ones from `MORE_PIN_PROBABILITY`; () when it is unsure or its best sentence
    is another document's."""
    if not route:
        return ()
    ranked = sorted(route, key=lambda t: -route[t])
    if route[ranked[0]] < PIN_PROBABILITY or router.documents[router.titles.index(ranked[0])] != title:
        return ()
    more = [
        t
        for t in ranked[1 : MAX_PINS * 4]
        if route[t] >= MORE_PIN_PROBABILITY and router.documents[router.titles.index(t)] == title
    ]
    return (ranked[0], *more[: MAX_PINS - 1])


def sure(route: dict[str, float], allowed: Callable[[str], bool]) -> str | None:
    """The title the router gives at least `SURE_PROBABILITY` among those `allowed` (the caller's region), or None.
    Only the titles past the bar are asked about (one, or two at a tie): `allowed` looks each up in the index."""
    sure_of = [t for t, p in route.items() if p >= SURE_PROBABILITY and allowed(t)]
    return max(sure_of, key=route.__getitem__, default=None)


# A sentence that tells that something ended: an ended document's own statement of it
ENDED_CUE = re.compile(
    r"已?(结束|結束|终止|終止|停止|截止)|\b(ended|has expired|no longer (available|offered|valid))\b", re.IGNORECASE
)


class TitledPassages:
    """A document's passages in force, by title, closest in meaning to the turn first: for a document the router
    is sure of and the retrieval did not find. One matrix product over the document's stored e5 vectors.

    The retrieval never returns a document that has ended (issue #2); a turn the router is sure is about one ("前年那个
    境外刷卡返现 现在还能补吗") gets that document's own passages marked with its last day, so the agent is told
    that it ended rather than shown another policy (`ended_documents=False`: nothing of it)."""

    def __init__(self, embedder: str = "e5", *, ended_documents: bool = True) -> None:
        self.embedder = embedder
        self.ended_documents = ended_documents
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._by_title: dict[str, list[int]] = {}

    def _ids(self, index: Any, title: str) -> list[int]:
        chunks = index.chunks
        key = (id(index), len(chunks))
        with self._lock:
            if key != self._key:  # the index changed: rebuilt once, then a dictionary lookup per turn
                by: dict[str, list[int]] = {}
                for cid, meta in list(chunks.items()):
                    by.setdefault(meta.title, []).append(cid)
                self._by_title, self._key = by, key
            return self._by_title.get(title, [])

    def branch_of(self, index: Any, title: str, region: str | None) -> bool:
        """True when `title` is another branch's own policy for a caller in `region` (see region.other_branch)."""
        ids = self._ids(index, title) if index is not None and hasattr(index, "chunks") else []
        return bool(ids) and other_branch(chunk_result(index.chunks[ids[0]], 0.0), region)

    def run(self, index: Any, title: str, vector: np.ndarray, *, n: int, score: float) -> list[SearchResult]:
        """Up to `n` passages of `title` in force today, closest to `vector` first, each at `score`; those of an
        ended document (none in force, its last day past: see `ended`) marked with that day."""
        dense = getattr(index, "dense", {}).get(self.embedder) if index is not None else None
        if dense is None or not hasattr(index, "chunks"):
            return []
        ids, ended = self._served(index, title)
        if not ids:
            return []
        sims = dense.vectors_for(ids) @ np.asarray(vector, np.float32).ravel()
        order = np.argsort(-sims)[:n]
        return [self._result(index.chunks[ids[i]], score, ended, {self.embedder: float(sims[i])}) for i in order]

    def holding(self, index: Any, title: str, sentence: str, *, score: float) -> SearchResult | None:
        """The passage of `title` that holds `sentence` (in force, or of the ended document), at `score`; None when
        there is none."""
        if index is None or not hasattr(index, "chunks"):
            return None
        ids, ended = self._served(index, title)
        for cid in ids:
            if holds(index.chunks[cid].text, sentence):
                return self._result(index.chunks[cid], score, ended)
        return None

    def end_statements(self, index: Any, title: str, *, n: int = 2) -> tuple[str, ...]:
        """Up to `n` sentences in which an ended document says that it ended ("本活动已于 … 结束", "has ended"), in the
        document's order: they lead its answer, before any of the terms it no longer offers."""
        if index is None or not hasattr(index, "chunks"):
            return ()
        ids, ended = self._served(index, title)
        if ended is None:
            return ()
        found: list[str] = []
        for cid in sorted(ids, key=lambda c: index.chunks[c].chunk_id):
            found += [s for s in split_sentences(index.chunks[cid].text) if ENDED_CUE.search(s) and s not in found]
        return tuple(found[:n])

    def _served(self, index: Any, title: str) -> tuple[list[int], str | None]:
        """`title`'s chunks in force today, and None; or, when `ended_documents` and none is in force, those whose
        last day is past (a document that has ended, such as a finished campaign: a turn the router is sure is
        about it is told that it ended, from its own words), and that day."""
        today = date.today()
        ids = [c for c in self._ids(index, title) if c in index.chunks]
        live = [c for c in ids if index.chunks[c].effective_on(today)]
        if live or not self.ended_documents:
            return live, None
        iso = today.isoformat()
        past = [c for c in ids if (index.chunks[c].effective_to or iso) < iso]
        return past, (max(str(index.chunks[c].effective_to) for c in past) if past else None)

    @staticmethod
    def _result(meta: Any, score: float, ended: str | None, scores: dict[str, float] | None = None) -> SearchResult:
        result = chunk_result(meta, score, scores)
        result.ended = ended
        return result


def holds(text: str, sentence: str) -> bool:
    """True when `text` holds `sentence` as the composer splits it (markdown bold and list markers removed:
    "冷靜期為緊接**保單…**交付…" holds the router's "冷靜期為緊接保單…交付…")."""
    return sentence in text or sentence in split_sentences(text)


class PreviousTurns:
    """The last customer turn's vector per call and the agent's last turn's (in memory, bounded; a restarted server
    starts without them)."""

    def __init__(self, max_calls: int) -> None:
        if max_calls < 1:
            raise ValueError(f"max_calls must be positive, got {max_calls}")
        self.max_calls = max_calls
        self._last: OrderedDict[str, np.ndarray] = OrderedDict()
        self._before: dict[str, np.ndarray] = {}
        self._agent: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, call_id: str) -> np.ndarray | None:
        return self._last.get(call_id)

    def before(self, call_id: str) -> np.ndarray | None:
        """The vector that was the call's last before the latest `put` (the turn being answered's previous)."""
        return self._before.get(call_id)

    def put(self, call_id: str, vector: np.ndarray) -> None:
        last = self._last.get(call_id)
        if last is None:
            self._before.pop(call_id, None)
        else:
            self._before[call_id] = last
        self._last[call_id] = vector
        self._last.move_to_end(call_id)
        while len(self._last) > self.max_calls:
            gone, _ = self._last.popitem(last=False)
            self._before.pop(gone, None)

    def agent(self, call_id: str) -> np.ndarray | None:
        """The vector of the agent's last turn in the call (None: none read by meaning yet)."""
        return self._agent.get(call_id)

    def put_agent(self, call_id: str, vector: np.ndarray | None) -> None:
        """The agent's latest turn (None: a turn not read by meaning, which leaves no context)."""
        if vector is None:
            self._agent.pop(call_id, None)
            return
        self._agent[call_id] = vector
        self._agent.move_to_end(call_id)
        while len(self._agent) > self.max_calls:
            self._agent.popitem(last=False)

    def forget(self, call_id: str) -> None:
        self._last.pop(call_id, None)
        self._before.pop(call_id, None)
        self._agent.pop(call_id, None)
