"""Labelled calls as training material for the step heads: every agent turn of a call says whether it completed
a step, and which.

The editors' `steps.jsonl` teaches what a completion sounds like, with hand-written hard negatives; real calls add
what the rest of an agent's talk sounds like (fees and times explained, a push sent for the customer to approve, a
paraphrased disclosure), none of which completes a step. `assist playbooks import-calls` turns labelled calls (the
natural-call format of `benchmarks/data/README.md`) into `examples/call_steps.jsonl`; `assist playbooks train`
adds its rows to the training side only (the thresholds are still calibrated on the editors' own turns).

A row: `{"text", "lang", "region", "step": id|null, "done": bool, "kind": "call", "source": "<file>#<call id>/t<n>"}`;
`step` is the step the turn completed (null: none, so it teaches the done heads "not done" and nothing about
which step a turn is about); a turn labelled with two steps (`"step_done": [a, b]`) gives a row for each.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assist.calls.understanding.train import StepExample
from assist.errors import InvalidInputError

logger = logging.getLogger(__name__)

CALL_STEPS = "call_steps.jsonl"
SCRIPTS = ("zh-Hans", "zh-Hant", "en")


def _turns(call: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(call, dict) or not isinstance(call.get("turns"), list) or not call["turns"]:
        raise InvalidInputError(f"{where}: expected a call object with a non-empty list of turns")
    if call.get("script") not in SCRIPTS:
        raise InvalidInputError(f"{where}: script must be one of {', '.join(SCRIPTS)}, got {call.get('script')!r}")
    turns: list[dict[str, Any]] = call["turns"]
    return turns


def call_step_rows(calls: Iterable[Any], *, source: str, step_ids: set[str]) -> list[dict[str, Any]]:
    """The agent turns of labelled `calls` as step-example rows (see the module doc).

    Raises:
        InvalidInputError: a call or turn not in the format, or a step the playbooks do not have.
    """
    rows: list[dict[str, Any]] = []
    for n, call in enumerate(calls, 1):
        where = f"{source} call {n}"
        for i, turn in enumerate(_turns(call, where)):
            at = f"{where} turn {i}"
            if not isinstance(turn, dict) or turn.get("speaker") not in ("customer", "agent"):
                raise InvalidInputError(f"{at}: expected a turn with speaker customer or agent")
            if not isinstance(turn.get("text"), str) or not turn["text"].strip():
                raise InvalidInputError(f"{at}: the turn has no text")
            if turn["speaker"] != "agent":
                continue
            for step in _steps_done(turn.get("step_done"), step_ids, at):
                rows.append(
                    {
                        "text": turn["text"],
                        "lang": call["script"],
                        "region": str(call.get("region") or ""),
                        "step": step,
                        "done": step is not None,
                        "kind": "call",
                        "source": f"{source}#{call.get('id', n)}/t{i}",
                    }
                )
    return rows


def _steps_done(label: Any, step_ids: set[str], at: str) -> list[str | None]:
    """A turn's `step_done` (null, a step id, or a list of the ids one turn completes) as a list; [None] for none."""
    if label is None:
        return [None]
    steps = [label] if isinstance(label, str) else label
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise InvalidInputError(f"{at}: step_done must be null, a step id or a list of step ids")
    for step in steps:
        if step not in step_ids:
            raise InvalidInputError(f"{at}: unknown step {step!r} (the playbooks have {', '.join(sorted(step_ids))})")
    return list(steps) or [None]


def read_calls(path: Path) -> list[Any]:
    """The calls of a JSON-lines file (one call per line); InvalidInputError naming a line that is not JSON."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read ({exc})") from exc
    calls = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                calls.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path.name} line {n}: not JSON ({exc.msg})") from exc
    return calls


def write_call_steps(paths: list[Path], out: Path, step_ids: set[str]) -> list[dict[str, Any]]:
    """Every agent turn of the calls in `paths` to `out` (replaced whole, only once every file reads well)."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows += call_step_rows(read_calls(path), source=path.stem, step_ids=step_ids)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(out)
    return rows


def load_call_steps(examples_dir: Path) -> list[StepExample]:
    """The step examples of `examples_dir / call_steps.jsonl` ([] when there is none).

    Raises:
        InvalidInputError: a row without its fields.
    """
    from assist.calls.understanding.examples import load_jsonl

    path = examples_dir / CALL_STEPS
    if not path.is_file():
        return []
    try:
        return [
            StepExample(r["text"], r["step"], bool(r["done"]), r["lang"], str(r.get("kind") or "call"))
            for r in load_jsonl(path)
        ]
    except KeyError as exc:
        raise InvalidInputError(f"{CALL_STEPS}: a row misses the field {exc}") from exc
