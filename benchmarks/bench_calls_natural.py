"""The natural calls through the real call engine, with the turn-understanding model and keywords only, side by side.

Replays every call of ``benchmarks/data/natural_calls.jsonl`` (calls written the way customers and agents talk,
labelled turn by turn; see benchmarks/data/README.md) through the engine `assist serve` builds, on an index of
``kb_docs/``, once with ASSIST_TURN_MODEL=on and once with ASSIST_TURN_MODEL=off (today's keyword path). Per
script (zh-Hans, en, zh-Hant HK, zh-Hant TW) and overall:

- need → suggestion: customer turns labelled as carrying a need that got a suggestion with a citation;
- social → suggestion: social turns that got one anyway (lower is better);
- right document: need turns whose first citation is one of the labelled documents;
- fact: need turns with labelled facts whose answer carries one (compared in Simplified, lower case, markdown bold
  dropped, whitespace collapsed);
- steps recall: (call, step) pairs labelled done that the checklist ticked, at that turn or later;
- false ticks: steps ticked that the call never completes, or before the agent completed them;
- turn ms p50 / p95: handle_turn wall time (informative only; bench_calls.py measures latency properly).

Usage:
    .venv/bin/python -m benchmarks.bench_calls_natural [--calls benchmarks/data/natural_calls.jsonl]
        [--embedders minilm,e5] [--data /tmp/assist-bench-natural] [--modes model,keywords] [--json out.json]
        [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CALLS = ROOT / "benchmarks" / "data" / "natural_calls.jsonl"
GROUPS = ("zh-Hans", "en", "zh-Hant HK", "zh-Hant TW")
FIGURES = ("need_suggested", "social_suggested", "right_document", "fact", "steps_recall", "false_ticks")


def _norm(text: str) -> str:
    """Text as facts are compared: Simplified, lower case, markdown bold dropped, whitespace collapsed (the writers'
    facts are spans of the documents read that way; some kept the bold of the source)."""
    from assist.text import to_simplified

    return " ".join(to_simplified(text).replace("**", "").lower().split())


def group_of(call: dict[str, Any]) -> str:
    """The script, and for Traditional Chinese the region (HK, TW; writers spell it either case)."""
    return f"zh-Hant {str(call['region']).upper()}" if call["script"] == "zh-Hant" else str(call["script"])


def build_services_for(data_dir: Path, embedders: list[str], turn_model: str) -> Any:
    """The services as `assist serve` builds them (ingesting kb_docs/ when the data dir is empty).

    The caller closes them, as the server's shutdown does: a background model run cut off by the
    interpreter's exit aborts the process."""
    from assist.config import Settings
    from assist.services import build_services

    settings = Settings(data_dir=data_dir, embedders=embedders, turn_model=turn_model)  # type: ignore[arg-type]
    return build_services(settings, ingest_if_empty=True)


def warm_sentences(engine: Any) -> int:
    """Embed the knowledge base's answer sentences now (the server's background thread does it at start)."""
    from types import SimpleNamespace

    from assist.calls.sentences import knowledge_sentences

    vectors = engine.suggester.answer.composer.sentence_vectors
    if vectors is None:
        return 0
    return int(vectors.warm(knowledge_sentences(SimpleNamespace(retriever=engine.suggester.retrieval.retriever))))


def _done(result: Any) -> set[str]:
    return {s.id for s in result.next_steps if s.done}


def labelled_steps(call: dict[str, Any]) -> dict[str, int]:
    """Each labelled step and the agent turn that first completes it (`step_done` is an id, a list of ids or null)."""
    first: dict[str, int] = {}
    for i, t in enumerate(call["turns"]):
        done = t.get("step_done") if t["speaker"] == "agent" else None
        for sid in [done] if isinstance(done, str) else done or []:
            first.setdefault(sid, i)
    return first


def replay_call(engine: Any, call: dict[str, Any], counts: Counter[str], misses: list[str], ms: list[float]) -> None:
    """One call through the engine, counted into `counts` (numerators and denominators)."""
    call_id = engine.start_call()
    gold_first = labelled_steps(call)
    ticked: dict[str, int] = {}
    done_before: set[str] = set()
    for i, turn in enumerate(call["turns"]):
        t0 = time.perf_counter()
        result = engine.handle_turn(call_id, speaker=turn["speaker"], text=turn["text"])
        ms.append((time.perf_counter() - t0) * 1000)
        done_now = _done(result)
        for sid in sorted(done_now - done_before):
            ticked.setdefault(sid, i)
            if sid not in gold_first or i < gold_first[sid]:
                counts["false_ticks"] += 1
                misses.append(f"{call['id']} t{i} false tick {sid}: {turn['text'][:80]}")
        done_before = done_now
        if turn["speaker"] == "customer":
            _judge_customer(turn, result.suggestion, counts, misses, f"{call['id']} t{i}")
    for sid, first in gold_first.items():
        counts["steps_n"] += 1
        hit = sid in ticked and ticked[sid] >= first
        counts["steps_recall"] += hit
        if not hit:
            misses.append(f"{call['id']} step {sid} not ticked (done at t{first})")
    engine.end_call(call_id)


