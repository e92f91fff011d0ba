"""What the learned document choice adds to a turn's ranking: the recorded rankings re-run with and without it.

Input: a recording of ``benchmarks.record_rank_turns``. Each recorded turn's ranking (SuggestStage's two
rankers, default settings) is timed with the hand ranking alone and with the shipped document ranker,
interleaved, over several repeats after a first pass that fills the caches; prints p50 / p95 / max milliseconds
of each. No models are loaded (the ranking uses none).

Usage:
    .venv/bin/python -m benchmarks.time_document_ranker --turns /tmp/rank_turns.pkl [--repeats 5]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_calls_natural import ROOT
from benchmarks.train_document_ranker import _rankers, _ranking


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from assist.calls.doc_rank import RANKER_FILE, load_document_ranker

    with args.turns.open("rb") as fh:
        recs = [t["rank"] for t in pickle.load(fh)["turns"] if t["rank"] is not None]  # noqa: S301
    model = load_document_ranker(ROOT / "kb_docs" / "playbooks" / RANKER_FILE)
    if model is None:
        raise SystemExit("no document ranker to time")
    pairs = {"hand": _rankers(None), "learned": _rankers(model)}
    ms: dict[str, list[float]] = {k: [] for k in pairs}
    for rec in recs:  # a first pass fills the caches (tokens, topics) a live call has warm
        for rankers in pairs.values():
            _ranking(rankers, rec)
    for _ in range(args.repeats):
        for rec in recs:
            for name, rankers in pairs.items():
                t0 = time.perf_counter()
                _ranking(rankers, rec)
                ms[name].append((time.perf_counter() - t0) * 1000)
    for name, xs in ms.items():
        a = np.asarray(xs)
        print(  # noqa: T201
            f"{name}: {len(a)} rankings, p50 {np.percentile(a, 50):.3f} ms, p95 {np.percentile(a, 95):.3f} ms, "
            f"max {a.max():.3f} ms"
        )


if __name__ == "__main__":
    main()
