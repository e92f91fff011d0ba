"""Score the guard's layers alone and combined on labelled statements (``assist eval guard``, the benchmark).

A row is ``{"text", "speaker", ...}`` labelled either with ``category`` (the corpus: ``none`` = allowed) or
with ``expect``/``label`` (``block`` = a forbidden claim, ``allow``). ``lang`` and ``kind`` break the
figures down when present. Each text is encoded once; three verdicts come from it:

- ``rules``: the phrase and regex layers alone (the guard as it was);
- ``model``: the claim model alone (a clause at its category's warn/block threshold);
- ``combined``: the guard as it runs (:mod:`assist.compliance.guard.combine`).

``recall`` counts claims blocked or warned, ``recall_block`` claims blocked; ``fpr_block`` and ``fpr_flag``
are the shares of allowed statements blocked, and blocked or warned. Customers' lines count as allowed
and are never flagged.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assist.errors import InvalidInputError

logger = logging.getLogger(__name__)

LAYERS = ("rules", "model", "combined")
_RANK = {"allow": 0, "warn": 1, "block": 2}


def read_rows(path: Path, *, split: str | None = None) -> list[dict[str, Any]]:
    """Labelled rows of a JSON-lines file (only those of ``split`` when given and rows carry one).

    Raises:
        InvalidInputError: A line that is not a JSON object with a string text and a label, naming it.
    """
    rows = []
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}:{no}: not JSON: {exc}") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InvalidInputError(f"{path}:{no}: a row needs a string 'text'")
        if "category" not in row and row.get("expect", row.get("label")) not in ("block", "allow"):
            raise InvalidInputError(f"{path}:{no}: a row needs 'category' or 'expect' (block|allow)")
        if split is None or row.get("split", split) == split:
            rows.append(row)
    return rows


def is_claim(row: Mapping[str, Any]) -> bool:
    """True when the row is a forbidden claim (a customer's line never is)."""
    if row.get("speaker") == "customer":
        return False
    if "category" in row:
        return row["category"] not in (None, "", "none")
    return row.get("expect", row.get("label")) == "block"


def model_alone(reading: Any, text: str | None = None) -> str:
    """The claim model's own action on a text: its most severe clause (no rule involved)."""
    from assist.compliance.guard.combine import model_action

    best = "allow"
    for row in reading.probabilities:
        _, _, action = model_action(reading.model, row, reading.policy, text)
        if action is not None and _RANK[action] > _RANK[best]:
            best = action
    return best


def actions(guard: Any, layer: Any, text: str, speaker: str) -> dict[str, str]:
    """``{"rules", "model", "combined"}`` actions for one text, from one encoding."""
    from assist.compliance.guard.combine import combine
    from assist.compliance.guard.layered import category_advice, deterministic_trace

    if speaker == "customer" or not text.strip():
        return dict.fromkeys(LAYERS, "allow")
    matches, suppressed = deterministic_trace(guard, text)
    reading = layer.run(text)
    both = combine(reading, text, matches, suppressed, advice=category_advice(guard), veto=speaker != "document")
    top = max((m.severity for m in matches), key=_RANK.__getitem__, default="allow")
    return {
        "rules": top,
        "model": model_alone(reading, text),
        "combined": max((m.severity for m in both), key=_RANK.__getitem__, default="allow"),
    }


def figures(rows: Sequence[Mapping[str, Any]], acts: Sequence[Mapping[str, str]], layer: str) -> dict[str, Any]:
    """Recall and false-positive rates of one layer over ``rows``."""
    pos = [a[layer] for r, a in zip(rows, acts, strict=True) if is_claim(r)]
    neg = [a[layer] for r, a in zip(rows, acts, strict=True) if not is_claim(r)]

    def rate(xs: list[str], what: tuple[str, ...]) -> float | None:
        return round(sum(x in what for x in xs) / len(xs), 3) if xs else None

    return {
        "recall": rate(pos, ("block", "warn")),
        "recall_block": rate(pos, ("block",)),
        "fpr_block": rate(neg, ("block",)),
        "fpr_flag": rate(neg, ("block", "warn")),
        "claims": len(pos),
        "allowed": len(neg),
    }


def _by(rows: Sequence[Mapping[str, Any]], acts: Sequence[Mapping[str, str]], key: str) -> dict[str, Any]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[str(r.get(key) or "-")].append(i)
    return {
        g: {layer: figures([rows[i] for i in idx], [acts[i] for i in idx], layer) for layer in LAYERS}
        for g, idx in sorted(groups.items())
    }


def evaluate_layers(guard: Any, layer: Any, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Figures per layer (rules, model, combined), overall and per language, kind and category, plus the
    claims the combined guard missed and the allowed statements it blocked."""
    rows = list(rows)
    acts = [actions(guard, layer, str(r["text"]), str(r.get("speaker") or "agent")) for r in rows]
    misses = [r["text"] for r, a in zip(rows, acts, strict=True) if is_claim(r) and a["combined"] == "allow"]
    false_blocks = [r["text"] for r, a in zip(rows, acts, strict=True) if not is_claim(r) and a["combined"] == "block"]
    return {
        "overall": {layer_name: figures(rows, acts, layer_name) for layer_name in LAYERS},
        "by_language": _by(rows, acts, "lang"),
        "by_kind": _by(rows, acts, "kind"),
        "by_category": _by(rows, acts, "category") if any("category" in r for r in rows) else {},
        "combined_misses": misses,
        "combined_false_blocks": false_blocks,
    }
