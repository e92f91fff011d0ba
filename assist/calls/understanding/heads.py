"""The heads' building blocks and their numpy trainers: softmax regression over standardised features and
logistic regression over hashed character n-grams. Training is full batch from zero weights with Adam:
deterministic (no sampling)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class LinearHead:
    """Softmax regression over standardised features: p = softmax(((x - mu) / sd) · W + b)."""

    classes: list[str]
    W: np.ndarray  # [features, classes]
    b: np.ndarray  # [classes]
    mu: np.ndarray  # [features]
    sd: np.ndarray  # [features]

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of one feature vector [features] or a batch [n, features]."""
        z = ((x - self.mu) / self.sd) @ self.W + self.b
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    def index(self, label: str) -> int:
        return self.classes.index(label)


def _adam(params: list[np.ndarray], grads: list[np.ndarray], state: list[list[np.ndarray]], t: int, lr: float) -> None:
    """One Adam step, in place."""
    for p, g, s in zip(params, grads, state, strict=True):
        s[0] *= 0.9
        s[0] += 0.1 * g
        s[1] *= 0.999
        s[1] += 0.001 * g * g
        p -= lr * (s[0] / (1 - 0.9**t)) / (np.sqrt(s[1] / (1 - 0.999**t)) + 1e-8)


def fit_softmax(
    X: np.ndarray,
    y: np.ndarray,
    classes: list[str],
    *,
    l2: float,
    weights: np.ndarray | None = None,
    iters: int = 600,
    lr: float = 0.05,
) -> LinearHead:
    """Weighted softmax regression on standardised features: full batch, Adam with a cosine schedule, from
    zero weights. Deterministic (no sampling, fixed start). `l2` penalises W per unit of mean loss."""
    X = np.asarray(X, np.float64)
    n, d = X.shape
    k = len(classes)
    mu, sd = X.mean(0), X.std(0)
    sd[sd < 1e-6] = 1.0
    ZT = np.ascontiguousarray(((X - mu) / sd).T.astype(np.float32))  # [d, n]
    Y = np.zeros((n, k), np.float32)
    Y[np.arange(n), y] = 1.0
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    w = (w / w.sum()).astype(np.float32)
    W = np.zeros((d, k), np.float32)
    b = np.log(np.maximum((Y * w[:, None]).sum(0), 1e-6)).astype(np.float32)
    b -= b.mean()
    state = [[np.zeros_like(W), np.zeros_like(W)], [np.zeros_like(b), np.zeros_like(b)]]
    for t in range(1, iters + 1):
        logits = (W.T @ ZT).T + b
        logits -= logits.max(1, keepdims=True)
        P = np.exp(logits)
        P /= P.sum(1, keepdims=True)
        G = (P - Y) * w[:, None]
        _adam([W, b], [ZT @ G + l2 * W, G.sum(0)], state, t, lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / iters)))
    return LinearHead(
        classes=list(classes), W=W, b=b.astype(np.float32), mu=mu.astype(np.float32), sd=sd.astype(np.float32)
    )


@dataclass
class TextHead:
    """Logistic regression over hashed character n-grams of the normalised text (sublinear counts, L2-unit
    rows): P(positive) = σ(x · W + b). The hash is CRC-32, stable across processes and machines."""

    W: np.ndarray  # [buckets]
    b: float
    n_min: int = 1
    n_max: int = 3

    @property
    def buckets(self) -> int:
        return int(self.W.shape[0])

    def features(self, norm: str) -> tuple[np.ndarray, np.ndarray]:
        return _char_ngrams(norm, self.buckets, self.n_min, self.n_max)

    def proba(self, norm: str) -> float:
        idx, val = self.features(norm)
        return float(1.0 / (1.0 + np.exp(-(float(val @ self.W[idx]) + self.b))))


def _char_ngrams(norm: str, buckets: int, n_min: int, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    text = " " + " ".join(norm.split()) + " "
    counts: dict[int, int] = {}
    for n in range(n_min, n_max + 1):
        for i in range(len(text) - n + 1):
            g = text[i : i + n]
            if g.strip():
                h = zlib.crc32(g.encode("utf-8")) % buckets
                counts[h] = counts.get(h, 0) + 1
    if not counts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    idx = np.fromiter(counts.keys(), np.int64, len(counts))
    val = 1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))
    return idx, (val / np.sqrt((val * val).sum())).astype(np.float32)


def fit_text_logistic(
    texts: Sequence[str],
    y: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    buckets: int = 1 << 18,
    l2: float = 1e-4,
    iters: int = 300,
    lr: float = 0.1,
) -> TextHead:
    """Binary logistic regression on hashed character 1–3-grams of normalised texts (numpy sparse rows,
    full batch, Adam, deterministic)."""
    rows = [_char_ngrams(t, buckets, 1, 3) for t in texts]
    ptr = np.cumsum([0] + [len(r[0]) for r in rows])
    idx = np.concatenate([r[0] for r in rows])
    val = np.concatenate([r[1] for r in rows])
    row_of = np.repeat(np.arange(len(rows)), np.diff(ptr))
    starts = ptr[:-1]
    yy = np.asarray(y, np.float64)
    w = np.ones(len(rows)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    W = np.zeros(buckets, np.float32)
    b = np.array([np.log(max((w * yy).sum(), 1e-6) / max((w * (1 - yy)).sum(), 1e-6))], np.float32)
    state = [[np.zeros_like(W), np.zeros_like(W)], [np.zeros_like(b), np.zeros_like(b)]]
    for t in range(1, iters + 1):
        z = np.add.reduceat(val * W[idx], starts) + b[0]
        g = (1.0 / (1.0 + np.exp(-z)) - yy) * w
        gW = np.bincount(idx, weights=val * g[row_of], minlength=buckets).astype(np.float32) + l2 * W
        _adam([W, b], [gW, np.array([g.sum()], np.float32)], state, t, lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / iters)))
    return TextHead(W=W, b=float(b[0]))
