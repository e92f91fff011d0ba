"""Record what the passage ranking and the composer see on every labelled need turn (development data).

Replays the given call sets through the engine `assist serve` builds (turn model on, answer sentences warmed, as
``bench_calls_natural --modes model --warm-sentences``) and keeps, per customer need turn, the ranking's input
(the context query, the retrieved passages, the language, the caller's region, the passage shown last, whether
the need was read by meaning) and the composer's first input (the customer's words, the turn's e5 vector), with
the labels (right documents, facts) and the set it came from; and the sentence vectors, so that
``benchmarks.train_document_ranker`` re-ranks and re-composes offline without the models.

Usage:
    .venv/bin/python -m benchmarks.record_rank_turns --out /tmp/rank_turns.pkl --data /tmp/rank_data \
        benchmarks/data/natural_calls.jsonl benchmarks/data/spent/natural_calls_fresh6a.jsonl ...

Never give it a locked set (benchmarks/data/holdout/): what it records is training data.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from benchmarks.bench_calls_natural import ROOT, build_services_for, warm_sentences


def _record_calls(engine: Any, calls: list[dict[str, Any]], set_name: str, out: list[dict[str, Any]]) -> None:
    stage = engine.suggester
    composer = stage.answer.composer
    ranked: list[dict[str, Any]] = []
    composed: list[dict[str, Any]] = []
    rank_orig, compose_orig = stage._rank, composer.run

    def rank_spy(state: Any, cq: Any, results: Any, language: str, *, meant: bool) -> Any:
        ranked.append(
            {
                "cq": cq,
                "results": list(results),
                "language": language,
                "region": state.region,
                "last_top_chunk": state.last_top_chunk,
                "meant": meant,
            }
        )
        return rank_orig(state, cq, results, language, meant=meant)

    def compose_spy(**kwargs: Any) -> Any:
        composed.append({k: v for k, v in kwargs.items() if k != "results"})
        return compose_orig(**kwargs)

    stage._rank, composer.run = rank_spy, compose_spy
    try:
        for call in calls:
            call_id = engine.start_call()
            for i, turn in enumerate(call["turns"]):
                ranked.clear()
                composed.clear()
                result = engine.handle_turn(call_id, speaker=turn["speaker"], text=turn["text"])
                if turn["speaker"] != "customer" or not turn.get("need"):
                    continue
                s = result.suggestion
                out.append(
                    {
                        "set": set_name,
                        "call": call["id"],
                        "turn": i,
                        "script": call["script"],
                        "region": call.get("region"),
                        "text": turn["text"],
                        "facts": turn.get("facts") or [],
                        "documents": turn.get("documents") or [],
                        "answer": s.answer if s is not None else "",
                        "first_title": (s.citations[0].get("title") if s is not None and s.citations else None),
                        "rank": ranked[0] if ranked else None,
                        "compose": composed[0] if composed else None,
                    }
                )
            engine.end_call(call_id)
    finally:
        stage._rank, composer.run = rank_orig, compose_orig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calls", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="data directory (kb_docs/ ingested if empty)")
    args = ap.parse_args()
    if any("holdout" in p.parts for p in args.calls):
        raise SystemExit("locked sets are not training data")
    sys.path.insert(0, str(ROOT))
    turns: list[dict[str, Any]] = []
    with closing(build_services_for(args.data, ["minilm", "e5"], "on")) as svc:
        engine = svc.call_engine
        if not engine.understanding.ready:
            raise SystemExit(f"the model did not load: {engine.understanding.status.reason}")
        warm_sentences(engine)
        for path in args.calls:
            calls = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
            _record_calls(engine, calls, path.stem, turns)
            print(f"{path.stem}: {sum(t['set'] == path.stem for t in turns)} turns", flush=True)  # noqa: T201
        vectors = engine.suggester.answer.composer.sentence_vectors
        cache = dict(vectors._cache) if vectors is not None else {}
    with args.out.open("wb") as fh:
        pickle.dump({"turns": turns, "sentence_vectors": cache}, fh)


if __name__ == "__main__":
    main()
