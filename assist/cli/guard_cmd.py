"""`assist guard check` and `assist eval guard`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assist.cli import eval_app, guard_app
from assist.errors import AssistError

logger = logging.getLogger(__name__)


def _load_guard(rules: Path | None) -> Any:
    from assist.config import get_settings
    from assist.guard import Guard

    return Guard.from_path(rules or get_settings().rules_path)


def _readable(verdict: Any, text: str) -> str:
    head = {"block": "BLOCK", "warn": "WARN ", "allow": "allow"}[verdict.action]
    lines = [f"{head}  {text}"]
    for m in verdict.matches:
        lines.append(f"       {m.severity:5} {m.rule_id} [{m.category}] {m.start}-{m.end} {m.text!r}")
    if verdict.advice:
        lines.append(f"       advice: {verdict.advice}")
    return "\n".join(lines)


@guard_app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON verdict per line.")] = False,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rule file or folder (default: the configured rules path).")
    ] = None,
) -> None:
    """Read JSON lines {"text", "speaker"} from stdin; write one verdict per input line, in order."""
    try:
        guard = _load_guard(rules)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    errors = 0
    for no, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('expected an object with a string "text"')
            text = item["text"]
            verdict = guard.check(text, str(item.get("speaker") or "agent"))
        except (ValueError, AssistError) as exc:  # JSONDecodeError is a ValueError
            errors += 1
            detail = f"line {no}: {exc}"
            typer.echo(f"error: {detail}", err=True)
            if as_json:
                typer.echo(json.dumps({"error": detail, "line": no}, ensure_ascii=False))
            continue
        if as_json:
            typer.echo(json.dumps(verdict.to_dict(), ensure_ascii=False))
        else:
            typer.echo(_readable(verdict, text))
    if errors:
        typer.echo(f"error: {errors} input line(s) could not be checked", err=True)
        raise typer.Exit(1)


@eval_app.command("guard")
def eval_guard(
    cases: Annotated[Path, typer.Option("--cases", help='JSON lines {"text", "speaker", "expect"}.')],
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rule file or folder (default: the configured rules path).")
    ] = None,
) -> None:
    """Recall of forbidden claims, false-positive rate and the misses, as one JSON object."""
    from assist.guard.evaluate import evaluate_cases

    if not cases.is_file():
        typer.echo(f"error: no such cases file: {cases}", err=True)
        raise typer.Exit(2)
    try:
        report = evaluate_cases(cases, _load_guard(rules))
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
