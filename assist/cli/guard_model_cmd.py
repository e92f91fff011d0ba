"""`assist guard train` and the layered `assist eval guard --data` (the claim model, issue #16)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from assist.cli import guard_app
from assist.errors import AssistError, ClaimModelError

logger = logging.getLogger(__name__)


def _layer_or_none(path: Path) -> tuple[Any, str | None]:
    """The claim layer over ``path`` if it loads, else None and why."""
    from assist.compliance.guard.model import ClaimLayer

    layer = ClaimLayer(path)
    try:
        layer.load()
    except ClaimModelError as exc:
        return None, str(exc)
    return layer, None


def layered_report(guard: Any, layer: Any, data: Path, split: str | None) -> dict[str, Any]:
    """`assist eval guard --data`: rules, model and both on the rows of ``data`` (of ``split`` if given)."""
    from assist.compliance.guard.layer_eval import evaluate_layers, read_rows

    rows = read_rows(data, split=split)
    if not rows:
        raise typer.BadParameter(f"no rows in {data}" + (f" with split {split!r}" if split else ""))
    report = evaluate_layers(guard, layer, rows)
    return {"data": str(data), "split": split, "rows": len(rows), "model": layer.info(), **report}


def _row(name: str, f: dict[str, Any] | None) -> str:
    if not f:
        return f"  {name:<22} -"
    return (
        f"  {name:<22} recall {f['recall']!s:<6} blocked {f['recall_block']!s:<6} "
        f"FPR(block) {f['fpr_block']!s:<6} FPR(block|warn) {f['fpr_flag']!s:<6}"
    )


# long function: most of it is the command's option declarations
@guard_app.command("train")
def train_model(
    out: Annotated[Path | None, typer.Option("--out", help="Model file (default: the one in force).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Install even if validation is worse.")] = False,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Labelled JSON lines with a train/val split.")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Rule pack (default: the rules in force).")] = None,
    reviews: Annotated[bool, typer.Option(help="Learn from the review queue's decisions.")] = True,
    target_block: Annotated[
        float, typer.Option("--target-block", min=0.0, max=0.5, help="Calibration budget: FPR(block), out-of-fold.")
    ] = 0.04,
    veto_below: Annotated[
        float, typer.Option("--veto-below", min=0.0, max=0.9, help="Veto a rule's block below this claim evidence.")
    ] = 0.1,
    target_flag: Annotated[
        float, typer.Option("--target-flag", min=0.0, max=0.5, help="Calibration budget: FPR(block or warn).")
    ] = 0.09,
    simplify: Annotated[
        bool | None, typer.Option("--simplify/--no-simplify", help="Fold Traditional to Simplified (default: no).")
    ] = None,
    calibrate_negatives: Annotated[
        str | None,
        typer.Option(
            "--calibrate-negatives",
            help="Budgets over 'all' or 'third_party' negatives, or 'third_party_all' (claims from pages too).",
        ),
    ] = None,
    ordinary_flag: Annotated[
        float | None,
        typer.Option("--ordinary-flag", min=0.0, max=1.0, help="Budget over the corpus's service lines (1 = off)."),
    ] = None,
    ordinary_weight: Annotated[
        float | None, typer.Option("--ordinary-weight", min=0.0, help="Training weight of the service lines.")
    ] = None,
    ordinary_veto: Annotated[
        float | None,
        typer.Option(
            "--ordinary-veto", min=-0.5, max=0.5, help="Silence the model nearer ordinary talk than claims (margin)."
        ),
    ] = None,
    credential_without_secret: Annotated[
        str,
        typer.Option(
            "--credential-without-secret",
            help="A credential request naming no secret may: block, warn, warn_at_block (warn at its block score).",
        ),
    ] = "warn",
    per_script: Annotated[
        bool, typer.Option("--per-script/--no-per-script", help="Thresholds per script (en, zh-Hans, zh-Hant).")
    ] = False,
    third_party_weight: Annotated[
        float, typer.Option("--third-party-weight", min=0.0, help="Training weight of lines from public pages.")
    ] = 1.0,
    service_speech: Annotated[
        Path | None,
        typer.Option("--service-speech", help="Ordinary service lines the candidate may not flag (default: shipped)."),
    ] = None,
) -> None:
    """Train the claim model (corpus train split + document sentences + review decisions), compare it on the
    validation split with the model in force, and install it unless it is worse."""
    from assist.cli.guard_cmd import load_guard_or_exit
    from assist.config import get_settings

    settings = get_settings()
    corpus = corpus or settings.kb_dir / "guard" / "claims.jsonl"
    out = out or settings.claim_model_path
    if not corpus.is_file():
        typer.echo(f"error: no such corpus: {corpus}", err=True)
        raise typer.Exit(2)
    if service_speech is not None and not service_speech.is_file():
        typer.echo(f"error: no such ordinary-speech file: {service_speech}", err=True)
        raise typer.Exit(2)
    from assist.compliance.guard import retrain

    service_speech = service_speech or retrain.service_speech_path(settings.kb_dir)
    guard = load_guard_or_exit(rules, with_model=False)
    try:
        from assist.compliance.guard.training import TrainConfig

        default = TrainConfig()
        config = TrainConfig(
            target_block_fpr=target_block,
            target_flag_fpr=max(target_flag, target_block),
            simplify=default.simplify if simplify is None else simplify,
            calibrate_negatives=calibrate_negatives or default.calibrate_negatives,
            ordinary_flag_fpr=default.ordinary_flag_fpr if ordinary_flag is None else ordinary_flag,
            ordinary_weight=default.ordinary_weight if ordinary_weight is None else ordinary_weight,
            ordinary_veto=default.ordinary_veto if ordinary_veto is None else ordinary_veto,
            per_script=per_script,
            third_party_weight=third_party_weight,
        )
        from assist.compliance.guard.calibration import NEGATIVE_POOLS

        if config.calibrate_negatives not in NEGATIVE_POOLS:
            pool, pools = calibrate_negatives, " or ".join(NEGATIVE_POOLS)
            typer.echo(f"error: --calibrate-negatives must be {pools}, got {pool!r}", err=True)
            raise typer.Exit(2)
        from assist.compliance.guard.combine import CREDENTIAL_MODES, Policy

        if credential_without_secret not in CREDENTIAL_MODES:
            modes = ", ".join(CREDENTIAL_MODES)
            typer.echo(
                f"error: --credential-without-secret must be one of {modes}, got {credential_without_secret!r}",
                err=True,
            )
            raise typer.Exit(2)
        policy = Policy(veto_below=veto_below, credential_without_secret=credential_without_secret)
        code = _train_and_install(
            guard,
            settings,
            corpus,
            out,
            force=force,
            use_reviews=reviews,
            config=config,
            policy=policy,
            service=service_speech,
        )
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if code:
        raise typer.Exit(code)


# long function: train, compare, check, install, in one database session
def _train_and_install(
    guard: Any,
    settings: Any,
    corpus: Path,
    out: Path,
    *,
    force: bool,
    use_reviews: bool,
    config: Any,
    policy: Any,
    service: Path,
) -> int:
    from sqlmodel import Session

    from assist.compliance.guard.encoding import pin_blas_threads, shared_encoder
    from assist.compliance.guard.layer_eval import evaluate_layers, read_rows
    from assist.compliance.guard.retrain import install, kb_sentences, review_decisions, train_candidate, worse_than
    from assist.db import make_engine

    pin_blas_threads(1)
    train_rows, val_rows = read_rows(corpus, split="train"), read_rows(corpus, split="val")
    if not train_rows or not val_rows:
        typer.echo(f"error: {corpus} needs rows with split 'train' and 'val'", err=True)
        return 2
    with Session(make_engine(settings)) as session:
        decisions = review_decisions(session) if use_reviews else []
        typer.echo(f"training on {len(train_rows)} statements, {len(decisions)} review decisions ...")
        negatives = kb_sentences(settings.kb_dir)
        model, report = train_candidate(guard, train_rows, negatives, decisions, shared_encoder(), config, policy)
        candidate = out.with_name(out.name + ".candidate")
        model.save(candidate)
        try:
            new_layer, _ = _layer_or_none(candidate)
            old_layer, old_reason = _layer_or_none(out)
            new = evaluate_layers(guard, new_layer, val_rows)["overall"]
            old = evaluate_layers(guard, old_layer, val_rows)["overall"] if old_layer is not None else None
            own_new, own_old = _own_cases(guard, new_layer), _own_cases(guard, old_layer)
            typer.echo(f"validation ({len(val_rows)} statements of {corpus.name}, split val):")
            typer.echo(_row("rules alone", new["rules"]))
            typer.echo(_row("in force: combined", old["combined"] if old else None))
            typer.echo(_row("candidate: combined", new["combined"]))
            if old_reason:
                typer.echo(f"  (no usable model in force: {old_reason})")
            if own_new is not None:
                typer.echo("own labelled cases (tests/data/guard_cases.jsonl):")
                typer.echo(_row("in force: combined", own_old))
                typer.echo(_row("candidate: combined", own_new))
            reasons = worse_than(new["combined"], old["combined"] if old else None)
            reasons += [f"own cases: {r}" for r in worse_than(own_new or {}, own_old)] if own_new else []
            ordinary = _service_speech(guard, new_layer, old_layer, service)
            if (reasons or ordinary) and not force:
                if reasons:
                    typer.echo("error: the candidate is worse than the model in force: " + "; ".join(reasons), err=True)
                if ordinary:
                    typer.echo("error: the candidate flags ordinary service speech: " + "; ".join(ordinary), err=True)
                typer.echo("       nothing installed (--force installs it anyway)", err=True)
                return 1
            for why in reasons + ordinary:
                typer.echo(f"warning: installed with --force although {why}", err=True)
            model.meta["validation"] = new["combined"]
            before = old_layer.info() if old_layer is not None else None
            digest = install(model, out, session=session, before=before, figures=new["combined"])
        finally:
            candidate.unlink(missing_ok=True)
    typer.echo(f"installed {out} (version {model.meta['version']}, sha256 {digest[:12]}, {report.seconds:.0f} s)")
    typer.echo("restart the server (or wait for its next start) to put it in force")
    return 0


def _service_speech(guard: Any, new_layer: Any, old_layer: Any, path: Path) -> list[str]:
    """Print what both models do on the ordinary service lines of ``path``; why the candidate fails, if it does."""
    from assist.compliance.guard.layer_eval import read_rows
    from assist.compliance.guard.retrain import SERVICE_MAX_FLAG_SHARE, service_speech_check, service_speech_reasons

    if not path.is_file():
        typer.echo(f"ordinary service speech: no check ({path} not found)")
        return []
    rows = read_rows(path)
    if not rows:
        raise typer.BadParameter(f"no rows in {path}")
    limit = f"at most {SERVICE_MAX_FLAG_SHARE} flagged, none blocked"
    typer.echo(f"ordinary service speech ({len(rows)} lines of {path.name}; {limit}):")
    for name, layer in (("in force", old_layer), ("candidate", new_layer)):
        if layer is None:
            continue
        check = service_speech_check(guard, layer, rows)
        typer.echo(f"  {name + ':':<22} flags {check['flagged']} ({check['share']}), blocks {check['blocked']}")
        if name == "candidate":
            for action, text in check["examples"][:10]:
                typer.echo(f"    {action}: {text}")
            return service_speech_reasons(check)
    return []


def _own_cases(guard: Any, layer: Any) -> dict[str, Any] | None:
    """Combined figures on the project's own labelled cases (the set a draft rule is tried on), if shipped."""
    from assist.compliance.drafts import DEFAULT_CASES_PATH
    from assist.compliance.guard.layer_eval import evaluate_layers, read_rows

    if layer is None or not Path(DEFAULT_CASES_PATH).is_file():
        return None
    return dict(evaluate_layers(guard, layer, read_rows(Path(DEFAULT_CASES_PATH)))["overall"]["combined"])


def print_layered(report: dict[str, Any]) -> None:
    """The layered evaluation as JSON on stdout."""
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
