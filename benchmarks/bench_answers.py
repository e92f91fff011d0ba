"""Suggested-answer quality on the sample knowledge base, in the three scripts (real models by default).

Each question of ``benchmarks/data/answers.jsonl`` (our own labelled set: a customer's first turn, the
documents that hold its answer, and the facts a right answer carries) opens a fresh call on an index of
``kb_docs/``. Three figures, per language and overall:

- answered: a suggestion with citations came back (not the "nothing approved was found" answer);
- right document: the first citation is one of the documents that hold the answer (any script);
- fact: the answer carries one of the labelled facts ("60 calendar days", "1%", "R1", ...). Answer and
  facts are compared in Simplified script, lower case, so a Traditional answer counts as well.

Usage:
    .venv/bin/python -m benchmarks.bench_answers [--questions benchmarks/data/answers.jsonl]
        [--embedders minilm,e5] [--data /tmp/assist-bench-answers] [--json out.json] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = ROOT / "benchmarks" / "data" / "answers.jsonl"


def _norm(text: str) -> str:
    from assist.text import to_simplified

    return to_simplified(text).lower()


def read_questions(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, row in enumerate(rows, 1):
        missing = {"question", "language", "documents", "facts"} - row.keys()
        if missing:
            raise SystemExit(f"{path}:{i}: missing {sorted(missing)}")
    return rows


def build_services_for(data_dir: Path, embedders: list[str]) -> Any:
    """The services as `assist serve` builds them, on an index of kb_docs/ (ingested when the dir is empty).

    The caller closes them (background model work must stop before the interpreter's exit)."""
    from assist.config import Settings
    from assist.services import build_services

    settings = Settings(data_dir=data_dir, embedders=embedders)
    return build_services(settings, ingest_if_empty=True)


def judge(row: dict[str, Any], suggestion: Any) -> dict[str, Any]:
    citations = suggestion.citations if suggestion else []
    answer = suggestion.answer if suggestion else ""
    first = citations[0]["title"] if citations else None
    return {
        "question": row["question"],
        "language": row["language"],
        "answered": bool(citations),
        "right_document": first in row["documents"],
        "fact": any(_norm(f) in _norm(answer) for f in row["facts"]),
        "first_citation": first,
        "answer": answer,
    }


def summarise(judged: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for j in judged:
        groups[j["language"]].append(j)
        groups["all"].append(j)
    return {
        lang: {
            "questions": len(rows),
            **{k: sum(r[k] for r in rows) for k in ("answered", "right_document", "fact")},
        }
        for lang, rows in groups.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    ap.add_argument("--embedders", default="minilm,e5")
    ap.add_argument(
        "--data", type=Path, help="data directory (default: a temporary one); one that holds documents is used as it is"
    )
    ap.add_argument("--json", type=Path, help="write every judged answer here")
    ap.add_argument("--show-misses", action="store_true", help="print the questions that missed a figure")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    rows = read_questions(args.questions)
    with tempfile.TemporaryDirectory(prefix="assist-bench-answers-") as tmp:
        with closing(build_services_for(args.data or Path(tmp), args.embedders.split(","))) as svc:
            engine = svc.call_engine
            judged = []
            for row in rows:
                result = engine.handle_turn(engine.start_call(), speaker="customer", text=row["question"])
                judged.append(judge(row, result.suggestion))
    report = {"questions": str(args.questions), "embedders": args.embedders, "summary": summarise(judged)}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.show_misses:
        for j in judged:
            if not (j["right_document"] and j["fact"]):
                print(f"- [{j['language']}] {j['question']}\n    {j['first_citation']}: {j['answer'][:160]}")
    if args.json:
        args.json.write_text(json.dumps({**report, "answers": judged}, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
