"""`assist guard check` and `assist eval guard`.

Both check with the rules in force in the database, the ones compliance staff edit and the server runs
(seeded from the rule pack on first use), unless `--rules` names a pack. Neither ever checks with no rules:
a guard that cannot load its rules, or has none, is an error (exit code 2).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assist.cli import eval_app, guard_app
from assist.errors import AssistError, GuardUnavailableError

if TYPE_CHECKING:
    from assist.compliance.guard.engine import Verdict
    from assist.protocols import Guard

logger = logging.getLogger(__name__)


def guard_in_force(rules: Path | None = None, *, with_model: bool = True) -> Guard:
    """The guard the CLI checks with: the rules in force in the database (seeded from the rule pack on first
    use, as the server does), or the pack at `rules` when given. Fails closed.

    Raises:
        GuardUnavailableError: The rules cannot be loaded, or none is in force (the message says why).
    """
    from assist.compliance.guard.engine import Guard as RuleGuard
    from assist.compliance.guard.engine import unavailable_reason
    from assist.config import get_settings

    if rules is not None:
        try:
            guard = _with_claim_model(RuleGuard.from_path(rules), with_model)
        except AssistError as exc:
            raise GuardUnavailableError(f"compliance check unavailable: {exc}") from exc
        reason = unavailable_reason(guard)
        if reason is not None:
            raise GuardUnavailableError(f"compliance check unavailable: {reason} (in {rules})")
        return guard

    from assist.db import make_engine
    from assist.services import build_guard_holder

    settings = get_settings()
    # the claim model is attached here, not by the holder: unwarmed, with a warning when it cannot load
    holder = build_guard_holder(settings, make_engine(settings), claim_model=False)
    return _with_claim_model(holder.get(), with_model)


def _with_claim_model(guard: Guard, with_model: bool) -> Guard:
    """Attach the claim model the settings ask for; if it cannot load, say so and check with the rules."""
    from assist.compliance.guard.layered import claim_layer_from_settings
    from assist.config import get_settings

    if with_model:
        layer, status = claim_layer_from_settings(get_settings(), warm=False)
        if status is not None and not status["ready"]:
            typer.echo(f"warning: {status['reason']}; checking with the rules only", err=True)
        guard.attach_claim_layer(layer)
    return guard


def load_guard_or_exit(rules: Path | None = None, *, with_model: bool = True) -> Guard:
    """:func:`guard_in_force`, or the reason on stderr and exit code 2."""
    try:
        return guard_in_force(rules, with_model=with_model)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _readable(verdict: Verdict, text: str) -> str:
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
        Path | None,
        typer.Option("--rules", help="Rule file or folder (default: the rules in force in the database)."),
    ] = None,
) -> None:
    """Read JSON lines {"text", "speaker"} from stdin; write one verdict per input line, in order."""
    guard = load_guard_or_exit(rules)
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
    cases: Annotated[
        Path | None, typer.Option("--cases", help='JSON lines {"text", "speaker", "expect"}: rules only.')
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Rule file or folder (default: the rules in force in the database)."),
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Labelled JSON lines for rules/model/both (default: corpus val).")
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="Rows of this split only (corpus: val).")] = None,
) -> None:
    """Recall and false-positive rates as one JSON object: with --cases the rules in force; otherwise the
    rules, the claim model and both, per language and per kind, on --data (default: the corpus val split)."""
    from assist.compliance.guard.evaluate import evaluate_cases

    if cases is None:
        _eval_layers(rules, data, split)
        return
    if not cases.is_file():
        typer.echo(f"error: no such cases file: {cases}", err=True)
        raise typer.Exit(2)
    guard = load_guard_or_exit(rules)
    try:
        report = evaluate_cases(cases, guard)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))


def _eval_layers(rules: Path | None, data: Path | None, split: str | None) -> None:
    from assist.cli.guard_model_cmd import layered_report, print_layered
    from assist.config import get_settings

    settings = get_settings()
    if data is None:
        data, split = settings.kb_dir / "guard" / "claims.jsonl", split or "val"
    if not data.is_file():
        typer.echo(f"error: no such data file: {data}", err=True)
        raise typer.Exit(2)
    guard = load_guard_or_exit(rules)
    layer = guard.claim_layer  # the model the guard runs (None: switched off or failed to load)
    if layer is None:
        typer.echo("error: the claim model is not available (see the warning above or ASSIST_GUARD_MODEL)", err=True)
        raise typer.Exit(2)
    try:
        print_layered(layered_report(guard, layer, data, split))
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
