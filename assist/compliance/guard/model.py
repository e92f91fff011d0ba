"""The guard's claim model: what a clause of an agent's utterance MEANS (issue #16).

The deterministic layers know phrases; this model judges meaning. For each clause of an utterance it gives
a probability for every category of the rule pack plus ``none``, from the product's own e5 encoder
(:class:`assist.compliance.guard.encoding.ContextualE5`: one ONNX run per utterance, each clause pooled from
the utterance's token states, so a clause is read in its context). The head is a multinomial logistic
regression on ``[clause vector ; utterance vector]``; its per-category block/warn thresholds are in the
model file, and every match carries its nearest labelled examples.

:class:`ClaimLayer` is the pipeline component the guard runs: it validates its settings in ``__init__``,
loads the model file and the encoder lazily (``warm_up()``), and ``run(text)`` returns typed clause
probabilities. How its output combines with the deterministic layers is in
:mod:`assist.compliance.guard.combine`; training in :mod:`assist.compliance.guard.training`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assist.compliance.guard.model_text import SCRIPTS, Prepared, prepare, script_of
from assist.compliance.guard.neighbours import blend_vote, model_input, neighbour_vote, ordinary_veto
from assist.errors import ClaimModelError, EncoderMismatch, ModelFileCorrupt

logger = logging.getLogger(__name__)

FORMAT = "assist-claim-model"
FORMAT_VERSION = 1
NONE = "none"
#: The rule pack's categories plus ``none`` (index 0): the classes of the default model.
CATEGORIES: tuple[str, ...] = (
    NONE,
    "guaranteed_return",
    "no_risk",
    "performance_prediction",
    "deposit_like",
    "superlative",
    "social_proof",
    "pressure",
    "loan_approval",
    "credential_request",
    "suitability_inducement",
    "private_dealing",
)


class Encoder(Protocol):
    """What the model needs from an encoder (``encoding.ContextualE5`` or a cache of its output)."""

    @property
    def encoder_id(self) -> str: ...

    def encode(self, text: str, spans: Sequence[tuple[int, int]]) -> Any:
        """An object with ``utterance`` (dim,) and ``clauses`` (len(spans), dim), L2-normalised."""
        ...


@dataclass(frozen=True)
class Neighbour:
    """A labelled example near the judged clause (cosine similarity of e5 vectors)."""

    text: str
    category: str
    similarity: float


@dataclass(frozen=True)
class ClaimMatch:
    """One clause the model judged to make a forbidden claim.

    Attributes:
        category: The category (a rule pack category).
        score: The model's probability for that category in this clause, in [0, 1].
        action: ``block``, ``warn``, or None (below the warn threshold; only with ``all_clauses=True``).
        start: Clause start in the original text.
        end: Clause end (exclusive).
        text: ``original[start:end]``.
        neighbours: The three nearest labelled examples, nearest first.
    """

    category: str
    score: float
    action: str | None
    start: int
    end: int
    text: str
    neighbours: tuple[Neighbour, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "neighbours": [asdict(n) for n in self.neighbours]}


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def features_of(mode: str, utt: np.ndarray, clauses: np.ndarray) -> np.ndarray:
    """Per-clause feature rows for one utterance."""
    if mode == "cu":
        return np.hstack([clauses, np.broadcast_to(utt, clauses.shape)])
    if mode == "c":
        return clauses
    if mode == "u":
        return np.broadcast_to(utt, clauses.shape)
    raise ValueError(f"unknown features {mode!r}: use cu, c or u")


class ClaimModel:
    """A trained claim model: head weights, per-category thresholds and labelled examples.

    Args:
        categories: Category names; index 0 must be ``none``.
        weights: ``(n_features, n_categories)`` float32.
        bias: ``(n_categories,)`` float32.
        block: Per-category probability at or above which a clause blocks (``inf`` = never).
        warn: Per-category probability at or above which it warns.
        example_vectors: ``(n_examples, dim)`` L2-normalised vectors of labelled examples (float16 is fine).
        example_texts: Their texts.
        example_categories: Their category indices.
        meta: encoder_id, dim, features, corpus_hash, config, created_by, ... (JSON-serialisable).
    """

    def __init__(
        self,
        *,
        categories: Sequence[str],
        weights: np.ndarray,
        bias: np.ndarray,
        block: np.ndarray,
        warn: np.ndarray,
        example_vectors: np.ndarray,
        example_texts: Sequence[str],
        example_categories: np.ndarray,
        meta: Mapping[str, Any],
    ) -> None:
        self.categories = tuple(categories)
        if not self.categories or self.categories[0] != NONE:
            raise ValueError("categories[0] must be 'none'")
        k = len(self.categories)
        self.weights = np.ascontiguousarray(weights, np.float32)
        self.bias = np.ascontiguousarray(bias, np.float32)
        self.block = np.asarray(block, np.float64)
        self.warn = np.asarray(warn, np.float64)
        if self.weights.shape[1] != k or self.bias.shape != (k,) or self.block.shape != (k,) or self.warn.shape != (k,):
            raise ValueError("weights, bias and thresholds must have one column per category")
        self.example_vectors = np.ascontiguousarray(example_vectors, np.float32)
        self.example_texts = tuple(example_texts)
        self.example_categories = np.asarray(example_categories, np.int16)
        if not (len(self.example_texts) == len(self.example_vectors) == len(self.example_categories)):
            raise ValueError("example vectors, texts and categories must have the same length")
        self.meta = dict(meta)
        self.features = str(self.meta.get("features", "cu"))
        self.encoder_id = str(self.meta.get("encoder_id", ""))
        dim = self.meta.get("dim")
        self.dim = int(dim) if dim is not None else int(self.example_vectors.shape[1])
        knn = self.meta.get("knn") or {}
        self.knn_alpha = float(knn.get("alpha", 0.0))
        self.knn_k = int(knn.get("k", 10))
        self.knn_tau = float(knn.get("tau", 0.05))
        if not (0.0 <= self.knn_alpha <= 1.0) or self.knn_k < 1 or self.knn_tau <= 0:
            raise ValueError(f"bad neighbour vote settings {knn!r}: alpha in [0, 1], k >= 1, tau > 0")
        #: Traditional → Simplified before encoding (``simplify`` in the header).
        self.simplify = bool(self.meta.get("simplify", False))
        #: Thresholds per script (``script_thresholds`` in the header; None = the per-category ones for all).
        self.script_thresholds = _script_thresholds(self.meta.get("script_thresholds"), k)
        veto = self.meta.get("ordinary_veto") or {}
        self.veto_margin: float | None = float(veto["margin"]) if "margin" in veto else None
        self.ordinary_examples = np.zeros(len(self.example_texts), bool)
        self.ordinary_examples[np.asarray(veto.get("examples", []), np.int64)] = True

    def thresholds_for(self, text: str | None) -> tuple[np.ndarray, np.ndarray]:
        """``(block, warn)`` thresholds for a text: its script's when the model keeps them per script."""
        if self.script_thresholds is None or text is None:
            return self.block, self.warn
        return self.script_thresholds.get(script_of(text), (self.block, self.warn))

    # ---- scoring -----------------------------------------------------------------------------------
    def clause_probabilities(self, utterance: np.ndarray, clauses: np.ndarray) -> np.ndarray:
        """``(n_clauses, n_categories)`` probabilities (rows sum to 1) from encoder vectors."""
        clauses = np.asarray(clauses, np.float32)
        x = features_of(self.features, np.asarray(utterance, np.float32), clauses)
        probs = softmax(x @ self.weights + self.bias)
        if self.knn_alpha > 0:
            vote = neighbour_vote(
                clauses,
                self.example_vectors,
                self.example_categories,
                k=self.knn_k,
                tau=self.knn_tau,
                n_classes=len(self.categories),
            )
            probs = blend_vote(probs, vote, self.knn_alpha)
        positive = self.example_categories > 0
        return ordinary_veto(probs, utterance, self.example_vectors, self.ordinary_examples, positive, self.veto_margin)

    def neighbours(self, vector: np.ndarray, k: int | None = None) -> tuple[Neighbour, ...]:
        """The ``k`` labelled examples most similar to ``vector`` (cosine)."""
        k = int(self.meta.get("neighbours", 3)) if k is None else k
        if k <= 0 or not len(self.example_vectors):
            return ()
        sims = self.example_vectors @ np.asarray(vector, np.float32)
        top = np.argpartition(-sims, min(k, len(sims) - 1))[:k] if len(sims) > k else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return tuple(
            Neighbour(self.example_texts[i], self.categories[self.example_categories[i]], round(float(sims[i]), 4))
            for i in top
        )

    def predict(
        self,
        text: str,
        *,
        encoder: Encoder | None = None,
        encoded: Any = None,
        prepared: Prepared | None = None,
        all_clauses: bool = False,
    ) -> list[ClaimMatch]:
        """Judge each clause of an agent's utterance.

        Args:
            text: The utterance.
            encoder: Encodes the cleaned text and its clause spans (one run); needed unless ``encoded``.
            encoded: A precomputed encoding of ``prepared`` (``utterance``, ``clauses``).
            prepared: :func:`prepare` of ``text`` (computed when not given).
            all_clauses: Also return clauses below the warn threshold (action None), for explanations.

        Returns:
            One match per clause whose best non-``none`` category reaches its warn threshold (or every
            clause with ``all_clauses``), in text order, with offsets in the original ``text``. A
            customer's words are not for this model: the caller does not call it for them.
        """
        if not text or not text.strip():
            return []
        prep = prepared or prepare(text)
        if encoded is None:
            if encoder is None:
                raise ValueError("predict needs an encoder or a precomputed encoding")
            enc_id = getattr(encoder, "encoder_id", None)
            if enc_id is not None and self.encoder_id and enc_id != self.encoder_id:
                raise EncoderMismatch(f"model trained on {self.encoder_id!r}, encoder is {enc_id!r}")
            encoded = encoder.encode(model_input(prep.clean, self.simplify), prep.spans)
        utt = np.asarray(encoded.utterance, np.float32)
        clause_vecs = np.asarray(encoded.clauses, np.float32)
        probs = self.clause_probabilities(utt, clause_vecs)
        return self.matches(text, prep, probs, clause_vecs, all_clauses=all_clauses)

    def matches(
        self, text: str, prep: Prepared, probs: np.ndarray, clause_vectors: np.ndarray, *, all_clauses: bool = False
    ) -> list[ClaimMatch]:
        """Matches from clause probabilities (see :meth:`predict`)."""
        out: list[ClaimMatch] = []
        block, warn = self.thresholds_for(text)
        for i, (a, b) in enumerate(prep.original_spans):
            k = int(np.argmax(probs[i, 1:])) + 1
            score = float(probs[i, k])
            action = "block" if score >= block[k] else "warn" if score >= warn[k] else None
            if action is None and not all_clauses:
                continue
            out.append(
                ClaimMatch(
                    self.categories[k], round(score, 4), action, a, b, text[a:b], self.neighbours(clause_vectors[i])
                )
            )
        return out

    # ---- persistence -------------------------------------------------------------------------------
    def save(self, path: Path | str) -> str:
        """Write the model file (see :mod:`assist.compliance.guard.model_file`); returns its SHA-256."""
        from assist.compliance.guard.model_file import write_model

        return write_model(self, path)

    @classmethod
    def load(cls, path: Path | str, *, encoder_id: str | None = None, dim: int | None = None) -> ClaimModel:
        """Read a model file; see :func:`assist.compliance.guard.model_file.read_model` for the errors."""
        from assist.compliance.guard.model_file import read_model

        return read_model(path, encoder_id=encoder_id, dim=dim)

    def thresholds(self) -> dict[str, dict[str, float]]:
        """``{category: {"block": t, "warn": t}}`` for the non-``none`` categories."""
        return {
            c: {"block": float(self.block[i]), "warn": float(self.warn[i])}
            for i, c in enumerate(self.categories)
            if i > 0
        }


