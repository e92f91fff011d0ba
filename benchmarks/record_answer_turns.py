"""Record what the answer composer is handed on every labelled need turn of the natural calls (development data).

Replays the given call sets through the engine `assist serve` builds (turn model on, answer sentences warmed, as
``bench_calls_natural --modes model --warm-sentences``) and keeps, per customer need turn with labelled facts,
the composer's first input of the turn (the query, the customer's words, the turn's e5 vector, the language and
the passages), with the labels (facts, documents) and the set it came from. The sentence vectors of the cache and
the index's passages (the documents' other sections) are kept too, so that ``benchmarks.train_answer_sentences``
re-composes offline without the models.

Usage:
    .venv/bin/python -m benchmarks.record_answer_turns --out /tmp/answer_turns.pkl \
        benchmarks/data/natural_calls.jsonl benchmarks/data/spent/natural_calls_fresh4.jsonl ...

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
    composer = engine.suggester.answer.composer
    seen: list[dict[str, Any]] = []
    original = composer.run

    def spy(**kwargs: Any) -> Any:
        seen.append(dict(kwargs))
        return original(**kwargs)

    composer.run = spy
    try:
        for call in calls:
            call_id = engine.start_call()
            for i, turn in enumerate(call["turns"]):
                seen.clear()
                result = engine.handle_turn(call_id, speaker=turn["speaker"], text=turn["text"])
                if turn["speaker"] != "customer" or not turn.get("need") or not turn.get("facts"):
                    continue
                s = result.suggestion
                first = seen[0] if seen else None
                out.append(
                    {
                        "set": set_name,
                        "call": call["id"],
                        "turn": i,
                        "script": call["script"],
                        "region": call.get("region"),
                        "text": turn["text"],
                        "facts": turn["facts"],
                        "documents": turn.get("documents") or [],
                        "answer": s.answer if s is not None else "",
                        "first_title": (s.citations[0].get("title") if s is not None and s.citations else None),
                        "input": None
                        if first is None
                        else {
                            "query": first["query"],
                            "focus": first.get("focus"),
                            "language": first["language"],
                            "vector": first.get("vector"),
                            "results": list(first["results"]),
                        },
                    }
                )
            engine.end_call(call_id)
    finally:
        composer.run = original


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
        index = getattr(engine.suggester.retrieval.retriever, "index", None)
        chunks = dict(getattr(index, "chunks", None) or {})  # every passage: the documents' other sections
    with args.out.open("wb") as fh:
        pickle.dump({"turns": turns, "sentence_vectors": cache, "chunks": chunks}, fh)


if __name__ == "__main__":
    main()
