"""The claim model's neighbour vote and its script folding (issue #16, fourth round).

Two switches a model file can turn on in its header, both off for older files:

- ``knn``: the head's clause probabilities are blended with a vote of the clause's nearest labelled
  examples (the same examples the explanations show), ``(1 - alpha) * head + alpha * vote``;
- ``simplify``: the encoder reads Traditional characters folded to Simplified, so a zh-Hant clause lands
  near the zh-Hans lines that teach the same claim.

:mod:`assist.compliance.guard.training` uses the same functions out of fold, so calibration sees what the
guard will run.
"""

from __future__ import annotations

import numpy as np


def neighbour_vote(
    vectors: np.ndarray,
    examples: np.ndarray,
    labels: np.ndarray,
    *,
    k: int,
    tau: float,
    n_classes: int,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Category distribution voted by each vector's ``k`` most similar labelled examples (cosine).

    Each neighbour's vote is weighted by ``exp((sim - best_sim) / tau)``, so near-duplicates dominate and
    distant ones barely count.

    Args:
        vectors: ``(n, dim)`` L2-normalised query vectors (clauses).
        examples: ``(m, dim)`` L2-normalised labelled example vectors.
        labels: ``(m,)`` their category indices.
        k: Neighbours per vector.
        tau: Temperature of the similarity weights (> 0).
        n_classes: Number of categories.
        mask: Optional ``(n, m)`` or ``(1, m)`` bool: which examples each vector may use (out-of-fold).

    Returns:
        ``(n, n_classes)`` rows summing to 1 (all zeros when no example may be used).
    """
    n = len(vectors)
    out = np.zeros((n, n_classes))
    if not n or not len(examples) or k <= 0:
        return out
    sims = np.asarray(vectors, np.float32) @ np.asarray(examples, np.float32).T
    if mask is not None:
        sims = np.where(mask, sims, -np.inf)
    kk = min(k, sims.shape[1])
    top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
    s = np.take_along_axis(sims, top, 1).astype(np.float64)
    best = s.max(1, keepdims=True)
    with np.errstate(invalid="ignore"):
        w = np.where(np.isfinite(s), np.exp((s - np.where(np.isfinite(best), best, 0.0)) / tau), 0.0)
    rows = np.arange(n)
    for j in range(kk):
        np.add.at(out, (rows, np.asarray(labels)[top[:, j]]), w[:, j])
    total = out.sum(1, keepdims=True)
    result: np.ndarray = np.divide(out, total, out=np.zeros_like(out), where=total > 0)
    return result


def blend_vote(probs: np.ndarray, vote: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * probs + alpha * vote``, keeping ``probs`` where the vote is empty."""
    if alpha <= 0:
        return probs
    empty = vote.sum(1, keepdims=True) <= 0
    return np.where(empty, probs, (1.0 - alpha) * probs + alpha * vote)


def model_input(text: str, simplify: bool) -> str:
    """The text the encoder reads: Traditional characters folded to Simplified when the model says so
    (one character for one, so clause offsets stay valid)."""
    if not simplify:
        return text
    from assist.text import to_simplified

    return to_simplified(text)


def nearer_ordinary(
    utterance: np.ndarray, vectors: np.ndarray, ordinary: np.ndarray, positive: np.ndarray, margin: float
) -> bool:
    """True when ``utterance`` is nearer (by at least ``margin``) to a labelled piece of ordinary talk than to
    any labelled claim: the model then flags nothing in it (the ordinary-talk veto).

    Args:
        utterance: ``(dim,)`` L2-normalised vector.
        vectors: ``(n, dim)`` labelled examples.
        ordinary: ``(n,)`` which examples are ordinary talk.
        positive: ``(n,)`` which examples are claims.
        margin: How much nearer; negative = veto even when a claim is slightly nearer.
    """
    if not ordinary.any() or not positive.any():
        return False
    sims = vectors @ np.asarray(utterance, np.float32)
    return bool(float(sims[ordinary].max()) - float(sims[positive].max()) >= margin)


def ordinary_veto(
    probs: np.ndarray,
    utterance: np.ndarray,
    vectors: np.ndarray | None,
    ordinary: np.ndarray,
    positive: np.ndarray,
    margin: float | None,
) -> np.ndarray:
    """``probs`` with every clause put to ``none`` when :func:`nearer_ordinary` holds (unchanged otherwise)."""
    if margin is None or vectors is None or not nearer_ordinary(utterance, vectors, ordinary, positive, margin):
        return probs
    out = np.zeros_like(probs)
    out[:, 0] = 1.0
    return out