def _script_thresholds(raw: Any, k: int) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Parse the header's ``{script: {"block": [...], "warn": [...]}}`` (None = never) into arrays.

    Raises:
        ValueError: An unknown script or a list of the wrong length.
    """
    if not raw:
        return None
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for script, t in dict(raw).items():
        if script not in SCRIPTS:
            raise ValueError(f"unknown script {script!r} in script_thresholds: use one of {', '.join(SCRIPTS)}")
        pair = tuple(np.array([np.inf if v is None else float(v) for v in t[x]], np.float64) for x in ("block", "warn"))
        if any(a.shape != (k,) for a in pair):
            raise ValueError(f"script_thresholds[{script!r}] needs one block and one warn threshold per category")
        out[script] = (pair[0], pair[1])
    return out


# ------------------------------------------------------------------------------------------- the component
#: Texts longer than this are judged segment by segment (paragraphs, then lines, then windows): one e5
#: window holds 512 tokens, and documents are judged paragraph by paragraph.
SEGMENT_CHARS = 400


@dataclass(frozen=True)
class ClaimReading:
    """The claim model's reading of one text.

    Attributes:
        model: The model that read it (categories, thresholds, neighbours).
        policy: How its reading combines with the deterministic layers.
        spans: Clause spans in the original text.
        probabilities: ``(n_clauses, n_categories)``; rows sum to 1; column 0 is ``none``.
        clause_vectors: ``(n_clauses, dim)`` contextual clause vectors (for the neighbours).
    """

    model: ClaimModel
    policy: Any
    spans: tuple[tuple[int, int], ...]
    probabilities: np.ndarray
    clause_vectors: np.ndarray


def segments(text: str, limit: int = SEGMENT_CHARS) -> list[tuple[int, int]]:
    """``(start, end)`` pieces of ``text`` of at most about ``limit`` characters, cut at line breaks when
    there are any, else at ``limit``; the whole text when it is short enough."""
    if len(text) <= limit:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + limit)
        if end < len(text):
            cut = max(text.rfind("\n", start, end), *(text.rfind(p, start, end) for p in "。！？.!?；;"))
            if cut > start:
                end = cut + 1
        if text[start:end].strip():
            out.append((start, end))
        start = end
    return out


class ClaimLayer:
    """The claim model as a guard layer: validate in ``__init__``, load lazily, ``run(text)`` per utterance.

    Args:
        path: The model file (``kb_docs/guard/claim_model.npz`` ships with the package).
        encoder: An encoder with ``encoder_id`` and ``encode(text, spans)``; default: the product's e5
            int8 query encoder with token states (:class:`~assist.compliance.guard.encoding.ContextualE5`),
            one per process.
        segment_chars: Longer texts are judged piece by piece (:func:`segments`).

    Raises:
        ValueError: A bad argument (named with its value).
    """

    def __init__(self, path: Path | str, *, encoder: Encoder | None = None, segment_chars: int = SEGMENT_CHARS) -> None:
        if not str(path).strip():
            raise ValueError("the claim model path is empty")
        if encoder is not None and not (callable(getattr(encoder, "encode", None)) and hasattr(encoder, "encoder_id")):
            raise ValueError(f"encoder needs encode(text, spans) and encoder_id, got {type(encoder).__name__}")
        if segment_chars < 50:
            raise ValueError(f"segment_chars must be at least 50, got {segment_chars}")
        self.path = Path(path)
        self._encoder = encoder
        self._segment_chars = segment_chars
        self._lock = threading.Lock()
        self._model: ClaimModel | None = None
        self._policy: Any = None

    @property
    def encoder(self) -> Encoder:
        """The encoder (the shared e5 one unless another was given)."""
        if self._encoder is None:
            from assist.compliance.guard.encoding import shared_encoder

            self._encoder = shared_encoder()
        return self._encoder

    @property
    def model(self) -> ClaimModel:
        """The loaded model (loads it on first use)."""
        self.load()
        assert self._model is not None
        return self._model

    def load(self) -> ClaimModel:
        """Read and verify the model file (once; thread-safe), against the encoder's id.

        Raises:
            ModelFileMissing, ModelFileCorrupt, EncoderMismatch: The file cannot serve this encoder.
        """
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                from assist.compliance.guard.combine import Policy

                model = ClaimModel.load(self.path, encoder_id=str(self.encoder.encoder_id))
                try:
                    self._policy = Policy.from_meta(model.meta.get("policy"))
                except (TypeError, ValueError) as exc:
                    raise ModelFileCorrupt(f"{self.path}: bad combination policy: {exc}") from exc
                self._model = model
                logger.info("claim model loaded", extra={"path": str(self.path), "version": model.meta.get("version")})
        return self._model

    def warm_up(self) -> None:
        """Load the model and build the encoder (about a second), so the first turn is not slow."""
        self.load()
        warm = getattr(self.encoder, "warm_up", None)
        if callable(warm):
            warm()

    def info(self) -> dict[str, Any]:
        """What /healthz and the CLI say about the model in force."""
        meta = self.model.meta
        keys = ("version", "rules_fingerprint", "corpus_hash", "encoder_id", "trained_at", "validation")
        return {"path": str(self.path), **{k: meta.get(k) for k in keys if k in meta}}

    def run(self, text: str) -> ClaimReading:
        """Read ``text`` (an agent's turn, a suggestion or a document passage): probabilities per clause.

        Raises:
            ClaimModelError: The model or the encoder cannot be used.
        """
        model = self.model
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        spans: list[tuple[int, int]] = []
        probs: list[np.ndarray] = []
        vecs: list[np.ndarray] = []
        for s0, s1 in segments(text, self._segment_chars):
            prep = prepare(text[s0:s1])
            if not prep.spans:
                continue
            enc = self.encoder.encode(model_input(prep.clean, model.simplify), prep.spans)
            clause_vecs = np.asarray(enc.clauses, np.float32)
            probs.append(model.clause_probabilities(np.asarray(enc.utterance, np.float32), clause_vecs))
            vecs.append(clause_vecs)
            spans.extend((a + s0, b + s0) for a, b in prep.original_spans)
        k = len(model.categories)
        return ClaimReading(
            model,
            self._policy,
            tuple(spans),
            np.vstack(probs) if probs else np.zeros((0, k)),
            np.vstack(vecs) if vecs else np.zeros((0, model.dim), np.float32),
        )


__all__ = [
    "CATEGORIES",
    "NONE",
    "ClaimLayer",
    "ClaimMatch",
    "ClaimModel",
    "ClaimModelError",
    "ClaimReading",
    "Encoder",
    "Neighbour",
    "Prepared",
    "blend_vote",
    "model_input",
    "neighbour_vote",
]
