"""Score a guard on a labelled set of JSON lines ``{"text", "speaker", "expect": "block"|"allow"}``."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assist.errors import InvalidInputError

if TYPE_CHECKING:
    from assist.protocols import Guard

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


def case_speaker(case: dict[str, Any]) -> str:
    """Who says a case's text (``agent`` when the case does not say)."""
    return str(case.get("speaker") or "agent")


def score(cases: Iterable[dict[str, Any]], decide: Callable[[str, str], str]) -> dict[str, Any]:
    """Recall of ``block`` cases and false-positive rate on ``allow`` cases, overall and per language/kind.

    Args:
        cases: Labelled cases.
        decide: ``(text, speaker) -> action``; only ``block`` counts as catching a claim.

    Returns:
        ``{"n", "recall", "false_positive_rate", "tp", "fn", "fp", "tn", "by_lang", "by_kind", "misses"}``.
    """
    return score_outcomes((case, decide(case["text"], case_speaker(case))) for case in cases)


def score_outcomes(outcomes: Iterable[tuple[dict[str, Any], str]]) -> dict[str, Any]:
    """:func:`score` of cases already decided: ``(case, action)`` pairs."""
    groups: dict[str, dict[str, dict[str, int]]] = {
        "lang": defaultdict(lambda: defaultdict(int)),
        "kind": defaultdict(lambda: defaultdict(int)),
    }
    totals: dict[str, int] = defaultdict(int)
    misses: list[dict[str, Any]] = []
    n = 0
    for case, action in outcomes:
        n += 1
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
                    "speaker": case_speaker(case),
                    "expect": case["expect"],
                    "got": action,
                    "lang": case.get("lang"),
                    "kind": case.get("kind"),
                }
            )
    return {
        **rates(totals),
        "n": n,
        **{k: totals[k] for k in ("tp", "fn", "fp", "tn")},
        "by_lang": {k: rates(v) for k, v in sorted(groups["lang"].items())},
        "by_kind": {k: rates(v) for k, v in sorted(groups["kind"].items())},
        "misses": misses,
    }


def rates(counts: Mapping[str, int]) -> dict[str, Any]:
    """``{"n", "recall", "false_positive_rate"}`` of tp/fn/fp/tn counts (None where there is nothing to rate)."""
    tp, fn, fp, tn = (counts.get(k, 0) for k in ("tp", "fn", "fp", "tn"))
    pos, neg = tp + fn, fp + tn
    return {
        "n": pos + neg,
        "recall": round(tp / pos, 4) if pos else None,
        "false_positive_rate": round(fp / neg, 4) if neg else None,
    }


def evaluate_cases(path: Path, guard: Guard) -> dict[str, Any]:
    """Run every case of ``path`` through ``guard.check`` and score it (see :func:`score`)."""
    return score(read_cases(path), lambda text, speaker: guard.check(text, speaker).action)
