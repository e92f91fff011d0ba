"""How precise the customer-turn fast paths are: labelled customer turns that `NeedTrigger` reads as a filler or a
closing (no suggestion, whatever the model says), by their label.

A filler or closing read on a turn labelled a need is a need the engine never answers; one read on a social turn is
the fast path doing its job. Development data only (never a locked set): the labelled calls say, per customer turn,
whether it carries a need.

Usage:
    .venv/bin/python -m benchmarks.bench_closings benchmarks/data/natural_calls.jsonl \
        benchmarks/data/spent/natural_calls_*.jsonl benchmarks/data/train/natural_calls_*.jsonl [--show]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from benchmarks.bench_calls_natural import ROOT


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from assist.calls.context import clean_turn
    from assist.calls.trigger import NeedTrigger

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calls", nargs="+", type=Path)
    ap.add_argument("--show", action="store_true", help="print the need turns read as a filler or a closing")
    args = ap.parse_args()
    if any("holdout" in p.parts for p in args.calls):
        raise SystemExit("locked sets are read only to report")
    trigger = NeedTrigger()
    counts: Counter[str] = Counter()
    for path in args.calls:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            for turn in json.loads(line)["turns"]:
                if turn["speaker"] != "customer":
                    continue
                label = "need" if turn.get("need") else "social"
                text = clean_turn(turn["text"])
                read = "filler" if trigger.is_filler(text) else "closing" if trigger.is_closing(text) else ""
                counts[label] += 1
                if read:
                    counts[f"{label} read as {read}"] += 1
                    if args.show and label == "need":
                        print(f"{read}: {turn['text'][:100]}")  # noqa: T201
    for key in (
        "need",
        "need read as filler",
        "need read as closing",
        "social",
        "social read as filler",
        "social read as closing",
    ):
        print(f"{key}: {counts[key]}")  # noqa: T201


if __name__ == "__main__":
    main()
