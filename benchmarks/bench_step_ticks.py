"""Step ticks of the turn model alone, over many labelled call sets at once (issue 17).

Each agent turn of each call is read the way the engine's ticker reads it by meaning (`Understanding.agent`: the
heads, the clauses, the fast path and the editors' pins, with the steps ticked earlier in the call never ticked
again); the guard's disclosure path and the keyword path are left out, so a figure here moves only with the turn
model and its gates. Judged as `bench_calls_natural` judges steps: a step labelled done counts as ticked when the
model ticked it at that turn or later; a tick before the labelled turn, or of a step the call never completes, is a
false tick. Customer turns are not replayed (the model reads agent turns on their own), so this runs in a few
minutes over every dev set, where `bench_calls_natural` takes about one minute per set.

Usage:
    .venv/bin/python -m benchmarks.bench_step_ticks --data /tmp/ticks-data benchmarks/data/natural_calls.jsonl \
        benchmarks/data/spent/natural_calls_*.jsonl benchmarks/data/train/natural_calls_*.jsonl [--misses out.txt]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from assist.calls.asr import written_form
from benchmarks.bench_calls_natural import build_services_for, labelled_steps


def judge_call(engine: Any, call: dict[str, Any], counts: Counter[str], misses: list[str]) -> None:
    """One call's agent turns through the model; its steps counted into `counts` (n, hit, false)."""
    labelled = labelled_steps(call)
    ticked: dict[str, int] = {}
    for i, t in enumerate(call["turns"]):
        if t["speaker"] != "agent":
            continue
        found, _ = engine.understanding.agent(written_form(engine.redact(t["text"])), already=list(ticked))
        for step in (s for s in found if s not in ticked):
            ticked[step] = i
            if step not in labelled or i < labelled[step]:
                counts["false"] += 1
                misses.append(f"FALSE {call['id']} t{i} {step} | {t['text'][:90]}")
    for step, i in labelled.items():
        hit = step in ticked and ticked[step] >= i
        counts["n"] += 1
        counts["hit"] += hit
        if not hit:
            misses.append(f"MISS {call['id']} t{i} {step} | {call['turns'][i]['text'][:90]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calls", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="data directory (kb_docs/ ingested if empty)")
    ap.add_argument("--misses", type=Path, help="write every false tick and missed step here")
    args = ap.parse_args()
    per_set: dict[str, Counter[str]] = {}
    misses: list[str] = []
    with closing(build_services_for(args.data, ["e5"], "on")) as svc:
        engine = svc.call_engine
        for path in args.calls:
            counts = per_set.setdefault(path.stem.removeprefix("natural_calls_"), Counter())
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    judge_call(engine, json.loads(line), counts, misses)
    total: Counter[str] = sum(per_set.values(), Counter())
    print("| set | steps | ticked | false ticks |\n|---|---|---|---|")  # noqa: T201
    for name, c in [*per_set.items(), ("all", total)]:
        print(f"| {name} | {c['n']} | {c['hit']} ({c['hit'] / max(c['n'], 1):.3f}) | {c['false']} |")  # noqa: T201
    if args.misses:
        args.misses.write_text("\n".join(misses) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