def _judge_customer(turn: dict[str, Any], s: Any, counts: Counter[str], misses: list[str], where: str) -> None:
    citations = (s.citations if s is not None else None) or []
    answer = s.answer if s is not None else ""
    if not turn.get("need"):
        counts["social_n"] += 1
        counts["social_suggested"] += bool(citations)
        if citations:
            misses.append(f"{where} social turn got a suggestion: {turn['text'][:80]}")
        return
    counts["need_n"] += 1
    counts["need_suggested"] += bool(citations)
    first = citations[0].get("title") if citations else None
    right = first in (turn.get("documents") or [])
    counts["right_document"] += right
    carried = True
    if turn.get("facts"):
        counts["fact_n"] += 1
        # a fact is a string, or a list of its acceptable forms ("20 元" / "二十元"); any one carried counts
        forms = [f if isinstance(f, list) else [f] for f in turn["facts"]]
        carried = any(_norm(alt) in _norm(answer) for alts in forms for alt in alts)
        counts["fact"] += carried
    if not citations:
        misses.append(f"{where} no suggestion: {turn['text'][:80]}")
    elif not right:
        misses.append(f"{where} first citation {first!r}: {turn['text'][:60]}")
    elif not carried:
        misses.append(f"{where} right document, no fact ({turn['facts'][0]!s:.30}): {turn['text'][:60]}")


def summarise(counts: Counter[str], ms: list[float]) -> dict[str, Any]:
    def rate(num: str, den: str) -> float | None:
        return round(counts[num] / counts[den], 3) if counts[den] else None

    return {
        "need_turns": counts["need_n"],
        "need_suggested": rate("need_suggested", "need_n"),
        "social_suggested": rate("social_suggested", "social_n"),
        "right_document": rate("right_document", "need_n"),
        "fact": rate("fact", "fact_n"),
        "steps_done": counts["steps_n"],
        "steps_recall": rate("steps_recall", "steps_n"),
        "false_ticks": counts["false_ticks"],
        "turn_ms_p50": round(statistics.median(ms), 1) if ms else None,
        "turn_ms_p95": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 1) if ms else None,
    }


def run_mode(engine: Any, calls: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    times: dict[str, list[float]] = defaultdict(list)
    misses: list[str] = []
    for call in calls:
        group = group_of(call)
        replay_call(engine, call, per[group], misses, times[group])
    total: Counter[str] = Counter()
    for c in per.values():
        total.update(c)
    out = {g: summarise(per[g], times[g]) for g in GROUPS if g in per}
    out["all"] = summarise(total, [x for v in times.values() for x in v])
    return out, misses


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per script, each figure as keywords → model."""
    modes = list(results)
    lines = ["| script | " + " | ".join(FIGURES) + " |", "|---" * (len(FIGURES) + 1) + "|"]
    for g in (*GROUPS, "all"):
        cells = []
        for f in FIGURES:
            vals = [str(results[m].get(g, {}).get(f)) for m in modes]
            cells.append(" → ".join(vals))
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n(each cell: {' → '.join(modes)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=Path, default=DEFAULT_CALLS)
    ap.add_argument("--embedders", default="minilm,e5")
    ap.add_argument("--data", type=Path, help="data directory (default: a temporary one)")
    ap.add_argument("--modes", default="keywords,model", help="keywords (ASSIST_TURN_MODEL=off), model, or both")
    ap.add_argument("--json", type=Path, help="write the figures and the misses here")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument(
        "--warm-sentences",
        action="store_true",
        help="embed every answer sentence of the knowledge base before replaying (a server that has been up a while)",
    )
    args = ap.parse_args()
    modes = ["keywords", "model"] if args.modes == "both" else args.modes.split(",")
    if not modes or set(modes) - {"keywords", "model"}:
        raise SystemExit(f"--modes: keywords, model, keywords,model or both; got {args.modes!r}")
    sys.path.insert(0, str(ROOT))
    calls = [json.loads(line) for line in args.calls.read_text(encoding="utf-8").splitlines() if line.strip()]
    results: dict[str, Any] = {}
    all_misses: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="assist-bench-natural-") as tmp:
        for mode in modes:
            turn_model = "on" if mode == "model" else "off"
            with closing(build_services_for(args.data or Path(tmp), args.embedders.split(","), turn_model)) as svc:
                engine = svc.call_engine
                if mode == "model" and not engine.understanding.ready:
                    raise SystemExit(f"the model did not load: {engine.understanding.status.reason}")
                if args.warm_sentences:
                    warm_sentences(engine)
                results[mode], all_misses[mode] = run_mode(engine, calls)
    print(
        json.dumps({"calls": str(args.calls), "n_calls": len(calls), "figures": results}, ensure_ascii=False, indent=2)
    )
    print(table(results))
    if args.show_misses:
        for mode, misses in all_misses.items():
            print(f"\n## misses: {mode}")
            print("\n".join(misses))
    if args.json:
        args.json.write_text(
            json.dumps({"figures": results, "misses": all_misses}, ensure_ascii=False, indent=2), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
