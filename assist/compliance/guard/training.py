"""Training the claim model: the corpus, benign document sentences and review decisions to a model file.

Numpy only and deterministic: multinomial logistic regression by L-BFGS on ``[clause ; utterance]`` vectors,
multiple-instance selection (a positive statement needs only one positive clause), folds assigned by hashing
the source page, thresholds calibrated out-of-fold for the combined guard (:mod:`...guard.calibration`).
Review decisions teach too: a ``confirmed`` event is a positive, a ``false_positive`` one a hard negative.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from assist.compliance.guard.calibration import ORDINARY_KINDS, CombinedHook, calibrate_items
from assist.compliance.guard.model import CATEGORIES, NONE, ClaimModel, Encoder, features_of, softmax
from assist.compliance.guard.model_text import prepare
from assist.compliance.guard.neighbours import blend_vote, model_input, neighbour_vote, ordinary_veto

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewDecision:
    """A reviewed guard event: ``confirmed`` teaches a positive, ``false_positive`` a hard negative (see from_event)."""

    text: str
    status: str
    category: str = NONE
    speaker: str = "agent"

    @classmethod
    def from_event(cls, event: Mapping[str, Any] | Any) -> ReviewDecision | None:
        """From a GuardEvent (object or dict); None for pending events, customers and unknown categories."""
        get = event.get if isinstance(event, Mapping) else lambda k, d=None: getattr(event, k, d)
        status = str(get("status", "pending"))
        if status not in ("confirmed", "false_positive") or get("speaker") == "customer":
            return None
        cats = [c for c in (get("categories") or []) if c in CATEGORIES and c != NONE]
        if status == "confirmed" and not cats:
            return None
        return cls(
            str(get("text", "")), status, cats[0] if status == "confirmed" else NONE, str(get("speaker") or "agent")
        )


@dataclass
class TrainConfig:
    """Training settings; the defaults are the ones REPORT.md chose.

    Attributes:
        features: ``cu`` = [clause ; utterance] (default), ``c`` = clause only, ``u`` = utterance only.
        l2: L2 penalty on the weights (mean-loss scale; sklearn's C = 1 / (l2 · n)).
        class_weight_power: Class weights (n / (K · n_k)) ** power; 0 = none, 1 = balanced.
        mil_rounds: Rounds of multiple-instance selection (keep the best clause of a positive statement).
        extra_negative_weight: Weight of each extra benign negative (knowledge-base sentences, service lines).
        review_weight: Weight of each review decision.
        include_customer: Train on customers' lines too (as ``none``); off: the model judges agents only.
        folds: Folds of the out-of-fold predictions used for calibration.
        target_block_fpr: False-positive rate of ``block`` to calibrate to (out-of-fold, corpus negatives).
        target_flag_fpr: False-positive rate of ``block or warn`` to calibrate to.
        threshold_grid: Candidate thresholds.
        per_category_slack: How far a category's threshold may move from the global one.
        neighbours: Labelled examples returned with each match.
        max_iter: L-BFGS iterations.
        seed: Seed (fold assignment is by hashing, so the seed only names the run).
        knn_alpha: Weight of the nearest labelled examples' vote blended into the head (0 = head only).
        knn_k: Neighbours that vote.
        knn_tau: Temperature of the vote's similarity weights.
        simplify: Fold Traditional characters to Simplified before encoding (the model file says so).
        calibrate_negatives: The negatives the budgets are rates over: ``all`` corpus negatives, or only
            ``third_party`` ones (taken from public pages: the text the guard is judged on).
        ordinary_flag_fpr: A budget over ordinary talk (kind ``ordinary``): thresholds that flag more of it
            out of fold are raised (1.0 = off). ``ordinary_weight``: the training weight of those lines.
        ordinary_veto: Margin of ``neighbours.ordinary_veto`` (None = off), applied out of fold too.
        per_script: Thresholds per script (en, zh-Hans, zh-Hant), each with the budgets over its own negatives.
        third_party_weight: Training weight of corpus lines taken from public pages (other writers' wording).
    """

    features: str = "cu"
    l2: float = 3e-6
    class_weight_power: float = 0.0
    mil_rounds: int = 2
    extra_negative_weight: float = 1.0
    review_weight: float = 2.0
    include_customer: bool = False
    folds: int = 5
    target_block_fpr: float = 0.04
    target_flag_fpr: float = 0.09
    threshold_grid: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(2, 20))
    per_category_slack: float = 0.2
    neighbours: int = 3
    max_iter: int = 400
    seed: int = 0
    knn_alpha: float = 0.0
    knn_k: int = 10
    knn_tau: float = 0.05
    simplify: bool = False
    calibrate_negatives: str = "all"
    ordinary_flag_fpr: float = 1.0
    ordinary_weight: float = 1.0
    ordinary_veto: float | None = None
    per_script: bool = False
    third_party_weight: float = 1.0


@dataclass
class TrainReport:
    """What training did: data counts, thresholds, out-of-fold figures and timing."""

    n_rows: int
    n_extra_negatives: int
    n_reviews: int
    n_instances: int
    corpus_hash: str
    thresholds: dict[str, dict[str, float]]
    oof: dict[str, Any]
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)
    encode_seconds: float = 0.0
    oof_probabilities: list[np.ndarray] = field(default_factory=list, repr=False)
    items: list[Any] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-statement arrays)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("oof_probabilities", "items")}


def _lbfgs_direction(grad: np.ndarray, s_hist: list[np.ndarray], y_hist: list[np.ndarray]) -> np.ndarray:
    """The L-BFGS two-loop recursion: an approximation of -H^-1 grad."""
    q = grad.copy()
    alphas = []
    for s, yv in zip(reversed(s_hist), reversed(y_hist), strict=True):
        a = float(s @ q / (yv @ s))
        alphas.append(a)
        q -= a * yv
    if s_hist:
        q *= float(s_hist[-1] @ y_hist[-1] / (y_hist[-1] @ y_hist[-1]))
    for s, yv, a in zip(s_hist, y_hist, reversed(alphas), strict=True):
        q += s * (a - float(yv @ q / (yv @ s)))
    return -q


def _lbfgs(objective: Any, theta: np.ndarray, *, max_iter: int, history: int, tol: float) -> np.ndarray:
    """Minimise ``objective(theta) -> (loss, grad)`` by L-BFGS with a backtracking (Armijo) line search."""
    loss, grad = objective(theta)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    for _ in range(max_iter):
        direction = _lbfgs_direction(grad, s_hist, y_hist)
        slope = float(grad @ direction)
        if slope >= 0:
            direction, slope = -grad, -float(grad @ grad)
            s_hist, y_hist = [], []
        step = 1.0 if s_hist else 1.0 / max(1.0, float(np.abs(grad).sum()))
        while True:
            cand = theta + step * direction
            new_loss, new_grad = objective(cand)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.5
        s, yv = cand - theta, new_grad - grad
        if float(s @ yv) > 1e-12:
            s_hist.append(s)
            y_hist.append(yv)
            if len(s_hist) > history:
                s_hist.pop(0)
                y_hist.pop(0)
        previous = loss
        theta, loss, grad = cand, new_loss, new_grad
        if abs(previous - loss) < tol * max(1.0, abs(loss)):
            break
    return theta


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    *,
    n_classes: int,
    l2: float,
    max_iter: int = 400,
    history: int = 10,
    tol: float = 1e-7,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    precision: str = "float32",
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by L-BFGS, numpy only and deterministic.

    Minimises ``Σ w_i · CE(x_i, y_i) / Σ w + l2/2 · ||W||²`` (the bias is not penalised).

    Returns:
        ``(W, b)`` with shapes ``(dim, n_classes)`` and ``(n_classes,)``.
    """
    # The two big products run in float32 (x is float32 anyway; 2-3x faster on one core); the
    # optimiser's state, the loss and the small arrays stay float64.
    x = np.ascontiguousarray(x, np.float64 if precision == "float64" else np.float32)
    n, d = x.shape
    k = n_classes
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    rows = np.arange(n)
    onehot = np.zeros((n, k))
    onehot[rows, y] = 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        wm = theta[: d * k].reshape(d, k)
        p = softmax((x @ wm.astype(x.dtype)).astype(np.float64) + theta[d * k :])
        loss = float(-(w * np.log(p[rows, y] + 1e-300)).sum() + 0.5 * l2 * (wm * wm).sum())
        g = (p - onehot) * w[:, None]
        gx = (x.T @ g.astype(x.dtype)).astype(np.float64)
        return loss, np.concatenate([(gx + l2 * wm).ravel(), g.sum(0)])

    theta = np.zeros(d * k + k)
    if init is not None:
        theta = np.concatenate([np.asarray(init[0], np.float64).ravel(), np.asarray(init[1], np.float64)])
    theta = _lbfgs(objective, theta, max_iter=max_iter, history=history, tol=tol)
    return theta[: d * k].reshape(d, k).astype(np.float32), theta[d * k :].astype(np.float32)


@dataclass(frozen=True)
class _Item:
    """One training statement, encoded."""

    text: str
    label: int
    weight: float
    group: str
    kind: str  # corpus | extra | review
    spans: tuple[tuple[int, int], ...]
    utterance: np.ndarray
    clauses: np.ndarray
    tag: str = ""  # the corpus row's kind (``service``, ``warning``, ...)


def corpus_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of the (text, speaker, category) triples, in order: names the training data in the file."""
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps([r.get("text"), r.get("speaker"), r.get("category")], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def _group_of(row: Mapping[str, Any]) -> str:
    src = str(row.get("source") or "")
    if src.startswith("http"):
        return src
    rid = str(row.get("id") or row.get("text", ""))
    m = re.match(r"^(.*?)(\d+)$", rid)
    return f"{m.group(1)}{int(m.group(2)) // 8}" if m else rid


def _fold_of(group: str, folds: int) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % folds


def _fit_head(items: Sequence[_Item], cfg: TrainConfig, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit the head with multiple-instance selection of positive clauses."""
    xs, ys, ws, owner = [], [], [], []
    for i, it in enumerate(items):
        f = features_of(cfg.features, it.utterance, it.clauses)
        xs.append(f)
        ys.extend([it.label] * len(f))
        ws.extend([it.weight] * len(f))
        owner.extend([i] * len(f))
    x = np.vstack(xs).astype(np.float32)
    y = np.asarray(ys, np.int64)
    w = np.asarray(ws, np.float64)
    own = np.asarray(owner)
    if cfg.class_weight_power:
        counts = np.bincount(y, weights=None, minlength=k).astype(np.float64)
        cw = (len(y) / (k * np.maximum(counts, 1.0))) ** cfg.class_weight_power
        w = w * cw[y]
    keep = np.ones(len(y), bool)
    multi = [np.nonzero(own == i)[0] for i, it in enumerate(items) if it.label > 0 and len(it.clauses) > 1]
    wm, b = fit_softmax(x, y, w, n_classes=k, l2=cfg.l2, max_iter=cfg.max_iter)
    for _ in range(cfg.mil_rounds if cfg.features != "u" else 0):
        p = softmax(x @ wm + b)
        keep[:] = True
        for idx in multi:
            best = idx[int(np.argmax(p[idx, y[idx[0]]]))]
            keep[idx[idx != best]] = False
        wm, b = fit_softmax(x[keep], y[keep], w[keep], n_classes=k, l2=cfg.l2, max_iter=cfg.max_iter, init=(wm, b))
    return wm, b


def encode_items(
    rows: Sequence[Mapping[str, Any]],
    extra_negatives: Sequence[str],
    review_decisions: Sequence[ReviewDecision],
    *,
    encoder: Encoder,
    config: TrainConfig,
    categories: Sequence[str] = CATEGORIES,
) -> list[_Item]:
    """Encode the training statements once (utterance and contextual clause vectors)."""
    ci = {c: i for i, c in enumerate(categories)}
    items: list[_Item] = []

    def add(text: str, label: int, weight: float, group: str, kind: str, tag: str = "") -> None:
        prep = prepare(text)
        enc = encoder.encode(model_input(prep.clean, config.simplify), prep.spans)
        items.append(
            _Item(
                text,
                label,
                weight,
                group,
                kind,
                prep.original_spans,
                np.asarray(enc.utterance, np.float32),
                np.asarray(enc.clauses, np.float32),
                tag,
            )
        )

    for r in rows:
        if r.get("speaker", "agent") == "customer" and not config.include_customer:
            continue
        cat = r.get("category", NONE)
        if cat not in ci:
            raise ValueError(f"unknown category {cat!r} in {r.get('id') or r.get('text')!r}")
        label = 0 if r.get("speaker") == "customer" else ci[cat]
        tag = str(r.get("kind") or "")
        ordinary = config.ordinary_weight if label == 0 and tag in ORDINARY_KINDS else 1.0
        weight = config.third_party_weight if str(r.get("source") or "").startswith("http") else ordinary
        add(str(r["text"]), label, weight, _group_of(r), "corpus", tag)
    for t in extra_negatives:
        add(t, 0, config.extra_negative_weight, "extra:" + t, "extra")
    for d in review_decisions:
        if d.speaker == "customer" or not d.text.strip():
            continue
        label = ci.get(d.category, 0) if d.status == "confirmed" else 0
        add(d.text, label, config.review_weight, "review:" + d.text, "review")
    return items


def out_of_fold(items: Sequence[_Item], config: TrainConfig, n_classes: int) -> list[np.ndarray]:
    """Clause probabilities of every statement from a head that did not see its fold (grouped folds)."""
    folds = np.array([_fold_of(it.group, config.folds) for it in items])
    oof: list[np.ndarray] = [np.zeros((0, n_classes))] * len(items)
    ex = [i for i, it in enumerate(items) if it.kind in ("corpus", "review")]
    ex_vecs = np.stack([items[i].utterance for i in ex]).astype(np.float16).astype(np.float32) if ex else None
    ex_labels = np.array([items[i].label for i in ex], np.int64)
    ex_ordinary = np.array([items[i].label == 0 and items[i].tag in ORDINARY_KINDS for i in ex], bool)
    for f in range(config.folds):
        wm, b = _fit_head([it for it, ff in zip(items, folds, strict=True) if ff != f], config, n_classes)
        for i in np.nonzero(folds == f)[0].tolist():
            it = items[i]
            p = softmax(features_of(config.features, it.utterance, it.clauses) @ wm + b)
            if config.knn_alpha > 0 and ex_vecs is not None:
                mask = (folds[ex] != f)[None, :]
                vote = neighbour_vote(
                    it.clauses, ex_vecs, ex_labels, k=config.knn_k, tau=config.knn_tau, n_classes=n_classes, mask=mask
                )
                p = blend_vote(p, vote, config.knn_alpha)
            out = folds[ex] != f
            oof[i] = ordinary_veto(
                p, it.utterance, ex_vecs, ex_ordinary & out, (ex_labels > 0) & out, config.ordinary_veto
            )
    return oof


def train(
    rows: Sequence[Mapping[str, Any]],
    extra_negatives: Sequence[str] = (),
    review_decisions: Sequence[ReviewDecision] = (),
    *,
    encoder: Encoder,
    config: TrainConfig | None = None,
    combined: CombinedHook | None = None,
    categories: Sequence[str] = CATEGORIES,
    extra_meta: Mapping[str, Any] | None = None,
) -> tuple[ClaimModel, TrainReport]:
    """Train, calibrate and package a claim model.

    Args:
        rows: Labelled statements (``kb_docs/guard/claims.jsonl`` rows: ``text``, ``speaker``, ``category``;
            ``source``/``id`` keep near-duplicates in one fold). Pass the training split only when another
            split is kept for evaluation.
        extra_negatives: Benign agent/document lines (knowledge-base sentences, service talk): ``none``.
        review_decisions: Reviewed guard events (confirmed → positive, false positive → hard negative).
        encoder: Encodes a text with its clause spans (``encoding.ContextualE5``).
        config: Settings (default :class:`TrainConfig`).
        combined: The combination rule seen from calibration (``guard_bridge.calibration_hook``): the
            thresholds are then calibrated for the COMBINED guard.
        categories: Category names, ``none`` first.
        extra_meta: More header fields for the model file (e.g. the combination policy).

    Returns:
        ``(model, report)``; ``report.oof_probabilities`` holds the out-of-fold clause probabilities.
    """
    cfg = config or TrainConfig()
    t0 = time.perf_counter()
    cats = tuple(categories)
    k = len(cats)
    items = encode_items(rows, extra_negatives, review_decisions, encoder=encoder, config=cfg, categories=cats)
    if not any(it.label > 0 for it in items):
        raise ValueError("no positive statement to learn from")
    t_enc = time.perf_counter() - t0
    oof = out_of_fold(items, cfg, k)
    block, warn, figures = calibrate_items(items, oof, cfg, k, combined)
    wm, b = _fit_head(items, cfg, k)
    model = _package(
        items, wm, b, block, warn, rows, cats, cfg, figures, encoder, extra_meta, extra_negatives, review_decisions
    )
    report = TrainReport(
        n_rows=model.meta["n_rows"],
        n_extra_negatives=len(extra_negatives),
        n_reviews=len(review_decisions),
        n_instances=sum(len(it.clauses) for it in items),
        corpus_hash=model.meta["corpus_hash"],
        thresholds=model.thresholds(),
        oof=figures,
        seconds=round(time.perf_counter() - t0, 2),
        config={key: v for key, v in asdict(cfg).items() if key != "threshold_grid"},
        encode_seconds=round(t_enc, 2),
        oof_probabilities=oof,
        items=items,
    )
    logger.info("claim model trained in %.1fs (encoding %.1fs): out-of-fold %s", report.seconds, t_enc, figures)
    return model, report


def _config_meta(cfg: TrainConfig) -> dict[str, Any]:
    """The settings for the header: the fourth round's switches only when set (older files unchanged)."""
    default = TrainConfig()
    new: tuple[str, ...] = ("knn_alpha", "knn_k", "knn_tau", "simplify", "calibrate_negatives")
    new += ("ordinary_flag_fpr", "ordinary_weight", "ordinary_veto", "per_script", "third_party_weight")
    return {
        key: v
        for key, v in asdict(cfg).items()
        if key != "threshold_grid" and not (key in new and v == getattr(default, key))
    }


def _veto_meta(examples: Sequence[_Item], margin: float) -> dict[str, Any]:
    """The ordinary-talk veto for the header: its margin and which labelled examples are ordinary talk."""
    ordinary = [j for j, it in enumerate(examples) if it.label == 0 and it.tag in ORDINARY_KINDS]
    return {"margin": margin, "examples": ordinary}


def _package(
    items: Sequence[_Item],
    wm: np.ndarray,
    b: np.ndarray,
    block: np.ndarray,
    warn: np.ndarray,
    rows: Sequence[Mapping[str, Any]],
    cats: Sequence[str],
    cfg: TrainConfig,
    figures: Mapping[str, Any],
    encoder: Encoder,
    extra_meta: Mapping[str, Any] | None,
    extra_negatives: Sequence[str],
    review_decisions: Sequence[ReviewDecision],
) -> ClaimModel:
    """The trained head, thresholds and labelled examples as a :class:`ClaimModel` with its header."""
    ex = [it for it in items if it.kind in ("corpus", "review")]
    dim = int(items[0].utterance.shape[0])
    model = ClaimModel(
        categories=cats,
        weights=wm,
        bias=b,
        block=block,
        warn=warn,
        example_vectors=np.stack([it.utterance for it in ex]).astype(np.float16)
        if ex
        else np.zeros((0, dim), np.float16),
        example_texts=[it.text for it in ex],
        example_categories=np.array([it.label for it in ex], np.int16),
        meta={
            "encoder_id": str(getattr(encoder, "encoder_id", "")),
            "dim": dim,
            "features": cfg.features,
            "corpus_hash": corpus_hash(rows),
            "n_rows": sum(it.kind == "corpus" for it in items),
            "n_extra_negatives": len(extra_negatives),
            "n_reviews": len(review_decisions),
            "neighbours": cfg.neighbours,
            "config": _config_meta(cfg),
            "calibrated_for": figures["calibrated_for"],
            # The switches are written only when on, so a head-only file is byte-identical to before.
            **({"knn": {"alpha": cfg.knn_alpha, "k": cfg.knn_k, "tau": cfg.knn_tau}} if cfg.knn_alpha > 0 else {}),
            **({"simplify": True} if cfg.simplify else {}),
            **({"ordinary_veto": _veto_meta(ex, cfg.ordinary_veto)} if cfg.ordinary_veto is not None else {}),
            **({"script_thresholds": figures["by_script"]} if figures.get("by_script") else {}),
            **dict(extra_meta or {}),
        },
    )
    return model
