"""Score a guard on a labelled set of JSON lines ``{"text", "speaker", "expect": "block"|"allow"}``."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from assist.errors import InvalidInputError

logger = logging.getLogger(__name__)


def read_cases(path: Path) -> list[dict[str, Any]]:
    """Read and validate the cases file.

    Raises:
        InvalidInputError: A line that is not JSON or lacks text/expect, naming the line number.
    """
    cases: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path}:{no}: not JSON: {exc}") from exc
            if not isinstance(case, dict) or not isinstance(case.get("text"), str):
                raise InvalidInputError(f"{path}:{no}: a case needs a string 'text'")
            if case.get("expect") not in ("block", "allow"):
                raise InvalidInputError(f"{path}:{no}: expect must be block or allow, got {case.get('expect')!r}")
            cases.append(case)
    return cases


def score(cases: Iterable[dict[str, Any]], decide: Callable[[str, str], str]) -> dict[str, Any]:
    """Recall of ``block`` cases and false-positive rate on ``allow`` cases, overall and per language/kind.

    Args:
        cases: Labelled cases.
        decide: ``(text, speaker) -> action``; only ``block`` counts as catching a claim.

    Returns:
        ``{"n", "recall", "false_positive_rate", "tp", "fn", "fp", "tn", "by_lang", "by_kind", "misses"}``.
    """
    groups: dict[str, dict[str, dict[str, int]]] = {
        "lang": defaultdict(lambda: defaultdict(int)),
        "kind": defaultdict(lambda: defaultdict(int)),
    }
    totals: dict[str, int] = defaultdict(int)
    misses: list[dict[str, Any]] = []
    n = 0
    for case in cases:
        n += 1
        speaker = case.get("speaker") or "agent"
        action = decide(case["text"], speaker)
        got_block = action == "block"
        if case["expect"] == "block":
            key = "tp" if got_block else "fn"
        else:
            key = "fp" if got_block else "tn"
        totals[key] += 1
        for g in ("lang", "kind"):
            groups[g][case.get(g) or "?"][key] += 1
        if key in ("fn", "fp"):
            misses.append(
                {
                    "text": case["text"],
                    "speaker": speaker,
                    "expect": case["expect"],
                    "got": action,
                    "lang": case.get("lang"),
                    "kind": case.get("kind"),
                }
            )

    def rates(c: dict[str, int]) -> dict[str, Any]:
        pos, neg = c["tp"] + c["fn"], c["fp"] + c["tn"]
        return {
            "n": pos + neg,
            "recall": round(c["tp"] / pos, 4) if pos else None,
            "false_positive_rate": round(c["fp"] / neg, 4) if neg else None,
        }

    return {
        **rates(totals),
        "n": n,
        **{k: totals[k] for k in ("tp", "fn", "fp", "tn")},
        "by_lang": {k: rates(v) for k, v in sorted(groups["lang"].items())},
        "by_kind": {k: rates(v) for k, v in sorted(groups["kind"].items())},
        "misses": misses,
    }


def evaluate_cases(path: Path, guard: Any) -> dict[str, Any]:
    """Run every case of ``path`` through ``guard.check`` and score it (see :func:`score`)."""
    return score(read_cases(path), lambda text, speaker: guard.check(text, speaker).action)
